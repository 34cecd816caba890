"""Toy generators (seeded, balanced, right shapes) and the data utilities."""
from __future__ import annotations

import numpy as np
import pytest

from scratchnn.datasets import (
    TOY,
    images_to_inputs,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    minibatches,
    one_hot,
    standardize,
    train_val_split,
    xor,
)
from scratchnn.errors import ConfigError, DataError, ShapeError


@pytest.mark.parametrize("name", sorted(TOY))
def test_toy_generators_are_seeded_balanced_and_finite(name):
    X, y = TOY[name](n_samples=101, seed=3)
    X2, y2 = TOY[name](n_samples=101, seed=3)
    X3, _ = TOY[name](n_samples=101, seed=4)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64 and y.shape == (101,)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, X3)
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1 and np.isfinite(X).all()


def test_toy_geometry():
    X, y = make_circles(400, noise=0.0, factor=0.3, seed=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-6)
    X, y = make_xor(400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0] > 0.5, X[:, 1] > 0.5).astype(int))
    X, y = make_spirals(300, n_classes=3, noise=0.0, seed=0)
    assert np.linalg.norm(X, axis=1).max() <= 1.0 + 1e-6 and set(y.tolist()) == {0, 1, 2}
    X, y = make_moons(200, noise=0.0, seed=0)
    assert X[y == 0, 1].min() >= -1e-6 and X[y == 1, 1].max() <= 0.5 + 1e-6
    X, y = make_blobs(300, n_classes=4, std=0.01, n_features=3, seed=0)
    assert X.shape == (300, 3) and X[y == 2].std(axis=0).max() < 0.05
    Xx, yx = xor()
    assert Xx.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and yx.ravel().tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("call, match", [
    (lambda: make_spirals(n_samples=0), "n_samples must be an integer >= 1"),
    (lambda: make_spirals(n_classes=1), "n_classes must be an integer >= 2"),
    (lambda: make_moons(noise=-1), "noise must be a number >= 0"),
    (lambda: make_circles(factor=1.5), "factor must be in"),
])
def test_toy_bad_arguments(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_one_hot():
    Y = one_hot(np.array([2, 0, 1]), 4)
    assert Y.shape == (3, 4) and Y.dtype == np.float32
    np.testing.assert_array_equal(Y.argmax(axis=1), [2, 0, 1])
    assert Y.sum() == 3
    with pytest.raises(DataError, match="labels must lie in"):
        one_hot([0, 5], 3)
    with pytest.raises(ShapeError):
        one_hot(np.zeros((2, 2)))


def test_standardize_reuses_training_statistics(rng):
    x = rng.normal(5, 3, size=(200, 3))
    z, m, s = standardize(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-8)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-6)
    z2, _, _ = standardize(x[:10] + 1, m, s)
    np.testing.assert_allclose(z2, z[:10] + 1 / s[0], atol=1e-6)


def test_train_val_split_is_stratified_disjoint_and_seeded(rng):
    y = np.repeat(np.arange(5), [100, 50, 20, 10, 2])
    x = np.arange(len(y))
    xa, xv, ya, yv = train_val_split(x, y, 0.2, seed=1)
    assert len(xa) + len(xv) == len(x) and not set(xa) & set(xv)
    assert np.bincount(yv, minlength=5).tolist() == [20, 10, 4, 2, 1]
    np.testing.assert_array_equal(y[xa], ya)
    again = train_val_split(x, y, 0.2, seed=1)
    np.testing.assert_array_equal(again[1], xv)
    _, xv2, _, _ = train_val_split(x, one_hot(y), 0.2, seed=1)
    np.testing.assert_array_equal(np.sort(xv2), np.sort(xv))
    _, xv3, _, _ = train_val_split(x, rng.normal(size=len(x)), 0.25, stratify=False, seed=0)
    assert len(xv3) == round(0.25 * len(x))
    with pytest.raises(ConfigError, match="val_fraction"):
        train_val_split(x, y, 1.5)
    with pytest.raises(DataError, match="samples"):
        train_val_split(x, y[:-1])


def test_minibatches_cover_every_sample_once():
    x, y = np.arange(10), np.arange(10) * 2
    batches = list(minibatches(x, y, 4, seed=0))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[0] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and not np.array_equal(seen, x)
    for bx, by in batches:
        np.testing.assert_array_equal(by, bx * 2)
    assert [len(b) for b in minibatches(x, batch_size=4, shuffle=False, drop_last=True)] == [4, 4]
    with pytest.raises(ConfigError, match="batch_size"):
        list(minibatches(x, batch_size=0))


def test_images_to_inputs():
    imgs = np.full((2, 28, 28), 255, np.uint8)
    flat = images_to_inputs(imgs)
    assert flat.shape == (2, 784) and flat.dtype == np.float32 and flat.max() == 1.0
    assert images_to_inputs(imgs, (1, 28, 28)).shape == (2, 1, 28, 28)
    with pytest.raises(ShapeError, match="expects inputs of shape"):
        images_to_inputs(imgs, (100,))
