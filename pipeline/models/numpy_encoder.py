"""The tagger's inference path in numpy, with each distinct token's first-layer gate inputs memoised.

A token's features (word vector or n-gram vector, casing, characters) depend
on its text alone, so their product with the first layer's input weights
(plus the biases that can be folded in) is computed once per distinct token,
by the tagger's own torch modules, and kept in a table: text is Zipfian, and
most tokens of a batch were seen before. What is left per batch is the
recurrence, the document memory, the output layer and Viterbi, all in
numpy, whose calls cost about a microsecond where a torch call costs
several: that fixed cost is most of the time on one short sentence.

Sentences run longest first, so at step ``t`` the rows still running are a
prefix of the batch and only they are computed (what packing does in torch);
the backward direction reads each sentence reversed within its length.

Shapes: ``B`` sentences, ``T`` tokens in the longest, ``D`` directions,
``G`` gates (LSTM 4, GRU 3, RNN 1), ``H`` hidden units, ``N`` real tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
import numpy as np
import torch
from torch import nn

from pipeline.models.crf import viterbi_arrays
from pipeline.models.tagger import Tagger, TaggerAssets, encode_batch

MEMO_TOKENS = 20_000  # distinct tokens whose gate inputs are kept (D·G·H float32s each) before the table is emptied
GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}


def _reversed(steps: np.ndarray, source: np.ndarray) -> np.ndarray:
    """(T,B,F) reordered along time by ``source`` (T,B): each row reversed within its length (its own inverse)."""
    return steps[source, np.arange(steps.shape[1])[None, :]]


# σ(x) = ½·tanh(x/2) + ½: the sigmoid gates' weights are stored halved (exact in floating point), so one tanh over
# all gates and one multiply-add give every gate's activation (numpy vectorises tanh; scipy's expit is slower here).
SIGMOID_GATES = {nn.LSTM: (True, True, False, True), nn.GRU: (True, True, False), nn.RNN: (False,)}


class _Layer:
    """One recurrent layer's weights as float32 arrays, directions stacked first."""

    def __init__(self, rnn: nn.RNNBase, layer: int) -> None:
        suffixes = ["", "_reverse"][: 2 if rnn.bidirectional else 1]

        def stacked(name: str) -> np.ndarray:
            return np.stack([getattr(rnn, f"{name}_l{layer}{s}").detach().float().numpy() for s in suffixes])

        self.kind, self.hidden = type(rnn), rnn.hidden_size
        self.relu = self.kind is nn.RNN and rnn.nonlinearity == "relu"
        halved = np.repeat(SIGMOID_GATES[self.kind], self.hidden)  # (G·H,)
        self.scale = np.where(halved, 0.5, 1.0).astype(np.float32)  # tanh(scaled) · scale + (1 - scale): σ or tanh
        self.offset = (1.0 - self.scale).astype(np.float32)
        self.w_ih_t = np.ascontiguousarray(stacked("weight_ih").transpose(0, 2, 1)) * self.scale  # (D,in,G·H)
        self.w_hh_t = np.ascontiguousarray(stacked("weight_hh").transpose(0, 2, 1)) * self.scale  # (D,H,G·H)
        b_ih, b_hh = stacked("bias_ih") * self.scale, stacked("bias_hh") * self.scale  # (D,G·H) each
        self.b_hn = None
        if self.kind is nn.GRU:  # the new gate's recurrent bias sits inside r * (W_hn h + b_hn): it cannot be folded
            self.b_hn = b_hh[:, None, 2 * self.hidden :]  # (D,1,H)
            b_hh = np.concatenate([b_hh[:, : 2 * self.hidden], np.zeros_like(b_hh[:, 2 * self.hidden :])], axis=1)
        self.bias = (b_ih + b_hh)[:, None, :]  # (D,1,G·H)

    @property
    def directions(self) -> int:
        return self.w_hh_t.shape[0]

    def step(self, x: np.ndarray, h: np.ndarray, c: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """One time step of every direction: gate inputs x (D,n,G·H), states h, c (D,n,H) → new h, c."""
        hid = self.hidden
        recurrent = np.matmul(h, self.w_hh_t)  # (D,n,G·H), sigmoid gates' columns halved
        if self.kind is nn.LSTM:  # torch's gate order: input, forget, cell, output
            act = np.tanh(recurrent.__iadd__(x), out=recurrent)
            act *= self.scale
            act += self.offset  # σ(i), σ(f), tanh(g), σ(o)
            c = act[..., hid : 2 * hid] * c
            c += act[..., :hid] * act[..., 2 * hid : 3 * hid]
            return act[..., 3 * hid :] * np.tanh(c), c
        if self.kind is nn.GRU:  # reset, update, new; the reset gate scales the recurrent product (torch's GRU)
            rz = np.tanh(x[..., : 2 * hid] + recurrent[..., : 2 * hid]) * 0.5 + 0.5
            z = rz[..., hid:]
            n = np.tanh(x[..., 2 * hid :] + rz[..., :hid] * (recurrent[..., 2 * hid :] + self.b_hn))
            return n + z * (h - n), None
        pre = x + recurrent
        return (np.maximum(pre, 0.0) if self.relu else np.tanh(pre)), None

    def run(self, x: np.ndarray, active: Sequence[int]) -> np.ndarray:
        """Gate inputs x (D,T,B,G·H), time-major per direction → states (D,T,B,H); ``active[t]`` rows run at step t."""
        directions, steps, batch, _ = x.shape
        out = np.zeros((directions, steps, batch, self.hidden), dtype=np.float32)
        h = np.zeros((directions, batch, self.hidden), dtype=np.float32)
        c = np.zeros_like(h) if self.kind is nn.LSTM else None
        for t in range(steps):
            n = active[t]  # rows past n have ended: their last states are in out already
            h, c = self.step(x[:, t, :n], h[:, :n], None if c is None else c[:, :n])
            out[:, t, :n] = h
        return out


class NumpyEncoder:
    """A tagger's inference in numpy: ``decode(sentences, docs)`` gives the best tag ids per sentence.

    Built from the tagger's current weights; the first layer's gate inputs of
    up to :data:`MEMO_TOKENS` distinct tokens are memoised (then the memo starts over).
    """

    def __init__(self, model: Tagger, assets: TaggerAssets) -> None:
        self.model, self.assets = model, assets
        self.layers = [_Layer(model.rnn, i) for i in range(model.rnn.num_layers)]
        self.out_t = model.out.weight.detach().numpy().T.copy()  # (states,K)
        self.out_b = model.out.bias.detach().numpy().copy()
        crf = model.crf
        self.crf = None if crf is None else tuple(p.detach().numpy().copy() for p in
                                                 (crf.start_transitions, crf.transitions, crf.end_transitions))
        first = self.layers[0]
        self.width = first.w_ih_t.shape[2]  # G·H
        self.memo: dict[str, int] = {}
        self.table = np.zeros((1024, first.directions * self.width), dtype=np.float32)  # row 0: padding

    def _rows(self, tokens: list[str]) -> np.ndarray:
        """Memo rows of ``tokens`` (N,), computing the gate inputs of tokens not seen before."""
        memo = self.memo
        missing = list(dict.fromkeys(t for t in tokens if t not in memo))
        if missing:
            if len(memo) + len(missing) >= MEMO_TOKENS:  # start over: every token of this batch is computed again
                memo.clear()
                missing = list(dict.fromkeys(tokens))
            start = len(memo) + 1
            needed = start + len(missing)
            if needed > len(self.table):
                grown = np.zeros((max(needed, 2 * len(self.table)), self.table.shape[1]), dtype=np.float32)
                grown[: len(self.table)] = self.table
                self.table = grown
            self.table[start:needed] = self._gate_inputs(missing)
            memo.update(zip(missing, range(start, needed)))
        return np.fromiter((memo[t] for t in tokens), dtype=np.int64, count=len(tokens))

    def _gate_inputs(self, tokens: list[str]) -> np.ndarray:
        """(M, D·G·H): the first layer's input product of each token's features, biases folded in."""
        with torch.inference_mode():
            features = self.model._features(encode_batch([tokens], self.assets))[0].numpy()  # (M,in)
        layer = self.layers[0]
        return np.concatenate(list(np.matmul(features, layer.w_ih_t) + layer.bias), axis=1)

    def states(self, sentences: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Encoder states (N, D·H) of every real token, sentence by sentence, and the lengths (B,)."""
        lengths = np.array([len(s) for s in sentences])
        order = np.argsort(-lengths, kind="stable")  # longest first: the running rows are a prefix
        by_length = lengths[order]
        steps, batch = int(by_length[0]), len(sentences)
        active = (by_length[None, :] > np.arange(steps)[:, None]).sum(axis=1).tolist()  # rows running at each step
        position = np.arange(steps)[None, :]
        real = position < by_length[:, None]  # (B,T) in length order
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[order]  # each sorted row's first flat token
        forward = np.where(real, starts[:, None] + position, -1)  # flat token at each (row, step); -1 on padding
        backward = np.where(real, starts[:, None] + by_length[:, None] - 1 - position, -1)
        rows = np.append(self._rows([t for s in sentences for t in s]), 0)  # index -1 reads the padding row
        source = np.where(real.T, by_length[None, :] - 1 - position.T, 0)  # (T,B): the step reversing each row in length
        x = self._first_inputs(rows, forward, backward)  # (D,T,B,G·H)
        for i, layer in enumerate(self.layers):
            if i:  # the layer below's states (T,B,D·H), in forward time: the backward direction reads them reversed
                x = np.matmul(states, layer.w_ih_t[:, None]) + layer.bias[:, None]  # (D,T,B,G·H)
                if layer.directions == 2:
                    x[1] = _reversed(x[1], source)
            out = layer.run(x, active)  # (D,T,B,H)
            keep = real.T[:, :, None]
            parts = [out[0] * keep] + ([_reversed(out[1], source) * keep] if layer.directions == 2 else [])
            states = np.concatenate(parts, axis=2) if len(parts) == 2 else parts[0]  # (T,B,D·H) in forward time
        flat = np.empty((int(lengths.sum()), states.shape[2]), dtype=np.float32)
        flat[forward.T[real.T]] = states[real.T]  # (N,D·H) in input order
        return flat, lengths

    def _first_inputs(self, rows: np.ndarray, forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
        """The memoised gate inputs, (D,T,B,G·H): direction d reads its sentence forward or reversed."""
        width = self.width
        picks = [forward, backward][: self.layers[0].directions]
        return np.stack([self.table[rows[p.T], d * width : (d + 1) * width] for d, p in enumerate(picks)])

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
        padded = np.zeros((len(lengths), int(lengths.max()), scores.shape[1]), dtype=np.float32)
        real = np.arange(padded.shape[1])[None, :] < lengths[:, None]
        padded[real] = scores
        return viterbi_arrays(*self.crf, padded, real)

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
        sums = np.zeros((len(groups), states.shape[1]), dtype=np.float32)
        np.add.at(sums, ids, states)
        return (sums / np.bincount(ids)[:, None].astype(np.float32))[ids]
