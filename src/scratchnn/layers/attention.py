"""MultiHeadAttention: scaled dot-product attention over several heads, self or cross."""
from __future__ import annotations

import numpy as np

from ..backend import contiguous, device_of
from ..errors import ConfigError, ShapeError
from ..functional import attention as FA
from ..registry import register_layer
from ..threads import blas_single_thread as _blas_one_thread
from .base import Layer
from .dense import _positive_int


@register_layer
class MultiHeadAttention(Layer):
    """y = concat_h(softmax(Q_h K_h^T / sqrt(d) + mask) V_h) W_o + b_o.

    Q = x W_q + b_q, K = c W_k + b_k, V = c W_v + b_v, split into H heads of d = D / H
    features each; c = x (self-attention) or a second input, the *context*
    (cross-attention: queries from one sequence, keys and values from another, as
    a translation decoder reads its encoder). All heads and positions are computed
    together: a few batched matrix products, no Python loop (see
    :mod:`scratchnn.functional.attention` for the maths of the forward and backward pass).

    Args:
        d_model: D, the size of the query vectors and of the output (> 0).
        num_heads: H, dividing D.
        dropout: rate of the dropout applied to the attention weights in training.
        causal: position t sees only positions <= t (a language model must not read
            the character it predicts).
        cross_attention: take two inputs ``[x, context]`` instead of one.
        context_dim: size of the context vectors (default D; cross-attention only).
        use_bias: add the biases b_q, b_k, b_v, b_o (default True).

    Shape:
        input (N, T, D), or ``[(N, T, D), (N, S, context_dim)]`` for cross-attention
        -> output (N, T, D). Arrays: W_q (D, D), W_k and W_v (context_dim, D), W_o (D, D)
        (transposes of PyTorch's ``in_proj_weight`` blocks and ``out_proj.weight``) and
        the biases (D,).

    ``forward(x, key_padding_mask=m)`` hides the keys where the boolean (N, S) mask is
    True (padding), as PyTorch's ``key_padding_mask``. After a forward pass the
    softmax weights (N, H, T, S) are in :attr:`attention_weights` (for plots).
    :meth:`step` runs positions one after another with a key/value cache (generation).
    """

    has_training_mode = True

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, causal: bool = False,
                 cross_attention: bool = False, context_dim: int | None = None, use_bias: bool = True,
                 *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.d_model = _positive_int("MultiHeadAttention", "d_model", d_model)
        self.num_heads = _positive_int("MultiHeadAttention", "num_heads", num_heads)
        if self.d_model % self.num_heads:
            raise ConfigError(f"MultiHeadAttention: num_heads must divide d_model. "
                              f"Received: d_model={d_model!r}, num_heads={num_heads!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"MultiHeadAttention: dropout must be in [0, 1). Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.causal = bool(causal)
        self.cross_attention = bool(cross_attention)
        if context_dim is not None and not self.cross_attention:
            raise ConfigError("MultiHeadAttention: context_dim needs cross_attention=True. "
                              f"Received: context_dim={context_dim!r}")
        self.context_dim = (self.d_model if context_dim is None
                            else _positive_int("MultiHeadAttention", "context_dim", context_dim))
        self.use_bias = bool(use_bias)
        self.num_inputs = 2 if self.cross_attention else 1
        self.attention_weights: np.ndarray | None = None

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads

    def expected_shape(self):
        return ("N", "T", self.d_model)

    def input_hint(self, shape):
        return f"MultiHeadAttention({self.d_model}, {self.num_heads}) takes (N, T, {self.d_model}) sequences."

    def _build(self, input_shape, rng):
        if self.cross_attention and (
                len(input_shape) != 2 or len(input_shape[0]) != 2 or len(input_shape[1]) != 2
                or input_shape[0][1] != self.d_model or input_shape[1][1] != self.context_dim):
            raise ShapeError(f"{self.describe()} expects per-sample inputs [(T, {self.d_model}), "
                             f"(S, {self.context_dim})]; got {input_shape}.")
        d, c = self.d_model, self.context_dim
        for key, fan_in in (("q", d), ("k", c), ("v", c), ("o", d)):
            self.add_weight(f"W{key}", (fan_in, d), "glorot_uniform", fan_in=fan_in, fan_out=d)
        if self.use_bias:
            for key in "qkvo":
                self.add_weight(f"b{key}", (d,), "zeros")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]) if self.cross_attention else tuple(input_shape)

    # ------------------------------------------------------------ helpers
    def _project(self, x, which: str):
        """x W_which + b_which for which in "q", "k", "v", "o" (or "qkv": all three at once)."""
        p = self.params
        w = np.concatenate([p["Wq"], p["Wk"], p["Wv"]], axis=1) if which == "qkv" else p["W" + which]
        y = x @ w
        if self.use_bias:
            y += np.concatenate([p["bq"], p["bk"], p["bv"]]) if which == "qkv" else p["b" + which]
        return y

    def _mask(self, t: int, s: int, n: int, key_padding_mask, offset: int = 0):
        """The combined boolean mask, on the weights' device (a GPU model's masks live there too)."""
        like = self.params["Wo"]
        causal = FA.causal_mask(t, s, offset, like=like) if self.causal else None
        if key_padding_mask is not None:
            device = device_of(like)
            if not (hasattr(key_padding_mask, "shape") and device_of(key_padding_mask) is device):
                key_padding_mask = device.put(np.asarray(key_padding_mask))
            if key_padding_mask.shape != (n, s):
                raise ShapeError(f"{self.describe()}: key_padding_mask must have shape (N, S) = ({n}, {s}). "
                                 f"Received: key_padding_mask of shape {key_padding_mask.shape}")
            key_padding_mask = key_padding_mask.astype(bool)
        return FA.combine_masks(causal, key_padding_mask)

    # ------------------------------------------------------------ forward
    def forward(self, x, training=False, key_padding_mask=None):
        h = self.num_heads
        if self.cross_attention:
            x, ctx = x
            q = FA.split_heads(self._project(x, "q"), h)
            k = FA.split_heads(self._project(ctx, "k"), h)
            v = FA.split_heads(self._project(ctx, "v"), h)
        else:
            ctx = None
            n, t, d = x.shape
            qkv = self._project(x, "qkv").reshape(n, t, 3, h, d // h)
            q, k, v = contiguous(qkv.transpose(2, 0, 3, 1, 4))
        n, _, t, _ = q.shape
        s = k.shape[2]
        mask = self._mask(t, s, n, key_padding_mask)
        drop = None
        if training and self.dropout > 0:
            keep = 1.0 - self.dropout
            # drawn on the data's device from the model's generator (reproducible per device)
            drop = (device_of(x).uniform(self.rng, (n, h, t, s), np.float32) < keep).astype(x.dtype)
            drop *= x.dtype.type(1.0 / keep)
        with _blas_one_thread():  # N*H small products: sharing each between threads costs more (recurrent.py)
            out, weights = FA.attention(q, k, v, mask, drop)
        merged = FA.merge_heads(out)
        self.attention_weights = weights
        self.cache = (x, ctx, q, k, v, merged, weights, drop)
        return self._project(merged, "o")

    def backward(self, dy):
        x, ctx, q, k, v, merged, weights, drop = self.cache
        g, d = self.grads, self.d_model
        dy2 = dy.reshape(-1, d)
        np.matmul(merged.reshape(-1, d).T, dy2, out=g["Wo"])
        if self.use_bias:
            np.sum(dy2, axis=0, out=g["bo"])
        dout = FA.split_heads(dy @ self.params["Wo"].T, self.num_heads)
        with _blas_one_thread():
            dq, dk, dv = FA.attention_grad(dout, q, k, v, weights, drop)
        if self.cross_attention:
            dctx = 0
            for key, src, dh in (("q", x, dq), ("k", ctx, dk), ("v", ctx, dv)):
                dm = FA.merge_heads(dh)
                dm2 = dm.reshape(-1, d)
                np.matmul(src.reshape(-1, src.shape[-1]).T, dm2, out=g["W" + key])
                if self.use_bias:
                    np.sum(dm2, axis=0, out=g["b" + key])
                dsrc = dm @ self.params["W" + key].T
                if key == "q":
                    dx = dsrc
                else:
                    dctx = dctx + dsrc
            return [dx, dctx]
        n, t, _ = x.shape
        dqkv = np.stack([dq, dk, dv]).transpose(1, 3, 0, 2, 4).reshape(n * t, 3 * d)
        x2 = x.reshape(-1, d)
        dw = x2.T @ dqkv
        for i, key in enumerate("qkv"):
            g["W" + key][...] = dw[:, i * d:(i + 1) * d]
            if self.use_bias:
                np.sum(dqkv[:, i * d:(i + 1) * d], axis=0, out=g["b" + key])
        if not self.input_grad_required:
            return None
        w = np.concatenate([self.params["Wq"], self.params["Wk"], self.params["Wv"]], axis=1)
        return (dqkv @ w.T).reshape(x.shape)

    # ----------------------------------------------------- cached stepping
    def new_kv_cache(self, batch: int, max_len: int) -> dict:
        """An empty key/value cache for :meth:`step`: room for ``max_len`` positions."""
        shape = (batch, self.num_heads, max_len, self.head_dim)
        like = self.params["Wq"]  # on the weights' device
        return {"k": np.zeros(shape, self.dtype, like=like), "v": np.zeros(shape, self.dtype, like=like), "len": 0}

    def step(self, x: np.ndarray, kv: dict) -> np.ndarray:
        """Self-attention (inference) of the new positions x (N, t, D) on every position so
        far: their keys and values are appended to ``kv`` and the earlier ones re-used, so
        a new position costs O(length) instead of recomputing the whole prefix."""
        if self.cross_attention:
            raise ConfigError("MultiHeadAttention.step is for self-attention")
        h, (n, t, d) = self.num_heads, x.shape
        start = kv["len"]
        if start + t > kv["k"].shape[2]:
            raise ShapeError(f"{self.describe()}: the key/value cache holds {kv['k'].shape[2]} positions; "
                             f"{start + t} needed")
        qkv = self._project(x, "qkv").reshape(n, t, 3, h, d // h).transpose(2, 0, 3, 1, 4)
        kv["k"][:, :, start:start + t] = qkv[1]
        kv["v"][:, :, start:start + t] = qkv[2]
        kv["len"] = end = start + t
        mask = FA.causal_mask(t, end, start, like=x)[None, None] if self.causal else None
        out, weights = FA.attention(contiguous(qkv[0]), kv["k"][:, :, :end], kv["v"][:, :, :end], mask)
        self.attention_weights = weights
        return self._project(FA.merge_heads(out), "o")

    def get_config(self):
        config = {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads,
                  "dropout": self.dropout, "causal": self.causal}
        if self.cross_attention:
            config.update(cross_attention=True, context_dim=self.context_dim)
        if not self.use_bias:
            config["use_bias"] = False
        return config
