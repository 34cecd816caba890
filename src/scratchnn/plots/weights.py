"""First-layer weights as images: what each hidden unit of an image model looks for."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._style import grid_shape, new_figure, styled


def first_layer_filters(model_or_weights, image_shape=None) -> np.ndarray:
    """The first layer's weights as a stack of 2-D images (K, H, W).

    A Dense layer's W (D, K) gives K images of ``image_shape`` (default: square, D = H*W);
    a convolution kernel (K, C, kh, kw) gives its K filters (first input channel).
    """
    w = model_or_weights
    if hasattr(w, "layers"):
        layer = next((lay for lay in w.layers if "W" in getattr(lay, "params", {})), None)
        if layer is None:
            raise ValueError("plot_first_layer_weights: the model has no layer with weights 'W'")
        w = layer.params["W"]
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 4:
        return w[:, 0]
    if w.ndim != 2:
        raise ValueError(f"plot_first_layer_weights: expected a (D, K) or (K, C, kh, kw) array; got {w.shape}")
    d, k = w.shape
    if image_shape is None:
        side = int(round(d ** 0.5))
        if side * side != d:
            raise ValueError(f"plot_first_layer_weights: {d} inputs are not a square image; pass image_shape")
        image_shape = (side, side)
    if int(np.prod(image_shape)) != d:
        raise ValueError(f"plot_first_layer_weights: image_shape {tuple(image_shape)} does not hold {d} inputs")
    return w.T.reshape(k, *image_shape)


@styled
def plot_first_layer_weights(model_or_weights, *, image_shape=None, max_units: int = 64,
                             title: str | None = "First-layer weights") -> Figure:
    """Show up to ``max_units`` first-layer units as images (red positive, blue negative).

    Each image has its own symmetric colour scale (units differ in size); the units with
    the largest weight norm are shown first. Smooth stroke-like patterns mean the layer
    learned; pure noise means it did not train (or barely).

    Args:
        model_or_weights: a model (its first layer with ``W``) or the array itself.
        image_shape: (H, W) of the input images, when not square.
        path: (keyword) save a PNG there.
    """
    filters = first_layer_filters(model_or_weights, image_shape)
    norms = np.sqrt((filters ** 2).reshape(len(filters), -1).sum(axis=1))
    order = np.argsort(-norms, kind="stable")[:max_units]
    rows, cols = grid_shape(len(order), max_cols=10)
    fig = new_figure(1.05 * cols + 0.3, 1.05 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, j in zip(axes.ravel(), order):
        img = filters[j]
        lim = np.abs(img).max() or 1.0
        ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(f"unit {j}", fontsize=7, fontweight="normal")
    if title:
        fig.suptitle(f"{title} ({len(order)} of {len(filters)} units, largest norm first)")
    return fig
