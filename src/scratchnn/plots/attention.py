"""Attention maps per head, and learning curves in bits per character."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError, DataError, ShapeError
from ._style import COLORS, grid_shape, new_figure, styled


def attention_weights(model, x: np.ndarray, layer=None) -> np.ndarray:
    """The attention weights (H, T, S) of one sample ``x`` (T,) or (T, D) in ``layer``.

    ``layer`` is a :class:`~scratchnn.layers.MultiHeadAttention` or a
    :class:`~scratchnn.layers.TransformerBlock` of ``model`` (default: the last one);
    the model runs once in inference mode and the layer's weights are read back.
    """
    from ..layers import MultiHeadAttention, TransformerBlock

    if layer is None:
        found = [lay for lay in model.layers if isinstance(lay, (MultiHeadAttention, TransformerBlock))]
        if not found:
            raise ConfigError("attention_weights: the model has no attention layer")
        layer = found[-1]
    attn = layer.attn if isinstance(layer, TransformerBlock) else layer
    model.predict(np.asarray(x)[None].astype(model.dtype))
    return np.array(attn.attention_weights[0], dtype=np.float64)


@styled
def plot_attention(weights: np.ndarray, queries: Sequence[str] | None = None,
                   keys: Sequence[str] | None = None, title: str | None = "Attention weights") -> Figure:
    """One heat map per head: row t shows how query position t spreads its attention over
    the keys (each row sums to 1; masked keys are 0).

    Args:
        weights: (H, T, S) or (T, S) attention weights (see :func:`attention_weights`).
        queries, keys: tick labels (e.g. the characters) for the T rows and S columns.
        title: figure title.
        path: (keyword) save a PNG there.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ShapeError(f"plot_attention expects (H, T, S) or (T, S) weights. Received: shape {w.shape}")
    h, t, s = w.shape
    rows, cols = grid_shape(h, max_cols=4)
    cell = max(2.4, 0.28 * max(t, s))
    fig = new_figure(cell * cols + 0.8, cell * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for i, ax in enumerate(axes.flat):
        if i >= h:
            ax.set_visible(False)
            continue
        image = ax.imshow(w[i], vmin=0.0, vmax=1.0, cmap="viridis", aspect="equal")
        ax.set_title(f"head {i + 1}")
        ax.grid(False)
        for labels, setter, n in ((queries, ax.set_yticks, t), (keys, ax.set_xticks, s)):
            if labels is not None:
                setter(range(n), [repr(c)[1:-1] if c in "\n\t " else c for c in list(labels)[:n]])
        ax.set_xlabel("key")
        if i % cols == 0:
            ax.set_ylabel("query")
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    if title:
        fig.suptitle(title)
    return fig


@styled
def plot_bits_per_char(logs: dict, title: str | None = "Learning curves", x: str = "step") -> Figure:
    """Validation (solid) and training (dashed) bits per character of one or more runs.

    Args:
        logs: ``{"run name": log}`` with each log as :func:`scratchnn.applications.textgen.train_char_lm`
            returns it (lists ``step``, ``train_bpc``, ``val_bpc``; ``seconds`` optional).
        x: "step", or "seconds" to compare runs by wall-clock time (needs a ``time`` list
            in each log, or spreads ``seconds`` evenly over the steps).
        path: (keyword) save a PNG there.
    """
    if not logs:
        raise DataError("plot_bits_per_char: no runs given")
    fig = new_figure(6.4, 3.8)
    ax = fig.subplots()
    for i, (name, log) in enumerate(logs.items()):
        steps = np.asarray(log["step"], dtype=float)
        if x == "seconds":
            xs = (np.asarray(log["time"], float) if "time" in log
                  else steps / max(steps[-1], 1) * float(log.get("seconds", steps[-1])))
        else:
            xs = steps
        color = COLORS[i % len(COLORS)]
        ax.plot(xs, log["val_bpc"], "-", color=color, label=f"{name} (val {log['val_bpc'][-1]:.3f})")
        if log.get("train_bpc"):
            ax.plot(xs, log["train_bpc"], "--", color=color, alpha=0.6)
    ax.set_xlabel("seconds" if x == "seconds" else "step")
    ax.set_ylabel("bits per character")
    ax.legend(title="validation (training dashed)")
    if title:
        ax.set_title(title)
    return fig
