"""The classical baseline a statistician would use: Holt-Winters (ETS) or ARIMA, from statsmodels.

statsmodels is an optional dependency (``pip install "scratchnn[forecast]"``); without it
:func:`classical_forecast` returns ``None`` and :data:`SKIPPED_NOTE` says how to get it.

What is fitted (parameters estimated **once**, on the values before the test part):

- with a season length m: additive Holt-Winters, i.e. ETS(A, A, A) as a state-space model
  (level, trend and m seasonal states), on the series and, when it is positive, on its
  logarithm (a multiplicative season), with and without a damped trend; the lowest AIC wins.
  The AIC of a log model is put on the series' scale by the Jacobian of the log,
  AIC_y = AIC_log + 2 * sum(log y), so the four are comparable;
- without a season: ARIMA(p, d, q), d = 1 unless an augmented Dickey-Fuller test on the
  fitting part rejects a unit root (then d = 0 on the de-meaned series), and
  (p, q) in {0, 1, 2}^2 by AIC.

How the test part is forecast, without refitting and without peeking: the fitted
parameters are applied to the whole series (``results.apply``), which runs the Kalman
filter once; its predicted state a_{o|o-1} at an origin o has seen only y_0 .. y_{o-1}.
A state-space model is time invariant, so the h-step forecasts from o are

    y_hat_{o+k} = Z T^k a_{o|o-1} + d,    k = 0 .. h-1

(Z the design row, T the transition matrix, d the observation intercept), computed for all
origins at once. The tests check it against statsmodels' own ``forecast`` from each origin.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ...errors import DataError

SKIPPED_NOTE = ('classical baseline skipped: statsmodels is not installed '
                '(pip install "scratchnn[forecast]" adds it)')


@dataclass
class ClassicalForecast:
    """Forecasts (M, horizon) of the classical model at the given origins, and what it was."""

    predicted: np.ndarray
    label: str          # e.g. "Holt-Winters ETS(A,Ad,A) log"
    aic: float


def _import_statsmodels():
    """The two statsmodels classes used here, or ``None`` when statsmodels is missing."""
    try:
        from statsmodels.tsa.arima.model import ARIMA
        from statsmodels.tsa.statespace.exponential_smoothing import (
            ExponentialSmoothing,
        )
        from statsmodels.tsa.stattools import adfuller
    except ImportError:
        return None
    return ARIMA, ExponentialSmoothing, adfuller


def statsmodels_available() -> bool:
    """Whether the classical baseline can run."""
    return _import_statsmodels() is not None


def _fit_quietly(cls, endog, options: dict, **kwargs):
    """``cls(endog, **options).fit(**kwargs)`` without statsmodels' warnings (convergence chatter: the AIC judges
    the fit); ``None`` when the model cannot be built or fitted (a series too short for it, a
    singular matrix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                return cls(endog, **options).fit(**kwargs)
            except (ValueError, np.linalg.LinAlgError):
                return None


def _state_forecasts(results, full: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """h-step forecasts (M, horizon) from each origin's predicted state (module docstring)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        applied = results.apply(full)
    ssm = applied.model.ssm
    Z = np.asarray(ssm["design"])[..., 0] if np.ndim(ssm["design"]) == 3 else np.asarray(ssm["design"])
    T = np.asarray(ssm["transition"])
    T = T[..., 0] if T.ndim == 3 else T
    d = float(np.ravel(ssm["obs_intercept"])[0])
    c = np.ravel(ssm["state_intercept"])[:T.shape[0]]
    states = np.asarray(applied.filter_results.predicted_state)[:, np.asarray(origins)]  # (k, M)
    out = np.empty((len(origins), horizon))
    for k in range(horizon):
        out[:, k] = (Z @ states)[0] + d
        states = T @ states + c[:, None]
    return out


def classical_forecast(values, fit_end: int, origins, horizon: int = 1,
                       season: int | None = None) -> ClassicalForecast | None:
    """Fit the classical model on ``values[:fit_end]`` and forecast ``horizon`` steps from each origin.

    Args:
        values: the series (n,).
        fit_end: parameters are estimated on ``values[:fit_end]`` only.
        origins: (M,) indices of the first forecast value; forecasts from origin o use
            ``values[:o]`` only.
        horizon: steps forecast from each origin.
        season: season length (Holt-Winters), or None (ARIMA).

    Returns:
        A :class:`ClassicalForecast`, or ``None`` when statsmodels is not installed.

    Raises:
        DataError: no candidate model could be fitted (e.g. fewer values than two seasons).
    """
    mods = _import_statsmodels()
    if mods is None:
        return None
    ARIMA, ExponentialSmoothing, adfuller = mods
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    origins = np.asarray(origins)
    best = None
    if season:
        scales = ["series"] + (["log"] if y.min() > 0 else [])
        for scale in scales:
            u = np.log(y) if scale == "log" else y
            jacobian = 2.0 * float(np.log(y[:fit_end]).sum()) if scale == "log" else 0.0
            for damped in (False, True):
                res = _fit_quietly(ExponentialSmoothing, u[:fit_end],
                                   {"trend": True, "damped_trend": damped, "seasonal": int(season)}, disp=False)
                if res is None:
                    continue
                aic = float(res.aic) + jacobian
                if np.isfinite(aic) and (best is None or aic < best[0]):
                    label = f"Holt-Winters ETS(A,{'Ad' if damped else 'A'},A)" + (" on log" if scale == "log" else "")
                    best = (aic, res, u, scale == "log", label, 0.0)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_unit_root = float(adfuller(y[:fit_end])[1])
        d = 0 if p_unit_root < 0.05 else 1
        shift = float(y[:fit_end].mean()) if d == 0 else 0.0
        u = y - shift
        for p in range(3):
            for q in range(3):
                if p == q == 0 and d == 0:
                    continue
                res = _fit_quietly(ARIMA, u[:fit_end], {"order": (p, d, q)})
                if res is None:
                    continue
                aic = float(res.aic)
                if np.isfinite(aic) and (best is None or aic < best[0]):
                    best = (aic, res, u, False, f"ARIMA({p},{d},{q})", shift)
    if best is None:
        raise DataError(f"classical baseline skipped: no {'Holt-Winters' if season else 'ARIMA'} model could be "
                        f"fitted to the {fit_end} values before the test part")
    aic, res, u, logged, label, shift = best
    pred = _state_forecasts(res, u, origins, horizon) + shift
    return ClassicalForecast(np.exp(pred) if logged else pred, label, aic)

