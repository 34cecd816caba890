"""Decision boundary of a classifier of 2-D points (the XOR and spiral demos)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..errors import ConfigError, ShapeError
from ._style import COLORS, new_figure, styled


def _predictor(model) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(model, "predict"):
        return model.predict
    if hasattr(model, "feedforward"):  # the article's NeuralNetwork
        return model.feedforward
    if callable(model):
        return model
    raise ConfigError("plot_decision_boundary expects a model with .predict, or a function X -> scores")


def class_probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores (N, C) or (N, 1) -> probabilities (N, max(C, 2)).

    One output column is read as P(class 1): used as is when it lies in [0, 1] (a sigmoid
    output), else passed through the sigmoid (a logit). Several columns are softmaxed
    unless each row already sums to 1.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        s = s[:, None]
    if s.shape[1] == 1:
        p = s[:, 0] if (s.min() >= 0 and s.max() <= 1) else 1.0 / (1.0 + np.exp(-s[:, 0]))
        return np.stack([1 - p, p], axis=1)
    if np.all(s >= 0) and np.allclose(s.sum(axis=1), 1.0, atol=1e-4):
        return s
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@styled
def plot_decision_boundary(model, X, y, *, resolution: int = 250, padding: float = 0.25,
                           title: str | None = "Decision boundary", class_names=None) -> Figure:
    """Colour the plane by the predicted class, shaded by confidence, with the data on top.

    Args:
        model: a :class:`~scratchnn.Sequential`, the article's ``NeuralNetwork``, or a function
            mapping points (M, 2) to scores (M, C) or (M, 1).
        X: points (N, 2); y: their labels (N,) or (N, 1) (0/1 targets work).
        resolution: grid points per axis.
        padding: margin around the data, as a fraction of its range.
        class_names: legend labels (default "class k").
        path: (keyword) save a PNG there.

    The background is the predicted class; its saturation is the model's probability for
    that class, so uncertain regions fade to white. Binary models also get the p = 0.5 line.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ShapeError(f"plot_decision_boundary needs 2-D points of shape (N, 2); got {X.shape}")
    labels = np.asarray(y).reshape(len(X), -1)
    labels = labels.argmax(axis=1) if labels.shape[1] > 1 else np.rint(labels[:, 0]).astype(int)
    predict = _predictor(model)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, hi = lo - padding * span, hi + padding * span
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    probs = class_probabilities(predict(grid))
    k = probs.shape[1]
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)

    from matplotlib.colors import to_rgb
    base = np.array([to_rgb(COLORS[c % len(COLORS)]) for c in range(k)])
    strength = ((conf - 1.0 / k) / (1 - 1.0 / k)).clip(0, 1) * 0.55 + 0.1
    rgb = 1 - strength[:, None] * (1 - base[pred])
    fig = new_figure(6.4, 5.0)
    ax = fig.add_subplot()
    ax.imshow(rgb.reshape(resolution, resolution, 3), origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]),
              aspect="auto", interpolation="bilinear")
    if k == 2:
        ax.contour(gx, gy, probs[:, 1].reshape(gx.shape), levels=[0.5], colors="black", linewidths=1.2)
    names = list(class_names) if class_names is not None else [f"class {c}" for c in range(max(k, labels.max() + 1))]
    cmap = ListedColormap(COLORS[:max(k, 2)])
    for c in np.unique(labels):
        m = labels == c
        ax.scatter(X[m, 0], X[m, 1], s=22 if len(X) > 20 else 80, color=cmap(int(c) % cmap.N),
                   edgecolors="black", linewidths=0.6, label=names[int(c)] if int(c) < len(names) else str(c),
                   zorder=3)
    acc = float(np.mean(class_probabilities(predict(X)).argmax(axis=1) == labels))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.set_title((title + "\n" if title else "") + f"accuracy on these points: {acc:.1%}")
    return fig
