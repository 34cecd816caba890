"""Convolution layers: Conv2D for images (NCHW) and Conv1D for sequences and signals (NCL).

Both are thin wrappers around :mod:`scratchnn.functional.conv` (im2col + one
matrix product per layer). Weights use PyTorch's layout, so reference tests copy
them directly.
"""
from __future__ import annotations

import numpy as np

from .. import checks, initializers
from ..errors import ConfigError
from ..functional import conv as F
from ..registry import register_layer
from .base import Layer


def _int_tuple(layer: str, name: str, value, n: int, low: int = 1) -> tuple[int, ...]:
    """``value`` (an int or a tuple of ``n`` ints, each >= low) as a tuple of ``n`` ints."""
    return checks.int_tuple(layer, name, value, n, low)


def resolve_padding(layer: str, padding, kernel: tuple[int, ...], stride: tuple[int, ...],
                    dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Turn ``"valid"``, ``"same"``, an int or a tuple into ((lo, hi), ...) per spatial axis."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ConfigError(f"{layer}: padding='same' needs stride 1 (as in PyTorch); give the "
                                  f"padding as a number instead. Received: padding='same', stride={stride}")
            return tuple(F.same_padding(k, d) for k, d in zip(kernel, dilation))
        raise ConfigError(f"{layer}: padding must be 'valid', 'same', an int or a tuple of {n} ints. "
                          f"Received: padding={padding!r}")
    pads = _int_tuple(layer, "padding", padding, n, low=0)
    return tuple((p, p) for p in pads)


class _ConvND(Layer):
    """Shared configuration and weights of Conv1D and Conv2D."""

    ndim = 2
    uses_thread_pool = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding="valid",
                 dilation=1, use_bias: bool = True, kernel_initializer: str = "he_uniform",
                 bias_initializer: str = "zeros", *, name: str | None = None) -> None:
        super().__init__(name=name)
        cls = type(self).__name__
        self.in_channels = _int_tuple(cls, "in_channels", in_channels, 1)[0]
        self.out_channels = _int_tuple(cls, "out_channels", out_channels, 1)[0]
        self.kernel_size = _int_tuple(cls, "kernel_size", kernel_size, self.ndim)
        self.stride = _int_tuple(cls, "stride", stride, self.ndim)
        self.dilation = _int_tuple(cls, "dilation", dilation, self.ndim)
        self.pads = resolve_padding(cls, padding, self.kernel_size, self.stride, self.dilation)
        self.padding = padding if isinstance(padding, str) else list(_int_tuple(cls, "padding", padding,
                                                                                 self.ndim, low=0))
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer)
        initializers.get(bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def _build(self, input_shape, rng):
        fan_in = self.in_channels * int(np.prod(self.kernel_size))
        fan_out = self.out_channels * int(np.prod(self.kernel_size))
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        F.check_window_fits(self.describe(), input_shape[1:], self.kernel_size, self.pads, self.dilation)
        self.add_weight("W", shape, self.kernel_initializer, fan_in=fan_in, fan_out=fan_out)
        if self.use_bias:
            self.add_weight("b", (self.out_channels,), self.bias_initializer, fan_in=fan_in, fan_out=fan_out)

    def compute_output_shape(self, input_shape):
        F.check_window_fits(self.describe(), tuple(input_shape[1:]), self.kernel_size, self.pads,
                            self.dilation)
        sizes = tuple(F.conv_output_size(n, k, s, p, d) for n, k, s, p, d in
                      zip(input_shape[1:], self.kernel_size, self.stride, self.pads, self.dilation))
        return (self.out_channels,) + sizes

    def get_config(self):
        padding = self.padding if isinstance(self.padding, str) else list(self.padding)
        return {**super().get_config(), "in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": padding,
                "dilation": list(self.dilation), "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer, "bias_initializer": self.bias_initializer}


@register_layer
class Conv2D(_ConvND):
    """2-D convolution (cross-correlation, as in PyTorch), NCHW:

    y[n, o, h, w] = b[o] + Σ_{c, i<kh, j<kw} W[o, c, i, j] · x_pad[n, c, h·s_h + i·d_h, w·s_w + j·d_w]

    Args:
        in_channels: C_in (> 0). out_channels: C_out (> 0).
        kernel_size: k or (kh, kw). stride: s or (s_h, s_w), default 1.
        padding: ``"valid"`` (none, default), ``"same"`` (output size = input size;
            stride 1 only; an odd total puts the extra row/column at the bottom/right,
            as PyTorch), an int p or a tuple (p_h, p_w) of zeros on both sides.
        dilation: d or (d_h, d_w), default 1.
        use_bias: add b (default True).
        kernel_initializer: default ``"he_uniform"`` (fan_in = C_in·kh·kw), suited to ReLU.

    Shape:
        - input: (N, C_in, H, W) — images are NCHW; an NHWC array gets an error with the fix.
        - output: (N, C_out, H_out, W_out), H_out = (H + p_top + p_bottom - d_h (kh - 1) - 1) // s_h + 1
          (same for W).
        - W: (C_out, C_in, kh, kw), PyTorch's ``Conv2d.weight`` layout; b: (C_out,).

    Backward (im2col form, cols = unfolded x of shape (N·H_out·W_out, kh·kw·C_in)):
        dW = colsᵀ · dy,  db = Σ_{n,h,w} dy,  dx = col2im(dy · Wᵀ). As the first layer of a
        model (``input_grad_required`` False) it skips dx and returns None.

    The output is a transposed view of a channels-last buffer (see
    :mod:`scratchnn.functional.conv`); call ``np.ascontiguousarray`` on it if you need
    C-order memory.

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> conv = sn.layers.Conv2D(1, 8, kernel_size=3, padding="same")
        >>> conv.build((1, 28, 28), np.random.default_rng(0))
        >>> conv(np.zeros((2, 1, 28, 28), dtype=np.float32)).shape
        (2, 8, 28, 28)
    """

    ndim = 2

    def expected_shape(self):
        return ("N", self.in_channels, "H", "W")

    def input_hint(self, shape):
        if len(shape) == 4 and shape[-1] == self.in_channels and shape[1] != self.in_channels:
            return "Images are NCHW (channels first): try x.transpose(0, 3, 1, 2)."
        if len(shape) == 3:
            return (f"Images need a channel axis: try x.reshape(N, {self.in_channels}, H, W) "
                    "(x[:, None] for one channel).")
        return f"Images are NCHW with C = {self.in_channels} channels."

    def forward(self, x, training=False):
        # Inference keeps no unfolded input (a backward pass after it unfolds again).
        y, self.cache = F.conv2d_forward(x, self.params["W"], self.params.get("b"), self.stride,
                                         self.pads, self.dilation, keep_cols=training)
        return y

    def backward(self, dy):
        dx, dW, db = F.conv2d_backward(dy, self.cache, need_dx=self.input_grad_required)
        self.grads["W"][...] = dW
        if self.use_bias:
            self.grads["b"][...] = db
        return dx


@register_layer
class Conv1D(_ConvND):
    """1-D convolution over sequences or signals, NCL:

    y[n, o, t] = b[o] + Σ_c Σ_{i<k} W[o, c, i] · x_pad[n, c, t·s + i·d]

    Computed as a :class:`Conv2D` over an image of height 1. Arguments as Conv2D,
    with single ints. For (N, T, D) sequences, transpose to (N, D, T) first.

    Shape:
        - input: (N, C_in, L); output: (N, C_out, L_out), L_out = (L + p_lo + p_hi - d (k - 1) - 1) // s + 1
        - W: (C_out, C_in, k) (PyTorch's ``Conv1d.weight``); b: (C_out,)
    """

    ndim = 1

    def expected_shape(self):
        return ("N", self.in_channels, "L")

    def input_hint(self, shape):
        if len(shape) == 3 and shape[-1] == self.in_channels and shape[1] != self.in_channels:
            return "Signals are (N, C, L), channels first: for (N, T, D) sequences try x.transpose(0, 2, 1)."
        return f"Signals are (N, C, L) with C = {self.in_channels} channels."

    def _args2d(self):
        return ((1,) + self.stride, ((0, 0),) + self.pads, (1,) + self.dilation)

    def forward(self, x, training=False):
        stride, pads, dilation = self._args2d()
        y, self.cache = F.conv2d_forward(x[:, :, None, :], self.params["W"][:, :, None, :],
                                         self.params.get("b"), stride, pads, dilation, keep_cols=training)
        return y[:, :, 0, :]

    def backward(self, dy):
        dx, dW, db = F.conv2d_backward(dy[:, :, None, :], self.cache, need_dx=self.input_grad_required)
        self.grads["W"][...] = dW[:, :, 0, :]
        if self.use_bias:
            self.grads["b"][...] = db
        return None if dx is None else dx[:, :, 0, :]
