"""Model directories saved by release 0.1 (before the layers refactor) still load and predict the same."""

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.predict.ner import NerPredictor
from pipeline.predict.sentiment import SentimentPredictor

FIXTURE = Path(__file__).parent / "fixtures" / "release_0_1"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))


def test_ner_model_of_release_0_1_predicts_the_same_entities():
    predictor = NerPredictor.load(FIXTURE / "ner")
    for text, expected in zip(EXPECTED["texts"], EXPECTED["entities"], strict=True):
        got = predictor.predict_text(text)["entities"]
        assert [{k: v for k, v in e.items() if k != "score"} for e in got] == \
               [{k: v for k, v in e.items() if k != "score"} for e in expected]
        assert [e["score"] for e in got] == pytest.approx([e["score"] for e in expected], abs=1e-6)


def test_sentiment_model_of_release_0_1_predicts_the_same_probabilities():
    predictor = SentimentPredictor.load(FIXTURE / "sentiment")
    probs = predictor.predict_proba([review.split() for review in EXPECTED["reviews"]])
    assert np.allclose(probs, np.array(EXPECTED["probabilities"]), atol=1e-6)
    assert predictor.labels == ["neg", "pos"] and predictor.target == "label"
