"""Forecasting a time series with a recurrent network, judged against the naive baselines.

Workflow (:func:`fit_forecaster`): cut the series chronologically into train /
validation / test (:mod:`scratchnn.datasets.timeseries`), fit the scaler on the
training part, train ``LSTM/GRU -> Dense(horizon)`` with early stopping on the
validation loss and gradient clipping, then forecast every test window and score it
in the series' units next to the naive forecast (and the seasonal naive one when a
``season`` is given).

By default the network works on values **relative to the last observation** of each
window (``relative=True``): inputs (s - s_last) / std, targets (y - s_last) / std.
A network that outputs 0 then *is* the naive forecast, and a trending series (a
stock index) does not push the inputs outside the range seen in training.

Honesty about results: on daily stock prices (the DAX example) the model usually
does **not** beat "tomorrow = today" -- day-to-day changes are close to
unpredictable from past prices -- and the report says so. On a cyclic series such
as the monthly sunspot numbers the model has structure to learn and should win.

Example:
    >>> import numpy as np
    >>> from scratchnn.forecast import fit_forecaster
    >>> t = np.arange(400)
    >>> res = fit_forecaster(np.sin(2 * np.pi * t / 25), window=30, epochs=30, hidden_size=16, seed=0)
    >>> res.scores["model"]["rmse"] < res.scores["naive"]["rmse"]
    True
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import callbacks, layers, optimizers
from .datasets.timeseries import (Scaler, mae, naive_forecast, rmse, seasonal_naive_forecast,
                                  windowed_splits)
from .errors import ConfigError
from .model import Sequential

CELLS = {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.SimpleRNN}


def build_forecaster(horizon: int = 1, hidden_size: int = 32, cell: str = "lstm", num_layers: int = 1,
                     seed: int | None = 0) -> Sequential:
    """``[cell(1, H, return_sequences=True)] * (num_layers - 1) + [cell(., H), Dense(H, horizon)]``."""
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {sorted(CELLS)}. Received: cell={cell!r}")
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ConfigError(f"num_layers must be an integer >= 1. Received: num_layers={num_layers!r}")
    stack, size = [], 1
    for i in range(num_layers):
        stack.append(CELLS[cell](size, hidden_size, return_sequences=i < num_layers - 1))
        size = hidden_size
    stack.append(layers.Dense(hidden_size, horizon))
    return Sequential(stack, seed=seed, name=f"{cell}-forecaster")


@dataclass
class ForecastResult:
    """A trained forecaster and its test-set evaluation (all values in the series' units)."""

    model: Sequential
    name: str
    values: np.ndarray
    time: np.ndarray | None
    window: int
    horizon: int
    season: int | None
    cell: str
    start: np.ndarray                      # index of each test window's first target
    actual: np.ndarray                     # (M, horizon)
    predicted: np.ndarray                  # (M, horizon)
    baselines: dict[str, np.ndarray] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    epochs_run: int = 0

    def verdict(self) -> str:
        """One honest sentence comparing the model with the best baseline (by RMSE)."""
        best = min((k for k in self.scores if k != "model"), key=lambda k: self.scores[k]["rmse"])
        ours, theirs = self.scores["model"]["rmse"], self.scores[best]["rmse"]
        change = 100.0 * (theirs - ours) / theirs
        label = _LABELS[best]
        if abs(change) < 1.0:
            return (f"The {self.cell.upper()} is level with the {label} forecast: RMSE "
                    f"{abs(change):.2f}% {'lower' if ours < theirs else 'higher'} -- no real gain."
                    + (" The usual result on prices: past prices say little about tomorrow's change."
                       if best == "naive" else ""))
        if ours < theirs:
            return f"The {self.cell.upper()} beats the {label} forecast: RMSE {change:.1f}% lower."
        return (f"The {self.cell.upper()} does NOT beat the {label} forecast: RMSE {-change:.1f}% higher."
                + (" This is the usual result on prices: past prices say little about tomorrow's change."
                   if best == "naive" else ""))

    def report(self) -> str:
        """A table of RMSE and MAE for the model and each baseline, plus the verdict."""
        n = len(self.values)
        span = ""
        if self.time is not None:
            span = f" ({self.time[self.start[0]]:.2f} to {self.time[self.start[-1] + self.horizon - 1]:.2f})"
        lines = [(f"Forecast of {self.name}: {n} values, window {self.window}, horizon {self.horizon}, "
                  f"{self.cell.upper()} trained {self.epochs_run} epochs"),
                 f"Test part: {len(self.start)} forecasts{span}; errors in the series' units",
                 f"{'forecaster':<28}{'RMSE':>12}{'MAE':>12}"]
        for key, s in self.scores.items():
            label = self.cell.upper() if key == "model" else _LABELS[key]
            if key == "seasonal_naive":
                label += f" (m={self.season})"
            lines.append(f"{label:<28}{s['rmse']:>12.4g}{s['mae']:>12.4g}")
        if self.horizon > 1:
            per = [rmse(self.actual[:, k], self.predicted[:, k]) for k in range(self.horizon)]
            naive = [rmse(self.actual[:, k], self.baselines["naive"][:, k]) for k in range(self.horizon)]
            lines.append("RMSE by step ahead (model / naive): " + ", ".join(
                f"{k + 1}: {a:.3g}/{b:.3g}" for k, (a, b) in enumerate(zip(per, naive))))
        lines.append(self.verdict())
        return "\n".join(lines)


_LABELS = {"naive": "naive (last value)", "seasonal_naive": "seasonal naive"}


def _inputs(X: np.ndarray, scaler: Scaler, relative: bool) -> tuple[np.ndarray, np.ndarray]:
    last = X[:, -1, 0]
    if relative:
        return (X - last[:, None, None]) / scaler.std, last
    return scaler.transform(X), last


def fit_forecaster(values, *, window: int = 30, horizon: int = 1, season: int | None = None,
                   hidden_size: int = 32, cell: str = "lstm", num_layers: int = 1, epochs: int = 50,
                   batch_size: int = 32, lr: float = 2e-3, clip_norm: float | None = 1.0,
                   relative: bool = True, val_fraction: float = 0.15, test_fraction: float = 0.15,
                   patience: int = 8, seed: int = 0, name: str = "series", time=None,
                   verbose: int = 0) -> ForecastResult:
    """Train a recurrent forecaster on ``values`` and evaluate it on the test part.

    Args:
        values: the series (1-D).
        window: past values the model sees; horizon: values it forecasts (direct multi-step:
            the last Dense layer has ``horizon`` outputs).
        season: period for the seasonal naive baseline (12 for monthly data), or None.
        relative: model values relative to the window's last value (see module docstring).
        clip_norm: global gradient-norm clipping of the Adam optimizer (None: off).
        patience: early stopping on the validation loss; the best epoch's weights are kept.

    Returns:
        A :class:`ForecastResult`; ``print(result.report())`` for the comparison.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    parts = windowed_splits(values, window, horizon, val_fraction, test_fraction)
    val_start = int(parts["val"].start.min())
    scaler = Scaler.fit(values[:val_start])

    def prepare(part):
        x, last = _inputs(part.X, scaler, relative)
        y = (part.Y - last[:, None]) / scaler.std if relative else scaler.transform(part.Y)
        return x, y

    x_train, y_train = prepare(parts["train"])
    x_val, y_val = prepare(parts["val"])
    model = build_forecaster(horizon, hidden_size, cell, num_layers, seed)
    model.compile(loss="mse", optimizer=optimizers.Adam(lr=lr, clip_norm=clip_norm))
    stop = callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, validation_data=(x_val, y_val),
              callbacks=[stop], verbose=verbose)
    model.metadata["forecast"] = {"window": window, "horizon": horizon, "relative": relative,
                                  "scaler": scaler.to_dict(), "name": name}

    test = parts["test"]
    predicted = predict_windows(model, test.X, scaler, relative)
    result = ForecastResult(model, name, values, None if time is None else np.asarray(time, dtype=np.float64),
                            window, horizon, season, cell, test.start, test.Y, predicted,
                            epochs_run=model.epochs_trained)
    result.baselines["naive"] = naive_forecast(values, test.start, horizon)
    if season:
        result.baselines["seasonal_naive"] = seasonal_naive_forecast(values, test.start, horizon, season)
    result.scores["model"] = {"rmse": rmse(test.Y, predicted), "mae": mae(test.Y, predicted)}
    for key, pred in result.baselines.items():
        result.scores[key] = {"rmse": rmse(test.Y, pred), "mae": mae(test.Y, pred)}
    return result


def predict_windows(model: Sequential, X: np.ndarray, scaler: Scaler, relative: bool = True) -> np.ndarray:
    """Forecasts (M, horizon) in the series' units for raw windows X (M, window, 1)."""
    x, last = _inputs(np.asarray(X, dtype=np.float64), scaler, relative)
    out = model.predict(x).astype(np.float64)
    return last[:, None] + out * scaler.std if relative else scaler.inverse(out)
