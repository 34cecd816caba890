"""Checks on what users hand us, turned into clear errors (see :mod:`scratchnn.errors`)."""
from __future__ import annotations

import numpy as np

from .errors import DataError, ShapeError


def as_float_array(x, dtype: np.dtype, what: str = "x", check_finite: bool = True) -> np.ndarray:
    """``x`` as an array of ``dtype``, after checking it is usable data.

    Integers and booleans are converted (pixel values, 0/1 inputs); NaN or infinite
    values, empty arrays, strings, objects and complex numbers are rejected.
    """
    if isinstance(x, (str, bytes, dict, set)) or x is None:
        raise DataError(f"{what} must be an array of numbers. Received: {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what} could not be turned into an array ({exc}). "
                        "Are all samples the same shape?") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{what} must hold real numbers; got dtype {arr.dtype}. "
                        "Convert it with np.asarray(x, dtype=np.float32) after checking its contents.")
    if arr.ndim == 0:
        raise ShapeError(f"{what} must have a batch axis; got a scalar. Wrap it: np.array([[...]]).")
    if arr.size == 0 or arr.shape[0] == 0:
        raise DataError(f"{what} is empty (shape {arr.shape}); there is nothing to compute on.")
    with np.errstate(over="ignore", invalid="ignore"):  # values too large for dtype become inf: reported below
        arr = arr.astype(dtype, copy=False)
    if check_finite and arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            first = np.argwhere(bad)[0]
            raise DataError(f"{what} contains {int(bad.sum())} NaN or infinite value(s) (or values too large for "
                            f"{arr.dtype}); the first at index {tuple(int(i) for i in first)}. Clean or impute "
                            "the data first.")
    return arr


def as_target_array(y, what: str = "y") -> np.ndarray:
    """Targets as an array, checked for emptiness, dtype and finiteness."""
    if isinstance(y, (str, bytes, dict, set)) or y is None:
        raise DataError(f"{what} must be an array of numbers. Received: {type(y).__name__}")
    try:
        arr = np.asarray(y)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what} could not be turned into an array ({exc}). "
                        "Are all targets the same shape?") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{what} must hold numbers (class labels or values); got dtype {arr.dtype}.")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise DataError(f"{what} is empty or a scalar (shape {arr.shape}).")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DataError(f"{what} contains NaN or infinite values.")
    return arr


def check_same_length(x: np.ndarray, y: np.ndarray, xname: str = "x", yname: str = "y") -> None:
    if len(x) != len(y):
        raise ShapeError(f"{xname} and {yname} must hold the same number of samples; "
                         f"got {len(x)} in {xname} (shape {x.shape}) and {len(y)} in {yname} (shape {y.shape}).")


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _label_hint(lo: int, hi: int, C: int) -> str:
    if lo < 0:
        return " Class labels cannot be negative."
    if hi == C and lo >= 1:
        return " Are the labels 1-based? Subtract 1."
    return f" Does the last layer need {hi + 1} outputs?"


def check_targets(loss, y: np.ndarray, output_shape: tuple, yname: str = "y") -> np.ndarray:
    """Check targets ``y`` against the loss and the model's per-sample ``output_shape``.

    Called once per ``fit``/``evaluate`` on the whole target array, so a bad label is
    reported before training starts rather than at some later batch:

    - :class:`~scratchnn.losses.SoftmaxCrossEntropy` takes integer labels of shape
      ``(N, *)`` in ``[0, C)``, whole-number floats of that shape, or one-hot /
      probability rows of shape ``(N, *, C)`` (each in [0, 1], summing to 1);
    - the binary cross-entropies take targets in [0, 1] of the output's shape;
    - the regression losses take targets of the output's shape.

    Returns ``y`` (whole-number float labels become int64).

    Raises:
        ShapeError: targets of a shape the loss cannot use, with a hint.
        DataError: labels out of range, negative, fractional, or rows that are not one-hot.
    """
    from . import losses

    n = y.shape[0]
    out = tuple(int(d) for d in output_shape)
    got = _shape_text(y.shape)
    name = type(loss).__name__
    if isinstance(loss, losses.SoftmaxCrossEntropy):
        C = out[-1]
        label_shape, onehot_shape = (n,) + out[:-1], (n,) + out
        if y.shape == onehot_shape:  # one-hot or probability rows, float or integer (np.eye(C, dtype=int)[labels])
            if y.min() < 0 or y.max() > 1 or not np.allclose(y.sum(axis=-1), 1.0, atol=1e-3):
                raise DataError(f"{name}: {yname} has shape {got}, so it is read as one-hot or probability rows "
                                f"over {C} classes, but its rows are not (values in [0, 1] summing to 1). "
                                f"For class labels pass an integer array of shape {_shape_text(label_shape)}.")
            return y if y.dtype.kind == "f" else y.astype(np.float32)
        if y.shape != label_shape:
            hint = ""
            if y.shape == label_shape + (1,):
                hint = f" Flatten it: {yname}.reshape(-1)."
            elif y.ndim == len(onehot_shape) and y.shape[-1] != C:
                hint = f" The model outputs {C} classes; check the last layer's size."
            raise ShapeError(f"{name}: the model outputs logits (N, {', '.join(map(str, out))}), so {yname} must be "
                             f"integer labels of shape {_shape_text(label_shape)} or one-hot rows of shape "
                             f"{_shape_text(onehot_shape)}; got {got}.{hint}")
        if y.dtype.kind == "f":
            if not np.array_equal(y, np.round(y)):
                example = float(y[y != np.round(y)].flat[0])
                raise DataError(f"{name}: {yname} holds fractional values (e.g. {example!r}) "
                                f"but class labels must be whole numbers in [0, {C - 1}]. For soft targets pass "
                                f"probability rows of shape {_shape_text(onehot_shape)}.")
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= C:
            raise DataError(f"{name}: labels must lie in [0, {C - 1}] for the model's {C} classes; {yname} holds "
                            f"values from {lo} to {hi}." + _label_hint(lo, hi, C))
        return y.astype(np.int64, copy=False)
    known = (losses.MeanSquaredError, losses.MeanAbsoluteError, losses.Huber, losses.BinaryCrossEntropy,
             losses.BinaryCrossEntropyWithLogits)
    if not isinstance(loss, known):  # a user's own loss decides what it accepts
        return y
    expected = (n,) + out
    if y.shape != expected:
        hint = ""
        if y.shape == expected[:-1] and out[-1:] == (1,):
            hint = f" Add the feature axis: {yname}.reshape(-1, 1)."
        elif expected == y.shape[:-1] and y.shape[-1] == 1:
            hint = f" Drop the last axis: {yname}.reshape(-1)."
        raise ShapeError(f"{name}: {yname} must have the model's output shape {_shape_text(expected)}; "
                         f"got {got}.{hint}")
    if isinstance(loss, (losses.BinaryCrossEntropy, losses.BinaryCrossEntropyWithLogits)):
        if y.min() < 0 or y.max() > 1:
            raise DataError(f"{name}: targets must lie in [0, 1]; {yname} holds values from {y.min()} to {y.max()}.")
    return y
