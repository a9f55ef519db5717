"""Stage ``train_sentiment``: train the classifier on the prepared IMDB splits and the word2vec vectors.

Outputs: ``outputs/sentiment/model`` (best dev epoch: weights, config,
vocabulary, labels), ``outputs/sentiment/checkpoints`` (last epoch, for
``--resume``) and ``dvclive/sentiment`` (loss and dev accuracy per epoch).
With ``sentiment.train.processes: N`` > 1 it re-runs itself under torchrun (:mod:`pipeline.stages.launch`).
"""

from __future__ import annotations

import argparse

from pipeline import paths
from pipeline.config import load_section
from pipeline.data.splits import prepared_language
from pipeline.model_dir import write_data_info
from pipeline.runner import run
from pipeline.stages.launch import relaunch, tracked_stage
from pipeline.training.sentiment_task import SentimentConfig, train_sentiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resume", action="store_true", help="continue from outputs/sentiment/checkpoints")
    args = parser.parse_args()
    cfg = load_section(SentimentConfig, "sentiment")
    relaunch(cfg.train.processes)
    with tracked_stage(paths.SENTIMENT_MODEL_NAME, "train_sentiment", paths.SENTIMENT_LIVE, args.resume) as tracked:
        result = train_sentiment(cfg, paths.SENTIMENT_SPLITS, paths.VECTORS, paths.SENTIMENT_OUT, tracked.epochs,
                                 args.resume, lm_dir=paths.LM_MODEL)
        write_data_info(result.model_dir, prepared_language())
        tracked.tracker.log_artifact(result.model_dir)


if __name__ == "__main__":
    run(main)
