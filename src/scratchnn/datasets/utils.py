"""Preparing data: one-hot labels, standardisation, stratified splits, mini-batches, image inputs."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import ConfigError, DataError, ShapeError


def one_hot(y, n_classes: int | None = None, dtype: object = np.float32) -> np.ndarray:
    """Y[i, y_i] = 1, zeros elsewhere.

    Args:
        y: integer labels of shape (N,) (or (N, 1)), in [0, n_classes).
        n_classes: number of classes C; default ``max(y) + 1``.

    Shape: (N,) -> (N, C).

    Example:
        >>> one_hot([0, 2, 1]).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ShapeError(f"one_hot expects labels of shape (N,); got {y.shape}.")
    if y.size and (y.dtype.kind not in "iub" and not np.all(np.mod(y, 1) == 0)):
        raise DataError(f"one_hot expects integer labels; got dtype {y.dtype} with fractional values.")
    y = y.astype(np.int64)
    if n_classes is None:
        n_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"one_hot: labels must lie in [0, {n_classes - 1}]; found {int(y.min())}..{int(y.max())}.")
    out = np.zeros((len(y), n_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def standardize(x, mean=None, std=None, axis=0, eps: float = 1e-8):
    """z = (x - mean) / (std + eps), with mean and std over ``axis`` unless given.

    Returns ``(z, mean, std)``; reuse the training set's ``mean``/``std`` for the test set.

    Example:
        >>> z, m, s = standardize(np.array([[1.0], [3.0]]))
        >>> z.ravel().round(6).tolist(), m.ravel().tolist(), s.ravel().tolist()
        ([-1.0, 1.0], [2.0], [1.0])
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"standardize expects numbers; got dtype {x.dtype}.")
    work = x.astype(x.dtype if x.dtype.kind == "f" else np.float64)
    mean = work.mean(axis=axis, keepdims=True) if mean is None else np.asarray(mean)
    std = work.std(axis=axis, keepdims=True) if std is None else np.asarray(std)
    return (work - mean) / (std + eps), mean, std


def train_val_split(x, y, val_fraction: float = 0.1, *, stratify: bool = True, seed=None):
    """Split ``(x, y)`` into training and validation parts, keeping class proportions when ``stratify``.

    Each class contributes ``round(n_c * val_fraction)`` samples to validation (at least one
    where the class has two or more samples). ``y`` may be labels (N,) or one-hot (N, C);
    pass ``stratify=False`` for regression targets.

    Returns:
        ``x_train, x_val, y_train, y_val`` (in shuffled order).
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise DataError(f"train_val_split: x has {len(x)} samples but y has {len(y)}.")
    if not (isinstance(val_fraction, (int, float)) and 0 < val_fraction < 1):
        raise ConfigError(f"train_val_split: val_fraction must be in (0, 1). Received: val_fraction={val_fraction!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = len(x)
    if stratify:
        labels = y.argmax(axis=-1) if (y.ndim == 2 and y.shape[1] > 1) else y.reshape(n, -1)[:, 0]
        val_idx = []
        for c in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == c))
            k = int(round(len(members) * val_fraction))
            if len(members) >= 2:
                k = min(max(k, 1), len(members) - 1)
            val_idx.append(members[:k])
        val = np.concatenate(val_idx) if val_idx else np.zeros(0, np.int64)
    else:
        k = int(round(n * val_fraction))
        val = rng.permutation(n)[:k]
    if len(val) == 0 or len(val) == n:
        raise DataError(f"train_val_split: val_fraction={val_fraction} of {n} samples leaves one side empty.")
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    train = rng.permutation(np.flatnonzero(~mask))
    val = rng.permutation(val)
    return x[train], x[val], y[train], y[val]


def minibatches(x, y=None, batch_size: int = 32, *, shuffle: bool = True, seed=None,
                drop_last: bool = False) -> Iterator:
    """Yield ``(x_batch, y_batch)`` (or ``x_batch`` when ``y`` is None) of ``batch_size`` samples.

    Example:
        >>> [len(b) for b in minibatches(np.arange(10), batch_size=4, shuffle=False)]
        [4, 4, 2]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ConfigError(f"minibatches: batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    x = np.asarray(x)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(x):
            raise DataError(f"minibatches: x has {len(x)} samples but y has {len(y)}.")
    n = len(x)
    if shuffle:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        order = rng.permutation(n)
    else:
        order = None
    stop = n - n % batch_size if drop_last else n
    for lo in range(0, stop, batch_size):
        sl = order[lo:lo + batch_size] if order is not None else slice(lo, lo + batch_size)
        yield (x[sl], y[sl]) if y is not None else x[sl]


def images_to_inputs(images, input_shape: tuple[int, ...] | None = None, dtype: object = np.float32) -> np.ndarray:
    """uint8 images (N, H, W) -> model inputs in [0, 1]: (N, H*W) for an MLP or (N, 1, H, W) for a CNN.

    Args:
        images: (N, H, W) or (N, 1, H, W) arrays of 0..255 (uint8) or already-scaled floats.
        input_shape: the model's per-sample input shape, e.g. ``(784,)`` or ``(1, 28, 28)``;
            default ``(H*W,)``.
    """
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ShapeError(f"images must have shape (N, H, W) or (N, 1, H, W); got {x.shape}.")
    scale = 1.0 / 255.0 if x.dtype == np.uint8 else 1.0
    out = x.astype(dtype) * np.asarray(scale, dtype=dtype)
    per_sample = int(np.prod(x.shape[1:]))
    shape = tuple(input_shape) if input_shape is not None else (per_sample,)
    if int(np.prod(shape)) != per_sample:
        raise ShapeError(f"the model expects inputs of shape {shape} ({int(np.prod(shape))} values) but the "
                         f"images have {x.shape[1:]} ({per_sample} values).")
    return out.reshape((len(x),) + shape)
