"""The forecasting workflow: split, transform, train one ensemble (on one or many series), evaluate.

For each series: cut chronologically into train / validation / test
(:func:`~scratchnn.datasets.timeseries.split_points`), fit its
:class:`~scratchnn.applications.forecasting.transform.SeriesTransform` on the training part, and take
every window whose targets lie inside one part. One ensemble is trained on the training
windows of all series together (each series scaled by its own transform: a *global*
model), stopped early on the validation windows, and then:

- the validation forecasts calibrate the prediction interval (:mod:`.intervals`);
- the test forecasts are scored next to naive, seasonal naive and the classical model
  (:mod:`.classical`) on exactly the same test points;
- :func:`forecast_future` continues the series past its end.

Forecasts longer than ``horizon`` are made recursively: the first ``horizon`` values are
forecast, appended to the history, and the network is applied again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...datasets.timeseries import (
    mae,
    naive_forecast,
    rmse,
    seasonal_naive_forecast,
    split_points,
)
from ...errors import ConfigError, DataError
from .classical import SKIPPED_NOTE, classical_forecast
from .ensemble import Ensemble, train_ensemble
from .intervals import check_level, coverage, residual_quantiles
from .networks import check_kind
from .result import ForecastResult, MultiForecastResult
from .transform import SeriesTransform, check_window, usable_origins

#: The defaults, chosen by measurement (docs/guide/08-recurrent.md and benchmarks/forecast_baselines.py).
DEFAULTS = {"model": "mlp", "members": 5, "hidden_size": 64, "epochs": 200, "patience": 20, "lr": 1e-3,
            "batch_size": 32}


def default_window(season: int | None) -> int:
    """Two seasons of changes with a season, else 24."""
    return 2 * int(season) if season else 24


def forecast_paths(ensemble: Ensemble, transform: SeriesTransform, values, origins, steps: int,
                   horizon: int) -> np.ndarray:
    """Forecasts (M, steps) in transformed units u from each origin, using only ``values[:o]``;
    recursive in chunks of ``horizon`` when ``steps > horizon``."""
    origins = np.asarray(origins, dtype=np.int64)
    hist = transform.tails(values, origins, ensemble.window)
    width = hist.shape[1]
    done = 0
    while done < steps:
        z = ensemble.predict(transform.features(hist, origins + done, ensemble.window))
        hist = np.concatenate([hist, transform.to_units(hist, z)], axis=1)
        done += horizon
    return hist[:, width:width + steps]


def interval_scale(transform: SeriesTransform, values, origins, window: int, adaptive: bool) -> np.ndarray:
    """Local scale of each origin for the interval (ones when not ``adaptive``)."""
    if not adaptive:
        return np.ones(len(origins))
    return transform.local_scale(transform.tails(values, origins, window), window)


@dataclass
class _Part:
    name: str
    y: np.ndarray
    time: np.ndarray | None
    transform: SeriesTransform
    val_start: int
    test_start: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _prepare(name, values, time, window, horizon, season, log, val_fraction, test_fraction,
             difference, season_inputs) -> _Part:
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(y).all():
        raise DataError(f"series {name!r} holds NaN or infinite values; fill or drop them first")
    n = len(y)
    val_start, test_start = split_points(n, val_fraction, test_fraction)
    transform = SeriesTransform.fit(y, val_start, season, log, difference, season_inputs)
    first = transform.first_origin(window)
    origins = {part: usable_origins(n, first, lo, hi, horizon)
               for part, (lo, hi) in {"train": (0, val_start), "val": (val_start, test_start),
                                      "test": (test_start, n)}.items()}
    for part, o in origins.items():
        if len(o) == 0:
            raise DataError(
                f"series {name!r} ({n} values): the {part} part holds no complete window; a forecast needs "
                f"{first} earlier values (window {window} + lag {transform.lag}) and {horizon} targets inside "
                "the part. Use a longer series, a smaller --window or --horizon, or larger fractions.")
    if season and origins["test"].min() < season:
        raise DataError(f"series {name!r} is too short for season {season}")
    return _Part(name, y, None if time is None else np.asarray(time, dtype=np.float64), transform,
                 val_start, test_start, origins["train"], origins["val"], origins["test"])


def fit_many(series, *, window: int | None = None, horizon: int = 1, season: int | None = None,
             model: str | None = None, cell: str | None = None, hidden_size: int | None = None,
             num_layers: int | None = None, members: int | None = None, epochs: int | None = None,
             batch_size: int | None = None, lr: float | None = None, clip_norm: float | None = 1.0,
             log: bool | str = "auto", difference: str = "first", season_inputs: bool = True,
             val_fraction: float = 0.15, test_fraction: float = 0.15,
             patience: int | None = None, seed: int = 0, level: float = 0.8, adaptive_interval: bool = True,
             classical: bool = True, verbose: int = 0) -> MultiForecastResult:
    """Train one global forecaster on several series and evaluate it on each one's test part.

    Args:
        series: ``{name: values}``, or a list of ``(name, values)`` or ``(name, values, time)``.
        window: changes the network sees (default :func:`default_window`).
        horizon: values forecast at once (direct multi-step).
        season: season length m (12 for monthly data): season-position inputs, the seasonal
            naive baseline and Holt-Winters as the classical one (without it: naive and ARIMA).
        model: ``"mlp"`` (default), ``"nbeats"``, ``"lstm"``, ``"gru"`` or ``"rnn"``; ``cell`` is an
            older name for it.
        members: networks in the median ensemble (default 5).
        log: model log values: ``"auto"`` (when the training part is positive), True or False.
        difference: ``"first"`` (changes from one value to the next; the default, measured
            better) or ``"season"`` (changes at lag ``season``, over one season).
        season_inputs: give the network the season position (sin, cos) of each forecast.
        level: the prediction interval's probability (0.8 by default).
        adaptive_interval: scale the interval by the recent turbulence of the series
            (:mod:`~scratchnn.applications.forecasting.intervals`).
        classical: also fit the statsmodels baseline (skipped, with a note, without statsmodels).
        hidden_size: width of the hidden layers (64 for the MLP, 32 for a recurrent cell).
        num_layers: hidden layers of the MLP (2) or stacked recurrent cells (1).
        epochs: at most this many epochs per member; training stops ``patience`` epochs after
            the best validation loss, whose weights are kept.
        batch_size: mini-batch size; lr: Adam's learning rate; clip_norm: gradient clipping.
        val_fraction: size of the validation part; test_fraction: size of the test part.
        seed: seed of the first member (the others use seed + 1, seed + 2, ...).

    Returns:
        A :class:`~scratchnn.applications.forecasting.result.MultiForecastResult`.
    """
    kind = check_kind(model or cell or DEFAULTS["model"])
    horizon = check_window(horizon, "horizon")
    window = check_window(default_window(season) if window is None else window, "window")
    level = check_level(level)
    if season is not None:
        season = check_window(season, "season")
    if isinstance(series, dict):
        series = list(series.items())
    items = [(s[0], s[1], s[2] if len(s) > 2 else None) for s in series]
    if not items:
        raise DataError("no series to forecast")
    names = [i[0] for i in items]
    if len(set(names)) != len(names):
        raise ConfigError(f"series names must be unique. Received: {names}")
    parts = [_prepare(name, v, t, window, horizon, season, log, val_fraction, test_fraction, difference,
                      season_inputs)
             for name, v, t in items]

    def stack(which):
        x = np.concatenate([p.transform.inputs(p.y, getattr(p, which), window) for p in parts])
        y = np.concatenate([p.transform.targets(p.y, getattr(p, which), horizon) for p in parts])
        return x, y

    (x_train, y_train), (x_val, y_val) = stack("train"), stack("val")
    ens = train_ensemble(
        kind, window, x_train, y_train, x_val, y_val,
        members=members or DEFAULTS["members"],
        hidden_size=hidden_size or (DEFAULTS["hidden_size"] if kind in ("mlp", "nbeats") else 32),
        num_layers=num_layers or (2 if kind in ("mlp", "nbeats") else 1), epochs=DEFAULTS["epochs"] if epochs is None else epochs,
        batch_size=batch_size or DEFAULTS["batch_size"], lr=lr or DEFAULTS["lr"], clip_norm=clip_norm,
        patience=DEFAULTS["patience"] if patience is None else patience, seed=seed, verbose=verbose)

    results = []
    for p in parts:
        tr = p.transform
        u = tr.unit(p.y)
        val_hat = forecast_paths(ens, tr, p.y, p.val, horizon, horizon)
        q = residual_quantiles(u[p.val[:, None] + np.arange(horizon)], val_hat, level,
                               interval_scale(tr, p.y, p.val, window, adaptive_interval))
        u_hat = forecast_paths(ens, tr, p.y, p.test, horizon, horizon)
        actual = p.y[p.test[:, None] + np.arange(horizon)]
        predicted = tr.from_unit(u_hat)
        s_test = interval_scale(tr, p.y, p.test, window, adaptive_interval)[:, None]
        lower, upper = tr.from_unit(u_hat + q[0] * s_test), tr.from_unit(u_hat + q[1] * s_test)
        res = ForecastResult(ens, p.name, p.y, p.time, window, horizon, season, kind, p.test, actual,
                             predicted, epochs_run=int(max(ens.epochs)), lower=lower, upper=upper, level=level,
                             coverage=coverage(actual, lower, upper), transform=tr, quantiles=q,
                             fit_end=p.test_start, val_start=p.val_start, adaptive_interval=adaptive_interval,
                             global_with=names if len(parts) > 1 else [])
        res.baselines["naive"] = naive_forecast(p.y, p.test, horizon)
        if season:
            res.baselines["seasonal_naive"] = seasonal_naive_forecast(p.y, p.test, horizon, season)
        if classical:
            try:
                cf = classical_forecast(p.y, p.test_start, p.test, horizon, season)
            except DataError as exc:
                cf, res.classical_note = None, str(exc)
            if cf is None:
                res.classical_note = res.classical_note or SKIPPED_NOTE
            else:
                res.baselines["classical"], res.classical_label = cf.predicted, cf.label
        res.scores["model"] = {"rmse": rmse(actual, predicted), "mae": mae(actual, predicted)}
        for key, pred in res.baselines.items():
            res.scores[key] = {"rmse": rmse(actual, pred), "mae": mae(actual, pred)}
        results.append(res)
    return MultiForecastResult(results)


def fit_forecaster(values, *, name: str = "series", time=None, **kwargs) -> ForecastResult:
    """Train the forecaster on one series and evaluate it on its test part.

    Takes the arguments of :func:`fit_many` (``window``, ``horizon``, ``season``, ``model``,
    ``members``, ``level``, ``classical``, ...). Without a season the network models first
    differences; with one, differences at lag ``season`` plus the season position.

    Returns:
        A :class:`~scratchnn.applications.forecasting.result.ForecastResult`; ``print(result.report())``.
    """
    return fit_many([(name, values, time)], **kwargs).results[0]


@dataclass
class FutureForecast:
    """``steps`` values past the end of a series, with the prediction interval."""

    name: str
    time: np.ndarray | None
    index: np.ndarray
    forecast: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    offsets: np.ndarray | None = None      # (2, steps) calibrated offsets before the local scale

    def to_csv(self, path) -> None:
        """``step,time,forecast,lower,upper`` (time only when the series had one); written atomically."""
        from ...atomic import atomic_write

        lo, hi = f"lower_{self.level:.0%}".replace("%", ""), f"upper_{self.level:.0%}".replace("%", "")
        head = ["step"] + (["time"] if self.time is not None else []) + ["forecast", lo, hi]
        rows = [",".join(head)]
        for k in range(len(self.forecast)):
            cells = [str(k + 1)] + ([f"{self.time[k]:.6g}"] if self.time is not None else [])
            cells += [f"{v:.6g}" for v in (self.forecast[k], self.lower[k], self.upper[k])]
            rows.append(",".join(cells))
        atomic_write(path, lambda f: f.write(("\n".join(rows) + "\n").encode()))


def forecast_future(result: ForecastResult, steps: int) -> FutureForecast:
    """Forecast ``steps`` values past the end of ``result``'s series, with its interval level.

    The network is the one trained on the training part; its inputs are the last values of
    the series. The interval of step k is calibrated on the k-step forecasts made from every
    origin after the training part whose k targets are known (validation and test parts).
    """
    steps = check_window(steps, "steps")
    tr, ens, y = result.transform, result.model, result.values
    if not isinstance(ens, Ensemble) or tr is None:
        raise ConfigError("forecast_future needs a result of fit_forecaster or fit_many")
    n = len(y)
    calib = np.arange(max(result.val_start, tr.first_origin(ens.window)), n - steps + 1)
    if len(calib) < 5:
        raise DataError(f"{steps} future steps are too many for {result.name!r}: calibrating the interval needs at "
                        f"least 5 origins with {steps} known values after them after the training part "
                        f"(there are {max(len(calib), 0)}). Forecast fewer steps.")
    u = tr.unit(y)
    adaptive = result.adaptive_interval
    q = residual_quantiles(u[calib[:, None] + np.arange(steps)],
                           forecast_paths(ens, tr, y, calib, steps, result.horizon), result.level,
                           interval_scale(tr, y, calib, ens.window, adaptive))
    end = np.array([n])
    path = forecast_paths(ens, tr, y, end, steps, result.horizon)[0]
    w = q * interval_scale(tr, y, end, ens.window, adaptive)[0]
    time = None
    if result.time is not None and n > 1:
        dt = float(np.median(np.diff(result.time)))
        time = result.time[-1] + dt * np.arange(1, steps + 1)
    return FutureForecast(result.name, time, np.arange(n, n + steps), tr.from_unit(path),
                          tr.from_unit(path + w[0]), tr.from_unit(path + w[1]), result.level, q)
