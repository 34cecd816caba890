"""First-layer weights as images: what each hidden unit of an image model looks for."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError, ShapeError
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
            raise ConfigError("plot_first_layer_weights: the model has no layer with weights 'W'")
        w = layer.params["W"]
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 4:
        return w[:, 0]
    if w.ndim != 2:
        raise ShapeError(f"plot_first_layer_weights: expected a (D, K) or (K, C, kh, kw) array; got {w.shape}")
    d, k = w.shape
    if image_shape is None:
        side = int(round(d ** 0.5))
        if side * side != d:
            raise ShapeError(f"plot_first_layer_weights: {d} inputs are not a square image; pass image_shape")
        image_shape = (side, side)
    if int(np.prod(image_shape)) != d:
        raise ValueError(f"plot_first_layer_weights: image_shape {tuple(image_shape)} does not hold {d} inputs")
    return w.T.reshape(k, *image_shape)


@styled
def plot_first_layer_weights(model_or_weights, *, image_shape=None, max_units: int = 64,
                             title: str | None = "First-layer weights") -> Figure:
    """Show up to ``max_units`` first-layer units as images (red positive, blue negative).

    Each image has its own symmetric colour scale (units differ in size); the units with
    the largest weight norm are shown first, labelled with their index. Smooth stroke-like patterns mean the layer
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
    h, w = filters.shape[1:]
    gap = max(1, h // 10)
    # One mosaic image (fast to draw): each unit scaled to [-1, 1] by its own largest |weight|,
    # NaN gaps between tiles drawn white.
    mosaic = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for k, j in enumerate(order):
        r, c = divmod(k, cols)
        lim = np.abs(filters[j]).max() or 1.0
        mosaic[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = filters[j] / lim
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
    small = h < 10  # convolution kernels: no room for labels inside the tiles
    scale = 1.0 if not small else 0.6
    fig = new_figure(max(6.0, scale * cols + 0.8), scale * rows + 1.0)
    ax = fig.add_subplot()
    ax.imshow(mosaic, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    for k, j in enumerate(order if not small else []):
        r, c = divmod(k, cols)
        ax.text(c * (w + gap) + 0.5, r * (h + gap) + 0.5, str(j), fontsize=6, color="0.3", va="top", ha="left")
    if title:
        what = "filters" if small else "units"
        fig.suptitle(f"{title}\n({len(order)} of {len(filters)} {what}, largest norm first)")
    return fig
