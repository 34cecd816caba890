"""Attention layers beyond the generic harness: masks, stability, the key/value cache,
positional layers, errors, and the opset-14 LayerNorm export."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.functional import attention as FA

L = sn.layers


def _built(layer, shape, dtype="float64", seed=0):
    layer.build(shape, np.random.default_rng(seed), dtype)
    return layer


def test_causal_attention_ignores_the_future(rng):
    attn = _built(L.MultiHeadAttention(8, 2, causal=True), (6, 8))
    x = rng.standard_normal((2, 6, 8))
    y = attn.forward(x)
    x2 = x.copy()
    x2[:, 4:] = rng.standard_normal((2, 2, 8))  # change the last two positions
    y2 = attn.forward(x2)
    np.testing.assert_allclose(y2[:, :4], y[:, :4], atol=1e-12)
    assert not np.allclose(y2[:, 4:], y[:, 4:])
    w = attn.attention_weights
    assert np.all(w[..., np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0)


def test_key_padding_mask_hides_padded_keys(rng):
    attn = _built(L.MultiHeadAttention(4, 2), (5, 4))
    x = rng.standard_normal((2, 5, 4))
    kp = np.zeros((2, 5), bool)
    kp[0, 3:] = True
    y = attn.forward(x, key_padding_mask=kp)
    assert np.all(attn.attention_weights[0, :, :, 3:] == 0)
    x2 = x.copy()
    x2[0, 3:] += 10.0  # a padded key's content cannot change the outputs of unpadded queries
    y2 = attn.forward(x2, key_padding_mask=kp)
    np.testing.assert_allclose(y2[0, :3], y[0, :3], atol=1e-12)
    with pytest.raises(ShapeError, match="key_padding_mask"):
        attn.forward(x, key_padding_mask=kp[:, :4])


def test_fully_masked_rows_give_zero_weights_not_nan():
    scores = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    mask = np.array([[[[False, False], [True, True]]]])
    w = FA.masked_softmax(scores.copy(), mask)
    assert np.isfinite(w).all() and np.all(w[0, 0, 1] == 0)
    np.testing.assert_allclose(w[0, 0, 0].sum(), 1.0)


def test_softmax_of_huge_scores_is_stable():
    w = FA.masked_softmax(np.array([[1e4, 0.0, -1e4]]), None)
    np.testing.assert_allclose(w, [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("cls", ["block", "attn"])
def test_kv_cache_steps_equal_a_full_forward(cls, rng):
    d, t = 8, 7
    layer = L.TransformerBlock(d, 2, causal=True) if cls == "block" else L.MultiHeadAttention(d, 4, causal=True)
    _built(layer, (t, d))
    x = rng.standard_normal((2, t, d))
    full = layer.forward(x)
    attn = layer.attn if cls == "block" else layer
    kv = attn.new_kv_cache(2, t)
    parts = [layer.step(x[:, :3], kv)] + [layer.step(x[:, i:i + 1], kv) for i in range(3, t)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-12)
    with pytest.raises(ShapeError, match="cache holds"):
        layer.step(x[:, :1], kv)


def test_positional_layers(rng):
    pe = _built(L.PositionalEmbedding(6, 4), (5, 4))
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(pe.forward(x, offset=2) - x, np.broadcast_to(pe.params["P"][2:5], x.shape), atol=1e-15)
    dy = rng.standard_normal(x.shape)
    pe.forward(x, training=True, offset=1)
    np.testing.assert_array_equal(pe.backward(dy), dy)
    np.testing.assert_allclose(pe.grads["P"][1:4], dy.sum(0))
    assert np.all(pe.grads["P"][[0, 4, 5]] == 0)
    with pytest.raises(ShapeError, match="holds 6 positions"):
        pe.forward(np.zeros((1, 5, 4)), offset=2)
    sin = L.SinusoidalPositionalEncoding(6)
    table = sin.table(50, np.float64)
    assert table[0].tolist() == [0.0, 1.0] * 3
    np.testing.assert_allclose(table[7, 2], np.sin(7 / 10000 ** (2 / 6)))
    np.testing.assert_allclose(table[7, 3], np.cos(7 / 10000 ** (2 / 6)))
    np.testing.assert_allclose(sin.forward(np.zeros((1, 3, 6)), offset=4)[0], table[4:7])


def test_bad_configurations_are_refused():
    with pytest.raises(ConfigError, match="num_heads must divide d_model"):
        L.MultiHeadAttention(6, 4)
    with pytest.raises(ConfigError, match="dropout"):
        L.TransformerBlock(4, 2, dropout=1.0)
    with pytest.raises(ConfigError, match="context_dim needs cross_attention"):
        L.MultiHeadAttention(4, 2, context_dim=3)
    with pytest.raises(ConfigError, match="gelu"):
        L.TransformerBlock(4, 2, gelu="relu")
    with pytest.raises(ShapeError, match=r"expected per-sample input \(T, 8\)"):
        sn.Sequential([L.LayerNorm(4), L.TransformerBlock(8, 2)]).build((3, 4))


def test_cross_attention_in_a_graph_model(rng):
    """A decoder-style graph: queries from one sequence, keys/values from another."""
    src, tgt = sn.Input((5, 6)), sn.Input((3, 4))
    mem = L.TransformerBlock(6, 2)(src)
    y = L.MultiHeadAttention(4, 2, cross_attention=True, context_dim=6)([tgt, mem])
    model = sn.Model([src, tgt], L.Dense(4, 2)(y), seed=0)
    out = model.predict([rng.standard_normal((3, 5, 6)), rng.standard_normal((3, 3, 4))])
    assert out.shape == (3, 3, 2)
    report = sn.gradcheck(model, [rng.standard_normal((2, 5, 6)), rng.standard_normal((2, 3, 4))])
    assert report.ok, str(report)


def test_layer_norm_exports_before_opset_17(rng):
    pytest.importorskip("onnxruntime")
    import scratchnn.onnx as sno

    model = sn.Sequential([L.LayerNorm(5, eps=1e-3)], seed=0)
    model.build((3, 5))
    model.layers[0].params["beta"][...] = rng.standard_normal(5)
    proto = sno.to_onnx(model, opset=14)
    assert "LayerNormalization" not in {n.op_type for n in proto.graph.node}
    x = rng.standard_normal((4, 3, 5))
    np.testing.assert_allclose(sno.run_onnx(proto, x), model.predict(x), rtol=1e-4, atol=1e-5)
