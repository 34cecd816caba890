"""Inside a convolutional network: feature maps of one image and the learned filters."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError, ShapeError
from ..layers.activations import Activation
from ..layers.conv import Conv2D
from ._style import grid_shape, new_figure, styled


def _as_image_batch(image, model) -> np.ndarray:
    """One image as a batch of one (1, C, H, W): accepts (H, W), (C, H, W) or (1, C, H, W)."""
    x = np.asarray(image)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ShapeError("plot_feature_maps: expected one image (H, W), (C, H, W) or (1, C, H, W); "
                         f"got {x.shape}")
    scale = 1.0 / 255.0 if x.dtype == np.uint8 else 1.0
    return (x.astype(model.dtype) * model.dtype.type(scale))


def feature_maps(model, image, after_activation: bool = True) -> list[tuple[str, np.ndarray]]:
    """``[(label, maps (C, H, W)), ...]`` for every Conv2D layer of ``model`` on one image.

    With ``after_activation`` (default) a conv layer directly followed by an activation
    layer is shown after that activation (what the next layer sees).
    """
    x = _as_image_batch(image, model)
    if not model.built:
        model.build(x.shape[1:])
    layers = model.layers
    outputs = []
    for layer in layers:
        x = layer(x, training=False)
        outputs.append(x)
    out = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Conv2D):
            j = i + 1 if (after_activation and i + 1 < len(layers)
                          and isinstance(layers[i + 1], Activation)) else i
            label = f"{i}: Conv2D" + (f" + {type(layers[j]).__name__}" if j != i else "")
            out.append((label, np.array(outputs[j][0])))
    if not out:
        raise ConfigError("plot_feature_maps: the model has no Conv2D layer")
    return out


@styled
def plot_feature_maps(model, image, *, max_channels: int = 8, after_activation: bool = True,
                      title: str | None = "Feature maps") -> Figure:
    """One row per Conv2D layer: the input image, then up to ``max_channels`` feature maps.

    Maps are shown with their own grey scale (bright = strong response); the channels with
    the largest mean activation are shown first. Early layers respond to edges and
    strokes; later, coarser maps to parts of the shape.

    Args:
        model: a built (usually trained) :class:`~scratchnn.Sequential` with Conv2D layers.
        image: one image, (H, W), (C, H, W) or (1, C, H, W) (uint8 is scaled to [0, 1]).
        path: (keyword) save a PNG there.
    """
    maps = feature_maps(model, image, after_activation)
    x = _as_image_batch(image, model)[0]
    cols = 1 + min(max_channels, max(m.shape[0] for _, m in maps))
    fig = new_figure(1.2 * cols + 0.4, 1.35 * len(maps) + 0.6)
    axes = fig.subplots(len(maps), cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for row, (label, m) in enumerate(maps):
        axes[row, 0].imshow(x[0] if x.shape[0] != 3 else np.clip(x.transpose(1, 2, 0), 0, 1),
                            cmap="gray", interpolation="nearest")
        axes[row, 0].set_title(f"input\n→ {label}", fontsize=7, fontweight="normal")
        order = np.argsort(-m.reshape(len(m), -1).mean(axis=1), kind="stable")[:cols - 1]
        for col, ch in enumerate(order, start=1):
            axes[row, col].imshow(m[ch], cmap="gray", interpolation="nearest")
            axes[row, col].set_title(f"ch {ch} {m.shape[1]}x{m.shape[2]}", fontsize=7, fontweight="normal")
    if title:
        fig.suptitle(title)
    return fig


@styled
def plot_conv_filters(model, *, layer_index: int | None = None, max_filters: int = 64,
                      title: str | None = "Learned filters") -> Figure:
    """The kernels of the first Conv2D layer (or ``layer_index``), one small image per filter.

    Single-channel kernels use a red (positive) / blue (negative) scale per filter; RGB
    kernels (C_in = 3) are shown as colour images, rescaled to [0, 1]; other channel
    counts show the mean over input channels.
    """
    if layer_index is None:
        layer_index = next((i for i, lay in enumerate(model.layers) if isinstance(lay, Conv2D)), None)
        if layer_index is None:
            raise ConfigError("plot_conv_filters: the model has no Conv2D layer")
    layer = model.layers[layer_index]
    if not isinstance(layer, Conv2D) or not layer.built:
        raise ConfigError(f"plot_conv_filters: layer {layer_index} is not a built Conv2D layer")
    w = np.asarray(layer.params["W"], dtype=np.float64)[:max_filters]
    rows, cols = grid_shape(len(w), max_cols=8)
    fig = new_figure(0.95 * cols + 0.3, 0.95 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for j, (ax, k) in enumerate(zip(axes.ravel(), w)):
        if k.shape[0] == 3:
            lo, hi = k.min(), k.max()
            ax.imshow(((k - lo) / ((hi - lo) or 1.0)).transpose(1, 2, 0), interpolation="nearest")
        else:
            img = k.mean(axis=0)
            lim = np.abs(img).max() or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(f"{j}", fontsize=7, fontweight="normal")
    if title:
        fig.suptitle(f"{title}: layer {layer_index} ({len(w)} of {layer.out_channels}, "
                     f"{layer.kernel_size[0]}x{layer.kernel_size[1]})")
    return fig
