"""Recurrent layers at inference in numpy, with each distinct input's first-layer gate inputs memoised.

An input's first-layer gate inputs (its features times the input weights,
plus the biases that can be folded in) depend on the input alone: a token's
text for the tagger, a word id for the classifier. :class:`GateMemo` computes
them once per distinct input and keeps them in a table (text is Zipfian:
most tokens of a batch were seen before), so what is left per batch is the
recurrence, in numpy, whose calls cost about a microsecond where a torch
call costs several: that fixed cost is most of the time on one short text.

Sequences run longest first, so at step ``t`` the rows still running are a
prefix of the batch and only they are computed (what packing does in torch);
a backward direction reads each sequence reversed within its length. Used
by :mod:`pipeline.models.numpy_encoder` (tagger) and
:mod:`pipeline.models.numpy_classifier`.

Shapes: ``B`` sequences, ``T`` steps in the longest, ``D`` directions,
``G`` gates (LSTM 4, GRU 3, RNN 1), ``H`` hidden units, ``N`` real tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence

import numpy as np
from torch import nn

MEMO_INPUTS = 20_000  # distinct inputs whose gate inputs are kept (D·G·H float32s each) before the memo starts over


# σ(x) = ½·tanh(x/2) + ½: the sigmoid gates' weights are stored halved (exact in floating point), so one tanh over
# all gates and one multiply-add give every gate's activation (numpy vectorises tanh; scipy's expit is slower here).
SIGMOID_GATES = {nn.LSTM: (True, True, False, True), nn.GRU: (True, True, False), nn.RNN: (False,)}


def _reversed(steps: np.ndarray, source: np.ndarray) -> np.ndarray:
    """(T,B,F) reordered along time by ``source`` (T,B): each row reversed within its length (its own inverse)."""
    return steps[source, np.arange(steps.shape[1])[None, :]]


class _Layer:
    """One recurrent layer's weights as float32 arrays, directions stacked first.

    ``directions``: per direction (forward first) the torch module and the suffix of its weights' names
    (``_l0``, ``_l1_reverse``): one bidirectional module's two, or two one-way modules (the classifier's).
    """

    def __init__(self, directions: Sequence[tuple[nn.RNNBase, str]]) -> None:
        rnn = directions[0][0]

        def stacked(name: str) -> np.ndarray:
            return np.stack([getattr(module, f"{name}{suffix}").detach().float().numpy() for module, suffix in directions])

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


class GateMemo:
    """Gate inputs (D·G·H,) per distinct key, computed by ``compute`` on first sight; row 0 is padding (zeros)."""

    def __init__(self, width: int, compute: Callable[[list], np.ndarray], rows: int = 1024) -> None:
        self.compute = compute
        self.lock = threading.Lock()  # held by callers from rows() until they are done reading the table
        self.index: dict[Hashable, int] = {}
        self.table = np.zeros((rows, width), dtype=np.float32)  # doubled when full

    def rows(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Table rows (N,) of ``keys``; after :data:`MEMO_INPUTS` distinct keys the memo starts over."""
        index = self.index
        missing = list(dict.fromkeys(k for k in keys if k not in index))
        if missing:
            if len(index) + len(missing) >= MEMO_INPUTS:  # start over: every key of this batch is computed again
                index.clear()
                missing = list(dict.fromkeys(keys))
            start = len(index) + 1
            needed = start + len(missing)
            if needed > len(self.table):
                grown = np.zeros((max(needed, 2 * len(self.table)), self.table.shape[1]), dtype=np.float32)
                grown[: len(self.table)] = self.table
                self.table = grown
            self.table[start:needed] = self.compute(missing)
            index.update(zip(missing, range(start, needed)))
        return np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))


class RecurrentStack:
    """Stacked (bi)directional layers: first-layer gate inputs of features, and states of memoised inputs."""

    def __init__(self, layers: list[_Layer]) -> None:
        self.layers = layers
        self.width = layers[0].w_ih_t.shape[2]  # G·H of the first layer
        self.directions = layers[0].directions

    @classmethod
    def of_module(cls, rnn: nn.RNNBase) -> RecurrentStack:
        """The layers of one torch module (the tagger's ``rnn``, bidirectional or not)."""
        suffixes = ["", "_reverse"][: 2 if rnn.bidirectional else 1]
        return cls([_Layer([(rnn, f"_l{i}{s}") for s in suffixes]) for i in range(rnn.num_layers)])

    @classmethod
    def of_directions(cls, layers: Sequence[Sequence[nn.RNNBase]]) -> RecurrentStack:
        """Layers given as one-way, one-layer torch modules per direction (the classifier's ``layers``)."""
        return cls([_Layer([(module, "_l0") for module in directions]) for directions in layers])

    def gate_inputs(self, features: np.ndarray) -> np.ndarray:
        """(M,in) features → (M, D·G·H): the first layer's input product, biases folded in, directions side by side."""
        first = self.layers[0]
        return np.concatenate(list(np.matmul(features, first.w_ih_t) + first.bias), axis=1)

    def states(self, table: np.ndarray, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Top-layer states (N, D·H) of every real token in input order; token j's gate inputs are ``table[rows[j]]``."""
        order = np.argsort(-lengths, kind="stable")  # longest first: the running rows are a prefix
        by_length = lengths[order]
        steps = int(by_length[0])
        active = (by_length[None, :] > np.arange(steps)[:, None]).sum(axis=1).tolist()  # rows running at each step
        position = np.arange(steps)[None, :]
        real = position < by_length[:, None]  # (B,T) in length order
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[order]  # each sorted row's first flat token
        forward = np.where(real, starts[:, None] + position, -1)  # flat token at each (row, step); -1 on padding
        backward = np.where(real, starts[:, None] + by_length[:, None] - 1 - position, -1)
        rows = np.append(rows, 0)  # index -1 reads the padding row
        source = np.where(real.T, by_length[None, :] - 1 - position.T, 0)  # (T,B): the step reversing each row
        width = self.width
        x = np.empty((self.directions, steps, len(lengths), width), dtype=np.float32)  # (D,T,B,G·H)
        for d, picks in enumerate([forward, backward][: self.directions]):
            x[d] = table[rows[picks.T], d * width : (d + 1) * width]
        keep = real.T[:, :, None]
        for i, layer in enumerate(self.layers):
            if i:  # the layer below's states (T,B,D·H), in forward time: the backward direction reads them reversed
                x = np.matmul(states, layer.w_ih_t[:, None]) + layer.bias[:, None]  # (D,T,B,G·H)
                if layer.directions == 2:
                    x[1] = _reversed(x[1], source)
            out = layer.run(x, active)  # (D,T,B,H)
            parts = [out[0] * keep] + ([_reversed(out[1], source) * keep] if layer.directions == 2 else [])
            states = np.concatenate(parts, axis=2) if len(parts) == 2 else parts[0]  # (T,B,D·H) in forward time
        flat = np.empty((int(lengths.sum()), states.shape[2]), dtype=np.float32)
        flat[forward.T[real.T]] = states[real.T]  # (N,D·H) in input order
        return flat
