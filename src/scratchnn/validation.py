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


def shape_text(shape) -> str:
    """``(3,)`` / ``(3, 4)``: a shape as error messages print it."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def label_hint(lo: int, hi: int, C: int) -> str:
    """A hint for class labels from ``lo`` to ``hi`` that do not fit ``C`` classes."""
    if lo < 0:
        return " Class labels cannot be negative."
    if hi == C and lo >= 1:
        return " Are the labels 1-based? Subtract 1."
    return f" Does the last layer need {hi + 1} outputs?"


def check_targets(loss, y: np.ndarray, output_shape: tuple, yname: str = "y") -> np.ndarray:
    """Check targets ``y`` against ``loss`` and the model's per-sample ``output_shape``.

    Each loss owns its rule (:meth:`scratchnn.losses.Loss.check_targets`); this is called once
    per ``fit``/``evaluate`` on the whole target array, so a bad label is reported before
    training starts rather than at some later batch.

    Returns ``y`` (whole-number float labels become int64 for a softmax cross-entropy).

    Raises:
        ShapeError: targets of a shape the loss cannot use, with a hint.
        DataError: labels out of range, negative, fractional, or rows that are not one-hot.
    """
    return loss.check_targets(y, output_shape, yname)
