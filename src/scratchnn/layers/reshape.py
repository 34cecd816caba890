"""Reshape and Flatten: change the per-sample shape, keep the batch axis and the values."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ShapeError
from ..registry import register_layer
from .base import Layer


@register_layer
class Reshape(Layer):
    """y = x.reshape(N, *target_shape), in C order (so NCHW features flatten as PyTorch's ``view``).

    Args:
        target_shape: the per-sample output shape; at most one entry may be -1 (inferred).

    Shape:
        input (N, *S) -> output (N, *target_shape), with prod(S) = prod(target_shape).

    Backward: dx = dy.reshape(x.shape).
    """

    def __init__(self, target_shape, *, name: str | None = None) -> None:
        super().__init__(name=name)
        shape = tuple(target_shape) if isinstance(target_shape, (tuple, list)) else None
        ok = shape is not None and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                                       and (d > 0 or d == -1) for d in shape) and shape.count(-1) <= 1
        if not ok:
            raise ConfigError("Reshape: target_shape must be a tuple of positive ints with at most one -1. "
                              f"Received: target_shape={target_shape!r}")
        self.target_shape = tuple(int(d) for d in shape or ())

    def compute_output_shape(self, input_shape):
        size = int(np.prod(input_shape))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise ShapeError(f"{self.describe()} cannot reshape a sample of shape {tuple(input_shape)} "
                                 f"({size} values) to {self.target_shape}.")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ShapeError(f"{self.describe()} cannot reshape a sample of shape {tuple(input_shape)} "
                             f"({size} values) to {self.target_shape} ({known} values).")
        return self.target_shape

    def _build(self, input_shape, rng):
        self.compute_output_shape(input_shape)

    def forward(self, x, training=False):
        self.cache = x.shape
        return x.reshape((x.shape[0],) + self.compute_output_shape(x.shape[1:]))

    def backward(self, dy):
        return dy.reshape(self.cache)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@register_layer
class Flatten(Reshape):
    """y = x.reshape(N, -1): every sample becomes one vector (C order: c, then h, then w).

    Shape: input (N, *S) -> output (N, prod(S)). Backward: dx = dy.reshape(x.shape).
    """

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__((-1,), name=name)

    def get_config(self):
        return {"name": self.name} if self.name is not None else {}
