"""NumPy arrays in an ``.npz`` file as a data set, checked before any training.

The file holds ``x_train`` and ``y_train``, optionally ``x_test`` and ``y_test`` (both or
neither) and ``class_names`` (strings, entry k naming label k). ``x`` is one of

- (N, D) features (any real dtype, used as given),
- (N, H, W) grayscale images or (N, C, H, W) channels-first images (C = 1 or 3); uint8
  images are scaled to [0, 1] by :func:`~scratchnn.datasets.utils.images_to_inputs`,
  channels-last (N, H, W, C) arrays are transposed (a note says so);

``y`` is integer labels (N,) (classification; labels 0..C-1) or real values (N,)
(regression: chosen when ``y`` holds non-integers or by ``task="regression"``). The file is
opened with ``allow_pickle=False``: object arrays are refused, never unpickled.

Checks (each a :class:`~scratchnn.errors.DataError` or ShapeError naming the array):
missing or unexpected keys, non-numeric dtypes, shapes (x's rank, y (N,), as many y as x,
the same per-sample shape in both parts), NaN/inf, negative or fractional labels, test
labels not seen in training, too few class names.
"""
from __future__ import annotations

import os
import zipfile

import numpy as np

from ..errors import DataError, ShapeError
from .labeled import LabeledData, check_fraction, check_labels, check_task, split_test

KEYS = ("x_train", "y_train", "x_test", "y_test", "class_names")


def _open(path: str) -> dict[str, np.ndarray]:
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "NPZ file not found", path)
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (not a zip archive of .npy arrays; save it with "
                        "np.savez).")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            unknown = [k for k in names if k not in KEYS]
            if unknown:
                raise DataError(f"{path}: unexpected arrays {', '.join(unknown)}; expected x_train, y_train "
                                "and optionally x_test, y_test, class_names.")
            return {k: f[k] for k in names}
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: cannot read an array ({' '.join(str(exc).split())}); object arrays "
                        "are refused, save plain numeric arrays.") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({' '.join(str(exc).split())}).") from None


def _check_x(path: str, name: str, x: np.ndarray, notes: list[str]) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: {name} must hold real numbers. Received: dtype {x.dtype}")
    if x.ndim not in (2, 3, 4) or len(x) == 0:
        raise ShapeError(f"{path}: {name} must have shape (N, D), (N, H, W) or (N, C, H, W) with N > 0. "
                         f"Received: shape {x.shape}")
    if x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[3] in (1, 3):
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        notes.append(f"transposed {name} from channels-last to (N, C, H, W) = {x.shape}")
    if x.ndim == 4 and x.shape[1] not in (1, 3):
        raise ShapeError(f"{path}: {name} images must have 1 or 3 channels, (N, C, H, W). Received: shape {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise DataError(f"{path}: {name} holds {bad} NaN or infinite value{'s' * (bad != 1)}.")
    return x


def _check_y(path: str, name: str, y: np.ndarray, n: int) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dtype.kind not in "biuf":
        raise DataError(f"{path}: {name} must hold numbers (labels or values). Received: dtype {y.dtype}")
    if y.ndim != 1:
        raise ShapeError(f"{path}: {name} must have shape (N,). Received: shape {y.shape}")
    if len(y) != n:
        raise ShapeError(f"{path}: {name} has {len(y)} entries but the inputs have {n} samples.")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError(f"{path}: {name} holds NaN or infinite values.")
    return y


def _integral(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or bool(np.all(np.mod(y, 1) == 0))


def load_npz_arrays(path: str | os.PathLike, *, task: str | None = None, test_fraction: float = 0.2,
                    seed: int | None = 0) -> LabeledData:
    """Read and check ``x_train``, ``y_train`` (and ``x_test``, ``y_test``, ``class_names``) from an ``.npz``.

    Args:
        path: the ``.npz`` file.
        task: ``"classification"`` or ``"regression"``; default: classification for integer
            labels, regression for non-integer values.
        test_fraction, seed: the held-out test part when the file has no ``x_test`` (stratified
            for classification).

    Returns:
        :class:`~scratchnn.datasets.labeled.LabeledData` (``kind="npz"``): x as stored (or
        transposed to channels-first), labels int64 or values float32.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file breaks one of the checks in the module's list.
        ShapeError: the arrays' shapes break one of those checks.
    """
    path = os.fspath(path)
    check_task(task)
    check_fraction(test_fraction)
    arrays = _open(path)
    for key in ("x_train", "y_train"):
        if key not in arrays:
            raise DataError(f"{path}: no array {key!r}; found {', '.join(arrays) or 'none'}. "
                            "Save with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...).")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"{path}: x_test and y_test go together; found only "
                        f"{'x_test' if 'x_test' in arrays else 'y_test'}.")
    notes: list[str] = []
    x_tr = _check_x(path, "x_train", arrays["x_train"], notes)
    y_tr = _check_y(path, "y_train", arrays["y_train"], len(x_tr))
    if "x_test" in arrays:
        x_te = _check_x(path, "x_test", arrays["x_test"], notes)
        y_te = _check_y(path, "y_test", arrays["y_test"], len(x_te))
        if x_te.shape[1:] != x_tr.shape[1:]:
            raise ShapeError(f"{path}: x_test samples have shape {x_te.shape[1:]} but x_train samples "
                             f"{x_tr.shape[1:]}.")
        split = {"test": "x_test, y_test"}
    else:
        x_te = y_te = None
        split = {"test_fraction": float(test_fraction), "seed": seed}
    if task is None:
        task = "classification" if _integral(y_tr) and (y_te is None or _integral(y_te)) else "regression"
    classes = None
    if task == "classification":
        for name, y in (("y_train", y_tr), ("y_test", y_te)):
            if y is not None and not _integral(y):
                raise DataError(f"{path}: {name} must hold integer class labels for classification; found "
                                f"fractional values (pass task='regression' / --task regression for values).")
            if y is not None and len(y) and y.min() < 0:
                raise DataError(f"{path}: {name} labels must be >= 0. Received: minimum {y.min()}")
        y_tr = y_tr.astype(np.int64)
        n_classes = int(y_tr.max()) + 1
        if "class_names" in arrays:
            names = arrays["class_names"]
            if names.dtype.kind not in "US" or names.ndim != 1:
                raise DataError(f"{path}: class_names must be a 1-D array of strings. Received: "
                                f"dtype {names.dtype}, shape {names.shape}")
            classes = [str(c) for c in names.tolist()]
            if len(classes) < n_classes:
                raise DataError(f"{path}: class_names names {len(classes)} classes but y_train has labels up to "
                                f"{n_classes - 1}.")
            n_classes = len(classes)
        else:
            classes = [str(k) for k in range(n_classes)]
        if n_classes < 2:
            raise DataError(f"{path}: y_train holds one class only; a classifier needs two or more.")
        if y_te is not None:
            y_te = y_te.astype(np.int64)
            check_labels(y_tr, y_te, n_classes, f"{path} (classes from y_train and class_names)")
    else:
        y_tr = y_tr.astype(np.float32)
        y_te = y_te.astype(np.float32) if y_te is not None else None
    if x_te is None:
        tr, te = split_test(len(x_tr), y_tr if task == "classification" else None, test_fraction, seed)
        x_tr, x_te, y_tr, y_te = x_tr[tr], x_tr[te], y_tr[tr], y_tr[te]
    return LabeledData(x_tr, y_tr, x_te, y_te, classes, task, "npz", notes, split=split)
