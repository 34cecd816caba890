"""Activation functions: values, stability for inputs up to +-1e4, dtypes, layer wrappers.

Stability tests run under ``np.errstate(all="raise", under="ignore")`` (plus pytest's
warnings-as-errors): overflow, division by zero and invalid operations raise. Underflow
is left at NumPy's default ("ignore") on purpose: e^-10000 rounding to 0 *is* the
correctly rounded result, not an error, and NumPy never warns about it by default.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchnn as sn
from scratchnn import functional as F

LD = np.longdouble
HAVE_WIDE_LONGDOUBLE = np.finfo(LD).maxexp >= 16000  # x87 80-bit: exp(1e4) is finite
needs_longdouble = pytest.mark.skipif(not HAVE_WIDE_LONGDOUBLE, reason="needs 80-bit long double for references")

EXTREMES = [-1e4, -1e3, -100.0, -30.0, -5.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 5.0, 30.0, 100.0, 1e3, 1e4]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: {"rtol": 2e-6, "atol": 1e-30}, np.float64: {"rtol": 1e-13, "atol": 1e-300}}


def strict():
    return np.errstate(all="raise", under="ignore")


# ---------------------------------------------------------- references (long double, naive formulas)
def ref_sigmoid(x):
    return 1 / (1 + np.exp(-x.astype(LD)))


def ref_softplus(x):
    return np.log1p(np.exp(x.astype(LD)))


def ref_elu(x, alpha):
    x = x.astype(LD)
    return np.where(x > 0, x, alpha * np.expm1(x))


def ref_gelu_tanh(x):
    x = x.astype(LD)
    return 0.5 * x * (1 + np.tanh(LD(math.sqrt(2 / math.pi)) * (x + LD(0.044715) * x ** 3)))


def ref_log_softmax(x, axis=-1):
    x = x.astype(LD)
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


ELEMENTWISE = [
    ("sigmoid", F.sigmoid, ref_sigmoid),
    ("softplus", F.softplus, ref_softplus),
    ("elu", lambda x: F.elu(x, 1.0), lambda x: ref_elu(x, 1.0)),
    ("elu-0.3", lambda x: F.elu(x, 0.3), lambda x: ref_elu(x, 0.3)),
    ("gelu-tanh", F.gelu, ref_gelu_tanh),
]


@needs_longdouble
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,fn,ref", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_elementwise_stable_and_correct(name, fn, ref, dtype):
    x = np.array(EXTREMES, dtype=dtype)
    with strict():
        y = fn(x)
    assert y.dtype == dtype, f"{name} turned {dtype.__name__} into {y.dtype}"
    assert np.isfinite(y).all(), y
    np.testing.assert_allclose(y.astype(np.float64), ref(x).astype(np.float64), **TOL[dtype], err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_gelu_stable_and_correct(dtype):
    x = np.array(EXTREMES, dtype=dtype)
    with strict():
        y = F.gelu(x, "none")
        g = F.gelu_grad(x, y, np.ones_like(x), "none")
    ref = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    assert y.dtype == dtype and g.dtype == dtype
    np.testing.assert_allclose(y, ref, rtol=TOL[dtype]["rtol"] * 5, atol=1e-30)
    assert np.isfinite(g).all() and g[0] == 0 and g[-1] == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_stable_at_extremes(dtype):
    x = np.array(EXTREMES, dtype=dtype)
    dy = np.ones_like(x)
    with strict():
        grads = {
            "sigmoid": F.sigmoid_grad(x, F.sigmoid(x), dy),
            "softplus": F.softplus_grad(x, F.softplus(x), dy),
            "elu": F.elu_grad(x, F.elu(x), dy),
            "gelu": F.gelu_grad(x, F.gelu(x), dy),
            "tanh": F.tanh_grad(x, F.tanh(x), dy),
        }
    for name, g in grads.items():
        assert g.dtype == dtype, name
        assert np.isfinite(g).all(), (name, g)
    # the derivatives at the extremes are their limits
    assert grads["sigmoid"][0] == 0 and grads["sigmoid"][-1] == 0
    assert grads["softplus"][0] == 0 and grads["softplus"][-1] == 1
    assert grads["elu"][0] == 0 and grads["elu"][-1] == 1
    assert grads["gelu"][0] == 0 and grads["gelu"][-1] == 1
    np.testing.assert_allclose(grads["sigmoid"][7], 0.25)


@needs_longdouble
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_softmax_stable(dtype):
    x = np.array([EXTREMES, EXTREMES[::-1], [1e4] * len(EXTREMES), [-1e4] * 14 + [1e4]], dtype=dtype)
    with strict():
        p = F.softmax(x)
        logp = F.log_softmax(x)
    ref = ref_log_softmax(x)
    assert p.dtype == dtype and logp.dtype == dtype
    assert np.isfinite(p).all() and np.isfinite(logp).all()
    np.testing.assert_allclose(logp, ref.astype(np.float64), **TOL[dtype])
    np.testing.assert_allclose(p, np.exp(ref).astype(np.float64), **TOL[dtype])
    np.testing.assert_allclose(p.sum(-1), 1, rtol=TOL[dtype]["rtol"] * 4)
    np.testing.assert_allclose(p[2], 1 / len(EXTREMES), rtol=TOL[dtype]["rtol"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_along_other_axis(dtype, rng):
    x = (100 * rng.standard_normal((3, 4, 5))).astype(dtype)
    with strict():
        p = F.softmax(x, axis=1)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(p, np.moveaxis(F.softmax(np.moveaxis(x, 1, -1)), -1, 1), rtol=1e-6)


def test_plain_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(F.relu(x), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(F.leaky_relu(x, 0.1), [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_allclose(F.leaky_relu_grad(x, None, np.ones(5), 0.1), [0.1, 0.1, 0.1, 1, 1])
    np.testing.assert_array_equal(F.relu_grad(x, F.relu(x), np.ones(5)), [0, 0, 0, 1, 1])
    np.testing.assert_allclose(F.tanh(x), np.tanh(x))
    assert F.identity(x) is x
    np.testing.assert_allclose(F.softplus(np.array([0.0])), [math.log(2)])
    np.testing.assert_allclose(F.gelu(np.array([1.0]), "none"), [0.5 * (1 + math.erf(1 / math.sqrt(2)))])


# ------------------------------------------------------------------ layers
@pytest.mark.parametrize("name", ["identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                  "gelu", "softplus", "softmax"])
def test_get_activation_by_name(name):
    layer = sn.layers.get_activation(name)
    assert isinstance(layer, sn.layers.Activation)
    assert type(layer) is sn.layers.activations.ACTIVATIONS[name]


def test_get_activation_unknown():
    with pytest.raises(sn.ConfigError, match="unknown activation.*Received: 'swish'"):
        sn.layers.get_activation("swish")


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1"])
def test_alpha_validation(bad):
    with pytest.raises(sn.ConfigError, match=r"alpha must be a finite number >= 0\. Received: alpha="):
        sn.layers.LeakyReLU(bad)
    with pytest.raises(sn.ConfigError, match="Received: alpha="):
        sn.layers.ELU(bad)


def test_gelu_and_softmax_validation():
    with pytest.raises(sn.ConfigError, match="approximate must be 'tanh' or 'none'. Received: approximate='erf'"):
        sn.layers.GELU("erf")
    with pytest.raises(sn.ConfigError, match="axis must be an int. Received: axis=1.5"):
        sn.layers.Softmax(axis=1.5)


def test_default_alphas_match_pytorch():
    assert sn.layers.LeakyReLU().alpha == 0.01
    assert sn.layers.ELU().alpha == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_layers_stable_at_extremes(dtype):
    x = np.array([EXTREMES], dtype=dtype)
    for cls in (sn.layers.Sigmoid, sn.layers.Softplus, sn.layers.ELU, sn.layers.GELU, sn.layers.Softmax,
                sn.layers.Tanh):
        layer = cls()
        layer.build(x.shape[1:], np.random.default_rng(0), dtype)
        with strict():
            y = layer.forward(x)
            dx = layer.backward(np.ones_like(y))
        assert y.dtype == dtype and dx.dtype == dtype, cls.__name__
        assert np.isfinite(y).all() and np.isfinite(dx).all(), cls.__name__


# --------------------------------------------------------------- properties
finite_rows = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6),
                         elements=st.floats(-1e4, 1e4, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(finite_rows)
def test_softmax_rows_sum_to_one(x):
    with strict():
        p = F.softmax(x)
        logp = F.log_softmax(x)
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(logp <= 1e-12) and np.isfinite(logp).all()
    # the largest entry of each row gets the largest probability
    np.testing.assert_array_equal(np.take_along_axis(p, x.argmax(-1)[..., None], -1)[..., 0], p.max(-1))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 20), elements=st.floats(-1e4, 1e4, width=32)))
def test_sigmoid_in_unit_interval_and_symmetric(x):
    with strict():
        s = F.sigmoid(x)
        s_neg = F.sigmoid(-x)
    assert s.dtype == np.float32
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s + s_neg, 1.0, atol=1e-6)


def test_sigmoid_accepts_scalars_ints_and_views():
    assert float(F.sigmoid(0.0)) == 0.5
    np.testing.assert_allclose(F.sigmoid(np.array([-1, 0, 2])), 1 / (1 + np.exp(-np.array([-1.0, 0.0, 2.0]))))
    view = (np.arange(12.0).reshape(3, 4) - 5)[:, ::2]
    np.testing.assert_allclose(F.sigmoid(view), 1 / (1 + np.exp(-view)))
    assert view.base is not None and view[0, 0] == -5  # the input is never written to
