"""Inside the network: distributions of activations and gradients per layer.

How to read them (after Karpathy's "makemore" diagnostics):

- **dead ReLUs**: a ReLU layer whose units output 0 for every sample of the batch.
  A few are harmless; a large fraction means the learning rate or the initialisation is off.
- **saturation**: sigmoid outputs beyond [0.02, 0.98] or tanh beyond ±0.98; there the
  local gradient is almost zero and the layer stops learning.
- **gradients**: the spread of dL/d(output) should be of a similar order in every layer;
  shrinking towards the input means vanishing gradients, growing means exploding ones.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._style import COLORS, new_figure, styled


def _saturation(kind: str, out: np.ndarray) -> float | None:
    if kind == "Sigmoid":
        return float(np.mean((out < 0.02) | (out > 0.98)))
    if kind == "Tanh":
        return float(np.mean(np.abs(out) > 0.98))
    return None


def layer_statistics(model, x, y=None) -> list[dict]:
    """Per layer: its output values, and with ``y`` the gradient dL/d(output), plus summary numbers.

    Runs one forward pass in inference mode (dropout off) on ``x`` and, when ``y`` is given
    and the model is compiled, one backward pass of the model's loss. Parameters and the
    optimizer are not changed (each layer's ``grads`` are overwritten, as in any backward pass).

    Returns:
        One dict per layer: ``name``, ``kind``, ``output`` (flattened values), ``mean``, ``std``,
        ``dead_fraction`` (ReLU-like layers: units zero for every sample), ``saturated_fraction``
        (sigmoid/tanh), and with ``y``: ``grad`` (flattened dL/d(output)) and ``grad_std``.
    """
    x = np.asarray(x)
    if not getattr(model, "built", False):
        model.build(x.shape[1:])
    h = np.asarray(x, dtype=model.dtype)
    stats = []
    for i, layer in enumerate(model.layers):
        h = layer(h, training=False)
        kind = type(layer).__name__
        s = {"name": f"{i}: {kind}", "kind": kind, "output": h.ravel().copy(),
             "mean": float(h.mean()), "std": float(h.std()), "dead_fraction": None,
             "saturated_fraction": _saturation(kind, h)}
        if kind in ("ReLU",):
            per_unit = h.reshape(len(h), -1)
            s["dead_fraction"] = float(np.mean(np.all(per_unit <= 0, axis=0)))
        stats.append(s)
    if y is not None:
        if getattr(model, "loss", None) is None:
            raise ValueError("layer_statistics: gradients need a compiled model (model.compile(loss=...))")
        target = model.loss.prepare_targets(np.asarray(y), model.dtype)
        model.loss.forward(h, target)
        dy = model.loss.backward()
        for i in range(len(model.layers) - 1, -1, -1):
            stats[i]["grad"] = np.asarray(dy).ravel().copy()
            stats[i]["grad_std"] = float(np.std(dy))
            dy = model.layers[i].backward(dy)
    return stats


def _describe(s: dict) -> str:
    parts = [f"std {s['std']:.3g}"]
    if s["dead_fraction"] is not None:
        parts.append(f"dead {s['dead_fraction']:.0%}")
    if s["saturated_fraction"] is not None:
        parts.append(f"saturated {s['saturated_fraction']:.0%}")
    return ", ".join(parts)


_SKIP = ("Dropout", "Identity", "Flatten", "Reshape")


@styled
def plot_layer_statistics(model, x, y=None, *, bins: int = 60,
                          title: str | None = "Activations and gradients per layer") -> Figure:
    """Histograms of every layer's outputs (top row) and, with ``y``, of dL/d(output) (bottom row).

    Each activation panel names the fraction of dead units (ReLU) or saturated values
    (sigmoid, tanh). Layers that do not change the values (dropout at inference, flatten) are
    left out. Use a batch of a few hundred samples.

    Args:
        model: a built (for gradients: compiled) :class:`~scratchnn.Sequential`.
        x: a batch of inputs; y: its targets (optional).
        path: (keyword) save a PNG there.
    """
    stats = [s for s in layer_statistics(model, x, y) if s["kind"] not in _SKIP]
    n = len(stats)
    rows = 2 if y is not None else 1
    fig = new_figure(max(3.0 * n, 6), 2.7 * rows + 0.5)
    axes = fig.subplots(rows, n, squeeze=False)
    for j, s in enumerate(stats):
        ax = axes[0, j]
        values = s["output"]
        ax.hist(values, bins=bins, color=COLORS[j % 10], alpha=0.85)
        if s["kind"] == "ReLU":
            ax.set_yscale("log")
        ax.set_title(s["name"], fontsize=9)
        ax.set_xlabel(f"output ({_describe(s)})", fontsize=8)
        if j == 0:
            ax.set_ylabel("count (activations)")
        if y is not None:
            ax = axes[1, j]
            g = s["grad"]
            ax.hist(g, bins=bins, color=COLORS[j % 10], alpha=0.6)
            ax.set_yscale("log")
            ax.set_xlabel(f"dL/d output (std {s['grad_std']:.2g})", fontsize=8)
            if j == 0:
                ax.set_ylabel("count (gradients)")
    if title:
        fig.suptitle(title)
    return fig
