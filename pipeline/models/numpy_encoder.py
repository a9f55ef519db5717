"""The tagger's inference path in numpy (engine ``numpy``, and ``auto`` on batches of several sentences).

A token's features (word vector or n-gram vector, casing, characters)
depend on its text alone, so its first-layer gate inputs are computed once
per distinct token by the tagger's own torch modules and memoised
(:class:`~pipeline.models.numpy_rnn.GateMemo`); the recurrence
(:class:`~pipeline.models.numpy_rnn.RecurrentStack`), the document memory,
the output layer and Viterbi run in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pipeline.models.crf import viterbi_arrays
from pipeline.models.numpy_rnn import GateMemo, RecurrentStack
from pipeline.models.tagger import Tagger, TaggerAssets, encode_batch


class NumpyEncoder:
    """A tagger's inference in numpy: ``decode(sentences, docs)`` gives the best tag ids per sentence.

    Built from the tagger's current weights.
    """

    def __init__(self, model: Tagger, assets: TaggerAssets) -> None:
        self.model, self.assets = model, assets
        self.stack = RecurrentStack.of_module(model.rnn)
        self.out_t = model.out.weight.detach().numpy().T.copy()  # (states,K)
        self.out_b = model.out.bias.detach().numpy().copy()
        crf = model.crf
        self.crf = None if crf is None else tuple(p.detach().numpy().copy() for p in
                                                 (crf.start_transitions, crf.transitions, crf.end_transitions))
        self.memo = GateMemo(self.stack.directions * self.stack.width, self._gate_inputs)

    def _gate_inputs(self, tokens: list[str]) -> np.ndarray:
        """(M, D·G·H): the first layer's gate inputs of each token's features."""
        with torch.inference_mode():
            features = self.model._features(encode_batch([tokens], self.assets))[0].numpy()  # (M,in)
        return self.stack.gate_inputs(features)

    def states(self, sentences: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Encoder states (N, D·H) of every real token, sentence by sentence, and the lengths (B,)."""
        lengths = np.array([len(s) for s in sentences])
        with self.memo.lock:  # a server's threads share the memo, whose rows a restart reuses
            rows = self.memo.rows([t for s in sentences for t in s])
            return self.stack.states(self.memo.table, rows, lengths), lengths

    def scores(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Tag scores (N,K) of every real token, sentence by sentence (the tagger's emissions), and the lengths (B,)."""
        states, lengths = self.states(sentences)
        if self.model.cfg.doc_context:
            states = np.concatenate([states, self._memory(states, sentences, docs)], axis=1)
        return states @ self.out_t + self.out_b, lengths

    def decode(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> list[list[int]]:
        """Best tag ids per non-empty sentence: Viterbi under the CRF, argmax under softmax."""
        scores, lengths = self.scores(sentences, docs)
        if self.crf is None:
            return [row.tolist() for row in np.split(scores.argmax(axis=1), np.cumsum(lengths)[:-1])]
        return viterbi_arrays(*self.crf, scores, lengths)

    @staticmethod
    def _memory(states: np.ndarray, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None) -> np.ndarray:
        """(N,D·H): each token's mean state over its (document, lowercased word) group, as the tagger pools."""
        if docs is None:
            raise ValueError("a doc_context tagger needs a document id per sentence")
        groups: dict[tuple[int, str], int] = {}
        ids = np.fromiter((groups.setdefault((doc, token.lower()), len(groups))
                           for tokens, doc in zip(sentences, docs) for token in tokens), dtype=np.int64,
                          count=len(states))
        if len(groups) == len(ids):
            return states
        order = np.argsort(ids, kind="stable")  # tokens grouped; every group id 0..G-1 occurs
        first = np.flatnonzero(np.diff(ids[order], prepend=-1))  # where each group starts in that order
        sums = np.add.reduceat(states[order], first, axis=0)  # (G,D·H)
        return (sums / np.diff(first, append=len(ids))[:, None].astype(np.float32))[ids]
