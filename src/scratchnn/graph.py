"""Symbolic tensors and nodes: how ``sn.Model(inputs, outputs)`` records a graph of layer calls.

Calling a layer on a :class:`SymbolicTensor` (made by :func:`Input` or by an earlier call)
computes nothing: it records a :class:`Node` -- *this layer applied to these tensors* -- and
returns the node's output tensor, whose per-sample shape comes from the layer's
``compute_output_shape``. ``sn.Model(inputs, outputs)`` then collects the nodes that lead
from the inputs to the outputs::

    x = sn.Input((16,))
    h = sn.layers.Dense(16, 16)(x)
    y = sn.layers.Add()([x, sn.layers.ReLU()(h)])     # a residual connection
    model = sn.Model(inputs=x, outputs=y)

A node can only consume tensors that existed before it, so sorting the nodes by creation
order is a topological order: the forward pass runs them in that order and the backward pass
in reverse, with no recursion however deep the graph. A layer called twice (two nodes, one
layer) shares its weights; the model adds up the gradients of both calls.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

from .errors import ConfigError, ShapeError

Shape = tuple[int, ...]

_counter = itertools.count()


class SymbolicTensor:
    """A placeholder for a batch of arrays of per-sample shape ``shape`` in a graph under construction.

    ``node`` is the :class:`Node` that produces it, or ``None`` for a model input.
    """

    __slots__ = ("shape", "node", "name", "order")

    def __init__(self, shape: Shape, node: Node | None = None, name: str | None = None) -> None:
        self.shape = tuple(int(d) for d in shape)
        self.node = node
        self.name = name
        self.order = next(_counter)

    def __repr__(self) -> str:
        source = "Input" if self.node is None else type(self.node.layer).__name__
        dims = ", ".join(["N", *map(str, self.shape)])
        return f"<SymbolicTensor ({dims}) from {source}{f' {self.name!r}' if self.name else ''}>"


class Node:
    """One call of ``layer`` on ``inputs`` (symbolic tensors), producing ``output``."""

    __slots__ = ("layer", "inputs", "output", "order")

    def __init__(self, layer, inputs: Sequence[SymbolicTensor], output_shape: Shape) -> None:
        self.layer = layer
        self.inputs = list(inputs)
        self.order = next(_counter)
        self.output = SymbolicTensor(output_shape, self)


def Input(shape: Sequence[int], name: str | None = None) -> SymbolicTensor:  # noqa: N802 (Keras's name)
    """A model input of per-sample shape ``shape`` (the batch axis excluded), e.g. ``Input((1, 28, 28))``."""
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ConfigError(f"Input: shape must be a tuple of positive integers. Received: shape={shape!r}") from None
    if not dims or any(d <= 0 for d in dims):
        raise ConfigError(f"Input: shape must be a tuple of positive integers. Received: shape={shape!r}")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"Input: name must be a string. Received: name={name!r}")
    return SymbolicTensor(dims, None, name)


def call_symbolic(layer, x) -> SymbolicTensor:
    """Record ``layer(x)`` for symbolic ``x`` (one tensor, or a list for a merge layer)."""
    inputs = list(x) if isinstance(x, (list, tuple)) else [x]
    if layer.num_inputs == 1:
        if len(inputs) != 1:
            raise ConfigError(f"{layer.describe()} takes one input tensor; got a list of {len(inputs)}.")
        shape = inputs[0].shape
        layer._check_shape(("N",) + shape, building=True)
    else:
        if not isinstance(x, (list, tuple)):
            raise ConfigError(f"{layer.describe()} merges several tensors: call it on a list, "
                              f"as in {type(layer).__name__}()([a, b]).")
        if layer.num_inputs is None and len(inputs) < 2 or layer.num_inputs not in (None, len(inputs)):
            want = "two or more" if layer.num_inputs is None else str(layer.num_inputs)
            raise ConfigError(f"{layer.describe()} takes {want} input tensors; got {len(inputs)}.")
        shape = [t.shape for t in inputs]
    if layer.built and layer.input_shape != (shape if layer.num_inputs == 1 else list(shape)):
        raise ShapeError(f"{layer.describe()} was built for input {layer.input_shape}; called on {shape}. "
                         "A layer called twice shares its weights, so its inputs must have the same shape.")
    out_shape = tuple(layer.compute_output_shape(shape))
    return Node(layer, inputs, out_shape).output


def collect_nodes(inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]) -> list[Node]:
    """The nodes that lead from ``inputs`` to ``outputs``, in topological (creation) order.

    Raises :class:`ConfigError` when an output depends on an input not in ``inputs``.
    """
    known = {id(t) for t in inputs}
    seen: dict[int, Node] = {}
    stack = list(outputs)
    while stack:  # an explicit stack: a 2,000-layer chain needs no recursion
        t = stack.pop()
        if t.node is None:
            if id(t) not in known:
                raise ConfigError(f"the outputs depend on {t!r}, which is not among the model's inputs")
            continue
        if id(t.node) in seen:
            continue
        seen[id(t.node)] = t.node
        stack.extend(t.node.inputs)
    return sorted(seen.values(), key=lambda n: n.order)
