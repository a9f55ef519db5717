"""The tagger's inference encoder as one ONNX Runtime graph, in float or with int8 LSTM weights.

It runs under ``engine="onnx"`` and ``quantize="int8"`` (which ``auto`` then
chooses); in float ``auto`` is the numpy engine
(:mod:`pipeline.models.numpy_encoder`), the faster on one sentence and on batches.

The graph computes what :meth:`Tagger.emissions` computes before the document
memory and the output layer: casing and character-CNN features beside the
word vectors (looked up outside, where fastText's n-gram vectors are placed), then
the recurrent layers, the backward ones over each sentence reversed within its length. One ``session.run``
replaces some thirty torch calls, whose fixed cost is most of the time on a
single sentence; ``quantize="int8"`` stores the recurrent weights as int8
(ONNX Runtime's ``DynamicQuantizeLSTM``), quantizing activations per call.

The graph is built by hand from the trained weights (nothing is traced), at
load time: a model directory stays weights plus config, and no ONNX file is
ever read from disk.

    inputs   word_features (B,T,word_dim) float32: the word table's rows (n-gram vectors placed, see Batch),
             casing (B,T) int64, chars (U,C) int64,
             rows (B,T) int64: each position's row of chars (0 on padding),
             reverse (B,T,1) int64: positions reversing each sentence within its length,
             keep (B,T,1) float32: 1 on real tokens
    output   states (B,T,H·dirs), zero past each sentence's length
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import torch
from torch import nn

from pipeline.errors import ConfigError
from pipeline.models.classifier import reversal_index
from pipeline.models.onnx_graph import OPSET, Graph, quantized, session

if TYPE_CHECKING:
    from pipeline.models.tagger import Batch, Tagger

Engine = Literal["auto", "torch", "onnx", "numpy"]
Quantize = Literal["none", "int8"]
ENGINES: tuple[str, ...] = get_args(Engine)
QUANTIZE: tuple[str, ...] = get_args(Quantize)
# torch stacks gate weights as LSTM (i, f, g, o) and GRU (r, z, n); ONNX wants LSTM (i, o, f, c) and GRU (z, r, h).
GATE_ORDER = {nn.LSTM: [0, 3, 1, 2], nn.GRU: [1, 0, 2], nn.RNN: [0]}
OP_TYPE = {nn.LSTM: "LSTM", nn.GRU: "GRU", nn.RNN: "RNN"}


def supports(model: Tagger) -> bool:
    """Whether the graph covers this tagger's inputs: a character CNN or none (a character LSTM stays torch)."""
    return model.cfg.char_encoder in ("none", "cnn")


def choose_engine(model: Tagger, engine: Engine, quantize: Quantize, source: str) -> Engine:
    """What runs ``model``'s encoder: ``"torch"``, ``"onnx"`` (ONNX Runtime) or ``"numpy"``
    (:mod:`pipeline.models.numpy_encoder`); ``auto`` is numpy in float (the faster on one sentence and on
    batches) and ONNX Runtime in int8, torch for a tagger with a language model. ``source`` is named in errors."""
    if engine not in ENGINES or quantize not in QUANTIZE:
        raise ConfigError(source, "engine/quantize", f"got {engine!r}/{quantize!r}; expected engine one of {ENGINES} "
                                                     f"and quantize one of {QUANTIZE}")
    if model.cfg.lm != "none":
        if engine in ("numpy", "onnx") or quantize == "int8":
            raise ConfigError(source, "engine", "a tagger with a language model (lm: "
                                                f"{model.cfg.lm}) runs in torch: use engine 'torch' or 'auto', quantize 'none'")
        return "torch"
    if engine in ("torch", "numpy") and quantize == "int8":
        raise ConfigError(source, "quantize", "int8 runs on ONNX Runtime: use engine 'onnx' or 'auto'")
    if quantize == "int8" and model.cfg.encoder != "lstm":
        raise ConfigError(source, "quantize", f"int8 covers LSTM encoders (ONNX Runtime quantizes no {model.cfg.encoder}"
                                              "): use quantize 'none'")
    if not supports(model):
        if engine == "onnx" or quantize == "int8":
            raise ConfigError(source, "engine", f"the ONNX graph covers char_encoder cnn or none, this model has "
                                                f"{model.cfg.char_encoder!r}: use engine 'numpy', 'torch' or 'auto', "
                                                "and quantize 'none'")
    if quantize == "int8":
        return "onnx"
    return "numpy" if engine == "auto" else engine


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().numpy()


def _gates(weight: torch.Tensor, order: list[int]) -> np.ndarray:
    """A torch gate-stacked (G·H, ...) weight reordered into ONNX's gate order."""
    chunks = weight.chunk(len(order))
    return np.concatenate([_array(chunks[i]) for i in order])


def _features(g: Graph, model: Tagger) -> str:
    """Word (+ casing) (+ character CNN) features (B,T,in), as ``Tagger.emissions`` concatenates them."""
    parts = ["word_features"]
    if model.casing is not None:
        parts.append(g.node("Gather", [g.const("casing_table", _array(model.casing.weight)), "casing"], "casing_features"))
    if model.char_enc is not None:
        kernel = model.char_enc.kernel
        left = (kernel - 1) // 2
        window = _array(model.char_enc.window.weight)  # (char_size, kernel·char_dim), windows flattened char-major
        conv = window.reshape(window.shape[0], -1, kernel)  # unfold(1, k).flatten(2) lays out (char_dim, kernel)
        chars = g.node("Gather", [g.const("char_table", _array(model.char_emb.weight)), "chars"], "char_embedded")
        by_channel = g.node("Transpose", [chars], "char_channels", perm=[0, 2, 1])  # (U,char_dim,C)
        feats = g.node("Conv", [by_channel, g.const("char_conv_w", conv),
                                g.const("char_conv_b", _array(model.char_enc.window.bias))], "char_conv",
                       pads=[left, kernel - 1 - left])  # (U,char_size,C)
        padding = g.node("Unsqueeze", [g.node("Equal", ["chars", g.const("zero", np.array(0, np.int64))], "char_pad"),
                                       g.const("axis1", np.array([1], np.int64))], "char_pad3")  # (U,1,C)
        masked = g.node("Where", [padding, g.const("minus_inf", np.array(-np.inf, np.float32)), feats], "char_masked")
        pooled = g.node("ReduceMax", [masked, g.const("axis2", np.array([2], np.int64))], "char_pooled", keepdims=0)
        parts.append(g.node("Gather", [pooled, "rows"], "char_features"))  # (U,char_size) → (B,T,char_size)
    return g.node("Concat", parts, "features", axis=2) if len(parts) > 1 else parts[0]


def _direction(g: Graph, rnn: nn.RNNBase, x: str, layer: int, suffix: str) -> str:
    """One direction of one layer as a forward ONNX RNN over (B,T,in) → (B,T,H), no ``sequence_lens``.

    Without lengths ONNX Runtime runs its batched kernel (with them it is
    slower than torch on ragged batches); trailing padding cannot reach a
    real token's state in a forward pass, so the states of real tokens are exact.
    """
    kind, name = type(rnn), f"l{layer}{suffix}"
    order = GATE_ORDER[kind]
    w = _gates(getattr(rnn, f"weight_ih_l{layer}{suffix}"), order)[None]  # (1,G·H,in)
    r = _gates(getattr(rnn, f"weight_hh_l{layer}{suffix}"), order)[None]  # (1,G·H,H)
    b = np.concatenate([_gates(getattr(rnn, f"bias_ih_l{layer}{suffix}"), order),
                        _gates(getattr(rnn, f"bias_hh_l{layer}{suffix}"), order)])[None]  # (1,2·G·H)
    attrs = {"hidden_size": rnn.hidden_size}
    if kind is nn.GRU:
        attrs["linear_before_reset"] = 1  # torch applies the reset gate after the recurrent product
    if kind is nn.RNN:
        attrs["activations"] = ["Tanh" if rnn.nonlinearity == "tanh" else "Relu"]
    time_major = g.node("Transpose", [x], f"{name}_in", perm=[1, 0, 2])  # (T,B,in)
    y = g.node(OP_TYPE[kind], [time_major, g.const(f"W_{name}", w), g.const(f"R_{name}", r), g.const(f"B_{name}", b)],
               f"{name}_y", **attrs)  # (T,1,B,H)
    squeezed = g.node("Squeeze", [y, g.const("axis1", np.array([1], np.int64))], f"{name}_tbh")  # (T,B,H)
    return g.node("Transpose", [squeezed], f"{name}_out", perm=[1, 0, 2])  # (B,T,H)


def _flip(g: Graph, x: str, name: str) -> str:
    """(B,T,F) reordered along time by the ``reverse`` input: each row reversed within its length, padding in place."""
    index = g.node("Expand", ["reverse", g.node("Shape", [x], f"{name}_shape")], f"{name}_index")  # (B,T,1) → (B,T,F)
    return g.node("GatherElements", [x, index], name, axis=1)


def _recurrent(g: Graph, rnn: nn.RNNBase, x: str) -> str:
    """The stacked (bi)directional layers of ``rnn`` over (B,T,in) → (B,T,H·dirs), zero on padding.

    The backward direction reads each sentence reversed within its length
    (the classifier's trick), so its padding also comes last.
    """
    h = x
    for layer in range(rnn.num_layers):
        forward = _direction(g, rnn, h, layer, "")
        if rnn.bidirectional:
            backward = _flip(g, _direction(g, rnn, _flip(g, h, f"l{layer}_flipped"), layer, "_reverse"), f"l{layer}_back")
            forward = g.node("Concat", [forward, backward], f"h{layer}", axis=2)  # (B,T,2H)
        h = forward
    return g.node("Mul", [h, "keep"], "states")  # padding states are junk: zero them


def build_model(model: Tagger):
    """The float ONNX model of ``model``'s features and encoder."""
    from onnx import TensorProto, checker, helper

    g = Graph()
    _recurrent(g, model.rnn, _features(g, model))
    shapes = {"word_features": ["B", "T", model.cfg.word_dim], "casing": ["B", "T"], "chars": ["U", "C"],
              "rows": ["B", "T"], "reverse": ["B", "T", 1], "keep": ["B", "T", 1]}
    floats = ("word_features", "keep")
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT if name in floats else TensorProto.INT64, shape)
              for name, shape in shapes.items()]
    used = {name for node in g.nodes for name in node.input}
    graph = helper.make_graph(g.nodes, "tagger_encoder", [i for i in inputs if i.name in used],
                              [helper.make_tensor_value_info("states", TensorProto.FLOAT, ["B", "T", "H"])],
                              g.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    checker.check_model(onnx_model)
    return onnx_model


class OnnxEncoder:
    """An ONNX Runtime session computing a tagger's encoder states; built once, from the tagger's current weights."""

    def __init__(self, model: Tagger, quantize: Quantize = "none", threads: int | None = None) -> None:
        onnx_model = build_model(model)
        self.inputs = {i.name for i in onnx_model.graph.input}
        serialised = quantized(onnx_model, ["LSTM"]) if quantize == "int8" else onnx_model.SerializeToString()
        self.session = session(serialised, threads or torch.get_num_threads())
        self.quantize = quantize
        self.word_table = _array(model.words.weight)  # (V,word_dim): a numpy lookup costs less than a torch call

    def __call__(self, batch: Batch) -> torch.Tensor:
        """Encoder states (B,T,H·dirs) of a batch, zero past each sentence's length."""
        shape = tuple(batch.words.shape)
        if batch.unpadded:  # one sentence, say: no padding to place, every row reversed whole
            rows = batch.char_rows.numpy().reshape(shape)
            reverse = np.broadcast_to(np.arange(shape[1] - 1, -1, -1)[None, :, None], (*shape, 1))
            keep = np.ones((*shape, 1), dtype=np.float32)
        else:
            mask = batch.mask.numpy()
            rows = np.zeros(shape, dtype=np.int64)
            rows[mask] = batch.char_rows.numpy()
            reverse = reversal_index(batch.lengths, shape[1]).numpy()[:, :, None]
            keep = mask[:, :, None].astype(np.float32)
        words = self.word_table[batch.words.numpy()]  # (B,T,word_dim), a copy
        if batch.subword_at is not None:  # n-gram vectors at their tokens' flat positions
            words.reshape(-1, words.shape[2])[batch.positions[batch.subword_at].numpy()] = batch.subword_vectors.numpy()
        feeds = {"word_features": words, "casing": batch.casing.numpy(), "chars": batch.chars.numpy(),
                 "rows": rows, "reverse": reverse, "keep": keep}
        return torch.from_numpy(self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0])
