"""Forecasting time series, judged against naive, seasonal naive and classical (statsmodels) baselines.

One concept per module:

- :mod:`.transform`: what the network sees (log, differences at the season lag, scaling,
  season position) and how its outputs map back;
- :mod:`.networks`: the MLP on lag windows (default) or an LSTM/GRU/RNN;
- :mod:`.ensemble`: K networks from different seeds, early-stopped, median forecast;
- :mod:`.intervals`: prediction intervals calibrated on the validation errors;
- :mod:`.classical`: Holt-Winters / ARIMA from statsmodels (optional extra ``[forecast]``);
- :mod:`.result`: scores, report and the verdict;
- :mod:`.workflow`: :func:`fit_forecaster`, :func:`fit_many` (one global model, several
  series) and :func:`forecast_future`;
- :mod:`.saved`: :func:`save_forecaster` and :func:`load_forecaster`, to forecast again later.

Example:
    >>> import numpy as np
    >>> from scratchnn.applications.forecasting import fit_forecaster
    >>> t = np.arange(300)
    >>> res = fit_forecaster(np.sin(2 * np.pi * t / 25), season=25, members=2, epochs=40, classical=False)
    >>> res.scores["model"]["rmse"] < res.scores["naive"]["rmse"]
    True
"""
from .classical import ClassicalForecast, classical_forecast, statsmodels_available
from .ensemble import Ensemble, train_ensemble
from .intervals import coverage, residual_quantiles
from .networks import CELLS, KINDS, build_forecaster, build_network
from .result import ForecastResult, MultiForecastResult
from .saved import SavedForecaster, load_forecaster, save_forecaster
from .transform import SeriesTransform
from .workflow import (
                       DEFAULTS,
                       FutureForecast,
                       default_window,
                       fit_forecaster,
                       fit_many,
                       forecast_future,
                       forecast_paths,
)

__all__ = [
                       "CELLS",
                       "DEFAULTS",
                       "KINDS",
                       "ClassicalForecast",
                       "Ensemble",
                       "ForecastResult",
                       "FutureForecast",
                       "MultiForecastResult",
    "SavedForecaster",
                       "SeriesTransform",
                       "build_forecaster",
                       "build_network",
                       "classical_forecast",
                       "coverage",
                       "default_window",
                       "fit_forecaster",
                       "fit_many",
                       "forecast_future",
                       "forecast_paths",
    "load_forecaster",
                       "residual_quantiles",
    "save_forecaster",
                       "statsmodels_available",
                       "train_ensemble",
]
