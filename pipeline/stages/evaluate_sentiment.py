"""Stage ``evaluate_sentiment``: score the trained classifier once on the test split.

Outputs: ``metrics/sentiment.json`` (test accuracy, ROC-AUC; with more than two classes macro-F1, per-class
scores and the confusion matrix; dev accuracy, which decides promotion; without a test split, dev's figures) and
``plots/sentiment/plots/sklearn/{roc,precision_recall,confusion_matrix}.json``;
the model is registered as a new version of ``w2v-sentiment`` in the MLflow registry
and becomes ``champion`` if its dev accuracy beats the current champion's.
"""

from __future__ import annotations

from pipeline import paths
from pipeline.config import load_section
from pipeline.data.splits import test_split
from pipeline.evaluation.sentiment import (
    classification_metrics,
    score_model,
    split_report,
)
from pipeline.model_dir import read_config
from pipeline.runner import run
from pipeline.tracking.pyfunc_models import log_sentiment_model
from pipeline.tracking.stage import publish_results
from pipeline.training.sentiment_task import SentimentConfig, apply_threads


def main() -> None:
    apply_threads(load_section(SentimentConfig, "sentiment"))
    dev = score_model(paths.SENTIMENT_MODEL, paths.SENTIMENT_SPLITS / "dev.jsonl")
    test_file = test_split(paths.SENTIMENT_SPLITS, "sentiment")
    test = score_model(paths.SENTIMENT_MODEL, test_file) if test_file else None
    test_metrics = split_report(dev.scores, test.scores if test else None, dev.labels, paths.SENTIMENT_PLOTS)
    test_metrics["dev_accuracy"] = classification_metrics(*dev.scores, dev.labels)["accuracy"]
    publish_results(paths.SENTIMENT_MODEL_NAME, "evaluate_sentiment", paths.METRICS / "sentiment.json", test_metrics,
                    params=read_config(paths.SENTIMENT_MODEL), artifacts=(paths.SENTIMENT_PLOTS,),
                    register=lambda tracker: log_sentiment_model(tracker, paths.SENTIMENT_MODEL, test_metrics),
                    monitor="dev_accuracy")


if __name__ == "__main__":
    run(main)
