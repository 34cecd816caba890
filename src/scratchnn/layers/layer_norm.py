"""Layer normalisation: each vector normalised over its own features."""
from __future__ import annotations

from ..errors import ConfigError
from ..functional.attention import layer_norm, layer_norm_grad
from ..registry import register_layer
from .base import Layer
from .dense import _positive_int


@register_layer
class LayerNorm(Layer):
    """y = gamma * (x - mu) / sqrt(var + eps) + beta, mu and var over the last axis.

    Unlike :class:`BatchNorm`, the statistics are those of each vector alone, so the
    layer behaves the same in training and inference, for any batch size -- the
    normalisation of Transformers. Equivalent to ``torch.nn.LayerNorm(D, eps)``.

    Args:
        dim: D, the size of the last axis (> 0).
        eps: added to the variance (> 0, default 1e-5 as PyTorch).

    Shape:
        input (N, *, D) -> output (N, *, D); gamma (D,) starts at ones, beta (D,) at zeros.

    Backward, with g = dy * gamma and means over the last axis:
        dgamma = sum dy xhat,  dbeta = sum dy,
        dx = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps).
    """

    def __init__(self, dim: int, eps: float = 1e-5, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.dim = _positive_int("LayerNorm", "dim", dim)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ConfigError(f"LayerNorm: eps must be > 0. Received: eps={eps!r}")
        self.eps = float(eps)

    def expected_shape(self):
        return ("N", "...", self.dim)

    def input_hint(self, shape):
        return f"The last axis must hold the {self.dim} features."

    def _build(self, input_shape, rng):
        self.add_weight("gamma", (self.dim,), "ones")
        self.add_weight("beta", (self.dim,), "zeros")

    def forward(self, x, training=False):
        y, xhat, inv = layer_norm(x, self.params["gamma"], self.params["beta"], self.eps)
        self.cache = (xhat, inv)
        return y

    def backward(self, dy):
        xhat, inv = self.cache
        return layer_norm_grad(dy, xhat, inv, self.params["gamma"], self.grads["gamma"], self.grads["beta"])

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "eps": self.eps}
