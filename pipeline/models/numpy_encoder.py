"""The tagger's inference path in numpy (engine ``numpy``, and ``auto`` on batches of several sentences).

A token's features (word vector or n-gram vector, casing, characters)
depend on its text alone, so its first-layer gate inputs are computed once
per distinct token and memoised (:class:`~pipeline.models.numpy_rnn.GateMemo`):
in numpy for a character CNN or none (a torch call's fixed cost would be most of a
single sentence's time), by the tagger's own torch modules for a character LSTM. The recurrence
(:class:`~pipeline.models.numpy_rnn.RecurrentStack`), the document memory,
the output layer and Viterbi run in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pipeline.models.crf import best_paths
from pipeline.models.numpy_rnn import GateMemo, RecurrentStack
from pipeline.models.onnx_encoder import supports
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
        self.in_numpy = supports(model)
        self.word_table = model.words.weight.detach().numpy()  # (V,word_dim)
        self.casing_table = None if model.casing is None else model.casing.weight.detach().numpy()  # (casings,casing_dim)
        if model.char_enc is not None and self.in_numpy:
            window = model.char_enc.window
            self.char_table = model.char_emb.weight.detach().numpy()  # (chars,char_dim)
            kernel = model.char_enc.kernel  # torch's windows are laid out (char_dim, k); numpy's here (k, char_dim)
            weight = window.weight.detach().numpy()  # (char_size, char_dim·k)
            self.char_w_t = weight.reshape(len(weight), -1, kernel).transpose(2, 1, 0).reshape(-1, len(weight)).copy()
            self.char_b = window.bias.detach().numpy()
        self.memo = GateMemo(self.stack.directions * self.stack.width, self._gate_inputs)

    def _gate_inputs(self, tokens: list[str]) -> np.ndarray:
        """(M, D·G·H): the first layer's gate inputs of each token's features."""
        if self.in_numpy:
            return self.stack.gate_inputs(self._features(tokens))
        with torch.inference_mode():
            features = self.model._features(encode_batch([tokens], self.assets)).numpy()  # (M,in)
        return self.stack.gate_inputs(features)

    def _features(self, tokens: list[str]) -> np.ndarray:
        """(M,in) features of distinct tokens, as :meth:`Tagger._features` gives them: word (or n-gram) vector,
        casing, character CNN."""
        ids = [self.assets.token_ids(token) for token in tokens]
        words = self.word_table[[i.word for i in ids]]  # (M,word_dim)
        for row, i in enumerate(ids):
            if i.subword is not None:  # fastText: a word outside the vocabulary gets its n-gram vector
                words[row] = i.subword
        parts = [words]
        if self.casing_table is not None:
            parts.append(self.casing_table[[i.casing for i in ids]])
        if self.model.char_enc is not None:
            parts.append(self._char_cnn([i.chars for i in ids]))
        return np.concatenate(parts, axis=1)

    def _char_cnn(self, rows: list[list[int]]) -> np.ndarray:
        """Character ids of M tokens → (M,char_size): :class:`~pipeline.models.tagger.CharCNN`, max over real
        characters. The ids go straight into the convolution's zero-padded (M, C+k-1) array, row by row: the few
        new tokens of a request cost less so than through a vectorised (M,C) matrix first."""
        kernel = self.model.char_enc.kernel
        left, steps = (kernel - 1) // 2, max(map(len, rows))
        padded = np.zeros((len(rows), steps + kernel - 1), dtype=np.int64)  # id 0's row is zeros, as torch pads
        for row, chars in zip(padded, rows):
            row[left : left + len(chars)] = chars
        chars = padded[:, left : left + steps]  # (M,C)
        embedded = self.char_table[padded]  # (M,C+k-1,char_dim)
        windows = np.concatenate([embedded[:, j : j + steps] for j in range(kernel)], axis=2)  # (M,C,k·char_dim)
        feats = windows @ self.char_w_t + self.char_b  # (M,C,char_size)
        feats[chars == 0] = -np.inf
        return feats.max(axis=1)

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
        return self._best(*self.scores(sentences, docs))

    def decode_scored(self, sentences: Sequence[Sequence[str]],
                      docs: Sequence[int] | None = None) -> tuple[list[list[int]], list[list[float]]]:
        """Best tag ids and each tag's probability (the CRF marginals, in torch, of the numpy emissions)."""
        scores, lengths = self.scores(sentences, docs)
        best = self._best(scores, lengths)
        mask = np.arange(int(lengths.max()))[None, :] < lengths[:, None]  # (B,T)
        padded = np.zeros((*mask.shape, scores.shape[1]), dtype=np.float32)
        padded[mask] = scores
        with torch.inference_mode():
            return best, self.model.probabilities(torch.from_numpy(padded), torch.from_numpy(mask), best)

    def _best(self, scores: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
        return best_paths(self.crf, scores, lengths)

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
