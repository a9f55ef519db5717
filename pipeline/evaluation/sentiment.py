"""Classifier metrics and the data behind the DVC plots (ROC, precision-recall, confusion matrix).

Used alike for the neural model and the TF-IDF baseline, so both are scored
by the same code. Probabilities are ``(N, C)`` arrays; for two classes the
second column is the positive class (``pos`` sorts after ``neg``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score

from dvclive import Live
from pipeline.data.splits import class_indices, load_examples
from pipeline.predict.sentiment import SentimentPredictor


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict:
    """Accuracy, ROC-AUC (binary, or one-vs-rest when every class occurs) and the confusion matrix.

    ``y_true`` holds class indices into ``labels``; the matrix rows are true
    classes and columns predicted ones, in ``labels`` order.
    """
    if len(y_true) == 0:
        raise ValueError("no examples to evaluate")
    predicted = probs.argmax(axis=1)
    metrics = {"accuracy": float((predicted == y_true).mean()), "n": int(len(y_true))}
    if len(labels) == 2 and len(set(y_true.tolist())) == 2:
        metrics["roc_auc"] = float(roc_auc_score(y_true, probs[:, 1]))
    elif len(set(y_true.tolist())) == len(labels) > 2:
        metrics["roc_auc"] = float(roc_auc_score(y_true, probs, multi_class="ovr"))
    metrics["confusion_matrix"] = confusion_matrix(y_true, predicted, labels=range(len(labels))).tolist()
    return metrics


def log_plots(directory: Path, y_true: np.ndarray, probs: np.ndarray, labels: list[str]) -> None:
    """Write dvclive's plot files under ``directory/plots/sklearn`` (ROC and PR for binary, confusion matrix always).

    ``dvc.yaml`` declares these files as plots; dvclive's own ``dvc.yaml`` edits stay off.
    """
    live = Live(str(directory), save_dvc_exp=False, dvcyaml=False, report=None)
    if len(labels) == 2:
        positive = probs[:, 1].astype(np.float64)  # dvclive's JSON writer rejects float32 thresholds
        live.log_sklearn_plot("roc", y_true, positive, name="roc.json")
        live.log_sklearn_plot("precision_recall", y_true, positive, name="precision_recall.json")
    names = np.array(labels)
    live.log_sklearn_plot("confusion_matrix", names[y_true], names[probs.argmax(axis=1)], name="confusion_matrix.json")
    live.end()


@dataclass
class Scored:
    """Predictions of a trained model on one labelled split, with the time inference took."""

    y_true: np.ndarray
    probs: np.ndarray
    labels: list[str]
    seconds: float

    def metrics(self) -> dict:
        """:func:`classification_metrics` plus inference throughput (documents/s, from tokens)."""
        return classification_metrics(self.y_true, self.probs, self.labels) | {
            "docs_per_s": len(self.y_true) / self.seconds
        }


def score_model(model_dir: Path, split_file: Path) -> Scored:
    """Load a sentiment model directory and predict every review of ``split_file`` (tokenized, timed)."""
    predictor = SentimentPredictor.load(model_dir)
    examples = load_examples(split_file, predictor.target)
    y_true = class_indices(examples, predictor.labels, split_file)
    start = time.perf_counter()
    probs = predictor.predict_proba(examples.tokens)
    return Scored(y_true, probs, predictor.labels, time.perf_counter() - start)
