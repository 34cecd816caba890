"""Small 2-D data sets for seeing what a network learns: XOR, spirals, moons, circles, blobs.

Every generator takes ``seed`` (or a ``numpy.random.Generator``) and returns
``(X, y)``: ``X`` float32 of shape (N, 2), ``y`` int64 class labels of shape (N,),
except :func:`xor`, which returns the article's four points with targets (4, 1).

Example:
    >>> from scratchnn.datasets import make_spirals
    >>> X, y = make_spirals(n_samples=300, n_classes=3, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((300, 2), [0, 1, 2])
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

Seed = "int | np.random.Generator | None"


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _count(fn: str, name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"{fn}: {name} must be an integer >= {low}. Received: {name}={value!r}")
    return int(value)


def _noise(fn: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{fn}: noise must be a number >= 0. Received: noise={value!r}")
    return float(value)


def _per_class(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _finish(xs, ys, rng, shuffle: bool):
    X = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys).astype(np.int64)
    if shuffle:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    return X, y


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The article's XOR truth table: X (4, 2) in {0, 1}, y (4, 1) = x1 XOR x2 (float32)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return X, np.array([[0], [1], [1], [0]], dtype=np.float32)


def make_xor(n_samples: int = 400, noise: float = 0.1, seed: Seed = None, shuffle: bool = True):
    """A noisy XOR cloud: points around the four corners of the unit square, label x1 XOR x2."""
    n = _count("make_xor", "n_samples", n_samples, 4)
    noise = _noise("make_xor", noise)
    rng = _rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    labels = np.array([0, 1, 1, 0])
    xs, ys = [], []
    for c, m in enumerate(_per_class(n, 4)):
        xs.append(corners[c] + rng.normal(0, noise, (m, 2)))
        ys.append(np.full(m, labels[c]))
    return _finish(xs, ys, rng, shuffle)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, turns: float = 1.0,
                 seed: Seed = None, shuffle: bool = True):
    """Interleaved spiral arms (CS231n's classic), one per class; radius in [0, 1].

    Arm k: r = t, angle = 2*pi*turns*t + 2*pi*k/K + noise*N(0, 1), t in [0, 1].
    """
    n = _count("make_spirals", "n_samples", n_samples, 1)
    k = _count("make_spirals", "n_classes", n_classes, 2)
    noise = _noise("make_spirals", noise)
    rng = _rng(seed)
    xs, ys = [], []
    for c, m in enumerate(_per_class(n, k)):
        t = np.linspace(0.0, 1.0, m)
        angle = 2 * np.pi * turns * t + 2 * np.pi * c / k + rng.normal(0, noise, m)
        xs.append(np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1))
        ys.append(np.full(m, c))
    return _finish(xs, ys, rng, shuffle)


def make_moons(n_samples: int = 300, noise: float = 0.1, seed: Seed = None, shuffle: bool = True):
    """Two interleaving half circles (as scikit-learn's ``make_moons``)."""
    n = _count("make_moons", "n_samples", n_samples, 2)
    noise = _noise("make_moons", noise)
    rng = _rng(seed)
    n0, n1 = _per_class(n, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    a = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    b = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    xs = [a + rng.normal(0, noise, a.shape), b + rng.normal(0, noise, b.shape)]
    return _finish(xs, [np.zeros(n0), np.ones(n1)], rng, shuffle)


def make_circles(n_samples: int = 300, noise: float = 0.05, factor: float = 0.5, seed: Seed = None,
                 shuffle: bool = True):
    """A small circle (class 1, radius ``factor``) inside a large one (class 0, radius 1)."""
    n = _count("make_circles", "n_samples", n_samples, 2)
    noise = _noise("make_circles", noise)
    if not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise ConfigError(f"make_circles: factor must be in (0, 1). Received: factor={factor!r}")
    rng = _rng(seed)
    xs, ys = [], []
    for c, (m, r) in enumerate(zip(_per_class(n, 2), (1.0, float(factor)))):
        t = rng.uniform(0, 2 * np.pi, m)
        pts = r * np.stack([np.cos(t), np.sin(t)], axis=1)
        xs.append(pts + rng.normal(0, noise, pts.shape))
        ys.append(np.full(m, c))
    return _finish(xs, ys, rng, shuffle)


def make_blobs(n_samples: int = 300, n_classes: int = 3, std: float = 0.5, spread: float = 3.0,
               n_features: int = 2, seed: Seed = None, shuffle: bool = True):
    """Gaussian clusters: centres drawn uniformly in [-spread, spread]^d, each with standard deviation ``std``."""
    n = _count("make_blobs", "n_samples", n_samples, 1)
    k = _count("make_blobs", "n_classes", n_classes, 1)
    d = _count("make_blobs", "n_features", n_features, 1)
    std = _noise("make_blobs", std)
    rng = _rng(seed)
    centres = rng.uniform(-spread, spread, (k, d))
    xs = [centres[c] + rng.normal(0, std, (m, d)) for c, m in enumerate(_per_class(n, k))]
    ys = [np.full(m, c) for c, m in enumerate(_per_class(n, k))]
    return _finish(xs, ys, rng, shuffle)


TOY = {"xor": make_xor, "spirals": make_spirals, "moons": make_moons, "circles": make_circles,
       "blobs": make_blobs}
