"""Training curves: loss and each metric per epoch, training against validation."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError, DataError
from ._style import new_figure, styled


def _as_dict(history) -> dict[str, list[float]]:
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if not isinstance(history, dict):
        raise ConfigError(f"plot_history expects a History or a dict of lists; got {type(history).__name__}")
    return {k: list(map(float, v)) for k, v in history.items() if k != "epoch"}


@styled
def plot_history(history, title: str | None = "Training history") -> Figure:
    """One panel per quantity (loss, then each metric, then the learning rate when it changes).

    Args:
        history: a :class:`~scratchnn.callbacks.History` (``model.history``) or its dict,
            e.g. ``{"loss": [...], "val_loss": [...], "accuracy": [...], "lr": [...]}``.
        title: figure title.
        path: (keyword) save a PNG there.

    Returns:
        The Matplotlib figure. The best validation epoch of each quantity is marked.
    """
    h = _as_dict(history)
    names = [k for k in h if not k.startswith("val_") and k != "lr"]
    names += [k[4:] for k in h if k.startswith("val_") and k[4:] not in h]
    names.sort(key=lambda k: (k != "loss", k))
    lr = h.get("lr")
    show_lr = lr is not None and len(lr) > 1 and not np.allclose(lr, lr[0])
    n = len(names) + int(show_lr)
    if n == 0:
        raise DataError("plot_history: the history is empty (train the model first)")
    fig = new_figure(4.2 * n, 3.4)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key, label, style in ((name, "training", "-"), (f"val_{name}", "validation", "--")):
            values = h.get(key)
            if not values:
                continue
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, style, marker="o" if len(values) <= 50 else None, markersize=3, label=label)
        val = h.get(f"val_{name}")
        if val:
            best = int(np.argmin(val) if "loss" in name or "error" in name else np.argmax(val))
            ax.scatter([best + 1], [val[best]], s=60, facecolors="none", edgecolors="black", zorder=3,
                       label=f"best val {val[best]:.4g} (epoch {best + 1})")
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.replace("_", " "))
        if "loss" in name and all(v > 0 for v in h.get(name, [])) and len(h.get(name, [])) > 1:
            ratio = max(h[name]) / max(min(h[name]), 1e-12)
            if ratio > 20:
                ax.set_yscale("log")
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    if show_lr:
        ax = axes[-1]
        ax.plot(np.arange(1, len(lr) + 1), lr, color="C2", marker="o" if len(lr) <= 50 else None, markersize=3)
        ax.set_title("learning rate")
        ax.set_xlabel("epoch")
        ax.set_ylabel("lr")
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    return fig
