"""How a classifier errs: the confusion matrix and a grid of misclassified images."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..errors import ShapeError
from ._style import grid_shape, new_figure, styled


def _labels(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(len(y)).astype(np.int64)


def confusion_counts(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as class j.

    ``y_true`` and ``y_pred`` may be labels (N,) or scores/one-hot rows (N, C).
    """
    t, p = _labels(y_true), _labels(y_pred)
    if len(t) != len(p):
        raise ShapeError(f"confusion matrix: {len(t)} true labels but {len(p)} predictions")
    n = n_classes or int(max(t.max(initial=0), p.max(initial=0))) + 1
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


@styled
def plot_confusion_matrix(y_true, y_pred, class_names=None, *, normalize: bool = True,
                          title: str | None = "Confusion matrix") -> Figure:
    """Heat map of the confusion matrix; rows are true classes, columns predictions.

    Args:
        y_true, y_pred: labels (N,) or score rows (N, C).
        class_names: tick labels (default 0..C-1).
        normalize: colour by the fraction of each true class (each row sums to 1);
            the cells always show the counts.
        path: (keyword) save a PNG there.
    """
    n = len(class_names) if class_names is not None else None
    cm = confusion_counts(y_true, y_pred, n)
    k = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    rows = cm.sum(axis=1, keepdims=True)
    shown = cm / np.maximum(rows, 1) if normalize else cm
    size = 1.0 + 0.5 * k
    fig = new_figure(size + 1.4, size)
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class" if normalize else "count")
    thresh = (shown.max() or 1) / 2
    small = k > 12
    for i in range(k):
        for j in range(k):
            if cm[i, j] or i == j:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6 if small else 8,
                        color="white" if shown[i, j] > thresh else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.grid(False)
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title((title + "\n" if title else "") + f"accuracy {acc:.2%} on {cm.sum():,} samples")
    return fig


@styled
def plot_misclassified(images, y_true, y_pred, class_names=None, *, max_images: int = 36,
                       title: str | None = "Misclassified test images") -> Figure:
    """A grid of the misclassified images, each titled "true -> predicted (p)".

    Args:
        images: (N, H, W) or (N, 1, H, W) or flat (N, H*W) square images, or RGB (N, 3, H, W).
        y_true: labels (N,); y_pred: labels (N,) or scores/probabilities (N, C). With
            scores, the images shown are the most confidently wrong ones first.
        max_images: at most this many cells.
        path: (keyword) save a PNG there.
    """
    imgs = np.asarray(images)
    if imgs.ndim == 4 and imgs.shape[1] == 1:
        imgs = imgs[:, 0]
    elif imgs.ndim == 4 and imgs.shape[1] == 3:  # RGB (N, 3, H, W): shown in colour
        imgs = imgs.transpose(0, 2, 3, 1)
    elif imgs.ndim == 2:
        side = int(round(imgs.shape[1] ** 0.5))
        if side * side != imgs.shape[1]:
            raise ShapeError(f"plot_misclassified: cannot show flat images of {imgs.shape[1]} pixels as squares")
        imgs = imgs.reshape(len(imgs), side, side)
    if imgs.ndim != 3 and not (imgs.ndim == 4 and imgs.shape[3] == 3):
        raise ShapeError(f"plot_misclassified expects images (N, H, W) or (N, 3, H, W); got {np.shape(images)}")
    t = _labels(y_true)
    scores = np.asarray(y_pred)
    p = _labels(scores)
    wrong = np.flatnonzero(p != t)
    conf = None
    if scores.ndim == 2 and scores.shape[1] > 1:
        from .decision import class_probabilities
        probs = class_probabilities(scores)
        conf = probs[np.arange(len(p)), p]
        wrong = wrong[np.argsort(-conf[wrong], kind="stable")]
    shown = wrong[:max_images]
    names = [str(c) for c in class_names] if class_names is not None else None

    def name(c: int) -> str:
        return names[c] if names and c < len(names) else str(c)
    if len(shown) == 0:
        fig = new_figure(4, 2)
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, f"No misclassified images among {len(t):,}", ha="center", va="center")
        return fig
    rows, cols = grid_shape(len(shown), max_cols=8 if names and max(map(len, names)) > 3 else 9)
    fig = new_figure(1.25 * cols + 0.3, 1.45 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), shown):
        ax.imshow(imgs[i], cmap="gray_r", interpolation="nearest")
        label = f"{name(int(t[i]))} → {name(int(p[i]))}"
        if conf is not None:
            label += f"\n(p={conf[i]:.2f})"
        ax.set_title(label, fontsize=8, color="firebrick", fontweight="normal")
    if title:
        fig.suptitle(f"{title}: {len(wrong):,} of {len(t):,} (true → predicted)")
    return fig
