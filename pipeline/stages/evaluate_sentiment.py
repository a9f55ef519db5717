"""Stage ``evaluate_sentiment``: score the trained classifier once on the IMDB test set.

Outputs: ``metrics/sentiment.json`` (test accuracy, ROC-AUC; dev accuracy, which decides promotion) and
``plots/sentiment/plots/sklearn/{roc,precision_recall,confusion_matrix}.json``;
the model is registered as a new version of ``w2v-sentiment`` in the MLflow registry
and becomes ``champion`` if its dev accuracy beats the current champion's.
"""

from __future__ import annotations

from pipeline import paths
from pipeline.config import load_section
from pipeline.evaluation.sentiment import classification_metrics, log_plots, score_model
from pipeline.model_dir import read_config
from pipeline.runner import run
from pipeline.tracking.pyfunc_models import log_sentiment_model
from pipeline.tracking.stage import publish_results
from pipeline.training.sentiment_task import SentimentConfig, apply_threads


def main() -> None:
    apply_threads(load_section(SentimentConfig, "sentiment"))
    scored = score_model(paths.SENTIMENT_MODEL, paths.SENTIMENT_SPLITS / "test.jsonl")
    metrics = classification_metrics(scored.y_true, scored.probs, scored.labels)
    log_plots(paths.SENTIMENT_PLOTS, scored.y_true, scored.probs, scored.labels)
    test_metrics = {f"test_{k}": v for k, v in metrics.items() if k != "confusion_matrix"}
    dev = score_model(paths.SENTIMENT_MODEL, paths.SENTIMENT_SPLITS / "dev.jsonl")
    test_metrics["dev_accuracy"] = classification_metrics(dev.y_true, dev.probs, dev.labels)["accuracy"]
    publish_results(paths.SENTIMENT_MODEL_NAME, "evaluate_sentiment", paths.METRICS / "sentiment.json", test_metrics,
                    params=read_config(paths.SENTIMENT_MODEL), artifacts=(paths.SENTIMENT_PLOTS,),
                    register=lambda tracker: log_sentiment_model(tracker, paths.SENTIMENT_MODEL, test_metrics),
                    monitor="dev_accuracy")


if __name__ == "__main__":
    run(main)
