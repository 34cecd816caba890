"""Dense: values by hand, sequences, bias and initialisers, errors, the output-shape formula."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn as sn

L = sn.layers


def built(layer, shape, dtype="float64", seed=0):
    layer.build(shape, np.random.default_rng(seed), dtype)
    return layer


# ------------------------------------------------------------------ Dense
def test_dense_forward_backward_by_hand(rng):
    layer = built(L.Dense(3, 2), (3,))
    layer.params["W"][...] = [[1, 2], [3, 4], [5, 6]]
    layer.params["b"][...] = [0.5, -0.5]
    x = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    np.testing.assert_allclose(layer.forward(x), [[-3.5, -4.5], [5.5, 7.5]])
    dy = np.array([[1.0, 0.0], [0.0, 2.0]])
    dx = layer.backward(dy)
    np.testing.assert_allclose(layer.grads["W"], x.T @ dy)
    np.testing.assert_allclose(layer.grads["b"], [1.0, 2.0])
    np.testing.assert_allclose(dx, dy @ layer.params["W"].T)


def test_dense_on_sequences(rng):
    layer = built(L.Dense(4, 3), (5, 4))
    x = rng.standard_normal((2, 5, 4))
    y = layer.forward(x)
    np.testing.assert_allclose(y, x @ layer.params["W"] + layer.params["b"])
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    np.testing.assert_allclose(layer.grads["W"], np.einsum("ntd,nto->do", x, dy))
    np.testing.assert_allclose(layer.grads["b"], dy.sum(axis=(0, 1)))
    assert dx.shape == x.shape


def test_dense_without_bias_and_initializers():
    layer = built(L.Dense(100, 50, use_bias=False, kernel_initializer="he_uniform"), (100,))
    assert set(layer.params) == {"W"} and layer.count_params() == 5000
    limit = np.sqrt(6 / 100)
    assert np.abs(layer.params["W"]).max() <= limit and np.abs(layer.params["W"]).max() > 0.9 * limit
    zeros = built(L.Dense(3, 2, kernel_initializer="zeros", bias_initializer="ones"), (3,))
    assert not zeros.params["W"].any() and (zeros.params["b"] == 1).all()


def test_dense_skips_input_gradient_when_not_required(rng):
    layer = built(L.Dense(3, 2), (3,))
    layer.input_grad_required = False
    layer.forward(rng.standard_normal((4, 3)))
    assert layer.backward(np.ones((4, 2))) is None
    assert layer.grads["W"].any()


@pytest.mark.parametrize("kwargs,match", [
    ({"in_features": 0, "out_features": 2}, r"Dense: in_features must be a positive integer\. Received: in_features=0"),
    ({"in_features": 2.0, "out_features": 2}, r"Received: in_features=2\.0"),
    ({"in_features": True, "out_features": 2}, r"Received: in_features=True"),
    ({"in_features": 2, "out_features": -3}, r"Dense: out_features must be a positive integer\. Received: out_features=-3"),
    ({"in_features": 2, "out_features": 2, "kernel_initializer": "xavier"}, r"unknown initializer.*Received: 'xavier'"),
])
def test_dense_config_errors(kwargs, match):
    with pytest.raises(sn.ConfigError, match=match):
        L.Dense(**kwargs)


def test_dense_shape_errors_name_the_layer_and_hint():
    model = sn.Sequential([L.Dense(784, 10, name="fc")], seed=0)
    model.build((784,))
    with pytest.raises(sn.ShapeError, match=r"Dense 'fc' \(layer 1 of 1\) expected input \(N, \.\.\., 784\), "
                                            r"got \(2, 28, 28\)\. Add a Flatten\(\) layer"):
        model.predict(np.zeros((2, 28, 28)))
    with pytest.raises(sn.ShapeError, match=r"expected per-sample input \(\.\.\., 5\), got \(4,\)"):
        L.Dense(5, 2).build((4,), np.random.default_rng(0))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(1, 6), st.integers(1, 6),
       st.integers(1, 3))
def test_dense_output_shape_formula(middle, d_in, d_out, n):
    """(N, *, D_in) -> (N, *, D_out), and compute_output_shape agrees with forward."""
    layer = built(L.Dense(d_in, d_out), tuple(middle) + (d_in,))
    x = np.ones((n, *middle, d_in))
    y = layer.forward(x)
    assert y.shape == (n, *middle, d_out)
    assert layer.compute_output_shape(tuple(middle) + (d_in,)) == tuple(middle) + (d_out,)
    assert layer.backward(np.ones_like(y)).shape == x.shape
