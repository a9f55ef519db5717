"""Stage ``baseline_sentiment``: TF-IDF + logistic regression on the same splits as the neural model.

Outputs: ``outputs/baseline`` (JSON + ``.npz``, no pickle) and
``metrics/baseline.json`` (dev accuracy per ``C``, the chosen ``C``, and the test split's figures as in
``metrics/sentiment.json``: accuracy, ROC-AUC, and macro-F1, per-class scores and confusion matrix for more
than two classes; without a test split, dev's).
"""

from __future__ import annotations

from pipeline import paths
from pipeline.baselines.tfidf import BaselineConfig, TfidfBaseline
from pipeline.config import load_section
from pipeline.data.splits import class_indices, class_labels, load_examples, test_split
from pipeline.evaluation.sentiment import split_report
from pipeline.runner import run
from pipeline.tracking.stage import publish_results


def main() -> None:
    cfg = load_section(BaselineConfig, "baseline")
    splits = {name: paths.SENTIMENT_SPLITS / f"{name}.jsonl" for name in ("train", "dev")}
    if test_file := test_split(paths.SENTIMENT_SPLITS, "sentiment"):
        splits["test"] = test_file
    data = {name: load_examples(path, cfg.target) for name, path in splits.items()}
    labels = class_labels(data["train"].targets)
    y = {name: class_indices(data[name], labels, splits[name]) for name in splits}
    baseline, dev_scores = TfidfBaseline.fit(cfg, data["train"].tokens, y["train"], data["dev"].tokens, y["dev"], labels)
    baseline.save(paths.BASELINE)
    scores = {name: (y[name], baseline.predict_proba(data[name].tokens)) for name in splits if name != "train"}
    metrics = {f"dev_acc_C{c:g}": acc for c, acc in dev_scores.items()} | {"C": float(baseline.classifier.C)}
    metrics |= split_report(scores["dev"], scores.get("test"), labels, paths.BASELINE_PLOTS)
    publish_results(paths.BASELINE_EXPERIMENT, "baseline_sentiment", paths.METRICS / "baseline.json", metrics,
                    params=cfg.model_dump(), artifacts=(paths.BASELINE,))


if __name__ == "__main__":
    run(main)
