"""Forecast against the actual series, with the naive baselines for comparison."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._style import new_figure, styled


@styled
def plot_forecast(result, step: int = 1, context: int = 200, title: str | None = None) -> Figure:
    """Actual values and the ``step``-ahead forecasts of the test part; errors below.

    Args:
        result: a :class:`~scratchnn.forecast.ForecastResult` (from ``fit_forecaster``).
        step: which step ahead to draw (1 .. horizon).
        context: how many values before the test part to draw as history.
        title: figure title (default: the series name and RMSEs).
        path: (keyword) save a PNG there.

    Returns:
        The figure: top panel series + forecasts (model, naive, seasonal naive), bottom
        panel the absolute error of the model and of the naive forecast.
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
             label=f"{result.cell.upper()} (RMSE {result.scores['model']['rmse']:.4g})")
    styles = {"naive": ("C1", "--", "naive"), "seasonal_naive": ("C2", ":", "seasonal naive")}
    for key, pred in result.baselines.items():
        color, ls, label = styles.get(key, ("C3", "-.", key))
        top.plot(t[idx], pred[:, k], color=color, ls=ls, lw=1.0,
                 label=f"{label} (RMSE {result.scores[key]['rmse']:.4g})")
    top.axvline(t[result.start[0]], color="grey", lw=0.8, ls="--")
    top.set_ylabel(result.name)
    top.legend(loc="best")
    top.set_title(title or f"{result.name}: {step}-step-ahead forecast on the test part")
    bottom.plot(t[idx], np.abs(result.actual[:, k] - result.predicted[:, k]), color="C0", lw=0.9,
                label=result.cell.upper())
    bottom.plot(t[idx], np.abs(result.actual[:, k] - result.baselines["naive"][:, k]), color="C1",
                lw=0.9, ls="--", label="naive")
    bottom.set_ylabel("|error|")
    bottom.set_xlabel("time" if result.time is not None else "index")
    bottom.legend(loc="upper left")
    return fig
