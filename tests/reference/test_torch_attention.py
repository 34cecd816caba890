"""LayerNorm, MultiHeadAttention and TransformerBlock equal their PyTorch twins in float64:
outputs, input gradients and every parameter gradient within 1e-8, with causal and key
padding masks."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from tests.reference.torch_helpers import compare, copy_param, float64_torch, tt

torch = pytest.importorskip("torch")
L = sn.layers


def _padding(n, s, rng):
    """A key padding mask (True = padded) with 0 .. s // 2 padded keys at the end of each row."""
    lengths = rng.integers(s - s // 2, s + 1, size=n)
    lengths[0] = s - 2  # at least one sample padded
    return np.arange(s)[None, :] >= lengths[:, None]


def _copy_attention(attn, module):
    p = attn.params
    if attn.context_dim == attn.d_model:
        copy_param(module.in_proj_weight, np.concatenate([p["Wq"], p["Wk"], p["Wv"]], axis=1).T)
    else:
        copy_param(module.q_proj_weight, p["Wq"].T)
        copy_param(module.k_proj_weight, p["Wk"].T)
        copy_param(module.v_proj_weight, p["Wv"].T)
    copy_param(module.in_proj_bias, np.concatenate([p["bq"], p["bk"], p["bv"]]))
    copy_param(module.out_proj.weight, p["Wo"].T)
    copy_param(module.out_proj.bias, p["bo"])


def _attention_grads(attn, module):
    g = attn.grads
    d = attn.d_model
    if attn.context_dim == d:
        w = module.in_proj_weight.grad.T
        yield "dWq", g["Wq"], w[:, :d]
        yield "dWk", g["Wk"], w[:, d:2 * d]
        yield "dWv", g["Wv"], w[:, 2 * d:]
    else:
        yield "dWq", g["Wq"], module.q_proj_weight.grad.T
        yield "dWk", g["Wk"], module.k_proj_weight.grad.T
        yield "dWv", g["Wv"], module.v_proj_weight.grad.T
    b = module.in_proj_bias.grad
    yield "dbq", g["bq"], b[:d]
    yield "dbk", g["bk"], b[d:2 * d]
    yield "dbv", g["bv"], b[2 * d:]
    yield "dWo", g["Wo"], module.out_proj.weight.grad.T
    yield "dbo", g["bo"], module.out_proj.bias.grad


def test_layer_norm_matches_torch(rng):
    layer = L.LayerNorm(6, eps=1e-4)
    layer.build((5, 6), np.random.default_rng(0), "float64")
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, 6)
    layer.params["beta"][...] = rng.standard_normal(6)
    x, dy = 3 + 2 * rng.standard_normal((4, 5, 6)), rng.standard_normal((4, 5, 6))
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    with float64_torch():
        m = torch.nn.LayerNorm(6, eps=1e-4)
        copy_param(m.weight, layer.params["gamma"])
        copy_param(m.bias, layer.params["beta"])
        xt = tt(x, True)
        yt = m(xt)
        yt.backward(tt(dy))
    compare("LayerNorm forward", y, yt)
    compare("LayerNorm dx", dx, xt.grad)
    compare("LayerNorm dgamma", layer.grads["gamma"], m.weight.grad)
    compare("LayerNorm dbeta", layer.grads["beta"], m.bias.grad)


@pytest.mark.parametrize("causal,padded", [(False, False), (True, False), (False, True), (True, True)])
def test_self_attention_matches_torch(causal, padded, rng):
    n, t, d, h = 3, 7, 8, 2
    attn = L.MultiHeadAttention(d, h, causal=causal)
    attn.build((t, d), np.random.default_rng(1), "float64")
    for b in "qkvo":
        attn.params["b" + b][...] = 0.3 * rng.standard_normal(d)
    x, dy = rng.standard_normal((n, t, d)), rng.standard_normal((n, t, d))
    kp = _padding(n, t, rng) if padded else None
    y = attn.forward(x, training=True, key_padding_mask=kp)
    dx = attn.backward(dy)
    with float64_torch():
        m = torch.nn.MultiheadAttention(d, h, batch_first=True)
        _copy_attention(attn, m)
        xt = tt(x, True)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if causal else None
        yt, wt = m(xt, xt, xt, attn_mask=mask, key_padding_mask=None if kp is None else torch.tensor(kp),
                   average_attn_weights=False)
        yt.backward(tt(dy))
    compare("MHA forward", y, yt)
    compare("MHA weights", attn.attention_weights, wt)
    compare("MHA dx", dx, xt.grad)
    for name, ours, theirs in _attention_grads(attn, m):
        compare(f"MHA {name}", ours, theirs)


@pytest.mark.parametrize("context_dim", [8, 5])
def test_cross_attention_matches_torch(context_dim, rng):
    n, t, s, d, h = 2, 4, 6, 8, 4
    attn = L.MultiHeadAttention(d, h, cross_attention=True, context_dim=context_dim)
    attn.build([(t, d), (s, context_dim)], np.random.default_rng(2), "float64")
    x, c, dy = rng.standard_normal((n, t, d)), rng.standard_normal((n, s, context_dim)), rng.standard_normal((n, t, d))
    kp = _padding(n, s, rng)
    y = attn.forward([x, c], training=True, key_padding_mask=kp)
    dx, dc = attn.backward(dy)
    with float64_torch():
        m = torch.nn.MultiheadAttention(d, h, batch_first=True, kdim=context_dim, vdim=context_dim)
        _copy_attention(attn, m)
        xt, ct = tt(x, True), tt(c, True)
        yt, _ = m(xt, ct, ct, key_padding_mask=torch.tensor(kp))
        yt.backward(tt(dy))
    compare("cross forward", y, yt)
    compare("cross dx", dx, xt.grad)
    compare("cross dcontext", dc, ct.grad)
    for name, ours, theirs in _attention_grads(attn, m):
        compare(f"cross {name}", ours, theirs)


@pytest.mark.parametrize("causal,padded", [(True, False), (False, True), (True, True)])
def test_transformer_block_matches_torch_encoder_layer(causal, padded, rng):
    n, t, d, h, f = 3, 6, 8, 2, 12
    block = L.TransformerBlock(d, h, ff_dim=f, causal=causal, gelu="none")
    block.build((t, d), np.random.default_rng(3), "float64")
    for p in block.all_params().values():
        if p.ndim == 1:
            p += 0.2 * rng.standard_normal(p.shape)
    x, dy = rng.standard_normal((n, t, d)), rng.standard_normal((n, t, d))
    kp = _padding(n, t, rng) if padded else None
    y = block.forward(x, training=True, key_padding_mask=kp)
    dx = block.backward(dy)
    with float64_torch():
        m = torch.nn.TransformerEncoderLayer(d, h, f, dropout=0.0, activation="gelu", norm_first=True,
                                             batch_first=True)
        m.train()
        _copy_attention(block.attn, m.self_attn)
        for ours, theirs in ((block.ff1, m.linear1), (block.ff2, m.linear2)):
            copy_param(theirs.weight, ours.params["W"].T)
            copy_param(theirs.bias, ours.params["b"])
        for ours, theirs in ((block.ln1, m.norm1), (block.ln2, m.norm2)):
            copy_param(theirs.weight, ours.params["gamma"])
            copy_param(theirs.bias, ours.params["beta"])
        xt = tt(x, True)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if causal else None
        yt = m(xt, src_mask=mask, src_key_padding_mask=None if kp is None else torch.tensor(kp))
        yt.backward(tt(dy))
    compare("block forward", y, yt)
    compare("block dx", dx, xt.grad)
    for name, ours, theirs in _attention_grads(block.attn, m.self_attn):
        compare(f"block attn {name}", ours, theirs)
    for ours, theirs, nm in ((block.ff1, m.linear1, "ff1"), (block.ff2, m.linear2, "ff2")):
        compare(f"block {nm} dW", ours.grads["W"], theirs.weight.grad.T)
        compare(f"block {nm} db", ours.grads["b"], theirs.bias.grad)
    for ours, theirs, nm in ((block.ln1, m.norm1, "ln1"), (block.ln2, m.norm2, "ln2")):
        compare(f"block {nm} dgamma", ours.grads["gamma"], theirs.weight.grad)
        compare(f"block {nm} dbeta", ours.grads["beta"], theirs.bias.grad)


def test_tanh_gelu_block_matches_torch_with_tanh_gelu(rng):
    """The default block (tanh GELU) equals an encoder layer given that activation."""
    n, t, d, h = 2, 5, 4, 2
    block = L.TransformerBlock(d, h, causal=True)
    block.build((t, d), np.random.default_rng(4), "float64")
    x = rng.standard_normal((n, t, d))
    y = block.forward(x)
    with float64_torch():
        m = torch.nn.TransformerEncoderLayer(d, h, 4 * d, dropout=0.0, norm_first=True, batch_first=True,
                                             activation=lambda z: torch.nn.functional.gelu(z, approximate="tanh"))
        m.eval()
        _copy_attention(block.attn, m.self_attn)
        for ours, theirs in ((block.ff1, m.linear1), (block.ff2, m.linear2)):
            copy_param(theirs.weight, ours.params["W"].T)
            copy_param(theirs.bias, ours.params["b"])
        with torch.no_grad():
            yt = m(tt(x), src_mask=torch.triu(torch.ones(t, t, dtype=torch.bool), 1))
    compare("tanh block forward", y, yt)
