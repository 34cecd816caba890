"""SinusoidalPositionalEncoding: fixed sine/cosine position codes added to a sequence."""
from __future__ import annotations

import numpy as np

from ..backend import device_of
from ..errors import ConfigError
from ..functional.attention import sinusoidal_table
from ..registry import register_layer
from .base import Layer
from .dense import _positive_int


@register_layer
class SinusoidalPositionalEncoding(Layer):
    """y[n, t] = x[n, t] + PE[offset + t], PE the sinusoidal table (nothing trained).

    PE[p, 2i] = sin(p / base^(2i/D)), PE[p, 2i+1] = cos(p / base^(2i/D)) (see
    :func:`scratchnn.functional.attention.sinusoidal_table`). The table is computed,
    not stored, so any length works and the layer has no arrays.

    Args:
        dim: D, the size of the vectors (> 0).
        base: the wavelength scale (default 10000, as in "Attention is all you need").

    Shape:
        input (N, T, D) -> output (N, T, D). ``forward(x, offset=k)`` starts at position k.

    Backward: dx = dy.
    """

    def __init__(self, dim: int, base: float = 10000.0, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.dim = _positive_int("SinusoidalPositionalEncoding", "dim", dim)
        if isinstance(base, bool) or not isinstance(base, (int, float)) or not base > 1:
            raise ConfigError(f"SinusoidalPositionalEncoding: base must be > 1. Received: base={base!r}")
        self.base = float(base)
        self._table = np.zeros((0, self.dim))

    def expected_shape(self):
        return ("N", "T", self.dim)

    def table(self, end: int, dtype) -> np.ndarray:
        """PE[:end] in ``dtype`` (cached, grown on demand)."""
        if self._table.shape[0] < end or self._table.dtype != np.dtype(dtype):
            self._table = sinusoidal_table(max(end, 2 * self._table.shape[0]), self.dim, self.base, dtype)
        return self._table[:end]

    def forward(self, x, training=False, offset: int = 0):
        t = x.shape[1]
        return x + device_of(x).put(self.table(offset + t, x.dtype)[offset:])  # the (T, D) table, on x's device

    def backward(self, dy):
        return dy

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "base": self.base}
