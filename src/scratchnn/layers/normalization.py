"""Batch normalisation for dense (N, C) and convolutional (N, C, H, W) / (N, C, L) inputs."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..registry import register_layer
from .base import Layer
from .conv import _int_tuple


@register_layer
class BatchNorm(Layer):
    """y = gamma · (x - mu) / sqrt(var + eps) + beta, per channel (axis 1).

    In training, mu and var are the batch's mean and (biased) variance over every
    axis but the channel axis (N for (N, C); N, H, W for images), and the running
    statistics are updated as in PyTorch:

        running_mean <- (1 - momentum) running_mean + momentum mu
        running_var  <- (1 - momentum) running_var  + momentum var · M / (M - 1)   (unbiased)

    with M values per channel. In evaluation the running statistics are used. They
    live in ``self.buffers`` and are saved with the model.

    Args:
        num_features: C (> 0). momentum: in (0, 1], default 0.1 (PyTorch's; Keras's
            0.99 corresponds to 0.01 here). eps: > 0, default 1e-5.

    Shape:
        input (N, C) or (N, C, *) -> output of the same shape; gamma, beta,
        running_mean, running_var: (C,). Equivalent to PyTorch's BatchNorm1d/2d.

    Backward (training), with x_hat = (x - mu) / sigma and sums over the M values per channel:
        dgamma = Σ dy x_hat,  dbeta = Σ dy,
        dx = (gamma / (M sigma)) (M dy - Σ dy - x_hat Σ dy x_hat).
    In evaluation, dx = dy gamma / sqrt(running_var + eps).

    In data-parallel training each rank normalises with its own shard's statistics (as
    PyTorch's DDP); with ``DataParallel(sync_batchnorm=True)`` mu, var, M and the two sums
    of the backward pass are those of the whole global batch (SyncBatchNorm), summed over
    the ranks (:meth:`scratchnn.distributed.DataParallel.batch_moments`).
    """

    has_training_mode = True

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, *,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        self.num_features = _int_tuple("BatchNorm", "num_features", num_features, 1)[0]
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 < momentum <= 1:
            raise ConfigError(f"BatchNorm: momentum must be in (0, 1]. Received: momentum={momentum!r}")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ConfigError(f"BatchNorm: eps must be > 0. Received: eps={eps!r}")
        self.momentum = float(momentum)
        self.eps = float(eps)

    def expected_shape(self):
        return ("N", self.num_features, "...")

    def input_hint(self, shape):
        if len(shape) == 4 and shape[-1] == self.num_features:
            return "Images are NCHW (channels first): try x.transpose(0, 3, 1, 2)."
        return f"The channel axis (axis 1) must hold the {self.num_features} features."

    def _build(self, input_shape, rng):
        c = (self.num_features,)
        self.add_weight("gamma", c, "ones")
        self.add_weight("beta", c, "zeros")
        self.add_buffer("running_mean", c, "zeros")
        self.add_buffer("running_var", c, "ones")

    @staticmethod
    def _axes(x):
        return (0,) + tuple(range(2, x.ndim))

    def _bcast(self, v, x):
        return v.reshape((1, -1) + (1,) * (x.ndim - 2))

    def forward(self, x, training=False):
        axes = self._axes(x)
        t = x.dtype.type
        sync = _sync_context() if training else None
        if sync is not None:
            mu, var, m = sync.batch_moments(x, axes)
            xc = x - self._bcast(mu, x)
        elif training:
            m = x.size // self.num_features
            mu = x.mean(axis=axes, dtype=x.dtype)
            xc = x - self._bcast(mu, x)
            var = np.mean(xc * xc, axis=axes, dtype=x.dtype)
        if training:
            mom = self.momentum
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= t(1 - mom)
            rm += t(mom) * mu
            rv *= t(1 - mom)
            rv += t(mom * m / max(m - 1, 1)) * var
        else:
            xc = x - self._bcast(self.buffers["running_mean"], x)
            var = self.buffers["running_var"]
        inv = (1.0 / np.sqrt(var + t(self.eps))).astype(x.dtype)
        xhat = xc * self._bcast(inv, x)
        self.cache = (xhat, inv, training, sync, m if training else None)
        return xhat * self._bcast(self.params["gamma"], x) + self._bcast(self.params["beta"], x)

    def backward(self, dy):
        xhat, inv, training, sync, m = self.cache
        axes = self._axes(dy)
        gamma = self.params["gamma"]
        self.grads["gamma"][...] = np.sum(dy * xhat, axis=axes)
        self.grads["beta"][...] = np.sum(dy, axis=axes)
        scale = self._bcast(gamma * inv, dy)
        if not training:
            return dy * scale
        t = dy.dtype.type
        sum_dy, sum_dy_xhat = self.grads["beta"], self.grads["gamma"]
        if sync is not None:  # over the global batch; the grads themselves stay this rank's sums
            sum_dy, sum_dy_xhat = sync.grad_sums(sum_dy, sum_dy_xhat)
        mean_dy = self._bcast(sum_dy * t(1.0 / m), dy)
        mean_dy_xhat = self._bcast(sum_dy_xhat * t(1.0 / m), dy)
        return scale * (dy - mean_dy - xhat * mean_dy_xhat)

    def get_config(self):
        return {**super().get_config(), "num_features": self.num_features, "momentum": self.momentum,
                "eps": self.eps}


def _sync_context():
    """The data-parallel context when BatchNorm statistics are synchronised, else None."""
    from ..distributed.data_parallel import active
    ctx = active()
    return ctx if ctx is not None and ctx.sync_batchnorm and ctx.size > 1 else None
