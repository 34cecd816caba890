"""Pooling layers over NCHW images (and NCL signals): max, average and global average.

No per-window Python loops: windows are strided views (see
:mod:`scratchnn.functional.conv`), with a reshape fast path for 2x2 stride-2 pooling.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..functional import conv as F
from ..registry import register_layer
from .base import Layer
from .conv import _int_tuple


class _Pool2D(Layer):
    """Shared configuration of MaxPool2D and AvgPool2D."""

    ndim = 2
    uses_thread_pool = True

    def __init__(self, kernel_size=2, stride=None, padding=0, *, name: str | None = None) -> None:
        super().__init__(name=name)
        cls = type(self).__name__
        self.kernel_size = _int_tuple(cls, "kernel_size", kernel_size, self.ndim)
        self.stride = self.kernel_size if stride is None else _int_tuple(cls, "stride", stride, self.ndim)
        self.padding = _int_tuple(cls, "padding", padding, self.ndim, low=0)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ConfigError(f"{cls}: padding must be at most half the kernel size (as in PyTorch). "
                              f"Received: padding={padding!r}, kernel_size={kernel_size!r}")
        self.pads = tuple((p, p) for p in self.padding)

    def expected_shape(self):
        return ("N", "C", "H", "W") if self.ndim == 2 else ("N", "C", "L")

    def input_hint(self, shape):
        if self.ndim == 2 and len(shape) == 3:
            return "Images are NCHW: add the channel axis, e.g. x[:, None] for one channel."
        return ""

    def compute_output_shape(self, input_shape):
        spatial = tuple(input_shape[1:])
        F.check_window_fits(self.describe(), spatial, self.kernel_size, self.pads, (1,) * self.ndim)
        return (input_shape[0],) + tuple(F.conv_output_size(n, k, s, p) for n, k, s, p in
                                         zip(spatial, self.kernel_size, self.stride, self.pads))

    def _build(self, input_shape, rng):
        self.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "kernel_size": list(self.kernel_size),
                "stride": list(self.stride), "padding": list(self.padding)}


@register_layer
class MaxPool2D(_Pool2D):
    """y[n, c, h, w] = max_{i<kh, j<kw} x_pad[n, c, h·s_h + i, w·s_w + j] (padding is -inf).

    Args:
        kernel_size: k or (kh, kw), default 2. stride: default = kernel_size.
        padding: p or (p_h, p_w) <= kernel/2, default 0.

    Shape:
        input (N, C, H, W) -> output (N, C, H_out, W_out), H_out = (H + 2 p_h - kh) // s_h + 1.

    Backward: dx gets dy at the position of each window's maximum and 0 elsewhere
    (summed where windows overlap). On ties (frequent on MNIST's blank background)
    only the **first** maximum in row-major order gets the gradient, as in PyTorch.
    """

    def forward(self, x, training=False):
        # In inference only the maxima are computed; a backward pass after it (saliency,
        # gradient checks) recomputes which element of each window won.
        y, cache = F.maxpool2d_forward(x, self.kernel_size, self.stride, self.pads, need_grad=training)
        self.cache = cache if training else x
        return y

    def backward(self, dy):
        if not isinstance(self.cache, tuple):
            _, self.cache = F.maxpool2d_forward(self.cache, self.kernel_size, self.stride, self.pads)
        return F.maxpool2d_backward(dy, self.cache)


@register_layer
class AvgPool2D(_Pool2D):
    """y[n, c, h, w] = (1 / (kh·kw)) Σ_{i<kh, j<kw} x_pad[n, c, h·s_h + i, w·s_w + j] (zero padding,
    counted in the divisor: PyTorch's default ``count_include_pad=True``).

    Shape: as :class:`MaxPool2D`. Backward: every element of a window gets dy / (kh·kw).
    """

    def forward(self, x, training=False):
        y, self.cache = F.avgpool2d_forward(x, self.kernel_size, self.stride, self.pads)
        return y

    def backward(self, dy):
        return F.avgpool2d_backward(dy, self.cache)


@register_layer
class MaxPool1D(_Pool2D):
    """Max pooling over (N, C, L) signals: MaxPool2D over an image of height 1.

    Shape: (N, C, L) -> (N, C, L_out), L_out = (L + 2p - k) // s + 1. Ties: first maximum.
    """

    ndim = 1

    def forward(self, x, training=False):
        y, self.cache = F.maxpool2d_forward(x[:, :, None, :], (1,) + self.kernel_size,
                                            (1,) + self.stride, ((0, 0),) + self.pads)
        return y[:, :, 0, :]

    def backward(self, dy):
        return F.maxpool2d_backward(dy[:, :, None, :], self.cache)[:, :, 0, :]


@register_layer
class GlobalAvgPool2D(Layer):
    """y[n, c] = mean over h, w of x[n, c, h, w].

    Shape: input (N, C, H, W) -> output (N, C). Backward: dx[n, c, h, w] = dy[n, c] / (H·W).
    """

    def expected_shape(self):
        return ("N", "C", "H", "W")

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def forward(self, x, training=False):
        self.cache = x.shape
        return x.mean(axis=(2, 3), dtype=x.dtype)

    def backward(self, dy):
        n, c, h, w = self.cache
        g = dy * dy.dtype.type(1.0 / (h * w))
        return np.broadcast_to(g[:, :, None, None], (n, c, h, w)).copy()
