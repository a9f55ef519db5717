"""Stage ``report``: one HTML page of the whole run, ``outputs/report.html``, also logged to MLflow.

It reads what the other stages wrote (metrics, dvclive curves, the NER
confusion table and error report, the sentiment and baseline plot files)
and draws it with :mod:`pipeline.evaluation.report`; it trains and scores nothing.

    python -m pipeline.stages.report
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline import paths
from pipeline.atomic import atomic_open
from pipeline.config import params_profile
from pipeline.evaluation import report
from pipeline.model_dir import read_json_if_written
from pipeline.runner import run
from pipeline.tracking.stage import stage_run

SKLEARN_PLOTS = Path("plots/sklearn")  # where dvclive writes ROC, PR and confusion files below a plots directory


def live_curve(live_dir: Path, metric: str) -> list[tuple[float, float]]:
    """``(epoch, value)`` points of one dvclive metric."""
    path = live_dir / "plots" / "metrics" / f"{metric}.tsv"
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [(float(row["step"]), float(row[metric])) for row in csv.DictReader(fh, delimiter="\t")]


def points(plots_dir: Path, name: str, x: str, y: str) -> list[tuple[float, float]]:
    """``(x, y)`` points of a dvclive sklearn plot file (``roc``, ``precision_recall``)."""
    rows = read_json_if_written(plots_dir / SKLEARN_PLOTS / f"{name}.json")
    return [(r[x], r[y]) for r in rows.get(name, [])] if rows else []


def confusion_counts(pairs: list[dict], labels: list[str]) -> list[list[int]]:
    """Counts (gold rows × predicted columns) from dvclive's ``[{actual, predicted}]`` records."""
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for pair in pairs:
        counts[index[pair["actual"]]][index[pair["predicted"]]] += 1
    return counts


def ner_section() -> tuple[str, list[str]]:
    metrics = read_json_if_written(paths.METRICS / "ner.json")
    if not metrics:
        return "NER", ["<p>No NER evaluation in this run.</p>"]
    split = "test" if "test_f1" in metrics else "dev"  # a run without a test split scores dev (evaluate_ner)
    per_type = metrics.get(f"{split}_per_type", {})
    parts = [report.table([f"entity type ({split})", "precision", "recall", "F1", "support"],
                          [[t, s["precision"], s["recall"], s["f1"], s["support"]] for t, s in per_type.items()]
                          + [["all (micro)", metrics[f"{split}_precision"], metrics[f"{split}_recall"],
                              metrics[f"{split}_f1"], ""]])]
    parts.append(report.curves_plot({"dev F1": live_curve(paths.NER_LIVE, "dev_f1")}, "NER dev F1", "epoch", "F1"))
    parts.append(report.curves_plot({"train loss": live_curve(paths.NER_LIVE, "train_loss")}, "NER training loss",
                                    "epoch", "loss"))
    confusion = read_json_if_written(paths.NER_OUT / "confusion.json")
    if confusion:
        labels = sorted(confusion)
        parts.append(report.matrix_plot(labels, labels, [[confusion[g].get(p, 0) for p in labels] for g in labels],
                                        f"NER entity confusion ({split})", "predicted", "gold"))
    errors = paths.NER_OUT / "report.html"
    if errors.exists():
        parts.append(f"<h3>{split.capitalize()} sentences the tagger got wrong (displaCy)</h3>")
        parts.append(report.embedded_page(errors.read_text(encoding="utf-8"), "NER errors"))
    if split == "dev":
        return f"NER: dev F1 {metrics['dev_f1']:.2f} (no test split)", parts
    return f"NER: test F1 {metrics['test_f1']:.2f} (dev {metrics['dev_f1']:.2f})", parts


def sentiment_section() -> tuple[str, list[str]]:
    model, baseline = read_json_if_written(paths.METRICS / "sentiment.json"), read_json_if_written(paths.METRICS / "baseline.json")
    if not model:
        return "Sentiment", ["<p>No sentiment evaluation in this run.</p>"]
    rows = [["BiRNN classifier", model["dev_accuracy"], model.get("test_accuracy", "-"), model.get("test_roc_auc", "")]]
    if baseline:
        rows.append(["TF-IDF + LR baseline", baseline[f"dev_acc_C{baseline['C']:g}"], baseline.get("test_accuracy", "-"),
                     baseline.get("test_roc_auc", "")])
    parts = [report.table(["model", "dev accuracy", "test accuracy", "test ROC AUC"], rows)]
    parts.append(report.curves_plot({"dev accuracy": live_curve(paths.SENTIMENT_LIVE, "dev_acc")},
                                    "Sentiment dev accuracy", "epoch", "accuracy"))
    parts.append(report.curves_plot({"train loss": live_curve(paths.SENTIMENT_LIVE, "train_loss"),
                                     "dev loss": live_curve(paths.SENTIMENT_LIVE, "dev_loss")},
                                    "Sentiment loss", "epoch", "loss"))
    for name, x, y, title in (("roc", "fpr", "tpr", "ROC (test)"), ("precision_recall", "recall", "precision",
                                                                       "Precision-recall (test)")):
        curves = {"BiRNN": points(paths.SENTIMENT_PLOTS, name, x, y),
                  "TF-IDF + LR": points(paths.BASELINE_PLOTS, name, x, y)}
        if any(curves.values()):
            parts.append(report.curves_plot(curves, title, x, y))
    pairs = read_json_if_written(paths.SENTIMENT_PLOTS / SKLEARN_PLOTS / "confusion_matrix.json")
    if pairs:
        labels = sorted({p["actual"] for p in pairs} | {p["predicted"] for p in pairs})
        parts.append(report.matrix_plot(labels, labels, confusion_counts(pairs, labels),
                                        "Sentiment confusion (test)", "predicted", "gold"))
    if "test_accuracy" not in model:
        return f"Sentiment: dev accuracy {model['dev_accuracy']:.3f} (no test split)", parts
    return f"Sentiment: test accuracy {model['test_accuracy']:.3f}", parts


def main() -> None:
    profile = params_profile()
    html = report.page(f"w2v-rnn-pipeline run report (data profile: {profile})", [ner_section(), sentiment_section()])
    with atomic_open(paths.REPORT) as fh:
        fh.write(html)
    with stage_run(paths.REPORT_EXPERIMENT, "report") as tracked:
        tracked.tracker.log_artifact(paths.REPORT)
    print(f"report: {paths.REPORT}")


if __name__ == "__main__":
    run(main)
