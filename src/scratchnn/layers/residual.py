"""ResidualBlock: a composite layer -- two convolutions with batch norm and a skip connection."""
from __future__ import annotations

import numpy as np

from ..registry import register_layer
from .base import Layer
from .conv import Conv2D, _int_tuple
from .normalization import BatchNorm


@register_layer
class ResidualBlock(Layer):
    """y = ReLU(x + BN2(Conv2(ReLU(BN1(Conv1(x)))))): the basic block of a ResNet.

    A composite layer: its five children (``conv1``, ``bn1``, ``conv2``, ``bn2`` and the
    weightless ReLUs, applied inline) are created from the arguments, declared with
    ``add_layer`` and built with ``build_child``; ``forward`` and ``backward`` call them in
    order and in reverse. The skip connection lets the gradient reach early layers
    unattenuated: dL/dx = dL/dz + (the gradient through the convolutions), z the sum.

    Args:
        channels: C, the number of input and output channels (> 0).
        kernel_size: odd kernel size of both convolutions (default 3; "same" padding).

    Shape:
        input (N, C, H, W) -> output (N, C, H, W). Arrays: ``conv1/W`` (C, C, k, k),
        ``conv1/b``, ``bn1/gamma`` ... as :meth:`all_params` lists them.
    """

    has_training_mode = True

    def __init__(self, channels: int, kernel_size: int = 3, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.channels = _int_tuple("ResidualBlock", "channels", channels, 1)[0]
        self.kernel_size = _int_tuple("ResidualBlock", "kernel_size", kernel_size, 1)[0]
        c, k = self.channels, self.kernel_size
        self.conv1 = self.add_layer("conv1", Conv2D(c, c, k, padding="same", kernel_initializer="he_uniform"))
        self.bn1 = self.add_layer("bn1", BatchNorm(c))
        self.conv2 = self.add_layer("conv2", Conv2D(c, c, k, padding="same", kernel_initializer="he_uniform"))
        self.bn2 = self.add_layer("bn2", BatchNorm(c))

    def expected_shape(self):
        return ("N", self.channels, "H", "W")

    def input_hint(self, shape):
        if len(shape) == 4 and shape[-1] == self.channels:
            return "Images are NCHW (channels first): try x.transpose(0, 3, 1, 2)."
        return f"ResidualBlock({self.channels}) takes (N, {self.channels}, H, W) feature maps."

    def _build(self, input_shape, rng):
        shape = self.build_child(self.conv1, input_shape)
        shape = self.build_child(self.bn1, shape)
        shape = self.build_child(self.conv2, shape)
        self.build_child(self.bn2, shape)

    def forward(self, x, training=False):
        h = self.bn1.forward(self.conv1.forward(x, training), training)
        a = np.maximum(h, 0)
        z = x + self.bn2.forward(self.conv2.forward(a, training), training)
        y = np.maximum(z, 0)
        self.cache = (h > 0, z > 0)
        return y

    def backward(self, dy):
        h_pos, z_pos = self.cache
        dz = dy * z_pos                                          # through the final ReLU
        da = self.conv2.backward(self.bn2.backward(dz))          # the residual branch ...
        dx_branch = self.conv1.backward(self.bn1.backward(da * h_pos))
        return dz + dx_branch                                    # ... plus the skip connection

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "kernel_size": self.kernel_size}
