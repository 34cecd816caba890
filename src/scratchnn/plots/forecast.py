"""Forecast against the actual series, with its prediction interval and the baselines for comparison."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._style import new_figure, styled

_STYLES = {"naive": ("C1", "--", "naive"), "seasonal_naive": ("C2", ":", "seasonal naive"),
           "classical": ("C3", "-.", None)}


@styled
def plot_forecast(result, step: int = 1, context: int = 200, title: str | None = None,
                  future=None) -> Figure:
    """Actual values, the ``step``-ahead forecasts of the test part with their interval; errors below.

    Args:
        result: a :class:`~scratchnn.applications.forecasting.ForecastResult` (from ``fit_forecaster``).
        step: which step ahead to draw (1 .. horizon).
        context: how many values before the test part to draw as history.
        title: figure title (default: the series name).
        future: a :class:`~scratchnn.applications.forecasting.FutureForecast` to draw past the end of the data.
        path: (keyword) save a PNG there.

    Returns:
        The figure: top panel the series, the model's forecasts with the shaded prediction
        interval (its test coverage in the legend), and the baselines (naive, seasonal naive,
        classical); bottom panel the absolute error of the model and of the best baseline.
    """
    if not 1 <= step <= result.horizon:
        raise ValueError(f"plot_forecast: step must be in [1, {result.horizon}]. Received: step={step}")
    k = step - 1
    idx = result.start + k
    t = result.time if result.time is not None else np.arange(len(result.values), dtype=np.float64)
    lo = max(0, int(result.start[0]) - context)
    fig = new_figure(10, 5.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
    top.plot(t[lo:idx[-1] + 1], result.values[lo:idx[-1] + 1], color="black", lw=1.2, label="actual")
    top.plot(t[idx], result.predicted[:, k], color="C0", lw=1.2,
             label=f"{result.model_label} (RMSE {result.scores['model']['rmse']:.4g})")
    if result.lower is not None:
        inside = np.mean((result.actual[:, k] >= result.lower[:, k]) & (result.actual[:, k] <= result.upper[:, k]))
        top.fill_between(t[idx], result.lower[:, k], result.upper[:, k], color="C0", alpha=0.2, lw=0,
                         label=f"{result.level:.0%} interval (holds {inside:.0%} of the test values)")
    for key, pred in result.baselines.items():
        color, ls, label = _STYLES.get(key, ("C4", "-.", key))
        top.plot(t[idx], pred[:, k], color=color, ls=ls, lw=1.0,
                 label=f"{label or result.label(key)} (RMSE {result.scores[key]['rmse']:.4g})")
    if future is not None:
        tf = future.time if future.time is not None else future.index.astype(np.float64)
        top.plot(tf, future.forecast, color="C5", lw=1.2, label=f"future ({len(tf)} steps)")
        top.fill_between(tf, future.lower, future.upper, color="C5", alpha=0.2, lw=0)
    top.axvline(t[result.start[0]], color="grey", lw=0.8, ls="--")
    top.set_ylabel(result.name)
    top.legend(loc="best", fontsize="small")
    top.set_title(title or f"{result.name}: {step}-step-ahead forecast on the test part")
    bottom.plot(t[idx], np.abs(result.actual[:, k] - result.predicted[:, k]), color="C0", lw=0.9,
                label=result.model_label)
    best = min(result.baselines, key=lambda key: result.scores[key]["rmse"])
    color, ls, _ = _STYLES.get(best, ("C4", "-.", best))
    bottom.plot(t[idx], np.abs(result.actual[:, k] - result.baselines[best][:, k]), color=color,
                lw=0.9, ls=ls, label=result.label(best))
    bottom.set_ylabel("|error|")
    bottom.set_xlabel("time" if result.time is not None else "index")
    bottom.legend(loc="upper left", fontsize="small")
    return fig
