"""Three sentiment classes end to end: metrics, the TF-IDF baseline, ``doc.cats`` and the pyfunc output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import spacy
from conftest import one_torch_thread
from sklearn.metrics import f1_score

from pipeline.baselines.tfidf import BaselineConfig, TfidfBaseline
from pipeline.config import build_section
from pipeline.evaluation.sentiment import CONFUSION_PLOT, CURVE_PLOTS, SKLEARN_PLOTS, classification_metrics, split_report
from pipeline.model_dir import read_config
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.tracking.pyfunc_models import sentiment_frame, sentiment_signature
from pipeline.training.logger import NullLogger
from pipeline.training.sentiment_task import SentimentConfig, train_sentiment

LABELS = ["bad", "good", "so-so"]
CUES = {"bad": "awful dreadful", "good": "superb wonderful", "so-so": "uneven passable"}


def _records(repeat: int) -> list[dict]:
    return [{"tokens": f"the film was {cue} overall".split(), "stars": label}
            for _ in range(repeat) for label, cue in CUES.items()]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A classifier trained on three cue-word classes, ``num_classes`` left for training to set."""
    root = tmp_path_factory.mktemp("three")
    for split, repeat in (("train", 12), ("dev", 2)):
        (root / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _records(repeat)))
    cfg = build_section(SentimentConfig, {
        "target": "stars", "max_len": 20,
        "model": {"embeddings": "random", "embedding_dim": 16, "hidden_sizes": [16], "dropout": 0.0},
        "train": {"epochs": 10, "batch_size": 4, "lr": 0.01, "patience": 10},
    }, "test", "sentiment")
    with one_torch_thread():
        return train_sentiment(cfg, root, None, root / "out", NullLogger()).model_dir


def test_metrics_add_macro_f1_per_class_and_confusion_for_three_classes() -> None:
    y_true = np.array([0, 0, 1, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 2, 0]]
    metrics = classification_metrics(y_true, probs, LABELS)
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, probs.argmax(axis=1), average="macro"))
    assert list(metrics["per_class"]) == LABELS and metrics["per_class"]["good"]["precision"] == pytest.approx(2 / 3)
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_split_report_keys_and_plot_files(tmp_path: Path) -> None:
    y, probs = np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 2, 1]]
    report = split_report((y, probs), (y, probs), LABELS, tmp_path / "with_test")
    assert report["test_confusion_matrix"]["so-so"] == {"bad": 0, "good": 1, "so-so": 1}
    assert {"test_accuracy", "test_macro_f1", "test_per_class", "test_n"} <= set(report)
    for name in CURVE_PLOTS:  # no ROC or PR curve for three classes: declared in dvc.yaml, so written empty
        assert json.loads((tmp_path / "with_test" / SKLEARN_PLOTS / name).read_text()) == []
    assert json.loads((tmp_path / "with_test" / SKLEARN_PLOTS / CONFUSION_PLOT).read_text())
    dev_only = split_report((y, probs), None, LABELS, tmp_path / "dev_only")
    assert "dev_macro_f1" in dev_only and not any(key.startswith("test_") for key in dev_only)
    binary = split_report((y % 2, np.eye(2)[y % 2]), None, ["neg", "pos"], tmp_path / "binary")
    assert set(binary) == {"dev_accuracy", "dev_n", "dev_roc_auc"}  # the binary files keep their keys


def test_training_sets_the_class_count_and_learns_three_classes(model_dir: Path) -> None:
    assert read_config(model_dir)["model"]["num_classes"] == 3
    predictor = SentimentPredictor.load(model_dir)
    assert predictor.labels == LABELS
    probs = predictor.predict_proba([r["tokens"] for r in _records(1)])
    assert probs.shape == (3, 3) and probs.argmax(axis=1).tolist() == [0, 1, 2]


def test_doc_cats_hold_every_class(model_dir: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("w2v_textcat", config={"model": str(model_dir)})
    cats = nlp("The film was superb wonderful overall").cats
    assert sorted(cats) == LABELS and sum(cats.values()) == pytest.approx(1.0) and max(cats, key=cats.get) == "good"


def test_pyfunc_output_has_each_class_probability(model_dir: Path) -> None:
    signature = sentiment_signature(model_dir)
    assert signature.outputs.input_names() == ["label", "probability", *(f"probability_{c}" for c in LABELS)]
    frame = sentiment_frame(np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]), LABELS)
    assert frame["label"].tolist() == ["so-so", "bad"] and frame["probability"].tolist() == [0.7, 0.6]
    assert frame["probability_good"].tolist() == [0.2, 0.3] and list(frame.columns) == signature.outputs.input_names()


def test_baseline_on_three_classes() -> None:
    train, dev = _records(6), _records(2)
    y = {name: np.array([LABELS.index(r["stars"]) for r in rows]) for name, rows in (("train", train), ("dev", dev))}
    model, _ = TfidfBaseline.fit(BaselineConfig(min_df=1, C=[10.0]), [r["tokens"] for r in train], y["train"],
                                 [r["tokens"] for r in dev], y["dev"], LABELS)
    probs = model.predict_proba([r["tokens"] for r in dev])
    assert probs.shape == (6, 3) and (probs.argmax(axis=1) == y["dev"]).all()
