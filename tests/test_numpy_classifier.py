"""The classifier's numpy inference path: torch's probabilities for every encoder, pooling and head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_sentiment_model import sequences, tiny

from pipeline.errors import ConfigError
from pipeline.models.classifier import collate, probabilities, predict_proba
from pipeline.models.numpy_classifier import NumpyClassifier
from pipeline.models.numpy_rnn import GateMemo
from pipeline.predict.sentiment import SentimentPredictor

pytestmark = pytest.mark.usefixtures("one_thread")
CASES = [
    {"encoder": "gru"},
    {"encoder": "lstm", "pooling": ["last", "attention"]},
    {"encoder": "rnn", "bidirectional": False, "pooling": ["last", "max"]},
    {"encoder": "gru", "hidden_sizes": [5, 4], "pooling": ["mean", "attention"], "num_classes": 3},
]


@pytest.mark.parametrize("overrides", CASES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_numpy_probabilities_are_torch_ones(overrides):
    model = tiny(**overrides)
    with torch.inference_mode():
        expected = probabilities(model(*collate(sequences()))).numpy()
    np.testing.assert_allclose(NumpyClassifier(model).predict_proba(sequences()), expected, rtol=1e-5, atol=1e-6)


def test_the_engine_replaces_the_forward_pass_batch_by_batch():
    model = tiny(encoder="lstm")
    fast = NumpyClassifier(model)
    got = predict_proba(model, sequences(), batch_size=2, engine=fast.predict_proba)
    np.testing.assert_allclose(got, predict_proba(model, sequences(), batch_size=2), rtol=1e-5, atol=1e-6)
    assert fast.memo.index  # the ids it met are memoised


def test_the_memo_table_grows_and_keeps_every_row():
    model = tiny(encoder="gru")
    fast = NumpyClassifier(model)
    fast.memo = GateMemo(fast.memo.table.shape[1], fast.memo.compute, rows=2)  # far fewer rows than distinct ids
    with torch.inference_mode():
        expected = probabilities(model(*collate(sequences()))).numpy()
    np.testing.assert_allclose(fast.predict_proba(sequences()), expected, rtol=1e-5, atol=1e-6)
    assert len(fast.memo.table) > 2


def test_numpy_engine_classifies_reviews_as_torch(textcat_model):
    tokens = [text.split() for text in ["a wonderful moving film", "dull and boring , a waste", "fine"]]
    by_engine = {e: SentimentPredictor.load(textcat_model, e).predict_proba(tokens) for e in ("torch", "numpy", "auto")}
    np.testing.assert_allclose(by_engine["numpy"], by_engine["torch"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(by_engine["auto"], by_engine["numpy"])


def test_an_unknown_engine_is_named(textcat_model):
    with pytest.raises(ConfigError, match="engine"):
        SentimentPredictor.load(textcat_model, "gpu")
