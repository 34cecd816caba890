"""Merge layers: combine several tensors into one (residual connections, two-branch models)."""
from __future__ import annotations

import itertools

import numpy as np

from ..errors import ConfigError, ShapeError
from ..registry import register_layer
from .base import Layer


class _Merge(Layer):
    """Base of the layers that take a list of tensors of the same shape."""

    num_inputs = None  # two or more

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if any(s != shapes[0] for s in shapes):
            raise ShapeError(f"{self.describe()} needs inputs of one shape; got {shapes}.")
        return shapes[0]


@register_layer
class Add(_Merge):
    """y = x_1 + x_2 + ... (element-wise); dL/dx_i = dy for every input.

    The residual connection ``y = x + f(x)`` of ResNets is ``Add()([x, f(x)])``.

    Shape: inputs and output all (N, *).
    """

    def forward(self, xs, training=False):
        y = xs[0].copy()
        for x in xs[1:]:
            y += x
        self.cache = len(xs)
        return y

    def backward(self, dy):
        return [dy] * self.cache


@register_layer
class Multiply(_Merge):
    """y = x_1 * x_2 * ... (element-wise); dL/dx_i = dy * prod_{j != i} x_j (gating).

    Shape: inputs and output all (N, *).
    """

    def forward(self, xs, training=False):
        y = xs[0].copy()
        for x in xs[1:]:
            y *= x
        self.cache = xs
        return y

    def backward(self, dy):
        xs = self.cache
        dxs = []
        for i in range(len(xs)):
            d = dy.copy()
            for j, x in enumerate(xs):
                if j != i:
                    d *= x
            dxs.append(d)
        return dxs


@register_layer
class Concatenate(Layer):
    """y = [x_1, x_2, ...] joined along ``axis``; dL/dx_i is the matching slice of dy.

    Args:
        axis: the per-sample axis to join along, counted *with* the batch axis as in
            NumPy (default -1, the feature axis; 1 is the channel axis of NCHW images).
            Axis 0, the batch, cannot be joined.

    Shape: inputs (N, *, D_i, *) with equal sizes elsewhere -> output (N, *, sum D_i, *).
    """

    num_inputs = None

    def __init__(self, axis: int = -1, *, name: str | None = None) -> None:
        super().__init__(name=name)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis == 0:
            raise ConfigError(f"Concatenate: axis must be a non-zero integer (0 is the batch). Received: axis={axis!r}")
        self.axis = int(axis)

    def _sample_axis(self, ndim: int) -> int:
        """The axis within one sample (batch excluded) for per-sample rank ``ndim``."""
        axis = self.axis - 1 if self.axis > 0 else ndim + self.axis
        if not 0 <= axis < ndim:
            raise ShapeError(f"{self.describe()} cannot join along axis {self.axis} of inputs with "
                             f"{ndim + 1} dimensions (batch included).")
        return axis

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if any(len(s) != len(shapes[0]) for s in shapes):
            raise ShapeError(f"{self.describe()} needs inputs of one rank; got {shapes}.")
        a = self._sample_axis(len(shapes[0]))
        rest = [s[:a] + s[a + 1:] for s in shapes]
        if any(r != rest[0] for r in rest):
            raise ShapeError(f"{self.describe()} needs equal sizes off axis {self.axis}; got {shapes}.")
        return shapes[0][:a] + (sum(s[a] for s in shapes),) + shapes[0][a + 1:]

    def forward(self, xs, training=False):
        axis = self._sample_axis(xs[0].ndim - 1) + 1
        self.cache = (axis, list(itertools.accumulate(x.shape[axis] for x in xs))[:-1])
        return np.concatenate(xs, axis=axis)

    def backward(self, dy):
        axis, splits = self.cache
        return np.split(dy, splits, axis=axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
