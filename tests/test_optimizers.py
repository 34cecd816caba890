"""Optimizers without PyTorch: first steps by hand, regularisation, clipping, state, dtypes, config."""
from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.optimizers import clip_grad_norm
from scratchnn.registry import OPTIMIZERS

O = sn.optimizers


def one_step(opt, p, g):
    p = np.array(p, dtype=np.float64)
    opt.step([("0/w", p, np.array(g, dtype=np.float64))])
    return p


def test_sgd_steps_by_hand():
    np.testing.assert_allclose(one_step(O.SGD(lr=0.1), [1.0, -2.0], [0.5, 1.0]), [0.95, -2.1])
    opt = O.SGD(lr=0.1, momentum=0.9)
    p = np.array([1.0])
    for _ in range(2):
        opt.step([("0/w", p, np.array([1.0]))])
    # b1 = 1, b2 = 0.9 + 1 = 1.9: p = 1 - 0.1 - 0.19
    np.testing.assert_allclose(p, [0.71])
    nesterov = O.SGD(lr=0.1, momentum=0.9, nesterov=True)
    q = np.array([1.0])
    for _ in range(2):
        nesterov.step([("0/w", q, np.array([1.0]))])
    # g + mu b: step 1: 1 + 0.9 = 1.9; step 2: 1 + 0.9 * 1.9 = 2.71
    np.testing.assert_allclose(q, [1 - 0.19 - 0.271])


def test_adagrad_rmsprop_adam_first_step_by_hand():
    g = np.array([0.5, -2.0])
    np.testing.assert_allclose(one_step(O.AdaGrad(lr=0.1), [0.0, 0.0], g), -0.1 * g / (np.abs(g) + 1e-10))
    v = 0.01 * g * g
    np.testing.assert_allclose(one_step(O.RMSProp(lr=0.1), [0.0, 0.0], g), -0.1 * g / (np.sqrt(v) + 1e-8))
    # Adam's first bias-corrected step is lr * sign(g) (up to eps)
    np.testing.assert_allclose(one_step(O.Adam(lr=0.1), [0.0, 0.0], g), -0.1 * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose(one_step(O.AdamW(lr=0.1, weight_decay=0.5), [2.0, 2.0], g),
                               2.0 * (1 - 0.05) - 0.1 * np.sign(g), rtol=1e-6)


def test_weight_decay_and_l1():
    # coupled L2: g + wd * p
    np.testing.assert_allclose(one_step(O.SGD(lr=0.1, weight_decay=0.5), [2.0, -2.0], [0.0, 0.0]), [1.9, -1.9])
    # L1: g + l1 * sign(p)
    np.testing.assert_allclose(one_step(O.SGD(lr=0.1, l1=0.5), [2.0, -2.0], [0.0, 0.0]), [1.95, -1.95])
    # Adam with coupled decay differs from AdamW's decoupled decay
    a = one_step(O.Adam(lr=0.1, weight_decay=0.5), [2.0], [0.0])
    w = one_step(O.AdamW(lr=0.1, weight_decay=0.5), [2.0], [0.0])
    np.testing.assert_allclose(a, [1.9], rtol=1e-6)   # the decay term is normalised by Adam: one lr step
    np.testing.assert_allclose(w, [1.9], rtol=1e-12)  # p (1 - lr wd), no Adam step from a zero gradient
    a2 = one_step(O.Adam(lr=0.1, weight_decay=0.5), [4.0], [0.0])
    w2 = one_step(O.AdamW(lr=0.1, weight_decay=0.5), [4.0], [0.0])
    assert a2[0] == pytest.approx(3.9, rel=1e-6) and w2[0] == pytest.approx(3.8)


def test_clip_grad_norm():
    grads = [np.array([3.0, 0.0]), np.array([[0.0, 4.0]])]
    total = clip_grad_norm(grads, 1.0)
    assert total == 5.0
    np.testing.assert_allclose(np.sqrt(sum((g * g).sum() for g in grads)), 1.0, rtol=1e-5)
    small = [np.array([0.3, 0.4])]
    assert clip_grad_norm(small, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small[0], [0.3, 0.4])


def test_clip_norm_in_optimizer_records_norm():
    opt = O.SGD(lr=1.0, clip_norm=1.0)
    p = np.zeros(2)
    opt.step([("0/w", p, np.array([3.0, 4.0]))])
    assert opt.last_grad_norm == 5.0
    np.testing.assert_allclose(p, [-0.6, -0.8], rtol=1e-5)


def test_state_is_per_parameter_key():
    opt = O.Adam(lr=0.1)
    a, b = np.zeros(2), np.zeros(3)
    opt.step([("0/W", a, np.ones(2)), ("2/W", b, -np.ones(3))])
    assert set(opt.state) == {"0/W", "2/W"}
    assert set(opt.state["0/W"]) == {"m", "v"} and opt.state["2/W"]["m"].shape == (3,)
    np.testing.assert_allclose(opt.state["0/W"]["m"], 0.1)
    assert opt.iterations == 1


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_by_every_optimizer(name, dtype, rng):
    cls = OPTIMIZERS[name]
    extra = {"momentum": 0.9} if name in ("SGD", "RMSProp") else {}
    opt = cls(lr=0.01, weight_decay=0.01, l1=0.001, clip_norm=1.0, **extra)
    p = rng.standard_normal((3, 4)).astype(dtype)
    buffer_id = id(p)
    for _ in range(3):
        opt.step([("0/W", p, rng.standard_normal((3, 4)).astype(dtype))])
    assert id(p) == buffer_id and p.dtype == dtype, "updates must be in place and keep the dtype"
    for slot, value in opt.state["0/W"].items():
        assert value.dtype == dtype, f"{name} state {slot} is {value.dtype}"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_config_round_trip(name):
    cls = OPTIMIZERS[name]
    opt = cls(lr=sn.schedules.CosineDecay(0.1, 50), weight_decay=0.001, clip_norm=2.0)
    cfg = opt.get_config()
    twin = cls.from_config(cfg)
    assert twin.get_config() == cfg
    assert repr(opt).startswith(name + "(")
    plain = cls.from_config(cls(lr=0.05).get_config())
    assert plain.lr == 0.05


def test_same_updates_after_state_round_trip(rng):
    """An optimizer rebuilt from its config + state continues exactly (what save/load relies on)."""
    opt = O.Adam(lr=0.01)
    p = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(6)]
    for g in grads[:3]:
        opt.step([("0/W", p, g.copy())])
    twin = O.Adam.from_config(opt.get_config())
    twin.iterations = opt.iterations
    twin.state = {k: {s: v.copy() for s, v in st.items()} for k, st in opt.state.items()}
    q = p.copy()
    for g in grads[3:]:
        opt.step([("0/W", p, g.copy())])
        twin.step([("0/W", q, g.copy())])
    np.testing.assert_array_equal(p, q)


def test_set_lr_and_current_lr():
    opt = O.SGD(lr=0.1)
    assert opt.current_lr == 0.1
    opt.set_lr(0.01)
    assert opt.current_lr == 0.01
    with pytest.raises(sn.ConfigError, match=r"SGD: lr must be a finite number in \(0\.0, inf\]\. Received: lr=0"):
        opt.set_lr(0)


@pytest.mark.parametrize("make,match", [
    (lambda: O.SGD(lr=-1), r"SGD: lr must be .* Received: lr=-1"),
    (lambda: O.SGD(lr=float("nan")), r"Received: lr=nan"),
    (lambda: O.SGD(lr="0.1"), r"Received: lr='0.1'"),
    (lambda: O.SGD(momentum=1.0), r"SGD: momentum must be .* Received: momentum=1\.0"),
    (lambda: O.SGD(nesterov=True), r"SGD: nesterov=True needs momentum > 0"),
    (lambda: O.Adam(beta1=1.0), r"Adam: beta1 must be .* Received: beta1=1\.0"),
    (lambda: O.AdamW(beta2=-0.1), r"AdamW: beta2 must be"),
    (lambda: O.Adam(eps=0), r"Adam: eps must be"),
    (lambda: O.RMSProp(rho=1.5), r"RMSProp: rho must be"),
    (lambda: O.AdaGrad(weight_decay=-1), r"AdaGrad: weight_decay must be"),
    (lambda: O.SGD(l1=True), r"SGD: l1 must be"),
    (lambda: O.SGD(clip_norm=0), r"SGD: clip_norm must be"),
])
def test_validation_messages(make, match):
    with pytest.raises(sn.ConfigError, match=match):
        make()


def test_get_by_name():
    assert isinstance(O.get("adam"), O.Adam) and isinstance(O.get("AdamW"), O.AdamW)
    opt = O.SGD()
    assert O.get(opt) is opt
    with pytest.raises(sn.ConfigError, match="unknown optimizer.*Received: 'lbfgs'"):
        O.get("lbfgs")


def test_adam_converges_on_a_quadratic():
    p = np.array([5.0, -3.0])
    opt = O.Adam(lr=0.1)
    for _ in range(500):
        opt.step([("0/w", p, 2 * p.copy())])
    assert np.abs(p).max() < 1e-2 and math.isfinite(p.sum())


@pytest.mark.parametrize("make", [lambda: O.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                                  lambda: O.AdaGrad(lr=0.1), lambda: O.RMSProp(lr=0.01, momentum=0.5),
                                  lambda: O.Adam(lr=0.01, clip_norm=1.0), lambda: O.AdamW(lr=0.01)],
                         ids=["sgd-nesterov", "adagrad", "rmsprop", "adam", "adamw"])
def test_fused_update_split_among_threads_equals_one_pass(make, monkeypatch, rng):
    """A flat buffer updated in slices on 3 threads equals one pass, bit for bit, and SGD's
    momentum buffer (created lazily inside the slices) is put together whole."""
    from scratchnn import optimizers, threads

    n = 1000
    layout = [("0/W", 0, (20, 30)), ("0/b", 600, (400,))]
    grads = [rng.standard_normal(n) for _ in range(3)]
    reference, p_ref = make(), np.linspace(-1.0, 1.0, n)  # per-parameter steps, no flat buffer
    views = [(key, p_ref[off:off + math.prod(shape)].reshape(shape), off, shape) for key, off, shape in layout]
    for g in grads:
        reference.step([(key, v, g[off:off + math.prod(shape)].reshape(shape)) for key, v, off, shape in views])
    results = []
    monkeypatch.setattr(optimizers, "SPLIT_MIN_SIZE", 64)
    try:
        for n_threads in (1, 3):
            threads.set_num_threads(n_threads)
            opt, p = make(), np.linspace(-1.0, 1.0, n)
            for g in grads:
                opt.step_flat(p, g.copy(), layout)
            results.append((p, {k: dict(s) for k, s in opt.state.items()}))
    finally:
        threads.set_num_threads(None)
    (p1, s1), (p3, s3) = results
    np.testing.assert_array_equal(p1, p3)
    np.testing.assert_allclose(p1, p_ref, rtol=1e-8, atol=1e-12)  # (clipping sums the norm in another order)
    assert s1.keys() == s3.keys() == reference.state.keys()
    for key in s1:
        assert s1[key].keys() == s3[key].keys() == reference.state[key].keys()
        for slot in s1[key]:
            np.testing.assert_array_equal(s1[key][slot], s3[key][slot])
