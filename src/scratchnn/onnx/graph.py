"""A small builder of ONNX graphs, so exporters read like the maths they export.

Exporters never touch ``onnx`` protobufs directly: they call

- ``g.op(op_type, inputs, **attributes) -> name`` to add a node (``outputs=k``
  gives a list of k output names),
- ``g.const(array, hint) -> name`` to add a weight (cast to the export dtype),
- ``g.ints(values, hint) -> name`` to add an int64 tensor (shapes, axes, indices),

and return the name of the tensor that holds the layer's output. ``onnx`` itself
is imported only when a graph is turned into a model, so the exporter registry
can be inspected (and tested for completeness) without it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class GraphBuilder:
    """Collects nodes and initializers; names are unique and readable (``"l3_dense/W"``).

    Args:
        opset: the ONNX opset the graph targets (exporters may branch on it).
        dtype: the floating-point type of the exported weights and activations.
    """

    #: ``onnx.TensorProto.INT64``, for ``Cast(to=...)`` (a constant fixed by the ONNX spec).
    INT64 = 7

    def __init__(self, opset: int, dtype: np.dtype) -> None:
        self.opset = int(opset)
        self.dtype = np.dtype(dtype)
        self.nodes: list[tuple[str, list[str], list[str], dict[str, Any], str]] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.prefix = ""
        self._used: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A new unique tensor name built from the current prefix and ``hint``."""
        base = f"{self.prefix}{hint}"
        name, k = base, 1
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._used.add(name)

    def const(self, array: np.ndarray, hint: str = "const") -> str:
        """A float initializer, cast to the export dtype."""
        name = self.fresh(hint)
        self.initializers[name] = np.ascontiguousarray(np.asarray(array, dtype=self.dtype))
        return name

    def scalar(self, value: float, hint: str = "c") -> str:
        """A float scalar constant (0-d), for elementwise arithmetic."""
        return self.const(np.asarray(value), hint)

    def ints(self, values: Sequence[int] | int, hint: str = "ints") -> str:
        """An int64 initializer (1-d from a sequence, 0-d from an int)."""
        name = self.fresh(hint)
        self.initializers[name] = np.asarray(values, dtype=np.int64)
        return name

    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, name: str | None = None,
           **attrs: Any) -> Any:
        """Add one node; returns its output name, or a list when ``outputs > 1``.

        An empty string in ``inputs`` marks an omitted optional input, as in ONNX.
        """
        stem = (name or op_type).lower()
        outs = [self.fresh(f"{stem}_out" if outputs == 1 else f"{stem}_out{i}")
                for i in range(outputs)]
        node_name = self.fresh(name or op_type)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append((op_type, list(inputs), outs, attrs, node_name))
        return outs[0] if outputs == 1 else outs

    def to_graph(self, graph_name: str, inputs: list, outputs: list, doc: str = ""):
        """The ``onnx.GraphProto`` (``inputs``/``outputs`` are ``ValueInfoProto`` lists)."""
        from onnx import helper, numpy_helper

        nodes = [helper.make_node(op, ins, outs, name=nm, **attrs)
                 for op, ins, outs, attrs, nm in self.nodes]
        inits = [numpy_helper.from_array(a, name) for name, a in self.initializers.items()]
        return helper.make_graph(nodes, graph_name, inputs, outputs, initializer=inits,
                                 doc_string=doc)
