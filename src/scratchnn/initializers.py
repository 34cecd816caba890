"""Weight initialisers.

Each initialiser is a function ``init(shape, fan_in, fan_out, rng, dtype)`` that
returns an array drawn from ``rng`` (a ``numpy.random.Generator``):

=====================  ===========================================
name                   distribution
=====================  ===========================================
``glorot_uniform``     U(-a, a),  a = sqrt(6 / (fan_in + fan_out))
``glorot_normal``      N(0, 2 / (fan_in + fan_out))
``he_uniform``         U(-a, a),  a = sqrt(6 / fan_in)
``he_normal``          N(0, 2 / fan_in)
``lecun_uniform``      U(-a, a),  a = sqrt(3 / fan_in)
``lecun_normal``       N(0, 1 / fan_in)
``zeros`` / ``ones``   constants
=====================  ===========================================

Glorot suits tanh and sigmoid; He suits ReLU-like activations; LeCun suits SELU
and, in practice, small sigmoid networks. Layers take the name as a string,
which is what their saved configuration holds.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import ConfigError

Initializer = Callable[[tuple, int, int, np.random.Generator, np.dtype], np.ndarray]


def glorot_uniform(shape, fan_in, fan_out, rng, dtype):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, fan_in, fan_out, rng, dtype):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape, fan_in, fan_out, rng, dtype):
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, fan_in, fan_out, rng, dtype):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def lecun_uniform(shape, fan_in, fan_out, rng, dtype):
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def lecun_normal(shape, fan_in, fan_out, rng, dtype):
    return (rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)).astype(dtype)


def standard_normal(shape, fan_in, fan_out, rng, dtype):
    """N(0, 1): the article's ``np.random.randn`` initialisation."""
    return rng.standard_normal(shape).astype(dtype)


def zeros(shape, fan_in, fan_out, rng, dtype):
    return np.zeros(shape, dtype=dtype)


def ones(shape, fan_in, fan_out, rng, dtype):
    return np.ones(shape, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    f.__name__: f
    for f in (glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform,
              lecun_normal, standard_normal, zeros, ones)
}


def get(name: str) -> Initializer:
    """Look up an initialiser by name (``"he_uniform"``, ...)."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown initializer. Expected one of {sorted(INITIALIZERS)}. Received: {name!r}"
        ) from None
