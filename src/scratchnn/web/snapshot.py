"""What the playground draws: the decision boundary and one heat map per hidden unit, as small byte grids.

The plane shown is the square :func:`domain` around the data. The model is run on a regular grid
over it (row 0 at the top, ``y`` decreasing down the rows, ``x`` increasing along them):

- boundary, ``(G, G)`` grid: the predicted class ``argmax_c p_c`` and the confidence
  ``(max_c p_c - 1/C) / (1 - 1/C)`` scaled to 0..255, where ``p = softmax(logits)``;
- hidden units, ``(U, U)`` grid per unit: the unit's activation ``a`` divided by the largest
  ``|a|`` of that unit on the grid, mapped from [-1, 1] to 0..255 (128 means 0).

Arrays travel base64-encoded (``uint8``, C order), so a snapshot of a 6 x 64-unit network is
about 130 KB of JSON; the page paints them on ``<canvas>`` elements.
"""
from __future__ import annotations

import base64

import numpy as np

from ..layers.activations import Activation

BOUNDARY_GRID = 64
UNIT_GRID = 20


def domain(x: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)``: a square holding every point of ``x`` (N, 2) with a margin."""
    lo, hi = x.min(axis=0).astype(float), x.max(axis=0).astype(float)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * (1 + pad)
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def grid_points(dom, n: int, dtype=np.float32) -> np.ndarray:
    """(n*n, 2) points of an n x n grid over ``dom``, row by row from the top."""
    xs = np.linspace(dom[0], dom[1], n)
    ys = np.linspace(dom[3], dom[2], n)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(dtype)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _forward_with_hidden(model, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The model's output on ``x`` and the output of every activation layer before the last layer."""
    hidden = []
    for i, layer in enumerate(model.layers):
        x = layer(x, False)
        if isinstance(layer, Activation) and i < len(model.layers) - 1:
            hidden.append(x)
    return x, hidden


def boundary(model, dom, n: int = BOUNDARY_GRID) -> dict:
    """The decision boundary on an ``n`` x ``n`` grid: ``{"size", "classes", "cls", "conf"}``."""
    logits, _ = _forward_with_hidden(model, grid_points(dom, n, model.dtype))
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    c = p.shape[1]
    conf = (p.max(axis=1) - 1.0 / c) / (1.0 - 1.0 / c)
    return {"size": n, "classes": c, "cls": b64(p.argmax(axis=1)),
            "conf": b64(np.clip(np.rint(conf * 255), 0, 255))}


def unit_maps(model, dom, n: int = UNIT_GRID) -> list[dict]:
    """One ``{"units", "size", "data"}`` per hidden layer; ``data`` holds (units, n, n) bytes."""
    _, hidden = _forward_with_hidden(model, grid_points(dom, n, model.dtype))
    out = []
    for a in hidden:
        a = a.astype(np.float64).T  # (units, n*n)
        scale = np.abs(a).max(axis=1, keepdims=True)
        scaled = np.divide(a, scale, out=np.zeros_like(a), where=scale > 0)
        out.append({"units": int(a.shape[0]), "size": n,
                    "data": b64(np.clip(np.rint(127.5 + 127.5 * scaled), 0, 255))})
    return out
