"""Fully connected layer."""
from __future__ import annotations

import numpy as np

from .. import checks, initializers
from ..registry import register_layer
from ..threads import matmul
from .base import Layer


def _positive_int(layer: str, name: str, value) -> int:
    return checks.integer(layer, name, value, low=1)


@register_layer
class Dense(Layer):
    """y = x W + b, applied to the last axis.

    Args:
        in_features: size D_in of each input vector (> 0).
        out_features: size D_out of each output vector (> 0).
        use_bias: add the bias ``b`` (default True).
        kernel_initializer: name from :mod:`scratchnn.initializers` (default
            ``"glorot_uniform"``; ``"he_uniform"`` suits deep ReLU networks).
        bias_initializer: default ``"zeros"``.

    Shape:
        - input: (N, D_in), or (N, *, D_in) for per-time-step use on sequences
        - output: (N, D_out), or (N, *, D_out)
        - W: (D_in, D_out) (the transpose of PyTorch's ``Linear.weight``); b: (D_out,)

    Backward, with x flattened to (M, D_in) and dy to (M, D_out):
        dW = x^T dy,   db = sum over rows of dy,   dx = dy W^T.

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> layer = sn.layers.Dense(3, 2)
        >>> layer.build((3,), np.random.default_rng(0))
        >>> layer(np.ones((4, 3), dtype=np.float32)).shape
        (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.in_features = _positive_int("Dense", "in_features", in_features)
        self.out_features = _positive_int("Dense", "out_features", out_features)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer)
        initializers.get(bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def expected_shape(self):
        return ("N", "...", self.in_features)

    def input_hint(self, shape):
        if len(shape) > 2 and int(np.prod(shape[1:])) == self.in_features:
            return "Add a Flatten() layer before this Dense layer to turn each sample into a vector."
        return f"The last axis must hold the {self.in_features} input features."

    def _build(self, input_shape, rng):
        fan_in, fan_out = self.in_features, self.out_features
        self.add_weight("W", (fan_in, fan_out), self.kernel_initializer, fan_in=fan_in, fan_out=fan_out)
        if self.use_bias:
            self.add_weight("b", (fan_out,), self.bias_initializer, fan_in=fan_in, fan_out=fan_out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_features,)

    def forward(self, x, training=False):
        self.cache = x
        # threads.matmul: x @ W, split among the threads inside a step that holds the BLAS
        y = matmul(x.reshape(-1, self.in_features), self.params["W"]).reshape(*x.shape[:-1], self.out_features)
        if self.use_bias:
            y += self.params["b"]
        return y

    def backward(self, dy):
        x = self.cache
        x2 = x.reshape(-1, self.in_features)
        dy2 = dy.reshape(-1, self.out_features)
        matmul(x2.T, dy2, out=self.grads["W"])
        if self.use_bias:
            dy2.sum(axis=0, out=self.grads["b"])
        if not self.input_grad_required:
            return None  # first layer of a model: dx is never used, skip a third of the work
        return matmul(dy2, self.params["W"].T).reshape(dy.shape[:-1] + (self.in_features,))

    def get_config(self):
        return {**super().get_config(), "in_features": self.in_features,
                "out_features": self.out_features, "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer}
