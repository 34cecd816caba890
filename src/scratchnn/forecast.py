"""Forecasting a time series: the names of earlier versions, now in :mod:`scratchnn.applications.forecasting`.

``from scratchnn.forecast import fit_forecaster, ForecastResult, build_forecaster, CELLS,
predict_windows`` keeps working; new code imports from :mod:`scratchnn.applications.forecasting`.
"""
from __future__ import annotations

import numpy as np

from .applications.forecasting import *  # noqa: F403
from .applications.forecasting import (  # noqa: F401
    CELLS,
    ForecastResult,
    build_forecaster,
    fit_forecaster,
    fit_many,
)
from .datasets.timeseries import Scaler
from .sequential import Sequential


def predict_windows(model: Sequential, X: np.ndarray, scaler: Scaler, relative: bool = True) -> np.ndarray:
    """Forecasts (M, horizon) in the series' units for raw windows X (M, window, 1) of a network from
    :func:`build_forecaster` trained on values relative to each window's last value (``relative``)
    or on scaled levels."""
    X = np.asarray(X, dtype=np.float64)
    last = X[:, -1, 0]
    x = (X - last[:, None, None]) / scaler.std if relative else scaler.transform(X)
    out = model.predict(x).astype(np.float64)
    return last[:, None] + out * scaler.std if relative else scaler.inverse(out)
