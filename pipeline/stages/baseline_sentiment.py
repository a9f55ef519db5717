"""Stage ``baseline_sentiment``: TF-IDF + logistic regression on the same splits as the neural model.

Outputs: ``outputs/baseline`` (JSON + ``.npz``, no pickle) and
``metrics/baseline.json`` (dev accuracy per ``C``, the chosen ``C``, test accuracy and ROC-AUC).
"""

from __future__ import annotations

from pipeline import paths
from pipeline.baselines.tfidf import BaselineConfig, TfidfBaseline
from pipeline.config import load_section
from pipeline.data.splits import class_indices, class_labels, load_examples
from pipeline.evaluation.sentiment import classification_metrics, log_plots
from pipeline.runner import run
from pipeline.tracking.stage import publish_results


def main() -> None:
    cfg = load_section(BaselineConfig, "baseline")
    splits = {name: paths.SENTIMENT_SPLITS / f"{name}.jsonl" for name in ("train", "dev", "test")}
    data = {name: load_examples(path, cfg.target) for name, path in splits.items()}
    labels = class_labels(data["train"].targets)
    y = {name: class_indices(data[name], labels, splits[name]) for name in splits}
    baseline, dev_scores = TfidfBaseline.fit(cfg, data["train"].tokens, y["train"], data["dev"].tokens, y["dev"], labels)
    baseline.save(paths.BASELINE)
    probs = baseline.predict_proba(data["test"].tokens)
    test = classification_metrics(y["test"], probs, labels)
    log_plots(paths.BASELINE_PLOTS, y["test"], probs, labels)
    metrics = {f"dev_acc_C{c:g}": acc for c, acc in dev_scores.items()}
    metrics |= {"C": float(baseline.classifier.C), "test_accuracy": test["accuracy"], "test_n": test["n"]}
    if "roc_auc" in test:
        metrics["test_roc_auc"] = test["roc_auc"]
    publish_results(paths.BASELINE_EXPERIMENT, "baseline_sentiment", paths.METRICS / "baseline.json", metrics,
                    params=cfg.model_dump(), artifacts=(paths.BASELINE,))


if __name__ == "__main__":
    run(main)
