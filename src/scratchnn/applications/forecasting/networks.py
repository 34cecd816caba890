"""The networks a forecaster can use: an MLP on lag windows (the default) or a recurrent cell.

- ``"mlp"``: ``num_layers`` times ``Dense(., H) -> ReLU``, then ``Dense(H, horizon)``, on the
  flattened window of F = window (+ 2 season-position) inputs. Direct multi-step: one output
  per step ahead.
- ``"nbeats"``: an N-BEATS-style stack of 3 such MLP blocks with backcast/forecast outputs
  and residual links (:mod:`~scratchnn.applications.forecasting.nbeats`), on the same flat inputs.
- ``"lstm"``, ``"gru"``, ``"rnn"``: the window as a sequence (N, window, 1 + 2) -- each step
  carries its value and, with a season, the season position repeated -- then
  ``cell(., H) -> Dense(H, horizon)``; ``num_layers`` stacks cells.
"""
from __future__ import annotations

import numpy as np

from ... import layers
from ...errors import ConfigError
from ...sequential import Sequential

CELLS = layers.CELLS
KINDS = ("mlp", "nbeats", *CELLS)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigError(f"model must be one of {list(KINDS)}. Received: model={kind!r}")
    return kind


def build_network(kind: str, n_inputs: int, horizon: int, hidden_size: int = 64, num_layers: int = 1,
                  seed: int | None = 0, extra_inputs: int = 0) -> Sequential:
    """A fresh network for inputs of ``n_inputs`` (flat MLP) or a sequence with ``1 + extra_inputs`` features."""
    check_kind(kind)
    for name, v in (("hidden_size", hidden_size), ("num_layers", num_layers), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be an integer >= 1. Received: {name}={v!r}")
    if kind == "mlp":
        stack, size = [], n_inputs
        for _ in range(num_layers):
            stack += [layers.Dense(size, hidden_size), layers.ReLU()]
            size = hidden_size
        stack.append(layers.Dense(hidden_size, horizon))
        return Sequential(stack, seed=seed, name="mlp-forecaster")
    stack = [*layers.recurrent_stack(kind, 1 + extra_inputs, hidden_size, num_layers),
             layers.Dense(hidden_size, horizon)]
    return Sequential(stack, seed=seed, name=f"{kind}-forecaster")


def network_inputs(kind: str, x: np.ndarray, window: int) -> np.ndarray:
    """Flat inputs (M, F) as the network of ``kind`` takes them: (M, F) for the MLP,
    (M, window, 1 + extra) for a recurrent cell (extras repeated at every step)."""
    if kind in ("mlp", "nbeats"):
        return x
    seq = x[:, :window, None]
    extra = x[:, window:]
    if extra.shape[1]:
        seq = np.concatenate([seq, np.repeat(extra[:, None, :], window, axis=1)], axis=2)
    return seq


def build_forecaster(horizon: int = 1, hidden_size: int = 32, cell: str = "lstm", num_layers: int = 1,
                     seed: int | None = 0) -> Sequential:
    """``[cell(1, H, return_sequences=True)] * (num_layers - 1) + [cell(., H), Dense(H, horizon)]``.

    The recurrent network of earlier versions, for one value per step; kept for scripts that build it.
    """
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {sorted(CELLS)}. Received: cell={cell!r}")
    return build_network(cell, 1, horizon, hidden_size, num_layers, seed)
