"""Stage ``evaluate_sentiment``: score the trained classifier once on the IMDB test set.

Outputs: ``metrics/sentiment.json`` (test accuracy, ROC-AUC; dev accuracy, which decides promotion) and
``plots/sentiment/plots/sklearn/{roc,precision_recall,confusion_matrix}.json``;
the model is registered as a new version of ``w2v-sentiment`` in the MLflow registry
and becomes ``champion`` if its dev accuracy beats the current champion's.
"""

from __future__ import annotations

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.config import load_section
from pipeline.evaluation.sentiment import classification_metrics, log_plots, score_model
from pipeline.runner import run
from pipeline.stages.train_sentiment import MODEL_DIR
from pipeline.tracking.pyfunc_models import SENTIMENT_MODEL_NAME, log_sentiment_model
from pipeline.tracking.stage import promote_if_better, stage_run
from pipeline.training.checkpoint import read_config
from pipeline.training.sentiment_task import SentimentConfig, apply_threads

PLOTS_DIR = paths.PLOTS / "sentiment"


def main() -> None:
    apply_threads(load_section(SentimentConfig, "sentiment"))
    scored = score_model(MODEL_DIR, paths.SENTIMENT_SPLITS / "test.jsonl")
    metrics = classification_metrics(scored.y_true, scored.probs, scored.labels)
    log_plots(PLOTS_DIR, scored.y_true, scored.probs, scored.labels)
    test_metrics = {f"test_{k}": v for k, v in metrics.items() if k != "confusion_matrix"}
    dev = score_model(MODEL_DIR, paths.SENTIMENT_SPLITS / "dev.jsonl")
    test_metrics["dev_accuracy"] = classification_metrics(dev.y_true, dev.probs, dev.labels)["accuracy"]
    write_json(paths.METRICS / "sentiment.json", test_metrics)
    with stage_run(SENTIMENT_MODEL_NAME, "evaluate_sentiment") as tracked:
        tracked.tracker.log_params(read_config(MODEL_DIR))
        tracked.tracker.log_metrics(test_metrics, step=0)
        tracked.tracker.log_artifact(PLOTS_DIR)
        promote_if_better(log_sentiment_model(tracked.tracker, MODEL_DIR, test_metrics), "dev_accuracy")


if __name__ == "__main__":
    run(main)
