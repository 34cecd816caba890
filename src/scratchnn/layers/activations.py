"""Activation layers: thin, stateless wrappers around :mod:`scratchnn.functional`.

Each layer applies its function elementwise (softmax: along ``axis``), so the
output has the input's shape; ``backward`` applies the derivative documented in
:mod:`scratchnn.functional.activations`.

Shape:
    input (N, *) -> output (N, *)
"""
from __future__ import annotations

import numpy as np

from .. import checks, threads
from .. import functional as F
from ..errors import ConfigError
from ..registry import register_layer
from .base import Layer


class Activation(Layer):
    """Base of the activation layers: ``y = fn(x)``, ``dx = grad_fn(x, y, dy)``."""

    def _fn(self, x):
        raise NotImplementedError

    def _grad(self, x, y, dy):
        raise NotImplementedError

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        y = self._fn(x)
        self.cache = (x, y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x, y = self.cache
        return self._grad(x, y, dy)


@register_layer
class Identity(Activation):
    """f(x) = x."""

    def _fn(self, x):
        return x

    def _grad(self, x, y, dy):
        return dy


@register_layer
class Sigmoid(Activation):
    """sigma(x) = 1 / (1 + e^-x); sigma' = sigma (1 - sigma). Stable for any input."""

    def _fn(self, x):
        return F.sigmoid(x)

    def _grad(self, x, y, dy):
        return F.sigmoid_grad(x, y, dy)


@register_layer
class Tanh(Activation):
    """tanh(x); tanh' = 1 - tanh^2."""

    def _fn(self, x):
        return F.tanh(x)

    def _grad(self, x, y, dy):
        return F.tanh_grad(x, y, dy)


#: Arrays with at least this many elements are split over the batch among scratchnn's threads
#: (:func:`scratchnn.threads.batch_parallel`): a CNN's activations (3.2 M for 32 x 28 x 28
#: x 128) are; an MLP's (32 K) stay on one thread, where handing work to the pool costs more
#: than the pass itself.
PARALLEL_MIN_SIZE = 1 << 20


def _elementwise(fn, *arrays):
    """``fn(*arrays, out=out)`` into a new array like ``arrays[0]`` (same memory layout, so a
    channels-last view stays channels-last), split over the batch among threads when large."""
    out = np.empty_like(arrays[0])
    if out.size < PARALLEL_MIN_SIZE or out.ndim == 0:
        fn(*arrays, out=out)
    else:
        threads.batch_parallel(lambda lo, hi: fn(*(a[lo:hi] for a in arrays), out=out[lo:hi]), len(out))
    return out


def _relu_grad(dy, y, out):
    return np.multiply(dy, y > 0, out=out)


@register_layer
class ReLU(Activation):
    """relu(x) = max(x, 0); relu'(x) = 1 if x > 0 else 0."""

    def forward(self, x, training=False):
        y = _elementwise(lambda a, out: np.maximum(a, 0, out=out), x)
        self.cache = y  # the mask y > 0 is all backward needs
        return y

    def backward(self, dy):
        return _elementwise(_relu_grad, dy, self.cache)


class _AlphaActivation(Activation):
    """An activation with one slope/scale hyperparameter ``alpha``."""

    default_alpha = 0.01

    def __init__(self, alpha: float | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        alpha = self.default_alpha if alpha is None else alpha
        self.alpha = checks.number(type(self).__name__, "alpha", alpha, low=0.0)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register_layer
class LeakyReLU(_AlphaActivation):
    """leaky_relu(x) = x if x > 0 else alpha x (default alpha = 0.01, as PyTorch)."""

    def _fn(self, x):
        return F.leaky_relu(x, self.alpha)

    def _grad(self, x, y, dy):
        return F.leaky_relu_grad(x, y, dy, self.alpha)


@register_layer
class ELU(_AlphaActivation):
    """elu(x) = x if x > 0 else alpha (e^x - 1) (default alpha = 1)."""

    default_alpha = 1.0

    def _fn(self, x):
        return F.elu(x, self.alpha)

    def _grad(self, x, y, dy):
        return F.elu_grad(x, y, dy, self.alpha)


@register_layer
class GELU(Activation):
    """GELU(x) = x Phi(x). ``approximate="tanh"`` (default) or ``"none"`` (exact, erf)."""

    def __init__(self, approximate: str = "tanh", *, name: str | None = None) -> None:
        super().__init__(name=name)
        if approximate not in ("tanh", "none"):
            raise ConfigError(f"GELU: approximate must be 'tanh' or 'none'. Received: approximate={approximate!r}")
        self.approximate = approximate

    def _fn(self, x):
        return F.gelu(x, self.approximate)

    def _grad(self, x, y, dy):
        return F.gelu_grad(x, y, dy, self.approximate)

    def get_config(self):
        return {**super().get_config(), "approximate": self.approximate}


@register_layer
class Softplus(Activation):
    """softplus(x) = log(1 + e^x); softplus' = sigma."""

    def _fn(self, x):
        return F.softplus(x)

    def _grad(self, x, y, dy):
        return F.softplus_grad(x, y, dy)


@register_layer
class Softmax(Activation):
    """softmax along ``axis`` (default the last). For training a classifier, prefer
    leaving the logits raw and using :class:`~scratchnn.losses.SoftmaxCrossEntropy`,
    which fuses the two stably."""

    def __init__(self, axis: int = -1, *, name: str | None = None) -> None:
        super().__init__(name=name)
        if not isinstance(axis, int):
            raise ConfigError(f"Softmax: axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def _fn(self, x):
        return F.softmax(x, self.axis)

    def _grad(self, x, y, dy):
        return F.softmax_grad(x, y, dy, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


ACTIVATIONS = {
    "identity": Identity, "linear": Identity, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU,
    "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU, "softplus": Softplus, "softmax": Softmax,
}


def get_activation(name: str) -> Activation:
    """A new activation layer from its name: ``get_activation("relu") -> ReLU()``."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise ConfigError(f"unknown activation. Expected one of {sorted(ACTIVATIONS)}. Received: {name!r}") from None
