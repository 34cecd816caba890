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

from ..errors import ConfigError
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
    outputs: list = []
    h = model.forward(np.asarray(x, dtype=model.dtype), training=False, record=outputs)
    index = {id(layer): i for i, layer in enumerate(model.layers)}
    stats = []
    for node, out in outputs:
        kind = type(node.layer).__name__
        s = {"name": f"{index[id(node.layer)]}: {kind}", "kind": kind, "output": out.ravel().copy(),
             "mean": float(out.mean()), "std": float(out.std()), "dead_fraction": None,
             "saturated_fraction": _saturation(kind, out)}
        if kind in ("ReLU",):
            per_unit = out.reshape(len(out), -1)
            s["dead_fraction"] = float(np.mean(np.all(per_unit <= 0, axis=0)))
        stats.append(s)
    if y is not None:
        if getattr(model, "loss", None) is None:
            raise ConfigError("layer_statistics: gradients need a compiled model (model.compile(loss=...))")
        target = model.loss.prepare_targets(np.asarray(y), model.dtype)
        model.loss.forward(h, target)
        grads: list = []
        model.backward(model.loss.backward(), record=grads)
        by_node = {id(node): d for node, d in grads}
        for (node, _), s in zip(outputs, stats):
            dy = by_node[id(node)]
            s["grad"] = np.asarray(dy).ravel().copy()
            s["grad_std"] = float(np.std(dy))
    return stats


_SKIP = ("Dropout", "Identity", "Flatten", "Reshape")


def _density(values: np.ndarray, bins: int):
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi), density=True)
    return (edges[:-1] + edges[1:]) / 2, counts


@styled
def plot_layer_statistics(model, x, y=None, *, bins: int = 60,
                          title: str | None = "Activations and gradients per layer") -> Figure:
    """Distributions of each layer's outputs (left) and, with ``y``, of dL/d(output) (right).

    One line per layer (the activation layers; all layers when there are none), as in
    Karpathy's "makemore" diagnostics. The legend gives each layer's spread and, for ReLU,
    the share of zero outputs and of dead units (zero for every sample; zeros are left out of
    the ReLU curves so that the rest stays visible), for sigmoid/tanh the saturated share.
    Use a batch of a few hundred samples.

    Args:
        model: a built (for gradients: compiled) :class:`~scratchnn.Sequential`.
        x: a batch of inputs; y: its targets (optional).
        path: (keyword) save a PNG there.
    """
    from ..layers.activations import Activation
    from ..registry import LAYERS

    all_stats = layer_statistics(model, x, y)
    kinds = {s["name"]: issubclass(LAYERS.get(s["kind"], object), Activation) for s in all_stats}
    stats = [s for s in all_stats if kinds[s["name"]] and s["kind"] not in _SKIP]
    if not stats:
        stats = [s for s in all_stats if s["kind"] not in _SKIP]
    panels = 2 if y is not None else 1
    fig = new_figure(6.2 * panels, 4.0)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    ax = axes[0]
    for j, s in enumerate(stats):
        values = s["output"]
        label = f"{s['name']}: std {s['std']:.2g}"
        if s["dead_fraction"] is not None:
            zeros = float(np.mean(values <= 0))
            label += f", {zeros:.0%} zeros, {s['dead_fraction']:.0%} dead units"
            values = values[values > 0]
        if s["saturated_fraction"] is not None:
            label += f", {s['saturated_fraction']:.0%} saturated"
        d = _density(values, bins)
        if d is not None:
            ax.plot(*d, color=COLORS[j % 10], label=label)
        else:
            ax.plot([], [], color=COLORS[j % 10], label=label + " (all zero)")
    ax.set_title("Activations (layer outputs)")
    ax.set_xlabel("value")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    if y is not None:
        ax = axes[1]
        for j, s in enumerate(stats):
            d = _density(s["grad"], bins)
            label = f"{s['name']}: std {s['grad_std']:.2g}"
            if d is not None and s["grad_std"] > 0:
                ax.plot(*d, color=COLORS[j % 10], label=label)
            else:
                ax.plot([], [], color=COLORS[j % 10], label=label + " (all zero)")
        ax.set_yscale("log")
        ax.set_title("Gradients dL/d(output)")
        ax.set_xlabel("value")
        ax.set_ylabel("density (log scale)")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
