"""The sentiment classifier's inference path in numpy (engine ``numpy``, the default ``auto``), its recurrence
optionally in ONNX Runtime (engine ``onnx``, and ``quantize="int8"``: :mod:`pipeline.models.onnx_rnn`).

A word id's first-layer gate inputs are its embedding row times the input
weights: computed once per distinct id and memoised
(:class:`~pipeline.models.numpy_rnn.GateMemo`); the recurrence
(:class:`~pipeline.models.numpy_rnn.RecurrentStack`), the pooling and the
head run in numpy, reading each review's own tokens only, so a review gets
the probabilities it gets alone, as in :class:`RNNClassifier`.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from pipeline.errors import ConfigError
from pipeline.models.classifier import RNNClassifier
from pipeline.models.numpy_rnn import GateMemo, RecurrentStack
from pipeline.models.onnx_encoder import QUANTIZE, Quantize
from pipeline.models.onnx_rnn import ScanStack

ClassifierEngine = Literal["auto", "torch", "numpy", "onnx"]
CLASSIFIER_ENGINES: tuple[str, ...] = get_args(ClassifierEngine)


def choose_classifier_engine(engine: ClassifierEngine, quantize: Quantize, source: str) -> ClassifierEngine:
    """What runs the classifier: ``torch``, ``numpy``, or ``onnx`` (numpy around an ONNX Runtime recurrence);
    ``auto`` is numpy in float (the faster there) and ONNX Runtime in int8, the only engine with int8 weights."""
    if engine not in CLASSIFIER_ENGINES or quantize not in QUANTIZE:
        raise ConfigError(source, "engine/quantize", f"got {engine!r}/{quantize!r}; expected engine one of "
                                                     f"{', '.join(CLASSIFIER_ENGINES)} and quantize one of {', '.join(QUANTIZE)}")
    if quantize == "int8":
        if engine in ("torch", "numpy"):
            raise ConfigError(source, "quantize", "int8 runs on ONNX Runtime: use engine 'onnx' or 'auto'")
        return "onnx"
    return "numpy" if engine == "auto" else engine


def _array(parameter) -> np.ndarray:
    return parameter.detach().float().numpy().copy()


class NumpyClassifier:
    """Class probabilities of id sequences from an :class:`RNNClassifier`'s current weights; ``recurrence``
    ``onnx`` runs the recurrent layers in ONNX Runtime, with int8 weights under ``quantize="int8"``."""

    def __init__(self, model: RNNClassifier, recurrence: str = "numpy", quantize: Quantize = "none") -> None:
        self.cfg = model.cfg
        self.stack = RecurrentStack.of_directions(model.layers)
        self.recurrence = ScanStack(self.stack, quantize) if recurrence == "onnx" else self.stack
        self.embeddings = _array(model.embedding.weight)  # (V,E)
        self.head_t, self.head_b = _array(model.head.weight).T, _array(model.head.bias)
        attention = model.attention
        self.attention = None if attention is None else (
            _array(attention.proj.weight).T, _array(attention.proj.bias), _array(attention.score.weight)[0])
        self.memo = GateMemo(self.stack.directions * self.stack.width,
                             lambda ids: self.stack.gate_inputs(self.embeddings[ids]))

    def predict_proba(self, sequences: list[list[int]]) -> np.ndarray:
        """(B,C) class probabilities of non-empty id sequences."""
        with self.memo.lock:  # a server's threads share the memo, whose rows a restart reuses
            return self._predict_proba(sequences)

    def _predict_proba(self, sequences: list[list[int]]) -> np.ndarray:
        lengths = np.array([len(s) for s in sequences])
        rows = self.memo.rows([i for s in sequences for i in s])  # first: it may grow the table
        states = self.recurrence.states(self.memo.table, rows, lengths)  # (N,D)
        logits = self._pool(states, lengths) @ self.head_t + self.head_b  # (B,1) or (B,C)
        if logits.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - positive, positive], axis=1)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def _pool(self, states: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(N,D) token states → (B, D × poolings), the configured poolings side by side, each over a review's tokens."""
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        hidden = self.cfg.hidden_sizes[-1]
        pooled = []
        for mode in self.cfg.pooling:
            if mode == "last":  # the forward direction at the last token, the backward one at the first
                pooled.append(np.concatenate([states[starts + lengths - 1, :hidden], states[starts, hidden:]], axis=1))
            elif mode == "max":
                pooled.append(np.maximum.reduceat(states, starts, axis=0))
            elif mode == "mean":
                pooled.append(np.add.reduceat(states, starts, axis=0) / lengths[:, None].astype(np.float32))
            else:
                pooled.append(self._attend(states, starts))
        return np.concatenate(pooled, axis=1)

    def _attend(self, states: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Additive attention pooling (B,D): ``softmax(v · tanh(W h + b))`` over each review's tokens."""
        proj_t, proj_b, score = self.attention
        scores = np.tanh(states @ proj_t + proj_b) @ score  # (N,)
        top = np.maximum.reduceat(scores, starts)  # (B,)
        weights = np.exp(scores - np.repeat(top, np.diff(np.append(starts, len(scores)))))  # (N,)
        return np.add.reduceat(weights[:, None] * states, starts, axis=0) / np.add.reduceat(weights, starts)[:, None]
