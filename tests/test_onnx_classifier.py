"""The classifier's recurrence in ONNX Runtime: float equals numpy, int8 keeps the sample's labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import one_torch_thread
from test_numpy_classifier import CASES
from test_sentiment_model import sequences, tiny

from pipeline.config import build_section
from pipeline.data.imdb import read_imdb
from pipeline.data.tokenizer import tokenize_many
from pipeline.errors import ConfigError
from pipeline.models.classifier import collate, probabilities
from pipeline.models.numpy_classifier import NumpyClassifier
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.training.logger import NullLogger
from pipeline.training.sentiment_task import SentimentConfig, train_sentiment

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("overrides", CASES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_onnx_recurrence_gives_torch_probabilities(overrides):
    model = tiny(**overrides)
    with torch.inference_mode():
        expected = probabilities(model(*collate(sequences()))).numpy()
    np.testing.assert_allclose(NumpyClassifier(model, "onnx").predict_proba(sequences()), expected, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def sample_classifier(tmp_path_factory, sample_root):
    """A small BiGRU trained on the sample's training reviews (random embeddings), and the sample's test reviews."""
    root = tmp_path_factory.mktemp("sample_sentiment")
    train = list(read_imdb(sample_root / "aclimdb" / "train.jsonl.gz"))
    tokens = list(tokenize_many([r.text for r in train]))
    lines = [json.dumps({"tokens": t, "label": r.label}) for t, r in zip(tokens, train)]
    (root / "train.jsonl").write_text("\n".join(lines[:400]) + "\n")
    (root / "dev.jsonl").write_text("\n".join(lines[400:]) + "\n")
    cfg = build_section(SentimentConfig, {
        "model": {"embeddings": "random", "embedding_dim": 32, "encoder": "gru", "hidden_sizes": [32], "dropout": 0.2},
        "train": {"epochs": 3, "batch_size": 16, "lr": 0.005, "patience": 3},
        "max_len": 300,
    }, "test", "sentiment")
    with one_torch_thread():
        model_dir = train_sentiment(cfg, root, None, root / "out", NullLogger()).model_dir
    test = list(read_imdb(sample_root / "aclimdb" / "test.jsonl.gz"))
    return model_dir, list(tokenize_many([r.text for r in test]))


def test_int8_labels_the_sample_reviews_as_float(sample_classifier):
    """The issue's bar: int8 labels equal float ones on at least 98% of the sample's test reviews."""
    model_dir, reviews = sample_classifier
    float_probs = SentimentPredictor.load(model_dir).predict_proba(reviews)
    int8_probs = SentimentPredictor.load(model_dir, quantize="int8").predict_proba(reviews)
    float_labels, int8_labels = float_probs.argmax(axis=1), int8_probs.argmax(axis=1)
    same = float((float_labels == int8_labels).mean())
    assert same >= 0.98, f"int8 labels equal float ones on {same:.1%} of {len(reviews)} reviews"
    assert len(set(float_labels.tolist())) == 2, "the model predicts one class only: the comparison would be empty"
    assert not np.array_equal(float_probs, int8_probs)  # the weights really are int8


@pytest.mark.parametrize(("engine", "quantize", "field"), [("numpy", "int8", "quantize"), ("torch", "int8", "quantize"),
                                                          ("auto", "int4", "engine/quantize")])
def test_impossible_classifier_settings_are_named(textcat_model, engine, quantize, field):
    with pytest.raises(ConfigError, match=field):
        SentimentPredictor.load(textcat_model, engine, quantize)


def test_the_textcat_component_takes_int8(textcat_model):
    import spacy

    import pipeline.spacy_components  # noqa: F401

    texts = ["a wonderful moving film", "dull and boring , a waste"]
    cats = {}
    for quantize in ("none", "int8"):
        nlp = spacy.blank("en")
        nlp.add_pipe("w2v_textcat", config={"model": str(textcat_model), "quantize": quantize})
        cats[quantize] = [doc.cats for doc in nlp.pipe(texts)]
    for plain, int8 in zip(cats["none"], cats["int8"]):
        assert max(plain, key=plain.get) == max(int8, key=int8.get)
        assert plain.keys() == int8.keys() and abs(sum(int8.values()) - 1) < 1e-5
