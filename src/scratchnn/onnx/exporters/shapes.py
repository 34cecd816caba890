"""Exporters for BatchNorm (inference form), Reshape/Flatten and Embedding.

========== ===============================================================================
BatchNorm  BatchNormalization(x, gamma, beta, running_mean, running_var, epsilon): the
           evaluation-mode formula, from the running statistics in ``layer.buffers``
Reshape    Reshape(x, [0, *target_shape]): 0 copies the (dynamic) batch size, -1 is inferred;
           Flatten is Reshape((-1,)), so it exports as Reshape(x, [0, -1])
Embedding  Gather(W, Cast<int64>(Round(x)), axis=0): the model's input stays float, as
           ``model.predict`` takes it; Round (half to even) matches the layer's ``np.rint``
========== ===============================================================================
"""
from __future__ import annotations

from ..registry import register_exporter


@register_exporter("BatchNorm")
def batch_norm(layer, g, x, input_shape):
    inputs = [x, g.const(layer.params["gamma"], "gamma"), g.const(layer.params["beta"], "beta"),
              g.const(layer.buffers["running_mean"], "running_mean"),
              g.const(layer.buffers["running_var"], "running_var")]
    return g.op("BatchNormalization", inputs, epsilon=float(layer.eps))


@register_exporter("Reshape", "Flatten")
def reshape(layer, g, x, input_shape):
    return g.op("Reshape", [x, g.ints([0, *layer.target_shape], "shape")])


@register_exporter("Embedding")
def embedding(layer, g, x, input_shape):
    ids = g.op("Cast", [g.op("Round", [x])], to=g.INT64)
    return g.op("Gather", [g.const(layer.params["W"], "W"), ids], axis=0)
