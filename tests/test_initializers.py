"""Initialisers: ranges and spreads by their formulas, dtype, determinism, lookup errors."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn import initializers as I

FAN_IN, FAN_OUT = 200, 300
SHAPE = (FAN_IN, FAN_OUT)

UNIFORM_LIMITS = {
    "glorot_uniform": np.sqrt(6 / (FAN_IN + FAN_OUT)),
    "he_uniform": np.sqrt(6 / FAN_IN),
    "lecun_uniform": np.sqrt(3 / FAN_IN),
}
NORMAL_STDS = {
    "glorot_normal": np.sqrt(2 / (FAN_IN + FAN_OUT)),
    "he_normal": np.sqrt(2 / FAN_IN),
    "lecun_normal": np.sqrt(1 / FAN_IN),
    "standard_normal": 1.0,
}


@pytest.mark.parametrize("name", sorted(UNIFORM_LIMITS))
def test_uniform_limits(name, rng):
    w = I.get(name)(SHAPE, FAN_IN, FAN_OUT, rng, np.float64)
    limit = UNIFORM_LIMITS[name]
    assert w.shape == SHAPE and np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit
    assert w.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)  # std of U(-a, a) is a / sqrt 3
    assert abs(w.mean()) < 0.01 * limit


@pytest.mark.parametrize("name", sorted(NORMAL_STDS))
def test_normal_spreads(name, rng):
    w = I.get(name)(SHAPE, FAN_IN, FAN_OUT, rng, np.float64)
    assert w.std() == pytest.approx(NORMAL_STDS[name], rel=0.02)
    assert abs(w.mean()) < 0.02 * NORMAL_STDS[name] * 3


@pytest.mark.parametrize("name", sorted(I.INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_and_determinism(name, dtype):
    a = I.get(name)((3, 4), 3, 4, np.random.default_rng(9), dtype)
    b = I.get(name)((3, 4), 3, 4, np.random.default_rng(9), dtype)
    assert a.dtype == dtype and a.shape == (3, 4)
    np.testing.assert_array_equal(a, b)


def test_constants():
    assert not I.zeros((2, 3), 2, 3, None, np.float32).any()
    assert (I.ones((2,), 2, 3, None, np.float64) == 1).all()


def test_every_initializer_is_covered():
    assert set(I.INITIALIZERS) == set(UNIFORM_LIMITS) | set(NORMAL_STDS) | {"zeros", "ones"}


@pytest.mark.parametrize("bad", ["kaiming", None, 3])
def test_unknown_initializer(bad):
    with pytest.raises(sn.ConfigError, match=r"unknown initializer\. Expected one of \[.*'he_normal'.*\]\. Received: "):
        I.get(bad)
