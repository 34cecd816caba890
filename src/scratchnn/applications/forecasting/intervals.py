"""Prediction intervals from the errors the forecaster made on data it was not trained on.

For each step ahead k, the absolute residuals |r_k| = |u - u_hat| (u = log y, or y) of the
forecasts made from the validation origins, each divided by the local scale s_o of its origin
(the root mean square of the scaled changes in the window just before it), give
w_k = the ceil((n + 1) level)-th smallest of the n values |r_k| / s_o (the split-conformal
quantile, slightly above the plain ``level`` quantile when n is small), and the interval from an origin o is

    [u_hat - w_k s_o,  u_hat + w_k s_o]

mapped back to the series' units (a split-conformal interval, normalised by the local scale: it holds the true value with
probability ``level`` when future errors, relative to the recent turbulence of the series,
behave like the validation errors). The local scale lets the interval widen when a
market turns volatile after a quiet validation period; with ``adaptive=False`` s_o = 1. On log values
the interval is relative, so it widens with the level of the series.

Why not the ensemble's spread: the members disagree about the model, not about the noise
of the series, so the spread is far narrower than the errors (measured in
``benchmarks/forecast_baselines.py``: it covers well under half of the test values).
"""
from __future__ import annotations

import numpy as np

from ...errors import ConfigError


def check_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.0 < level < 1.0:
        raise ConfigError(f"interval level must be in (0, 1), e.g. 0.8. Received: level={level!r}")
    return float(level)


def residual_quantiles(actual_units: np.ndarray, forecast_units: np.ndarray, level: float,
                       scale: np.ndarray | None = None) -> np.ndarray:
    """(2, h): the offsets (-w_k, +w_k) of the interval per step ahead, in units of ``scale``
    (M,) of each origin (module docstring); multiply by the scale of the origin to use them."""
    r = np.abs(np.asarray(actual_units, dtype=np.float64) - np.asarray(forecast_units, dtype=np.float64))
    if scale is not None:
        r = r / np.asarray(scale, dtype=np.float64)[:, None]
    n = len(r)
    # split-conformal finite-sample correction: the ceil((n + 1) level)-th smallest of n residuals
    q = min(1.0, np.ceil((n + 1) * check_level(level)) / n)
    w = np.quantile(r, q, axis=0, method="higher")
    return np.stack([-w, w])


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Fraction of actual values inside [lower, upper]."""
    actual = np.asarray(actual)
    return float(np.mean((actual >= lower) & (actual <= upper)))
