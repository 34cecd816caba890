"""The one place that names the array module.

Every layer, loss and optimizer does its maths through ``xp`` from this module,
never through ``numpy`` imported directly for array work. Today ``xp`` is NumPy;
a CuPy backend can later be added here without rewriting the layers.

Dtypes: scratchnn computes in float32 unless a model asks for float64. Use
:func:`as_dtype` to turn a user's ``"float32"``/``np.float64`` into a NumPy dtype.
"""
from __future__ import annotations

import numpy as np

xp = np

#: The default floating-point dtype of models and layers.
DEFAULT_DTYPE = np.dtype(np.float32)

_ALLOWED = {np.dtype(np.float32), np.dtype(np.float64)}


def as_dtype(dtype: object) -> np.dtype:
    """Return ``dtype`` as a NumPy float dtype (float32 or float64).

    Raises:
        ValueError: for anything but float32 or float64.
    """
    try:
        dt = np.dtype(dtype) if dtype is not None else DEFAULT_DTYPE
    except TypeError as exc:
        raise ValueError(f"dtype must be 'float32' or 'float64'. Received: dtype={dtype!r}") from exc
    if dt not in _ALLOWED:
        raise ValueError(f"dtype must be 'float32' or 'float64'. Received: dtype={dtype!r}")
    return dt
