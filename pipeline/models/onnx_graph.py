"""Building, quantizing and opening hand-made ONNX graphs: what the tagger's and the classifier's graphs share.

Graphs are built from trained weights at load time (nothing is traced and no
ONNX file is read from disk); ``quantized`` gives their int8 form through
ONNX Runtime's dynamic quantization, one weight scale per output channel.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

OPSET = 18  # ReduceMax takes its axes as an input from opset 18


class Graph:
    """Nodes and initializers of the graph being built; values are named by the caller."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self.names: set[str] = set()

    def const(self, name: str, value: np.ndarray) -> str:
        """A named constant; asking again for the same name reuses it (shared axes, shapes)."""
        if name not in self.names:
            self.names.add(name)
            self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | list[str], **attrs) -> str | list[str]:
        """Add one node; returns its output name (or names, when given several)."""
        outputs = [output] if isinstance(output, str) else output
        self.nodes.append(self.helper.make_node(op, inputs, outputs, **attrs))
        return output


def quantized(onnx_model, op_types: list[str]) -> bytes:
    """``onnx_model`` serialised with int8 weights in its ``op_types`` nodes, subgraphs (a Scan's body) included:
    one scale per output channel (per-tensor scales changed 3% of a tiny tagger's entities)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    silenced = logging.root.manager.disable
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(onnx_model, source)
        logging.disable(logging.WARNING)  # its advice to pre-process image models, on the root logger
        try:
            quantize_dynamic(source, target, op_types_to_quantize=op_types, per_channel=True,
                             weight_type=QuantType.QInt8, extra_options={"EnableSubgraph": True})
        finally:
            logging.disable(silenced)
        return target.read_bytes()


def session(serialised: bytes, threads: int):
    """An ONNX Runtime CPU session on ``threads`` intra-op threads, quiet about unused initializers."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initializers are not the user's business
    return ort.InferenceSession(serialised, options, providers=["CPUExecutionProvider"])
