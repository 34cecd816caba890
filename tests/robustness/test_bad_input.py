"""Bad input gives a clear error naming what is wrong, where, and how to fix it.

Every error path is matched against its message; every error is a ScratchnnError
and also the built-in type a user would catch (ShapeError is a ValueError, ...).
"""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.errors import (
    ConfigError,
    DataError,
    ModelFileError,
    NotBuiltError,
    ScratchnnError,
    ShapeError,
    TrainingDivergedError,
)

L = sn.layers


def test_hierarchy_is_documented_and_catchable_as_builtins():
    assert issubclass(ShapeError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(ConfigError, ValueError) and issubclass(ModelFileError, ValueError)
    assert issubclass(NotBuiltError, RuntimeError) and issubclass(TrainingDivergedError, FloatingPointError)
    for cls in (ShapeError, DataError, ConfigError, NotBuiltError, TrainingDivergedError, ModelFileError):
        assert issubclass(cls, ScratchnnError) and cls.__name__ in sn.errors.__doc__


@pytest.fixture
def mlp():
    m = sn.Sequential([L.Dense(4, 8), L.ReLU(), L.Dense(8, 3)], seed=0)
    m.compile(sn.losses.SoftmaxCrossEntropy(), "adam")
    return m


@pytest.fixture
def data(rng):
    return rng.normal(size=(20, 4)), rng.integers(0, 3, 20)


# ------------------------------------------------------------------ shapes
def test_wrong_feature_count_names_layer_position_shapes_and_hint(mlp, data):
    X, y = data
    mlp.fit(X, y, verbose=0)
    with pytest.raises(ShapeError, match=r"Dense \(layer 1 of 3\) expected input \(N, \.\.\., 4\), got \(20, 5\)\. "
                                         r"The last axis must hold the 4 input features\."):
        mlp.predict(np.zeros((20, 5)))


def test_wrong_ndim_on_unbuilt_model(mlp):
    with pytest.raises(ShapeError, match=r"Dense \(layer 1 of 3\) expected per-sample input \(\.\.\., 4\), got \(6,\)"):
        mlp.fit(np.zeros((5, 6)), np.zeros(5, int), verbose=0)


def test_images_need_flatten_hint():
    m = sn.Sequential([L.Dense(16, 2)], seed=0)
    m.build((16,))
    with pytest.raises(ShapeError, match=r"got \(3, 4, 4\)\. Add a Flatten\(\) layer"):
        m.predict(np.zeros((3, 4, 4)))


def test_scalar_input():
    m = sn.Sequential([L.Dense(1, 1)], seed=0)
    with pytest.raises(ShapeError, match="must have a batch axis; got a scalar"):
        m.predict(3.0)


@pytest.mark.skipif("Conv2D" not in sn.registry.LAYERS, reason="no Conv2D yet")
def test_conv_channels_last_and_missing_channel_axis():
    m = sn.Sequential([L.Conv2D(1, 2, 3), L.Flatten(), L.Dense(2 * 26 * 26, 2)], seed=0)
    m.build((1, 28, 28))
    with pytest.raises(ShapeError, match=r"Conv2D \(layer 1 of 3\) expected input \(N, 1, H, W\), "
                                         r"got \(2, 28, 28, 1\)\. "
                                         r"Images are NCHW .*transpose\(0, 3, 1, 2\)"):
        m.predict(np.zeros((2, 28, 28, 1)))
    with pytest.raises(ShapeError, match=r"got \(2, 28, 28\)\. Images need a channel axis"):
        m.predict(np.zeros((2, 28, 28)))


@pytest.mark.skipif("Conv2D" not in sn.registry.LAYERS, reason="no Conv2D yet")
def test_kernel_larger_than_padded_input():
    with pytest.raises(ShapeError, match=r"Conv2D \(layer 1 of 1\): the kernel spans 7 along H .* padded input has "
                                         r"only 6 \(size 4 \+ padding 1\+1\)"):
        sn.Sequential([L.Conv2D(1, 2, 7, padding=1)], seed=0).build((1, 4, 4))


@pytest.mark.skipif("LSTM" not in sn.registry.LAYERS, reason="no LSTM yet")
def test_recurrent_needs_sequences():
    m = sn.Sequential([L.LSTM(3, 4), L.Dense(4, 1)], seed=0)
    m.build((5, 3))
    with pytest.raises(ShapeError, match=r"LSTM \(layer 1 of 2\) expected input \(N, T, 3\), got \(2, 3\)\. "
                                         r"Recurrent layers take sequences"):
        m.predict(np.zeros((2, 3)))


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("bad,match", [
    (np.array([[1.0, np.nan, 0, 0]] * 3),
     r"x contains 3 NaN or infinite value\(s\) \(or values too large for float32\); the first at index \(0, 1\)\. "
     r"Clean or impute"),
    (np.array([[1.0, 0, 0, np.inf]] * 2), r"x contains 2 NaN or infinite value\(s\) .*; the first at index \(0, 3\)"),
    (np.zeros((0, 4)), r"x is empty \(shape \(0, 4\)\)"),
    (np.array([["a", "b", "c", "d"]]), r"x must hold real numbers; got dtype <U1"),
    (np.zeros((2, 4), dtype=complex), r"x must hold real numbers; got dtype complex128"),
    (np.array([[object()] * 4], dtype=object), r"x must hold real numbers; got dtype object"),
    ("not an array", r"x must be an array of numbers\. Received: str"),
    (None, r"x must be an array of numbers\. Received: NoneType"),
    ([[1, 2, 3, 4], [1, 2]], r"x could not be turned into an array .* Are all samples the same shape\?"),
])
def test_bad_x_values(mlp, bad, match):
    with pytest.raises(DataError if "batch axis" not in match else ShapeError, match=match):
        mlp.predict(bad)


def test_lists_and_ints_are_converted(mlp):
    out = mlp.predict([[0, 1, 2, 3], [1, 1, 1, 1]])
    assert out.shape == (2, 3) and out.dtype == np.float32


def test_x_and_y_lengths_differ(mlp, data):
    X, y = data
    with pytest.raises(ShapeError, match=r"x and y must hold the same number of samples; got 20 in x \(shape "
                                         r"\(20, 4\)\) and 19 in y \(shape \(19,\)\)"):
        mlp.fit(X, y[:-1], verbose=0)


@pytest.mark.parametrize("y,exc,match", [
    (lambda y: y + 1, DataError, r"labels must lie in \[0, 2\] for the model's 3 classes; y holds values from 1 to 3\. "
                                 r"Are the labels 1-based\? Subtract 1\."),
    (lambda y: y - 1, DataError, r"y holds values from -1 to 1\. Class labels cannot be negative\."),
    (lambda y: y * 4, DataError, r"values from 0 to 8\. Does the last layer need 9 outputs\?"),
    (lambda y: y + 0.5, DataError, r"y holds fractional values \(e\.g\. 0\.5\) but class labels must be whole numbers"),
    (lambda y: np.full((len(y), 3), 0.5), DataError, r"read as one-hot or probability rows over 3 classes, but its "
                                                     r"rows are not"),
    (lambda y: y[:, None], ShapeError, r"got \(20, 1\)\. Flatten it: y\.reshape\(-1\)\."),
    (lambda y: np.eye(4)[y], ShapeError, r"got \(20, 4\)\. The model outputs 3 classes"),
    (lambda y: np.array([str(v) for v in y]), DataError, r"y must hold numbers .*got dtype <U1"),
    (lambda y: np.where(y == 0, np.nan, y), DataError, r"y contains NaN or infinite values"),
])
def test_bad_labels_for_softmax_cross_entropy(mlp, data, y, exc, match):
    X, labels = data
    with pytest.raises(exc, match=match):
        mlp.fit(X, y(labels), verbose=0)


def test_whole_number_float_labels_and_one_hot_are_accepted(mlp, data):
    X, y = data
    mlp.fit(X, y.astype(np.float64), verbose=0)
    mlp.fit(X, np.eye(3)[y], verbose=0)
    assert mlp.evaluate(X, y)["loss"] == pytest.approx(mlp.evaluate(X, np.eye(3)[y])["loss"], rel=1e-5)


def test_regression_and_binary_targets(rng):
    X = rng.normal(size=(10, 3))
    m = sn.Sequential([L.Dense(3, 1)], seed=0)
    m.compile("mse", "sgd")
    with pytest.raises(ShapeError, match=r"MeanSquaredError: y must have the model's output shape \(10, 1\); got "
                                         r"\(10,\)\. Add the feature axis: y\.reshape\(-1, 1\)\."):
        m.fit(X, rng.normal(size=10), verbose=0)
    m.compile("bce_with_logits", "sgd")
    with pytest.raises(DataError, match=r"targets must lie in \[0, 1\]; y holds values from 0 to 2"):
        m.fit(X, np.array([0, 1, 2] * 3 + [0])[:, None], verbose=0)


def test_validation_data_is_checked_too(mlp, data):
    X, y = data
    with pytest.raises(DataError, match=r"y_val holds values from 1 to 5"):
        mlp.fit(X, y, validation_data=(X, y * 2 + 1), verbose=0)
    with pytest.raises(DataError, match=r"x_val contains 1 NaN"):
        mlp.fit(X, y, validation_data=(np.where(np.arange(80).reshape(20, 4) == 7, np.nan, X), y), verbose=0)


# --------------------------------------------------------- hyperparameters
@pytest.mark.parametrize("make,match", [
    (lambda: L.Dense(0, 3), r"Dense: in_features must be a positive integer\. Received: in_features=0"),
    (lambda: L.Dense(3, -1), r"Received: out_features=-1"),
    (lambda: L.Dense(2.5, 3), r"Received: in_features=2\.5"),
    (lambda: L.Dropout(1.0), r"Dropout: rate must be a number in \[0, 1\)\. Received: rate=1\.0"),
    (lambda: L.Dropout(-0.1), r"Received: rate=-0\.1"),
    (lambda: sn.optimizers.Adam(lr=-1), r"Adam: lr must be a finite number in \(0\.0, inf\]\. Received: lr=-1"),
    (lambda: sn.optimizers.SGD(lr=float("nan")), r"Received: lr=nan"),
    (lambda: sn.optimizers.SGD(momentum=1.0), r"momentum must be .* Received: momentum=1\.0"),
    (lambda: sn.Sequential(seed=-1), r"seed must be a non-negative integer or None\. Received: seed=-1"),
    (lambda: sn.Sequential([L.ReLU]), r"Did you forget the parentheses"),
])
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, r"batch_size must be a positive integer\. Received: batch_size=0"),
    ({"epochs": -1}, r"epochs must be an integer >= 0\. Received: epochs=-1"),
    ({"validation_split": 1.0}, r"validation_split must be in \[0, 1\)"),
])
def test_invalid_fit_arguments(mlp, data, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        mlp.fit(*data, verbose=0, **kwargs)


@pytest.mark.parametrize("name", [n for n in ("Conv2D", "Conv1D", "MaxPool2D", "BatchNorm", "LSTM", "Embedding")
                                  if n in sn.registry.LAYERS])
def test_zero_sizes_rejected_for_every_sized_layer(name):
    cls = sn.registry.LAYERS[name]
    args = {"Conv2D": (1, 0, 3), "Conv1D": (0, 1, 3), "MaxPool2D": (0,), "BatchNorm": (0,), "LSTM": (3, 0),
            "Embedding": (0, 3)}[name]
    with pytest.raises(ConfigError, match=rf"{name}: \w+ must be a positive integer.*Received: \w+=0"):
        cls(*args)


def test_fit_before_compile(data):
    m = sn.Sequential([L.Dense(4, 1)], seed=0)
    with pytest.raises(NotBuiltError, match=r"fit needs a loss and an optimizer: call model\.compile"):
        m.fit(*data, verbose=0)
