"""How a regression model errs: predicted against true values, and the residuals."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..errors import DataError, ShapeError
from ._style import new_figure, styled


@styled
def plot_regression(y_true, y_pred, *, title: str | None = "Predicted vs true") -> Figure:
    r"""Two panels: predicted against true values (the diagonal is a perfect model), and the
    residuals :math:`r_i = \hat y_i - y_i` against the predictions (a good model's scatter is
    flat around 0, without a trend or a funnel).

    Args:
        y_true, y_pred: values (N,) or (N, 1), in the target's units.
        title: figure title; RMSE, MAE and :math:`R^2 = 1 - \sum r_i^2 / \sum (y_i - \bar y)^2`
            are appended.
        path: (keyword) save a PNG there.

    Raises:
        ValueError: different lengths, no values, or non-finite values.
    """
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if len(t) != len(p) or len(t) == 0:
        raise ShapeError(f"plot_regression: {len(t)} true values but {len(p)} predictions")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise DataError("plot_regression: the values must be finite")
    r = p - t
    ss = float(np.sum((t - t.mean()) ** 2))
    r2 = 1.0 - float(np.sum(r ** 2)) / ss if ss > 0 else float("nan")
    fig = new_figure(10, 4.4)
    left, right = fig.subplots(1, 2)
    alpha = 0.7 if len(t) < 500 else 0.3
    left.scatter(t, p, s=10, alpha=alpha, color="C0", edgecolors="none")
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    left.plot([lo, hi], [lo, hi], color="black", lw=0.9, ls="--", label="perfect")
    left.set_xlabel("true value")
    left.set_ylabel("predicted value")
    left.set_title("predicted vs true")
    left.legend(loc="upper left")
    right.scatter(p, r, s=10, alpha=alpha, color="C1", edgecolors="none")
    right.axhline(0.0, color="black", lw=0.9, ls="--")
    right.set_xlabel("predicted value")
    right.set_ylabel("residual (predicted - true)")
    right.set_title("residuals")
    stats = (f"RMSE {np.sqrt(np.mean(r ** 2)):.4g}, MAE {np.mean(np.abs(r)):.4g}, R² {r2:.3f} "
             f"on {len(t):,} samples")
    fig.suptitle((title + "\n" if title else "") + stats)
    return fig
