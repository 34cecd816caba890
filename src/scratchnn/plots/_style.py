"""Shared look and saving for :mod:`scratchnn.plots` (no pyplot: figures are plain ``Figure`` objects)."""
from __future__ import annotations

import functools
import os
from collections.abc import Callable

import matplotlib
from matplotlib.figure import Figure

STYLE = {
    "font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold", "axes.labelsize": 10,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9, "legend.frameon": False,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "figure.titlesize": 13, "figure.titleweight": "bold", "savefig.dpi": 110,
    "figure.facecolor": "white", "axes.facecolor": "white",
}
#: Colour per series/class (matplotlib's tab10).
COLORS = [f"C{i}" for i in range(10)]


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A Figure not tied to any GUI backend (renders through Agg when saved)."""
    return Figure(figsize=(width, height), layout="constrained", **kwargs)


def save(fig: Figure, path: str | os.PathLike | None) -> None:
    """Write ``fig`` as PNG to ``path`` (its folder is created) when ``path`` is given."""
    if path is None:
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, format="png")


def styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw ``fn``'s figure under :data:`STYLE` and save it to its ``path=`` keyword if given."""
    @functools.wraps(fn)
    def wrapper(*args, path: str | os.PathLike | None = None, **kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            fig = fn(*args, **kwargs)
            save(fig, path)
        return fig
    return wrapper


def grid_shape(n: int, max_cols: int = 10) -> tuple[int, int]:
    """(rows, cols) of a near-square grid holding ``n`` cells."""
    cols = min(max_cols, max(1, int(round(n ** 0.5 + 0.49))))
    rows = -(-n // cols)
    return rows, cols
