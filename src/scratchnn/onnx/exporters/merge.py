"""Exporters for the merge layers of graph models: Add -> Add, Multiply -> Mul, Concatenate -> Concat.

A merge exporter receives a list of input names and a list of per-sample shapes.
ONNX's Add and Mul take two inputs, so three or more are chained.
"""
from __future__ import annotations

from ..registry import register_exporter


def _chain(op_type):
    def fn(layer, g, xs, input_shapes):
        y = xs[0]
        for x in xs[1:]:
            y = g.op(op_type, [y, x])
        return y

    fn.__name__ = op_type.lower()
    return fn


register_exporter("Add")(_chain("Add"))
register_exporter("Multiply")(_chain("Mul"))


@register_exporter("Concatenate")
def concatenate(layer, g, xs, input_shapes):
    axis = layer._sample_axis(len(input_shapes[0])) + 1  # ONNX counts the batch axis
    return g.op("Concat", xs, axis=axis)


@register_exporter("ResidualBlock")
def residual_block(layer, g, x, input_shape):
    """A composite layer exports by calling its children's exporters in its forward order."""
    from ..export import exporter_for

    shape = tuple(input_shape)
    h = x
    for child in (layer.conv1, layer.bn1):
        h = exporter_for(child)(child, g, h, shape)
        shape = tuple(child.compute_output_shape(shape))
    h = g.op("Relu", [h])
    for child in (layer.conv2, layer.bn2):
        h = exporter_for(child)(child, g, h, shape)
        shape = tuple(child.compute_output_shape(shape))
    return g.op("Relu", [g.op("Add", [x, h])])
