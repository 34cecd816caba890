"""Exporters for the attention layers (inference form; the sequence length is the one the
model was built for, the batch size stays dynamic).

=========================== ===================================================================
LayerNorm                   opset >= 17: LayerNormalization(x, gamma, beta, axis=-1, epsilon);
                            before: (x - mean) / sqrt(var + eps) from ReduceMean
PositionalEmbedding         Add(x, P[:T])
SinusoidalPositionalEncoding Add(x, PE[:T]) (the table as a constant)
MultiHeadAttention          MatMul projections, Reshape/Transpose into heads, MatMul(Q, K^T) *
                            1/sqrt(d) (+ a constant -inf causal mask), Softmax(axis=-1),
                            MatMul(., V), heads merged back, output projection
TransformerBlock            its children's exporters, with the two residual Adds
=========================== ===================================================================

The key padding mask is an argument of ``forward``, not an input of the model, so it is
not part of the exported graph; dropout is the identity at inference.
"""
from __future__ import annotations

import math

import numpy as np

from ...functional.attention import causal_mask
from ..registry import register_exporter


@register_exporter("LayerNorm")
def layer_norm(layer, g, x, input_shape):
    gamma, beta = g.const(layer.params["gamma"], "gamma"), g.const(layer.params["beta"], "beta")
    if g.opset >= 17:
        return g.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=float(layer.eps))
    xc = g.op("Sub", [x, g.op("ReduceMean", [x], axes=[-1], keepdims=1)])
    var = g.op("ReduceMean", [g.op("Mul", [xc, xc])], axes=[-1], keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.scalar(layer.eps, "eps")])])])
    return g.op("Add", [g.op("Mul", [g.op("Mul", [xc, inv]), gamma]), beta])


@register_exporter("PositionalEmbedding")
def positional_embedding(layer, g, x, input_shape):
    return g.op("Add", [x, g.const(layer.params["P"][:input_shape[0]], "P")])


@register_exporter("SinusoidalPositionalEncoding")
def sinusoidal(layer, g, x, input_shape):
    return g.op("Add", [x, g.const(layer.table(input_shape[0], np.float64), "PE")])


def _linear(layer, g, x, key):
    y = g.op("MatMul", [x, g.const(layer.params["W" + key], "W" + key)])
    if layer.use_bias:
        y = g.op("Add", [y, g.const(layer.params["b" + key], "b" + key)])
    return y


@register_exporter("MultiHeadAttention")
def multi_head_attention(layer, g, x, input_shape):
    h, d = layer.num_heads, layer.head_dim
    if layer.cross_attention:
        x, ctx = x
        t, s = input_shape[0][0], input_shape[1][0]
    else:
        ctx, t = x, input_shape[0]
        s = t
    heads = g.ints([0, 0, h, d], "heads_shape")
    q = g.op("Transpose", [g.op("Reshape", [_linear(layer, g, x, "q"), heads])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [_linear(layer, g, ctx, "k"), heads])], perm=[0, 2, 3, 1])
    v = g.op("Transpose", [g.op("Reshape", [_linear(layer, g, ctx, "v"), heads])], perm=[0, 2, 1, 3])
    scores = g.op("MatMul", [g.op("Mul", [q, g.scalar(1.0 / math.sqrt(d), "scale")]), k])
    if layer.causal:
        scores = g.op("Add", [scores, g.const(np.where(causal_mask(t, s), -np.inf, 0.0), "causal_mask")])
    weights = g.op("Softmax", [scores], axis=-1)
    out = g.op("Transpose", [g.op("MatMul", [weights, v])], perm=[0, 2, 1, 3])
    out = g.op("Reshape", [out, g.ints([0, 0, h * d], "merged_shape")])
    return _linear(layer, g, out, "o")


@register_exporter("TransformerBlock")
def transformer_block(layer, g, x, input_shape):
    """x + attn(ln1(x)), then h + ff2(GELU(ff1(ln2(h)))), through the children's exporters."""
    from ..export import exporter_for

    shape = tuple(input_shape)

    def run(children, y):
        for child in children:
            y = exporter_for(child)(child, g, y, shape if child is not layer.ff2 else shape[:-1] + (layer.ff_dim,))
        return y

    h = g.op("Add", [x, run((layer.ln1, layer.attn), x)])
    return g.op("Add", [h, run((layer.ln2, layer.ff1, layer.act, layer.ff2), h)])
