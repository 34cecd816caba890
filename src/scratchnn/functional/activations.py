"""Activation functions and their derivatives, numerically stable.

Each ``f(x)`` returns the activation; each ``f_grad(x, y, dy)`` returns
dL/dx given the input ``x``, the output ``y = f(x)`` and the upstream gradient
``dy = dL/dy`` (all of the same shape), using whichever of ``x`` and ``y`` makes
the derivative cheapest. Every function here is elementwise except the softmax
family, which works along ``axis``.

Stability: nothing here calls ``exp`` on a large positive number, so inputs up
to +-1e4 (and beyond) give finite values and no overflow warnings.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import xp


def identity(x):
    """f(x) = x."""
    return x


def sigmoid(x):
    """sigma(x) = 1 / (1 + e^-x), computed from e^-|x| so that exp never overflows.

    sigma'(x) = sigma(x) (1 - sigma(x)).
    """
    if not hasattr(x, "dtype"):  # a Python number or list; arrays stay on their device
        x = xp.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = xp.abs(x, out=xp.empty_like(x))  # e = exp(-|x|), in one buffer (0-d arrays too)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    out = xp.where(x >= 0, 1.0, e)  # numerator: 1 for x >= 0, e^x = e for x < 0
    e += 1.0
    out /= e
    return out


def sigmoid_grad(x, y, dy):
    """dL/dx = dy * y * (1 - y) with y = sigma(x)."""
    return dy * y * (1.0 - y)


def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x)."""
    return xp.tanh(x)


def tanh_grad(x, y, dy):
    """dL/dx = dy * (1 - y^2) with y = tanh(x)."""
    return dy * (1.0 - y * y)


def relu(x):
    """relu(x) = max(x, 0)."""
    return xp.maximum(x, 0)


def relu_grad(x, y, dy):
    """dL/dx = dy where x > 0, else 0 (the subgradient at 0 is taken as 0, as in PyTorch)."""
    return dy * (y > 0)


def leaky_relu(x, alpha=0.01):
    """leaky_relu(x) = x if x > 0 else alpha x."""
    return xp.where(x > 0, x, x * x.dtype.type(alpha))


def leaky_relu_grad(x, y, dy, alpha=0.01):
    """dL/dx = dy if x > 0 else alpha dy."""
    return xp.where(x > 0, dy, dy * dy.dtype.type(alpha))


def elu(x, alpha=1.0):
    """elu(x) = x if x > 0 else alpha (e^x - 1); exp only sees min(x, 0)."""
    return xp.where(x > 0, x, x.dtype.type(alpha) * xp.expm1(xp.minimum(x, 0)))


def elu_grad(x, y, dy, alpha=1.0):
    """dL/dx = dy if x > 0 else dy (y + alpha)   (since d/dx alpha(e^x - 1) = alpha e^x = y + alpha)."""
    return xp.where(x > 0, dy, dy * (y + y.dtype.type(alpha)))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erfc(x):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is close to -1 (x very negative)."""
    try:  # SciPy is optional; it gives a fast, exact erfc.
        from scipy.special import erfc
        return erfc(x).astype(x.dtype, copy=False)
    except ImportError:  # pragma: no cover - exercised only without SciPy
        return np.frompyfunc(math.erfc, 1, 1)(x).astype(x.dtype)


def _gelu_gate(x):
    """(u'(x), sigma(2 u(x))) for the tanh form, u = sqrt(2/pi) (x + 0.044715 x^3)."""
    u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
    return _SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x), sigmoid(2.0 * u)


def gelu(x, approximate="tanh"):
    """GELU(x) = x Phi(x), Phi the standard normal CDF.

    ``approximate="tanh"`` (default, as in GPT-2 and PyTorch's ``approximate='tanh'``):
    0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as the equal
    x sigma(2u) so that no 1 + tanh(u) cancels for negative x.
    ``approximate="none"``: the exact x Phi(x) = 0.5 x erfc(-x / sqrt 2) (erfc, not
    1 + erf, for the same reason; SciPy's erfc if installed, else ``math.erfc``).
    PyTorch computes the 1 + tanh / 1 + erf forms: the values agree to ~1e-16 in
    absolute terms, ours keep their relative accuracy far into the negative tail.
    """
    if approximate == "none":
        return 0.5 * x * _erfc(x * -_SQRT_HALF)
    return x * _gelu_gate(x)[1]


def gelu_grad(x, y, dy, approximate="tanh"):
    """dL/dx = dy * GELU'(x).

    exact: Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi).
    tanh form, with s = sigma(2u) (so 1 + tanh u = 2 s and 1 - tanh^2 u = 4 s (1 - s)):
    s + 2 x s (1 - s) u'(x),  u'(x) = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
    """
    if approximate == "none":
        cdf = 0.5 * _erfc(x * -_SQRT_HALF)
        pdf = xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return dy * (cdf + x * pdf)
    du, s = _gelu_gate(x)
    return dy * (s + 2.0 * x * s * (1.0 - s) * du)


def softplus(x):
    """softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|)."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def softplus_grad(x, y, dy):
    """dL/dx = dy * sigma(x)."""
    return dy * sigmoid(x)


def softmax(x, axis=-1):
    """softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m), m = max_j x_j (shift for stability)."""
    z = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(z)
    return e / xp.sum(e, axis=axis, keepdims=True)


def softmax_grad(x, y, dy, axis=-1):
    """dL/dx = y * (dy - sum_j dy_j y_j)   (the Jacobian-vector product of softmax)."""
    return y * (dy - xp.sum(dy * y, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """log softmax(x)_i = (x_i - m) - log sum_j e^(x_j - m): finite for any finite x."""
    z = x - x.max(axis=axis, keepdims=True)  # (array methods: no Python wrapper per call)
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
