"""Classifier metrics and the data behind the DVC plots (ROC, precision-recall, confusion matrix).

Used alike for the neural model and the TF-IDF baseline, so both are scored
by the same code. Probabilities are ``(N, C)`` arrays; for two classes the
second column is the positive class (``pos`` sorts after ``neg``).

What a stage's metrics file reports (:func:`split_report`): the test
split's ``test_accuracy``, ``test_n`` and (when defined) ``test_roc_auc``;
with more than two classes also ``test_macro_f1``, ``test_per_class``
(``{label: {precision, recall, f1, support}}``, as ``test_per_type`` in
``metrics/ner.json``) and ``test_confusion_matrix`` (``{true label:
{predicted label: count}}``). All are numbers or nested numbers, so
``dvc metrics show`` lists them and MLflow logs them under dotted names
(``test_per_class.good.f1``). Without a test split (:func:`pipeline.data.splits.test_split`) the same keys come from
dev, prefixed ``dev_``. Plot files that do not apply (ROC and PR for more
than two classes, every plot without a test split) hold ``[]``: ``dvc.yaml``
declares them, ``dvc repro`` fails on a missing one, and ``dvc plots show``
reads an empty list as no data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from dvclive import Live
from pipeline.atomic import write_json
from pipeline.data.splits import class_indices, load_examples
from pipeline.predict.sentiment import SentimentPredictor

SKLEARN_PLOTS = Path("plots/sklearn")  # dvclive's plot files, below a stage's plots directory
CURVE_PLOTS = ("roc.json", "precision_recall.json")
CONFUSION_PLOT = "confusion_matrix.json"


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict:
    """Accuracy, ROC-AUC (binary, or one-vs-rest when every class occurs), macro-F1, per-class scores, confusion matrix.

    ``y_true`` holds class indices into ``labels``. ``per_class`` maps each
    label, in ``labels`` order, to its precision, recall, F1 and support (0
    where undefined: a class never predicted, or never true); ``macro_f1``
    is their unweighted mean over all ``labels``. The matrix rows are true
    classes and columns predicted ones, in ``labels`` order.
    """
    if len(y_true) == 0:
        raise ValueError("no examples to evaluate")
    predicted = probs.argmax(axis=1)
    metrics = {"accuracy": float((predicted == y_true).mean()), "n": len(y_true)}
    if len(labels) == 2 and len(set(y_true.tolist())) == 2:
        metrics["roc_auc"] = float(roc_auc_score(y_true, probs[:, 1]))
    elif len(set(y_true.tolist())) == len(labels) > 2:
        metrics["roc_auc"] = float(roc_auc_score(y_true, probs, multi_class="ovr"))
    classes = range(len(labels))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, predicted, labels=classes, zero_division=0)
    metrics["macro_f1"] = float(f1.mean())
    metrics["per_class"] = {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                            for label, p, r, f, n in zip(labels, precision, recall, f1, support)}
    metrics["confusion_matrix"] = confusion_matrix(y_true, predicted, labels=classes).tolist()
    return metrics


def split_metrics(split: str, metrics: dict, labels: list[str]) -> dict:
    """The keys a metrics file reports for one split (see the module docstring), prefixed ``{split}_``.

    Two classes keep the binary files' keys: accuracy, n and ROC-AUC only.
    """
    out = {f"{split}_{key}": metrics[key] for key in ("accuracy", "n", "roc_auc") if key in metrics}
    if len(labels) > 2:
        out[f"{split}_macro_f1"] = metrics["macro_f1"]
        out[f"{split}_per_class"] = metrics["per_class"]
        out[f"{split}_confusion_matrix"] = {true: dict(zip(labels, row))
                                            for true, row in zip(labels, metrics["confusion_matrix"])}
    return out


def write_empty_plots(directory: Path, names: tuple[str, ...]) -> None:
    """``[]`` in each named plot file under ``directory/plots/sklearn``: declared in ``dvc.yaml``, but no data."""
    for name in names:
        write_json(directory / SKLEARN_PLOTS / name, [])


def log_plots(directory: Path, y_true: np.ndarray, probs: np.ndarray, labels: list[str]) -> None:
    """Write dvclive's plot files under ``directory/plots/sklearn``: ROC and PR for binary (empty otherwise), the
    confusion matrix always.

    ``dvc.yaml`` declares these files as plots; dvclive's own ``dvc.yaml`` edits stay off.
    """
    live = Live(str(directory), save_dvc_exp=False, dvcyaml=False, report=None)
    if len(labels) == 2:
        positive = probs[:, 1].astype(np.float64)  # dvclive's JSON writer rejects float32 thresholds
        live.log_sklearn_plot("roc", y_true, positive, name=CURVE_PLOTS[0])
        live.log_sklearn_plot("precision_recall", y_true, positive, name=CURVE_PLOTS[1])
    names = np.array(labels)
    live.log_sklearn_plot("confusion_matrix", names[y_true], names[probs.argmax(axis=1)], name=CONFUSION_PLOT)
    live.end()
    if len(labels) > 2:
        write_empty_plots(directory, CURVE_PLOTS)  # after Live, which clears its plot files when it starts


def split_report(dev: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray] | None, labels: list[str],
                 plots_dir: Path) -> dict:
    """Metrics and plots of the test split's ``(y_true, probs)``; without a test split, dev's metrics and no plots."""
    if test is None:
        write_empty_plots(plots_dir, (*CURVE_PLOTS, CONFUSION_PLOT))
        return split_metrics("dev", classification_metrics(*dev, labels), labels)
    log_plots(plots_dir, *test, labels)
    return split_metrics("test", classification_metrics(*test, labels), labels)


@dataclass
class Scored:
    """Predictions of a trained model on one labelled split, with the time inference took."""

    y_true: np.ndarray
    probs: np.ndarray
    labels: list[str]
    seconds: float

    @property
    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """``(y_true, probs)``, as :func:`split_report` takes them."""
        return self.y_true, self.probs

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
