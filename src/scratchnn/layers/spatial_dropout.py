"""Dropout of whole feature maps, for convolutional networks."""
from __future__ import annotations

from ..registry import register_layer
from .dropout import Dropout


@register_layer
class SpatialDropout(Dropout):
    """Dropout of whole feature maps: one Bernoulli draw per (sample, channel), shared by all
    positions, y = x * m[n, c] / (1 - rate). Adjacent pixels are strongly correlated, so
    element-wise dropout barely regularises a conv net; dropping channels does (PyTorch's
    ``Dropout2d``/``Dropout1d``, Keras's ``SpatialDropout2D``).

    Shape: input (N, C, *) -> output of the same shape; mask (N, C, 1, ..., 1).
    Backward: dx = dy * m / (1 - rate).
    """

    def _mask_shape(self, x):
        return x.shape[:2] + (1,) * (x.ndim - 2)


#: PyTorch's name for :class:`SpatialDropout` on images.
Dropout2D = SpatialDropout
