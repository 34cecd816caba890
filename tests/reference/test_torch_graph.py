"""Graph models equal their PyTorch twins in float64: a residual block, a two-input model,
and a layer used twice -- outputs, input gradients and every parameter gradient within 1e-8."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from tests.reference.torch_helpers import compare, float64_torch, tt

torch = pytest.importorskip("torch")
L = sn.layers


def _conv_to_torch(conv, module):
    module.weight.data = tt(conv.params["W"])
    module.bias.data = tt(conv.params["b"])


def _dense_to_torch(dense, module):
    module.weight.data = tt(dense.params["W"].T)
    module.bias.data = tt(dense.params["b"])


def _backward_both(model, inputs, out_torch, dys, torch_inputs):
    """Run scratchnn's forward/backward and torch's autograd on the same upstream gradients."""
    ours = model.forward(inputs, training=True)
    ours_list = ours if isinstance(ours, list) else [ours]
    dxs = model.backward(dys if len(dys) > 1 else dys[0])
    total = sum((o * tt(d)).sum() for o, d in zip(out_torch, dys))
    total.backward()
    return ours_list, (dxs if isinstance(dxs, list) else [dxs]), [t.grad for t in torch_inputs]


def test_residual_block_matches_torch(rng):
    x = sn.Input((3, 6, 6))
    conv1, bn, conv2 = L.Conv2D(3, 3, 3, padding="same"), L.BatchNorm(3), L.Conv2D(3, 3, 3, padding="same")
    h = L.ReLU()(conv1(x))
    r = conv2(L.ReLU()(bn(h)))
    y = L.ReLU()(L.Add()([x, r]))
    model = sn.Model(x, y, seed=1, dtype="float64")
    for layer in model.layers:
        layer.input_grad_required = True
    xv = rng.standard_normal((4, 3, 6, 6))
    dy = rng.standard_normal((4, 3, 6, 6))
    with float64_torch():
        c1, b1, c2 = torch.nn.Conv2d(3, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.Conv2d(3, 3, 3, padding=1)
        _conv_to_torch(conv1, c1)
        _conv_to_torch(conv2, c2)
        xt = tt(xv).requires_grad_(True)
        ht = torch.relu(c1(xt))
        yt = torch.relu(xt + c2(torch.relu(b1(ht))))
        (out,), (dx,), (dxt,) = _backward_both(model, xv, [yt], [dy], [xt])
    compare("residual forward", out, yt)
    compare("residual dx", dx, dxt)
    compare("conv1 dW", conv1.grads["W"], c1.weight.grad)
    compare("conv1 db", conv1.grads["b"], c1.bias.grad)
    compare("conv2 dW", conv2.grads["W"], c2.weight.grad)
    compare("bn dgamma", bn.grads["gamma"], b1.weight.grad)
    compare("bn dbeta", bn.grads["beta"], b1.bias.grad)


def test_two_input_two_output_model_matches_torch(rng):
    a, b = sn.Input((4,)), sn.Input((3,))
    da, db, head = L.Dense(4, 5), L.Dense(3, 5), L.Dense(10, 2)
    ha, hb = L.Tanh()(da(a)), L.Tanh()(db(b))
    joined = L.Concatenate()([ha, hb])
    gate = L.Multiply()([ha, hb])
    model = sn.Model([a, b], [head(joined), gate], seed=2, dtype="float64")
    for layer in model.layers:
        layer.input_grad_required = True
    av, bv = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    dys = [rng.standard_normal((6, 2)), rng.standard_normal((6, 5))]
    with float64_torch():
        ta, tb, th = torch.nn.Linear(4, 5), torch.nn.Linear(3, 5), torch.nn.Linear(10, 2)
        for ours_layer, module in ((da, ta), (db, tb), (head, th)):
            _dense_to_torch(ours_layer, module)
        at, bt = tt(av).requires_grad_(True), tt(bv).requires_grad_(True)
        hat, hbt = torch.tanh(ta(at)), torch.tanh(tb(bt))
        outs_t = [th(torch.cat([hat, hbt], dim=-1)), hat * hbt]
        outs, dxs, dxts = _backward_both(model, [av, bv], outs_t, dys, [at, bt])
    for k in range(2):
        compare(f"output {k}", outs[k], outs_t[k])
        compare(f"d input {k}", dxs[k], dxts[k])
    for name, ours_layer, module in (("a", da, ta), ("b", db, tb), ("head", head, th)):
        compare(f"{name} dW", ours_layer.grads["W"], module.weight.grad.T)
        compare(f"{name} db", ours_layer.grads["b"], module.bias.grad)


def test_a_layer_used_twice_accumulates_gradients_as_torch(rng):
    """One Dense applied twice (weight sharing) plus fan-out of the input into three branches."""
    x = sn.Input((4,))
    shared = L.Dense(4, 4)
    h1 = shared(x)
    h2 = shared(L.Tanh()(h1))
    y = L.Add()([x, h1, h2])
    model = sn.Model(x, y, seed=3, dtype="float64")
    shared.input_grad_required = True
    xv, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    with float64_torch():
        lin = torch.nn.Linear(4, 4)
        _dense_to_torch(shared, lin)
        xt = tt(xv).requires_grad_(True)
        h1t = lin(xt)
        yt = xt + h1t + lin(torch.tanh(h1t))
        (out,), (dx,), (dxt,) = _backward_both(model, xv, [yt], [dy], [xt])
    compare("shared forward", out, yt)
    compare("shared dx", dx, dxt)
    compare("shared dW (sum of both calls)", shared.grads["W"], lin.weight.grad.T)
    compare("shared db (sum of both calls)", shared.grads["b"], lin.bias.grad)


def test_breaking_the_gradient_sum_is_caught(rng):
    """The shared-layer test can fail: with only the last call's gradient it does not match."""
    x = sn.Input((3,))
    shared = L.Dense(3, 3)
    y = shared(L.Tanh()(shared(x)))
    model = sn.Model(x, y, seed=0, dtype="float64")
    xv, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    model.forward(xv, training=True)
    model.backward(dy)
    summed = shared.grads["W"].copy()
    model._node_shared = [False] * len(model.nodes)  # pretend the layer is not shared
    model.forward(xv, training=True)
    model.backward(dy)
    assert not np.allclose(summed, shared.grads["W"])
