"""Inverted dropout."""
from __future__ import annotations

import numpy as np

from .. import checks
from ..backend import device_of
from ..registry import register_layer
from .base import Layer


@register_layer
class Dropout(Layer):
    """Inverted dropout: in training, y = x * m / (1 - rate), m_i ~ Bernoulli(1 - rate).

    In evaluation (``training=False``) it is the identity, so nothing needs
    rescaling at inference. ``rate`` is the *drop* probability, as in Keras and
    PyTorch. The mask is drawn from the model's seeded generator, so runs repeat.

    Args:
        rate: probability of zeroing each element, in [0, 1).

    Shape:
        input (N, *) -> output (N, *)

    Backward: dx = dy * m / (1 - rate).

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> drop = sn.layers.Dropout(0.5)
        >>> drop.build((6,), np.random.default_rng(1))
        >>> drop(np.ones((1, 6)), training=True).tolist()   # kept units are scaled by 1 / (1 - rate)
        [[2.0, 0.0, 0.0, 0.0, 2.0, 2.0]]
        >>> drop(np.ones((1, 6))).tolist()                   # identity at inference
        [[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
    """

    has_training_mode = True

    def __init__(self, rate: float = 0.5, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.rate = checks.number(type(self).__name__, "rate", rate, 0.0, 1.0, high_open=True,
                                  what="a number in [0, 1)")

    def _mask_shape(self, x):
        return x.shape

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self.cache = None
            return x
        keep = 1.0 - self.rate
        # Drawn on the data's device from the model's generator (reproducible per device).
        mask = (device_of(x).uniform(self.rng, self._mask_shape(x), np.float32) < keep).astype(x.dtype)
        mask *= x.dtype.type(1.0 / keep)
        self.cache = mask
        return x * mask

    def backward(self, dy):
        return dy if self.cache is None else dy * self.cache

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
