"""Training that goes wrong stops with TrainingDivergedError and keeps the weights from before the bad step.

pytest runs with warnings as errors, so these tests also show that no NumPy
RuntimeWarning (overflow, invalid value) is printed on the way.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.errors import TrainingDivergedError
from scratchnn.layers.base import Layer

L = sn.layers


class Snapshots(sn.callbacks.Callback):
    """Keeps the weights after every completed batch."""

    def on_train_begin(self, logs=None):
        self.last = self.model.get_weights()
        self.batches = 0

    def on_batch_end(self, batch, logs=None):
        self.last = self.model.get_weights()
        self.batches += 1


def _equal(w1, w2) -> bool:
    return all(np.array_equal(a[k], b[k]) for a, b in zip(w1, w2) for k in a)


@pytest.mark.parametrize("loss,y", [("mse", None), ("crossentropy", "labels")])
def test_exploding_loss_stops_with_epoch_batch_and_hint(rng, loss, y):
    X = rng.normal(size=(64, 4)) * 10
    Y = rng.integers(0, 3, 64) if y == "labels" else rng.normal(size=(64, 3))
    m = sn.Sequential([L.Dense(4, 16), L.ReLU(), L.Dense(16, 3)], seed=0)
    m.compile(loss, sn.optimizers.SGD(lr=1e8))
    snap = Snapshots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TrainingDivergedError, match=r"Training stopped at epoch \d+, batch \d+/4: the loss became "
                                                        r"(nan|inf); the weights from before this batch are kept\. "
                                                        r"Hint: lower the learning rate, clip gradients"):
            m.fit(X, Y, epochs=20, batch_size=16, callbacks=[snap], verbose=0)
    assert _equal(m.get_weights(), snap.last)  # exactly the weights after the last good step
    assert all(np.isfinite(w).all() for layer in m.get_weights() for w in layer.values())
    assert m.optimizer.iterations == snap.batches


class Poison(Layer):
    """Identity forward (finite loss); its own gradient is infinite."""

    def _build(self, input_shape, rng):
        self.params["w"] = np.zeros(1, self.dtype)

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        self.grads["w"][...] = np.inf
        return dy


def test_non_finite_gradient_with_finite_loss_names_first_layer_in_forward_order(rng):
    m = sn.Sequential([L.Dense(4, 8), Poison(name="p1"), L.ReLU(), Poison(name="p2"), L.Dense(8, 2)], seed=0)
    m.compile("mse", sn.optimizers.Adam(lr=0.01))
    m.build((4,))
    before = m.get_weights()
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch 1/2: the gradient of 'w' in Poison 'p1' "
                                                    r"\(layer 2 of 5\) is NaN or infinite \(the first layer, in "
                                                    r"forward order, with a non-finite gradient\); the weights from "
                                                    r"before this batch are kept\. Hint:"):
        m.fit(rng.normal(size=(32, 4)), rng.normal(size=(32, 2)), batch_size=16, verbose=0)
    assert _equal(m.get_weights(), before)
    assert m.optimizer.iterations == 0 and m.optimizer.state == {}


def test_overflowing_gradient_in_dense_layer(rng):
    """A finite loss whose float32 weight gradient overflows: caught before the update."""
    m = sn.Sequential([L.Dense(2, 1, use_bias=False)], seed=0)
    m.compile("mse", "sgd")
    m.build((2,))
    X = np.full((2, 2), 3e38, np.float32)
    m.layers[0].params["W"][...] = 0
    before = m.get_weights()
    y = np.full((2, 1), 1e19, np.float32)  # loss = mean(1e38) is finite in float32... barely
    with pytest.raises(TrainingDivergedError,
                       match=r"the gradient of .W. in Dense \(layer 1 of 1\) is NaN or infinite"):
        m.fit(X, y, batch_size=2, verbose=0, shuffle=False)
    assert _equal(m.get_weights(), before)


class Huge(Poison):
    """Identity forward; its own gradient is finite but so large that its square overflows."""

    def backward(self, dy):
        self.grads["w"][...] = 1e30
        return dy


def test_huge_but_finite_gradient_is_not_reported_as_divergence(rng):
    """The fast check (g . g) overflows for |g| > 1.8e19; the sum then decides, so no false stop."""
    m = sn.Sequential([L.Dense(4, 2), Huge(name="h")], seed=0)
    m.compile("mse", sn.optimizers.SGD(lr=1e-40))
    m.fit(rng.normal(size=(16, 4)), rng.normal(size=(16, 2)), batch_size=16, verbose=0)
    assert m.optimizer.iterations == 1
    assert np.isfinite(m.layers[1].params["w"]).all()


def test_check_finite_false_lets_training_continue(rng):
    m = sn.Sequential([L.Dense(4, 1)], seed=0)
    m.compile("mse", sn.optimizers.SGD(lr=1e12))
    with np.errstate(all="ignore"):
        m.fit(rng.normal(size=(32, 4)) * 100, rng.normal(size=(32, 1)), epochs=5, batch_size=8, verbose=0,
              check_finite=False)
    assert not np.isfinite(m.layers[0].params["W"]).all()


def test_update_that_overflows_is_reported_at_the_next_batch():
    """A finite gradient times a huge learning rate makes the weights inf: the error says so honestly."""
    m = sn.Sequential([L.Dense(1, 1, use_bias=False)], seed=0)
    m.compile("mse", sn.optimizers.SGD(lr=3e38))
    m.build((1,))
    m.layers[0].params["W"][...] = 1
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch 2/2: the loss became (inf|nan); the previous "
                                                    r"update already made 'W' in Dense \(layer 1 of 1\) NaN or "
                                                    r"infinite"):
        m.fit(np.ones((2, 1)), np.zeros((2, 1)), batch_size=1, shuffle=False, verbose=0)


def test_input_too_large_for_float32_is_a_data_error_without_warnings():
    m = sn.Sequential([L.Dense(2, 1)], seed=0)
    with pytest.raises(sn.DataError, match=r"x contains 1 NaN or infinite value\(s\) \(or values too large for "
                                           r"float32\); the first at index \(1, 0\)"):
        m.predict(np.array([[1.0, 2.0], [1e300, 0.0]]))
