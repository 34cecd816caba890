"""Dropout: identity in inference, inverted scaling and one mask in training, validation."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn

L = sn.layers


def built(layer, shape, dtype="float64", seed=0):
    layer.build(shape, np.random.default_rng(seed), dtype)
    return layer


def test_dropout_eval_is_identity(rng):
    layer = built(L.Dropout(0.5), (10,))
    x = rng.standard_normal((4, 10))
    y = layer.forward(x, training=False)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_training_drops_and_rescales(dtype):
    rate = 0.3
    layer = built(L.Dropout(rate), (1000,), dtype=dtype)
    x = np.ones((20, 1000), dtype=dtype)
    y = layer.forward(x, training=True)
    assert y.dtype == dtype
    kept = y != 0
    assert abs(1 - kept.mean() - rate) < 0.02  # about `rate` of the units are dropped
    np.testing.assert_allclose(y[kept], 1 / (1 - rate), rtol=1e-6)  # inverted: survivors scaled up
    assert abs(y.mean() - 1) < 0.03  # expectation preserved
    dy = np.full_like(x, 2.0)
    dx = layer.backward(dy)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx != 0, kept)  # the same mask in backward
    np.testing.assert_allclose(dx[kept], 2 / (1 - rate), rtol=1e-6)


def test_dropout_rate_zero_and_determinism(rng):
    x = rng.standard_normal((3, 8))
    np.testing.assert_array_equal(built(L.Dropout(0.0), (8,)).forward(x, training=True), x)
    a = built(L.Dropout(0.5), (8,), seed=4).forward(x, training=True)
    b = built(L.Dropout(0.5), (8,), seed=4).forward(x, training=True)
    c = built(L.Dropout(0.5), (8,), seed=5).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("rate", [1.0, -0.1, True, "0.5", None])
def test_dropout_rate_validation(rate):
    with pytest.raises(sn.ConfigError, match=r"Dropout: rate must be a number in \[0, 1\)\. Received: rate="):
        L.Dropout(rate)


def test_dropout_is_off_in_predict_and_on_in_fit(rng):
    model = sn.Sequential([L.Dense(4, 4), L.Dropout(0.5)], seed=0)
    model.compile(loss="mse", optimizer=sn.optimizers.SGD(lr=1e-9))
    x = rng.standard_normal((6, 4))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert model.layers[1].has_training_mode and not model.layers[0].has_training_mode
    _, y_hat = model.train_step(x.astype(np.float32), np.zeros((6, 4), np.float32))
    assert (y_hat == 0).any()


