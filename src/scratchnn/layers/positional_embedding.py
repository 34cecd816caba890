"""PositionalEmbedding: a learned vector per position, added to a sequence."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..registry import register_layer
from .base import Layer
from .dense import _positive_int


def _normal_002(shape, fan_in, fan_out, rng, dtype):
    """N(0, 0.02^2), the usual start of learned position vectors (GPT-2)."""
    return (0.02 * rng.standard_normal(shape)).astype(dtype)


@register_layer
class PositionalEmbedding(Layer):
    """y[n, t] = x[n, t] + P[offset + t]: a trained vector for each position.

    Attention alone does not know the order of its inputs (permuting the positions
    permutes the outputs); adding a vector that depends on the position breaks that
    symmetry. Here the vectors are learned; :class:`SinusoidalPositionalEncoding` is the
    fixed alternative.

    Args:
        max_len: the longest sequence (the number of positions P holds).
        dim: D, the size of the vectors (> 0).

    Shape:
        input (N, T, D) with T <= max_len -> output (N, T, D); P: (max_len, D), drawn
        from N(0, 0.02^2).

    ``forward(x, offset=k)`` uses positions k .. k + T - 1 (generation with a
    key/value cache feeds one new position at a time).

    Backward: dx = dy; dP[offset + t] = sum over the batch of dy[:, t].
    """

    def __init__(self, max_len: int, dim: int, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.max_len = _positive_int("PositionalEmbedding", "max_len", max_len)
        self.dim = _positive_int("PositionalEmbedding", "dim", dim)

    def expected_shape(self):
        return ("N", "T", self.dim)

    def input_hint(self, shape):
        return f"PositionalEmbedding({self.max_len}, {self.dim}) adds to (N, T, {self.dim}) sequences."

    def _build(self, input_shape, rng):
        self._check_length(input_shape[0])
        self.add_weight("P", (self.max_len, self.dim), _normal_002)

    def _check_length(self, end: int) -> None:
        if end > self.max_len:
            raise ShapeError(f"{self.describe()} holds {self.max_len} positions; got a sequence reaching "
                             f"position {end}. Use a larger max_len or shorter sequences.")

    def forward(self, x, training=False, offset: int = 0):
        t = x.shape[1]
        self._check_length(offset + t)
        self.cache = (offset, t)
        return x + self.params["P"][offset:offset + t]

    def backward(self, dy):
        offset, t = self.cache
        dP = self.grads["P"]
        dP[...] = 0
        np.sum(dy, axis=0, out=dP[offset:offset + t])
        return dy

    def get_config(self):
        return {**super().get_config(), "max_len": self.max_len, "dim": self.dim}
