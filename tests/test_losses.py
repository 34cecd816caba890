"""Losses: hand-computed values, the mean reduction, stability at +-1e4, dtypes, errors, properties."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchnn as sn
from scratchnn.registry import LOSSES

Lo = sn.losses


def strict():
    # underflow of e^-1e4 to 0 is the correctly rounded result (NumPy ignores it by default)
    return np.errstate(all="raise", under="ignore")


# ------------------------------------------------------------ values by hand
def test_mse_mae_values_and_gradients():
    y_pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    y = np.array([[1.0, 0.0], [4.0, 5.0]])
    mse, mae = Lo.MeanSquaredError(), Lo.MeanAbsoluteError()
    assert mse(y_pred, y) == pytest.approx((0 + 4 + 1 + 0) / 4)
    np.testing.assert_allclose(mse.backward(), 2 * np.array([[0, 2], [-1, 0]]) / 4)
    assert mae(y_pred, y) == pytest.approx((0 + 2 + 1 + 0) / 4)
    np.testing.assert_allclose(mae.backward(), np.array([[0, 1], [-1, 0]]) / 4)


def test_huber_values():
    d = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0]])
    h = Lo.Huber(delta=1.0)
    expected = np.array([3 - 0.5, 0.125, 0.0, 0.125, 3 - 0.5]).mean()
    assert h(d, np.zeros_like(d)) == pytest.approx(expected)
    np.testing.assert_allclose(h.backward(), np.array([[-1, -0.5, 0, 0.5, 1]]) / 5)
    h2 = Lo.Huber(delta=2.0)
    assert h2(np.array([[3.0]]), np.array([[0.0]])) == pytest.approx(2 * (3 - 1))


def test_bce_values():
    p = np.array([[0.9], [0.2]])
    y = np.array([[1.0], [0.0]])
    bce = Lo.BinaryCrossEntropy()
    assert bce(p, y) == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2)
    np.testing.assert_allclose(bce.backward(), np.array([[-1 / 0.9], [1 / 0.8]]) / 2)


def test_bce_with_logits_equals_bce_of_sigmoid(rng):
    z = rng.standard_normal((5, 3))
    y = rng.uniform(0, 1, (5, 3))
    a, b = Lo.BinaryCrossEntropyWithLogits(), Lo.BinaryCrossEntropy(eps=1e-12)
    assert a(z, y) == pytest.approx(b(1 / (1 + np.exp(-z)), y), rel=1e-10)
    np.testing.assert_allclose(a.backward(), (1 / (1 + np.exp(-z)) - y) / z.size)


def test_softmax_cross_entropy_labels_one_hot_probabilities(rng):
    z = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    labels = np.array([0, 2])
    ce = Lo.SoftmaxCrossEntropy()
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    expected = -(logp[0, 0] + logp[1, 2]) / 2
    assert ce(z, labels) == pytest.approx(expected)
    g_labels = ce.backward()
    np.testing.assert_allclose(g_labels, (np.exp(logp) - np.eye(3)[labels]) / 2)
    for onehot in (np.eye(3)[labels], np.eye(3, dtype=np.int64)[labels], np.eye(3, dtype=np.float32)[labels]):
        assert ce(z, onehot) == pytest.approx(expected), onehot.dtype
        np.testing.assert_allclose(ce.backward(), g_labels)
        assert ce.backward().dtype == z.dtype
    soft = np.array([[0.5, 0.5, 0.0], [0.1, 0.1, 0.8]])
    assert ce(z, soft) == pytest.approx(-(soft * logp).sum() / 2)


def test_softmax_cross_entropy_sequences_average_over_all_positions(rng):
    z = rng.standard_normal((2, 3, 4))
    labels = rng.integers(0, 4, (2, 3))
    ce = Lo.SoftmaxCrossEntropy()
    value = ce(z, labels)
    flat = ce(z.reshape(6, 4), labels.reshape(6))
    assert value == pytest.approx(flat)
    assert value == pytest.approx(ce(z, np.eye(4)[labels]))


def test_losses_average_over_the_batch(rng):
    """Doubling the batch with a copy of itself leaves every loss unchanged (mean, not sum)."""
    for name, make in [("mse", lambda: (rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))),
                       ("mae", lambda: (rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))),
                       ("huber", lambda: (rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))),
                       ("bce", lambda: (rng.uniform(0.1, 0.9, (3, 2)), rng.uniform(0, 1, (3, 2)))),
                       ("bce_with_logits", lambda: (rng.standard_normal((3, 2)), rng.uniform(0, 1, (3, 2)))),
                       ("crossentropy", lambda: (rng.standard_normal((3, 4)), rng.integers(0, 4, 3)))]:
        loss = Lo.get(name)
        y_pred, y = make()
        one = loss(y_pred, y)
        two = loss(np.concatenate([y_pred, y_pred]), np.concatenate([y, y]))
        assert two == pytest.approx(one, rel=1e-12), name


# ------------------------------------------------------------------ stability
EXTREME_LOGITS = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [3.0, -1e4, 50.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_stable(dtype):
    z = EXTREME_LOGITS.astype(dtype)
    labels = np.array([0, 1, 2, 2])
    ce = Lo.SoftmaxCrossEntropy()
    with strict():
        value = ce(z, labels)
        grad = ce.backward()
        value_oh = ce(z, np.eye(3, dtype=dtype)[labels])
        grad_oh = ce.backward()
    # -log softmax by hand: row 0 label 0: 2e4; row 1: log 2; row 2: log 3; row 3: log(1 + e^-47)
    expected = (2e4 + math.log(2) + math.log(3) + math.log1p(math.exp(-47))) / 4
    assert value == pytest.approx(expected, rel=1e-6) and value_oh == pytest.approx(expected, rel=1e-6)
    assert grad.dtype == dtype and np.isfinite(grad).all()
    np.testing.assert_allclose(grad, grad_oh, atol=1e-7)
    np.testing.assert_allclose(grad[0], np.array([-1, 0, 1]) / 4, atol=1e-7)
    np.testing.assert_allclose(grad.sum(-1), 0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropies_stable(dtype):
    z = np.array([[-1e4], [-100.0], [0.0], [100.0], [1e4]], dtype=dtype)
    y = np.array([[1.0], [0.0], [1.0], [1.0], [0.0]], dtype=dtype)
    logits = Lo.BinaryCrossEntropyWithLogits()
    with strict():
        value = logits(z, y)
        grad = logits.backward()
    expected = (1e4 + math.log1p(math.exp(-100)) + math.log(2) + math.log1p(math.exp(-100)) + 1e4) / 5
    assert value == pytest.approx(expected, rel=1e-6)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad[:, 0], np.array([-1, 0, -0.5, 0, 1]) / 5, atol=1e-7)
    probs = Lo.BinaryCrossEntropy()
    p = np.array([[0.0], [1.0], [0.5], [1.0], [0.0]], dtype=dtype)
    with strict():
        v = probs(p, y)
        g = probs.backward()
    assert math.isfinite(v) and np.isfinite(g).all() and g.dtype == dtype
    # p is clipped to [eps, 1 - eps] in the prediction's dtype (1 - 1e-7 rounds to 1 - 1.19e-7 in float32)
    eps_hi = 1.0 - float(dtype(1.0 - 1e-7))
    assert v == pytest.approx((-math.log(1e-7) - math.log(eps_hi) + math.log(2)) / 5, rel=1e-5)


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("name", ["mse", "mae", "huber", "bce", "bce_with_logits"])
def test_gradient_keeps_prediction_dtype(name, rng):
    y_pred = rng.uniform(0.1, 0.9, (4, 2)).astype(np.float32)
    y_true = rng.uniform(0, 1, (4, 2))  # float64 targets must not promote the float32 gradient
    loss = Lo.get(name)
    value = loss(y_pred, y_true)
    assert isinstance(value, float)
    assert loss.backward().dtype == np.float32


def test_prepare_targets():
    ce = Lo.SoftmaxCrossEntropy()
    assert ce.prepare_targets(np.array([1, 2], dtype=np.uint8), np.float32).dtype == np.int64
    assert ce.prepare_targets(np.eye(2), np.float32).dtype == np.float32
    with pytest.raises(sn.DataError, match="integer labels or one-hot"):
        ce.prepare_targets(np.array(["a", "b"]), np.float32)
    mse = Lo.MeanSquaredError()
    assert mse.prepare_targets(np.array([[1], [2]]), np.float32).dtype == np.float32
    with pytest.raises(sn.DataError, match="targets must be numbers"):
        mse.prepare_targets(np.array(["a"]), np.float32)


# ------------------------------------------------------------------ errors
def test_shape_mismatch_messages():
    with pytest.raises(sn.ShapeError, match=r"MeanSquaredError: .*predictions \(4, 1\) and targets \(4,\)\. "
                                            r"Add the feature axis"):
        Lo.MeanSquaredError()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(sn.ShapeError, match=r"Drop the last axis"):
        Lo.Huber()(np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(sn.ShapeError, match=r"SoftmaxCrossEntropy: logits \(4, 3\) need integer labels of shape "
                                            r"\(4,\) or one-hot targets of shape \(4, 3\); got \(4, 2\)"):
        Lo.SoftmaxCrossEntropy()(np.zeros((4, 3)), np.zeros((4, 2)))


def test_label_range_message():
    with pytest.raises(sn.DataError, match=r"labels must lie in \[0, 2\] for 3 classes; got values from 0 to 3"):
        Lo.SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(sn.DataError, match="got values from -1"):
        Lo.SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([-1, 0]))


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), True, "1"])
def test_huber_delta_validation(bad):
    with pytest.raises(sn.ConfigError, match=r"Huber: delta must be > 0\. Received: delta="):
        Lo.Huber(bad)


@pytest.mark.parametrize("bad", [0, -1e-7, 0.5, 2, "x"])
def test_bce_eps_validation(bad):
    with pytest.raises(sn.ConfigError, match=r"eps must be a number in \(0, 0\.5\)\. Received: eps="):
        Lo.BinaryCrossEntropy(eps=bad)


def test_get_by_name_and_errors():
    assert isinstance(Lo.get("mse"), Lo.MeanSquaredError)
    assert isinstance(Lo.get("crossentropy"), Lo.SoftmaxCrossEntropy)
    inst = Lo.Huber(0.5)
    assert Lo.get(inst) is inst
    with pytest.raises(sn.ConfigError, match="unknown loss.*Received: 'hinge'"):
        Lo.get("hinge")
    with pytest.raises(sn.ConfigError, match="unknown loss"):
        Lo.get(Lo.MeanSquaredError)  # the class, not an instance


def test_every_registered_loss_round_trips_its_config():
    for name, cls in LOSSES.items():
        loss = cls()
        twin = cls(**loss.get_config())
        assert twin.get_config() == loss.get_config()
        assert repr(twin).startswith(name + "(")
    assert repr(Lo.Huber(0.5)) == "Huber(delta=0.5)"


# ---------------------------------------------------------------- properties
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-1e3, 1e3, allow_nan=False))


@settings(max_examples=30, deadline=None)
@given(arrays, st.sampled_from(["mse", "mae", "huber"]))
def test_regression_losses_are_zero_at_a_perfect_prediction(y, name):
    loss = Lo.get(name)
    assert loss(y.copy(), y) == 0.0
    np.testing.assert_array_equal(loss.backward(), np.zeros_like(y))


@settings(max_examples=30, deadline=None)
@given(arrays, arrays)
def test_regression_losses_are_nonnegative_and_ordered(a, b):
    if a.shape != b.shape:
        b = np.resize(b, a.shape)
    mse, mae, huber = (Lo.get(n)(a, b) for n in ("mse", "mae", "huber"))
    assert mse >= 0 and mae >= 0 and huber >= 0
    assert huber <= 0.5 * mse + 1e-9 and huber <= mae + 1e-9  # h(d) <= d^2/2 and h(d) <= |d| for delta 1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(2, 6), st.integers(0, 10_000))
def test_cross_entropy_is_nonnegative_and_small_when_confident(n, c, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, n)
    z = rng.standard_normal((n, c))
    assert Lo.SoftmaxCrossEntropy()(z, labels) >= 0
    confident = 100.0 * np.eye(c)[labels]
    assert Lo.SoftmaxCrossEntropy()(confident, labels) < 1e-30


def test_losses_own_their_targets_and_say_whether_they_take_logits():
    Lo = sn.losses
    assert Lo.SoftmaxCrossEntropy.from_logits and Lo.BinaryCrossEntropyWithLogits.from_logits
    assert not Lo.BinaryCrossEntropy.from_logits and not Lo.MeanSquaredError.from_logits
    z = np.array([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(Lo.SoftmaxCrossEntropy().probabilities(z), [[0.25, 0.75]])
    np.testing.assert_allclose(Lo.BinaryCrossEntropyWithLogits().probabilities(np.array([[0.0]])), [[0.5]])
    np.testing.assert_array_equal(Lo.MeanSquaredError().probabilities(z), z)


def test_a_users_loss_decides_its_targets_through_check_targets():
    class Ranking(sn.losses.MeanSquaredError):
        def check_targets(self, y, output_shape, yname="y"):
            if (y < 0).any():
                raise sn.DataError("Ranking: targets are ranks >= 0")
            return y.reshape(-1, 1)            # accepts flat ranks and reshapes them itself

    model = sn.Sequential([sn.layers.Dense(2, 1)], seed=0)
    model.compile(loss=Ranking(), optimizer="sgd")
    x = np.ones((4, 2))
    model.fit(x, np.arange(4.0), epochs=1, verbose=0)     # the flat targets were reshaped by the loss
    with pytest.raises(sn.DataError, match="ranks >= 0"):
        model.fit(x, -np.arange(4.0), epochs=1, verbose=0)
