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
a backward direction reads each sequence reversed within its length. Each
step gathers its gate inputs and scatters its states by flat token index, so
padding is never computed nor copied (a batch of mixed lengths costs what its
real tokens cost); a small batch without padding gathers and scatters once for
all steps, a fifth of one short sentence's recurrence. Used
by :mod:`pipeline.models.numpy_encoder` (tagger) and
:mod:`pipeline.models.numpy_classifier`.

Shapes: ``B`` sequences, ``T`` steps in the longest, ``D`` directions,
``G`` gates (LSTM 4, GRU 3, RNN 1), ``H`` hidden units, ``N`` real tokens.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Sequence

import numpy as np
from torch import nn

# A batch without padding gathers all its steps' gate inputs at once while they fit in a core's cache; larger
# ones (long reviews cut to the same length) are faster gathered step by step (5% on 1,000-token reviews).
GATHER_ONCE_BYTES = 512 * 1024
MEMO_INPUTS = 20_000  # distinct inputs whose gate inputs are kept (D·G·H float32s each) before the memo starts over


# σ(x) = ½·tanh(x/2) + ½: the sigmoid gates' weights are stored halved (exact in floating point), so one tanh over
# all gates and one multiply-add give every gate's activation (numpy vectorises tanh; scipy's expit is slower here).
SIGMOID_GATES = {nn.LSTM: (True, True, False, True), nn.GRU: (True, True, False), nn.RNN: (False,)}


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

    def run(self, inputs: np.ndarray, picks: np.ndarray, active: Sequence[int], tokens: int) -> np.ndarray:
        """States (N, D·H) of every real token, in input order, from gate inputs gathered step by step.

        ``inputs`` (R, G·H) holds the gate inputs of one direction per row; ``picks`` (T,2,D,B) gives at
        step ``t`` for each direction and running row the row of ``inputs`` to read (``[t, 0]``) and the
        row of the (N·D, H) output to write (``[t, 1]``). Only real tokens are read and written: padding
        costs nothing, so neither does a batch of mixed lengths.
        """
        directions, batch = picks.shape[2], picks.shape[3]
        out = np.empty((tokens * directions, self.hidden), dtype=np.float32)  # token j, direction d at row j·D + d
        h = np.zeros((directions, batch, self.hidden), dtype=np.float32)
        c = np.zeros_like(h) if self.kind is nn.LSTM else None
        gathered = len(active) * directions * batch * inputs.shape[1] * inputs.itemsize
        if active[-1] == batch and gathered <= GATHER_ONCE_BYTES:  # no row ends early (one sentence, say)
            gates = inputs[picks[:, 0]]  # (T,D,B,G·H)
            states = np.empty((len(active), directions, batch, self.hidden), dtype=np.float32)
            for t in range(len(active)):
                h, c = self.step(gates[t], h, c)
                states[t] = h
            out[picks[:, 1]] = states
            return out.reshape(tokens, directions * self.hidden)
        for t, n in enumerate(active):  # rows past n have ended: their states are written already
            step = picks[t, :, :, :n]
            h, c = self.step(inputs[step[0]], h[:, :n], None if c is None else c[:, :n])
            out[step[1]] = h
        return out.reshape(tokens, directions * self.hidden)


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
        first = layers[0]  # its input weights and biases, directions side by side: one product per batch of features
        self.first_w = np.concatenate(list(first.w_ih_t), axis=1)  # (in, D·G·H)
        self.first_b = np.concatenate(list(first.bias[:, 0]))  # (D·G·H,)

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
        return features @ self.first_w + self.first_b

    def states(self, table: np.ndarray, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Top-layer states (N, D·H) of every real token in input order; token j's gate inputs are ``table[rows[j]]``."""
        directions, tokens = self.directions, int(lengths.sum())
        if len(lengths) == 1:  # one text (a service's request): its index arrays depend on its length alone
            token, writes, active = _one_sequence_index(int(lengths[0]), directions)
        else:
            token, writes, active = _step_index(lengths, directions)
        reads = rows[token] * directions + np.arange(directions)[None, :, None]  # first layer: a memo row's slice
        states = None
        for i, layer in enumerate(self.layers):
            if i:  # the layer below's states (N, D·H) times this layer's input weights, per direction
                gates = np.matmul(states, layer.w_ih_t) + layer.bias  # (D,N,G·H)
                table = np.ascontiguousarray(gates.transpose(1, 0, 2))  # (N,D,G·H): row j·D + d as for the memo
                reads = writes
            inputs = table.reshape(-1, layer.w_hh_t.shape[2])  # (R·D, G·H)
            states = layer.run(inputs, np.stack([reads, writes], axis=1), active, tokens)
        return states


def _step_index(lengths: np.ndarray, directions: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """For sequences of ``lengths`` (B,), run longest first: the flat token each direction reads at each step
    (T,D,B), the output row it writes (T,D,B) and the rows still running at each step (T,)."""
    order = np.argsort(-lengths, kind="stable")  # longest first: the running rows are a prefix
    by_length = lengths[order]
    position = np.arange(int(by_length[0]))[:, None]  # (T,1)
    active = (by_length[None, :] > position).sum(axis=1).tolist()  # rows running at each step
    starts = (np.cumsum(lengths) - lengths)[order]  # each sorted row's first flat token
    last = np.maximum(by_length - 1 - position, 0)  # (T,B): the backward direction's step; 0 past a row's end
    flat = [starts + np.minimum(position, by_length - 1), starts + last][:directions]  # (T,B) flat token each
    token = np.stack(flat, axis=1)  # (T,D,B)
    writes = token * directions + np.arange(directions)[None, :, None]  # (T,D,B): output row of (token, direction)
    return token, writes, active


@functools.lru_cache(maxsize=1024)
def _one_sequence_index(length: int, directions: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """:func:`_step_index` of one sequence, kept per length (read-only): a request pays for none of it."""
    token, writes, active = _step_index(np.array([length]), directions)
    token.flags.writeable = writes.flags.writeable = False
    return token, writes, active
