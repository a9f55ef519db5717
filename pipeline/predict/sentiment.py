"""Classify raw texts or token lists with a trained sentiment model: ``SentimentPredictor.load(model_dir)``.

The model directory holds everything needed: weights, the typed config, the
vocabulary (with its normalisation) and the class labels. Texts go through
the project tokenizer, then the same encoding and truncation as training,
in length-sorted batches under ``torch.inference_mode``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import build_section
from pipeline.data.tokenizer import tokenize_many
from pipeline.embeddings.vocab import Vocab
from pipeline.errors import MissingDataError
from pipeline.models.classifier import RNNClassifier
from pipeline.training.checkpoint import CONFIG, load_weights, read_config
from pipeline.training.sentiment_task import LABELS_FILE, VOCAB_FILE, SentimentConfig, encode, predict_proba


@dataclass(frozen=True)
class Prediction:
    """The most probable class of one text and its probability."""

    label: str
    probability: float


class SentimentPredictor:
    """A loaded classifier with its vocabulary and labels."""

    def __init__(self, model: RNNClassifier, cfg: SentimentConfig, vocab: Vocab, labels: list[str]) -> None:
        self.model, self.cfg, self.vocab, self.labels = model.eval(), cfg, vocab, labels

    @classmethod
    def load(cls, model_dir: str | Path) -> SentimentPredictor:
        """Rebuild the model from ``config.json``, ``vocab.json``, ``labels.json`` and the weights."""
        model_dir = Path(model_dir)
        cfg = build_section(SentimentConfig, read_config(model_dir), model_dir / CONFIG, "sentiment")
        for name in (VOCAB_FILE, LABELS_FILE):
            if not (model_dir / name).exists():
                raise MissingDataError(model_dir / name, "not a sentiment model directory")
        vocab = Vocab.load(model_dir / VOCAB_FILE)
        labels = json.loads((model_dir / LABELS_FILE).read_text(encoding="utf-8"))
        model = load_weights(model_dir, RNNClassifier(cfg.model, len(vocab), trainable_rows=vocab.trained))
        return cls(model, cfg, vocab, labels)

    def predict_proba(self, tokens: list[list[str]], batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, C) for tokenized texts, columns in ``labels`` order."""
        sequences = [encode(self.vocab, t, self.cfg) for t in tokens]
        return predict_proba(self.model, sequences, batch_size or self.cfg.eval_batch_size)

    def predict_tokens(self, tokens: list[list[str]]) -> list[Prediction]:
        """The predicted class and its probability for each tokenized text."""
        probs = self.predict_proba(tokens)
        best = probs.argmax(axis=1)
        return [Prediction(self.labels[i], float(p[i])) for i, p in zip(best, probs)]

    def predict_texts(self, texts: list[str]) -> list[Prediction]:
        """Tokenize raw texts with the project tokenizer and classify them."""
        return self.predict_tokens(list(tokenize_many(texts)))
