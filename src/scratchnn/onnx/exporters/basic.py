"""Exporters for Dense, the activations and Dropout.

Each function maps the layer's forward pass (inference mode) to ONNX operators:

========== =========================================================================
Dense      y = MatMul(x, W) + b   (MatMul broadcasts, so (N, *, D_in) works too)
Identity   Identity; Dropout and SpatialDropout export as Identity (inference mode)
Sigmoid    Sigmoid;  Tanh -> Tanh;  ReLU -> Relu;  LeakyReLU -> LeakyRelu(alpha)
ELU        Elu(alpha)
GELU       opset >= 20: Gelu(approximate); else x sigmoid(2u) ("tanh") or from Erf ("none")
Softplus   Softplus (onnxruntime computes it without overflow)
Softmax    Softmax(axis) (opset >= 13: along that one axis, as NumPy)
========== =========================================================================
"""
from __future__ import annotations

import math

from ..registry import register_exporter


@register_exporter("Dense")
def dense(layer, g, x, input_shape):
    y = g.op("MatMul", [x, g.const(layer.params["W"], "W")])
    if layer.use_bias:
        y = g.op("Add", [y, g.const(layer.params["b"], "b")])
    return y


@register_exporter("Identity", "Dropout", "SpatialDropout")
def identity(layer, g, x, input_shape):
    return g.op("Identity", [x])


def _simple(op_type):
    def fn(layer, g, x, input_shape):
        return g.op(op_type, [x])

    fn.__name__ = op_type.lower()
    fn.__doc__ = f"y = {op_type}(x)"
    return fn


register_exporter("Sigmoid")(_simple("Sigmoid"))
register_exporter("Tanh")(_simple("Tanh"))
register_exporter("ReLU")(_simple("Relu"))
register_exporter("Softplus")(_simple("Softplus"))


@register_exporter("LeakyReLU")
def leaky_relu(layer, g, x, input_shape):
    return g.op("LeakyRelu", [x], alpha=float(layer.alpha))


@register_exporter("ELU")
def elu(layer, g, x, input_shape):
    return g.op("Elu", [x], alpha=float(layer.alpha))


@register_exporter("Softmax")
def softmax(layer, g, x, input_shape):
    return g.op("Softmax", [x], axis=int(layer.axis))


@register_exporter("GELU")
def gelu(layer, g, x, input_shape):
    """GELU(x) = x Phi(x): the tanh approximation or the exact erf form, as the layer computes.

    tanh form: x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3) -- equal to
    0.5 x (1 + tanh u) without its cancellation for negative x, as the layer computes it
    (the sigmoid built from Exp, see :func:`_tail_accurate_sigmoid`).
    Exact form: 0.5 x (1 + erf(x / sqrt 2)) (ONNX has no erfc): it matches the layer to
    float32 rounding in absolute terms, but far in the negative tail (x < -5, where
    |GELU(x)| < 1e-5) it keeps less relative accuracy than the layer's erfc form.
    From opset 20 both use ONNX's Gelu operator.
    """
    if g.opset >= 20:
        return g.op("Gelu", [x], approximate=layer.approximate)
    if layer.approximate == "none":
        e = g.op("Erf", [g.op("Mul", [x, g.scalar(1.0 / math.sqrt(2.0), "inv_sqrt2")])])
        half_x = g.op("Mul", [x, g.scalar(0.5, "half")])
        return g.op("Mul", [half_x, g.op("Add", [e, g.scalar(1.0, "one")])])
    x3 = g.op("Mul", [g.op("Mul", [x, x]), x])
    inner = g.op("Add", [x, g.op("Mul", [x3, g.scalar(0.044715, "k")])])
    two_u = g.op("Mul", [inner, g.scalar(2.0 * math.sqrt(2.0 / math.pi), "two_sqrt_2_over_pi")])
    return g.op("Mul", [x, _tail_accurate_sigmoid(g, two_u)])


def _tail_accurate_sigmoid(g, z):
    """sigmoid(z) = e^min(z, 0) / (1 + e^-|z|): never overflows, and keeps its relative accuracy
    for very negative z, where onnxruntime's Sigmoid kernel (clamped near z = -17) does not."""
    num = g.op("Exp", [g.op("Min", [z, g.scalar(0.0, "zero")])])
    den = g.op("Add", [g.op("Exp", [g.op("Neg", [g.op("Abs", [z])])]), g.scalar(1.0, "one")])
    return g.op("Div", [num, den])
