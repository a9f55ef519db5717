"""Classify raw texts or token lists with a trained sentiment model: ``SentimentPredictor.load(model_dir)``.

The model directory holds everything needed: weights, the typed config, the
vocabulary (with its normalisation) and the class labels. Texts go through
the project tokenizer, then the same encoding and truncation as training,
in length-sorted batches, run in numpy by default (``engine="torch"``: the torch forward pass;
``quantize="int8"``: int8 recurrent weights in ONNX Runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.data.tokenizer import LANGUAGE, tokenize_many
from pipeline.model_dir import model_language, read_config
from pipeline.models.classifier import (
    MAX_BATCH_TOKENS,
    ClassifierAssets,
    RNNClassifier,
    load_classifier,
    predict_proba,
)
from pipeline.models.numpy_classifier import ClassifierEngine, NumpyClassifier, choose_classifier_engine
from pipeline.models.onnx_encoder import Quantize

BATCH_SIZE = 128  # reviews per forward pass when the model's config names none


@dataclass(frozen=True)
class Prediction:
    """The most probable class of one text and its probability."""

    label: str
    probability: float


class SentimentPredictor:
    """A loaded classifier with its vocabulary and labels; ``target`` is the record field it was trained to predict,
    ``language`` the tokenizer of its training data."""

    def __init__(self, model: RNNClassifier, assets: ClassifierAssets, target: str = "label",
                 batch_size: int = BATCH_SIZE, language: str = LANGUAGE, engine: ClassifierEngine = "torch",
                 quantize: Quantize = "none") -> None:
        chosen = choose_classifier_engine(engine, quantize, "sentiment predictor")
        self.model, self.assets, self.target, self.batch_size = model.eval(), assets, target, batch_size
        self.language = language
        self.fast = None if chosen == "torch" else NumpyClassifier(self.model, chosen, quantize)

    @classmethod
    def load(cls, model_dir: str | Path, engine: ClassifierEngine = "auto", quantize: Quantize = "none") -> SentimentPredictor:
        """Rebuild the model from ``config.json``, ``vocab.json``, ``labels.json`` and the weights; ``engine``:
        ``auto``/``numpy`` run inference in numpy (:mod:`pipeline.models.numpy_classifier`), ``onnx`` its
        recurrence in ONNX Runtime, ``torch`` all of it in torch; ``quantize="int8"``: int8 recurrent weights."""
        model_dir = Path(model_dir)
        config = read_config(model_dir)
        model, assets = load_classifier(model_dir)
        return cls(model, assets, config.get("target", "label"), config.get("eval_batch_size", BATCH_SIZE),
                   model_language(model_dir), engine, quantize)

    @property
    def labels(self) -> list[str]:
        return self.assets.labels

    def predict_proba(self, tokens: list[list[str]], batch_size: int | None = None,
                      max_tokens: int | None = MAX_BATCH_TOKENS) -> np.ndarray:
        """Class probabilities (N, C) for tokenized texts, columns in ``labels`` order; batches of at most
        ``batch_size`` texts and ``max_tokens`` padded tokens."""
        sequences = [self.assets.encode(t) for t in tokens]
        return predict_proba(self.model, sequences, batch_size or self.batch_size, max_tokens,
                             None if self.fast is None else self.fast.predict_proba)

    def predict_tokens(self, tokens: list[list[str]]) -> list[Prediction]:
        """The predicted class and its probability for each tokenized text."""
        probs = self.predict_proba(tokens)
        best = probs.argmax(axis=1)
        return [Prediction(self.labels[i], float(p[i])) for i, p in zip(best, probs)]

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        """Raw texts as the project tokenizer of the model's language splits them."""
        return list(tokenize_many(texts, language=self.language))

    def predict_texts(self, texts: list[str]) -> list[Prediction]:
        """Tokenize raw texts and classify them."""
        return self.predict_tokens(self.tokenize(texts))
