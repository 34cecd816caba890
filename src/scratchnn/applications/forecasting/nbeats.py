"""An N-BEATS-style stack: blocks with a backcast and a forecast output, linked by residuals.

N-BEATS (Oreshkin et al., 2020, the neural method that beat the statistical benchmarks of the
M4 competition) chains B blocks. Block b is an MLP (``layers`` times Dense -> ReLU, then a
linear Dense) reading x_b and writing theta_b = [backcast_b (L values), forecast_b (h values)]:

    x_1 = window,    x_{b+1} = x_b - backcast_b,    y_hat = sum_b forecast_b

so each block removes from the window what it has explained, and the next one models the
rest. This is the *generic* variant (no trend or seasonality bases). The season-position
inputs, when present, are passed unchanged to every block next to x_b; only the L lag values
are backcast.

Backward pass, with g_b = dL/dx_b and g_{B+1} = 0: for b = B .. 1,
d theta_b = [-g_{b+1}, dL/dy_hat] and g_b = g_{b+1} + (dL/d input of block b)[:, :L].

Each block is an ordinary :class:`~scratchnn.sequential.Sequential` (so it saves and loads as a
normal model file); the residual wiring and the training loop (Adam, shuffled mini-batches,
MSE, early stopping on the validation loss with the best weights kept) are here.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ... import layers, losses, optimizers
from ...errors import ConfigError
from ...io import load_model
from ...sequential import Sequential


class NBeats:
    """B blocks over windows of ``n_lags`` values (+ ``n_extra`` passed-through inputs) -> ``horizon``."""

    def __init__(self, n_lags: int, n_extra: int, horizon: int, blocks: int = 3, hidden_size: int = 64,
                 num_layers: int = 2, seed: int = 0, dtype: object = "float32", build: bool = True) -> None:
        for name, v in (("n_lags", n_lags), ("horizon", horizon), ("blocks", blocks),
                        ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"NBeats: {name} must be an integer >= 1. Received: {name}={v!r}")
        self.n_lags, self.n_extra, self.horizon = int(n_lags), int(n_extra), int(horizon)
        self.seed = int(seed)
        self.blocks: list[Sequential] = []
        self.epochs_trained = 0
        if build:
            for b in range(blocks):
                stack, size = [], n_lags + n_extra
                for _ in range(num_layers):
                    stack += [layers.Dense(size, hidden_size), layers.ReLU()]
                    size = hidden_size
                stack.append(layers.Dense(hidden_size, n_lags + horizon))
                block = Sequential(stack, seed=seed * 1000 + b, dtype=dtype, name=f"nbeats-block-{b}")
                block.build((n_lags + n_extra,))
                block.layers[0].input_grad_required = b > 0   # g_b is needed for every block but the first
                self.blocks.append(block)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """y_hat (N, horizon) for inputs (N, n_lags + n_extra) in the blocks' dtype."""
        lags, extra = x[:, :self.n_lags], x[:, self.n_lags:]
        y = None
        for block in self.blocks:
            theta = block.forward(np.concatenate([lags, extra], axis=1) if self.n_extra else lags, training)
            lags = lags - theta[:, :self.n_lags]
            y = theta[:, self.n_lags:] if y is None else y + theta[:, self.n_lags:]
        return y

    def backward(self, dy: np.ndarray) -> None:
        """Fill every block's gradients from dL/dy_hat (the module docstring's recursion)."""
        g = np.zeros((dy.shape[0], self.n_lags), dtype=dy.dtype)
        for block in reversed(self.blocks):
            d_in = block.backward(np.concatenate([-g, dy], axis=1))
            if d_in is not None:
                g = g + d_in[:, :self.n_lags]

    def parameters(self):
        """``(key, param, grad)`` of every block, keys prefixed with the block's index."""
        for b, block in enumerate(self.blocks):
            for key, p, g in block.parameters():
                yield f"{b}/{key}", p, g

    def predict(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        x = np.asarray(x, dtype=self.blocks[0].dtype)
        return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])

    def fit(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *, epochs: int = 200,
            batch_size: int = 32, lr: float = 1e-3, clip_norm: float | None = 1.0, patience: int = 20) -> int:
        """Train with Adam on the MSE; stop ``patience`` epochs after the best validation loss and
        keep that epoch's weights. Returns the number of epochs run."""
        dtype = self.blocks[0].dtype
        x, y = np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)
        x_val, y_val = np.asarray(x_val, dtype=dtype), np.asarray(y_val, dtype=dtype)
        opt = optimizers.Adam(lr=lr, clip_norm=clip_norm)
        loss = losses.MeanSquaredError()
        rng = np.random.default_rng(self.seed)
        best, best_weights, wait = np.inf, [b.get_weights() for b in self.blocks], 0
        for _ in range(epochs):
            order = rng.permutation(len(x))
            for i in range(0, len(x), batch_size):
                idx = order[i:i + batch_size]
                loss.forward(self.forward(x[idx], training=True), y[idx])
                self.backward(loss.backward())
                opt.step(self.parameters())
            self.epochs_trained += 1
            val = float(np.mean((self.predict(x_val) - y_val) ** 2))
            if val < best:
                best, best_weights, wait = val, [b.get_weights() for b in self.blocks], 0
            else:
                wait += 1
                if wait >= max(patience, 1):
                    break
        for block, w in zip(self.blocks, best_weights):
            block.set_weights(w)
        return self.epochs_trained

    def save(self, folder: str | os.PathLike, prefix: str) -> list[Path]:
        """One model file per block: ``<prefix>-block-<b>.npz``."""
        paths = []
        for b, block in enumerate(self.blocks):
            path = Path(folder) / f"{prefix}-block-{b}.npz"
            block.save(path)
            paths.append(path)
        return paths

    @classmethod
    def load(cls, folder: str | os.PathLike, prefix: str, blocks: int, n_lags: int, horizon: int) -> NBeats:
        net = cls(n_lags, 0, horizon, blocks=blocks, build=False)
        net.blocks = [load_model(Path(folder) / f"{prefix}-block-{b}.npz") for b in range(blocks)]
        net.n_extra = int(net.blocks[0].input_shape[0]) - n_lags
        return net
