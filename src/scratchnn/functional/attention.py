"""The maths of attention, as functions of arrays: layer normalisation, masked scaled
dot-product attention (forward and backward), sinusoidal position codes.

Shapes use N (batch), H (heads), T (query positions), S (key positions), D (features),
d (features per head). Every function works on whole batches at once: there is no
Python loop over heads or positions, so training costs a handful of matrix products.

Attention, per head (Vaswani et al., 2017)::

    scores = Q K^T / sqrt(d)                 (N, H, T, S)
    scores[masked] = -inf                    causal mask and/or key padding mask
    P = softmax(scores, axis=-1)             stable: exp(scores - rowmax)
    out = P V                                (N, H, T, d)

Backward, with dP = dout V^T::

    dV = P^T dout,
    dscores = P * (dP - sum_j(dP * P)),      the softmax Jacobian, row by row,
    dQ = dscores K / sqrt(d),   dK = dscores^T Q / sqrt(d).

A row whose keys are all masked has no distribution to take: its weights are set to
zero (so its output is zero and no gradient flows through it), where PyTorch returns NaN.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import contiguous


# ------------------------------------------------------------------ layer norm
def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5):
    """y = gamma * (x - mu) / sqrt(var + eps) + beta over the last axis.

    mu and var are the mean and the biased variance of each vector x[..., :].
    Returns ``(y, xhat, inv)`` with xhat the normalised input and inv = 1/sqrt(var + eps)
    (shape (..., 1)), which :func:`layer_norm_grad` needs.
    """
    t = x.dtype.type
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(var + t(eps))
    xhat = xc * inv
    y = xhat * gamma
    y += beta
    return y, xhat, inv


def layer_norm_grad(dy: np.ndarray, xhat: np.ndarray, inv: np.ndarray, gamma: np.ndarray,
                    dgamma: np.ndarray | None = None, dbeta: np.ndarray | None = None) -> np.ndarray:
    """dL/dx of :func:`layer_norm`; writes dgamma = sum dy xhat and dbeta = sum dy in place.

    With g = dy * gamma and D features:
    dx = inv * (g - mean(g) - xhat * mean(g * xhat)), means over the last axis.
    """
    d = dy.shape[-1]
    if dgamma is not None:
        np.sum((dy * xhat).reshape(-1, d), axis=0, out=dgamma)
    if dbeta is not None:
        np.sum(dy.reshape(-1, d), axis=0, out=dbeta)
    g = dy * gamma
    mean_g = g.mean(axis=-1, keepdims=True)
    mean_gx = np.mean(g * xhat, axis=-1, keepdims=True)
    g -= mean_g
    g -= xhat * mean_gx
    g *= inv
    return g


# ------------------------------------------------------------------- masks
def causal_mask(t: int, s: int | None = None, offset: int = 0, like=None) -> np.ndarray:
    """A boolean (T, S) mask, True where query i may NOT look at key j: j > i + offset.

    ``offset`` is the number of earlier positions already in the keys (a key/value
    cache): query i sits at absolute position offset + i.
    """
    s = t if s is None else s
    like = np.empty(0) if like is None else like  # the device to build the mask on
    return np.arange(s, like=like)[None, :] > (np.arange(t, like=like)[:, None] + offset)


def combine_masks(causal: np.ndarray | None, key_padding: np.ndarray | None) -> np.ndarray | None:
    """One boolean mask broadcastable to (N, H, T, S) from a (T, S) causal mask and an (N, S)
    key padding mask (True = a padded key, to ignore), or None when both are None."""
    mask = None
    if causal is not None:
        mask = causal[None, None]
    if key_padding is not None:
        kp = key_padding.astype(bool)[:, None, None, :]
        mask = kp if mask is None else (mask | kp)
    return mask


# --------------------------------------------------------------- attention
def masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """softmax over the last axis with ``scores[mask]`` excluded; in place on ``scores``.

    Stable: the row maximum is subtracted before ``exp``, so no score overflows.
    Rows with every key masked get all-zero weights.
    """
    if mask is not None:
        np.copyto(scores, -np.inf, where=mask)
    m = scores.max(axis=-1, keepdims=True)
    if mask is not None:
        m[~np.isfinite(m)] = 0.0  # a fully masked row: exp(-inf - 0) = 0 everywhere
    scores -= m
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if mask is not None:
        total[total == 0] = 1.0
    scores /= total
    return scores


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
              drop: np.ndarray | None = None):
    """Scaled dot-product attention of (N, H, T, d) queries on (N, H, S, d) keys and values.

    Args:
        mask: boolean, broadcastable to (N, H, T, S), True where a key is hidden.
        drop: dropout multipliers (0 or 1/(1 - rate)) of shape (N, H, T, S) applied to
            the weights after the softmax, or None.

    Returns:
        ``(out, weights)``: out (N, H, T, d) and the softmax weights (N, H, T, S) before
        dropout (what a plot of the attention shows, and what the backward pass needs).
    """
    scale = q.dtype.type(1.0 / math.sqrt(q.shape[-1]))
    scores = np.matmul(q * scale, k.swapaxes(-1, -2))
    weights = masked_softmax(scores, mask)
    used = weights if drop is None else weights * drop
    return np.matmul(used, v), weights


def attention_grad(dout: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                   weights: np.ndarray, drop: np.ndarray | None = None):
    """``(dq, dk, dv)`` of :func:`attention` given dL/dout (N, H, T, d)."""
    scale = q.dtype.type(1.0 / math.sqrt(q.shape[-1]))
    used = weights if drop is None else weights * drop
    dv = np.matmul(used.swapaxes(-1, -2), dout)
    dp = np.matmul(dout, v.swapaxes(-1, -2))
    if drop is not None:
        dp *= drop
    # softmax backward: ds = P * (dP - sum_j dP_j P_j)
    row = np.sum(dp * weights, axis=-1, keepdims=True)
    dp -= row
    dp *= weights
    dp *= scale
    dq = np.matmul(dp, k)
    dk = np.matmul(dp.swapaxes(-1, -2), q)
    return dq, dk, dv


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(N, T, H*d) -> (N, H, T, d), contiguous (so that batched products use BLAS)."""
    n, t, dm = x.shape
    return contiguous(x.reshape(n, t, num_heads, dm // num_heads).transpose(0, 2, 1, 3))


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(N, H, T, d) -> (N, T, H*d), the inverse of :func:`split_heads`."""
    n, h, t, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n, t, h * d)


# ------------------------------------------------------------ positions
def sinusoidal_table(length: int, dim: int, base: float = 10000.0, dtype=np.float64) -> np.ndarray:
    """The (length, dim) table of sinusoidal position codes (Vaswani et al., 2017):

    PE[p, 2i] = sin(p / base^(2i/dim)),   PE[p, 2i+1] = cos(p / base^(2i/dim)).

    Each pair of columns turns at its own frequency, so PE[p + k] is a fixed rotation
    of PE[p]: relative offsets are linear functions the attention can read.
    """
    pos = np.arange(length, dtype=np.float64)[:, None]
    freq = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    table = np.zeros((length, dim))
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq[: dim // 2])
    return table.astype(dtype)
