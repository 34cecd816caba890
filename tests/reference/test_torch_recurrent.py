"""SimpleRNN, LSTM, GRU, Bidirectional and Embedding against torch.nn, in float64.

Weights are copied from torch with the mapping documented in
``scratchnn.layers.recurrent`` (W = weight_ih.T, U = weight_hh.T, biases summed; the
GRU keeps b_hn apart); outputs, input gradients, initial-state gradients and every
parameter gradient must agree within 1e-8, over random T, N, D and H.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn as sn
from tests.reference.torch_helpers import compare, float64_torch, run_torch, tt

torch = pytest.importorskip("torch")
nn = torch.nn

KINDS = {"SimpleRNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
SIZES = {"N": st.integers(1, 4), "T": st.integers(1, 7), "D": st.integers(1, 4), "H": st.integers(1, 5)}


def _load_from_torch(layer, module, suffix=""):
    """Copy torch's weights of one direction into our layer (the documented mapping)."""
    g = {k: getattr(module, f"{k}_l0{suffix}").detach().numpy() for k in
         ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    H = layer.hidden_size
    layer.params["W"][...] = g["weight_ih"].T
    layer.params["U"][...] = g["weight_hh"].T
    if isinstance(layer, sn.layers.GRU):
        layer.params["b"][...] = g["bias_ih"] + np.concatenate([g["bias_hh"][:2 * H], np.zeros(H)])
        layer.params["b_hn"][...] = g["bias_hh"][2 * H:]
    else:
        layer.params["b"][...] = g["bias_ih"] + g["bias_hh"]


def _torch_grads(layer, module, suffix=""):
    """Our parameter gradients as torch would hold them, and torch's own."""
    H = layer.hidden_size
    gr = layer.grads
    ours = {"weight_ih": gr["W"].T, "weight_hh": gr["U"].T, "bias_ih": gr["b"]}
    if isinstance(layer, sn.layers.GRU):
        ours["bias_hh"] = np.concatenate([gr["b"][:2 * H], gr["b_hn"]])
    else:
        ours["bias_hh"] = gr["b"]
    theirs = {k: getattr(module, f"{k}_l0{suffix}").grad for k in ours}
    return ours, theirs


def _make_torch(kind, D, H, seed, **kw):
    torch.manual_seed(seed)
    module = KINDS[kind](D, H, batch_first=True, **kw)
    with torch.no_grad():  # random biases too, so that every bias path is exercised
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                p.normal_(0.0, 0.5)
    return module


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), rs=st.booleans(), with_state=st.booleans(),
       seed=st.integers(0, 2**16), **SIZES)
def test_recurrent_matches_torch(kind, rs, with_state, seed, N, T, D, H):
    rng = np.random.default_rng(seed)
    with float64_torch():
        module = _make_torch(kind, D, H, seed)
        layer = getattr(sn.layers, kind)(D, H, return_sequences=rs)
        layer.build((T, D), rng, "float64")
        _load_from_torch(layer, module)

        x = rng.standard_normal((N, T, D))
        n_states = 2 if kind == "LSTM" else 1
        states = [rng.standard_normal((N, H)) for _ in range(n_states)] if with_state else None
        dy = rng.standard_normal((N, T, H) if rs else (N, H))

        xt = tt(x, requires_grad=True)
        st_t = [tt(s[None], requires_grad=True) for s in states] if states else None
        hx = None if st_t is None else (tuple(st_t) if kind == "LSTM" else st_t[0])
        out, _ = module(xt, hx)
        y_t = out if rs else out[:, -1]
        y_t.backward(tt(dy))

        layer.initial_state = None if states is None else (tuple(states) if kind == "LSTM" else states[0])
        y = layer.forward(x)
        dx = layer.backward(dy)

    compare(f"{kind} forward", y, y_t)
    compare(f"{kind} dx", dx, xt.grad)
    ours, theirs = _torch_grads(layer, module)
    for k in ours:
        compare(f"{kind} d{k}", ours[k], theirs[k])
    if states is not None:
        grads = layer.initial_state_grad if kind == "LSTM" else (layer.initial_state_grad,)
        for i, (g, s) in enumerate(zip(grads, st_t)):
            compare(f"{kind} dstate{i}", g, s.grad[0])
    final = layer.final_state if kind == "LSTM" else (layer.final_state,)
    compare(f"{kind} final h", final[0], out[:, -1])


@settings(max_examples=8, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), rs=st.booleans(), seed=st.integers(0, 2**16), **SIZES)
def test_bidirectional_matches_torch(kind, rs, seed, N, T, D, H):
    rng = np.random.default_rng(seed)
    with float64_torch():
        module = _make_torch(kind, D, H, seed, bidirectional=True)
        layer = sn.layers.Bidirectional(getattr(sn.layers, kind)(D, H, return_sequences=rs))
        layer.build((T, D), rng, "float64")
        _load_from_torch(layer.forward_layer, module)
        _load_from_torch(layer.backward_layer, module, "_reverse")
        x = rng.standard_normal((N, T, D))
        dy = rng.standard_normal((N, T, 2 * H) if rs else (N, 2 * H))

        def torch_fn(inp):
            out, h_n = module(inp)
            if rs:
                return out
            last = h_n[0] if kind == "LSTM" else h_n  # (2, N, H): forward, backward
            return torch.cat([last[0], last[1]], dim=-1)

        theirs = run_torch(torch_fn, x, dy)
        y = layer.forward(x)
        dx = layer.backward(dy)

    compare(f"Bi{kind} forward", y, theirs.y)
    compare(f"Bi{kind} dx", dx, theirs.dx)
    grads = layer.all_grads()
    for sub, suffix, prefix in ((layer.forward_layer, "", "fw/"), (layer.backward_layer, "_reverse", "bw/")):
        ours, torch_g = _torch_grads(sub, module, suffix)
        for k in ours:
            compare(f"Bi{kind} d{k}{suffix}", ours[k], torch_g[k])
        for k in sub.params:
            assert grads[prefix + k] is sub.grads[k]


@settings(max_examples=8, deadline=None)
@given(N=st.integers(1, 4), T=st.integers(1, 6), V=st.integers(2, 9), E=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_embedding_matches_torch(N, T, V, E, seed):
    rng = np.random.default_rng(seed)
    with float64_torch():
        torch.manual_seed(seed)
        module = nn.Embedding(V, E)
        layer = sn.layers.Embedding(V, E)
        layer.build((T,), rng, "float64")
        layer.params["W"][...] = module.weight.detach().numpy()
        ids = rng.integers(0, V, (N, T))
        dy = rng.standard_normal((N, T, E))
        theirs = run_torch(module, ids, dy)
        # a model hands its inputs over as floats: both forms must give the same result
        y = layer.forward(ids.astype(np.float64))
        dx = layer.backward(dy)
    compare("Embedding forward", y, theirs.y)
    compare("Embedding dW", layer.grads["W"], theirs.grads["weight"])
    assert dx.shape == ids.shape and not dx.any()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_stacked_two_layers_match_torch(kind, rng):
    """Sequential([X(return_sequences=True), X]) matches torch's num_layers=2."""
    N, T, D, H = 3, 6, 2, 4
    with float64_torch():
        module = _make_torch(kind, D, H, 5, num_layers=2)
        model = sn.Sequential([getattr(sn.layers, kind)(D, H, return_sequences=True),
                               getattr(sn.layers, kind)(H, H)], dtype="float64", seed=0)
        model.build((T, D))
        l1 = KINDS[kind](H, H, batch_first=True)  # a stand-in holding layer 2's weights under _l0 names
        with torch.no_grad():
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(l1, f"{k}_l0").copy_(getattr(module, f"{k}_l1"))
        _load_from_torch(model.layers[0], module)
        _load_from_torch(model.layers[1], l1)
        x = rng.standard_normal((N, T, D))
        dy = rng.standard_normal((N, H))
        theirs = run_torch(lambda inp: module(inp)[0][:, -1], x, dy)
        y = model.forward(x)
        dx = model.backward(dy)
    compare(f"stacked {kind} forward", y, theirs.y)
    compare(f"stacked {kind} dx", dx, theirs.dx)
    g2 = model.layers[1].grads
    compare(f"stacked {kind} dW layer 2", g2["W"].T, module.weight_ih_l1.grad)
    compare(f"stacked {kind} dU layer 2", g2["U"].T, module.weight_hh_l1.grad)
    compare(f"stacked {kind} dU layer 1", model.layers[0].grads["U"].T, module.weight_hh_l0.grad)
