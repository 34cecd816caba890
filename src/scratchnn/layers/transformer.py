"""TransformerBlock: a pre-norm Transformer layer (attention, then an MLP, each on a residual)."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..registry import register_layer
from .activations import GELU
from .attention import MultiHeadAttention
from .base import Layer
from .dense import Dense, _positive_int
from .dropout import Dropout
from .layer_norm import LayerNorm


@register_layer
class TransformerBlock(Layer):
    """The pre-norm Transformer block (GPT-2's), a composite layer::

        h = x + Dropout(MultiHeadAttention(LayerNorm1(x)))
        y = h + Dropout(Dense2(Dropout(GELU(Dense1(LayerNorm2(h))))))

    Each sub-layer *adds* to its input -- the residual stream -- instead of replacing
    it, so the identity path carries the signal and the gradient through any number
    of blocks (dL/dx = dL/dh + the gradient through the attention branch), and
    normalising only the branch inputs keeps the stream itself unscaled. Equal to
    ``torch.nn.TransformerEncoderLayer(D, H, ff_dim, dropout, activation="gelu",
    norm_first=True, batch_first=True)`` with ``gelu="none"``.

    Args:
        d_model: D (> 0). num_heads: H, dividing D.
        ff_dim: hidden size of the MLP (default 4 D).
        dropout: rate of every dropout, the attention weights' included (default 0).
        causal: each position sees only itself and earlier ones (language models).
        gelu: "tanh" (default, faster) or "none" (exact, PyTorch's "gelu").
        eps: LayerNorm's eps (default 1e-5).

    Children: ``ln1``, ``attn``, ``drop1``, ``ln2``, ``ff1``, ``act``, ``drop_ff``, ``ff2``,
    ``drop2`` (arrays ``attn/Wq``, ``ff1/W``, ``ln2/gamma`` ...).

    Shape: input (N, T, D) -> output (N, T, D). ``forward(x, key_padding_mask=m)``
    passes an (N, T) padding mask to the attention; :meth:`step` runs with a
    key/value cache.
    """

    has_training_mode = True

    def __init__(self, d_model: int, num_heads: int, ff_dim: int | None = None, dropout: float = 0.0,
                 causal: bool = False, gelu: str = "tanh", eps: float = 1e-5, *,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        self.d_model = _positive_int("TransformerBlock", "d_model", d_model)
        self.num_heads = _positive_int("TransformerBlock", "num_heads", num_heads)
        self.ff_dim = 4 * self.d_model if ff_dim is None else _positive_int("TransformerBlock", "ff_dim", ff_dim)
        if gelu not in ("tanh", "none"):
            raise ConfigError(f"TransformerBlock: gelu must be 'tanh' or 'none'. Received: gelu={gelu!r}")
        self.gelu = gelu
        self.causal = bool(causal)
        d, f = self.d_model, self.ff_dim
        self.ln1 = self.add_layer("ln1", LayerNorm(d, eps))
        self.attn = self.add_layer("attn", MultiHeadAttention(d, self.num_heads, dropout, causal=causal))
        self.dropout = self.attn.dropout
        self.eps = self.ln1.eps
        self.drop1 = self.add_layer("drop1", Dropout(self.dropout))
        self.ln2 = self.add_layer("ln2", LayerNorm(d, eps))
        self.ff1 = self.add_layer("ff1", Dense(d, f))
        self.act = self.add_layer("act", GELU(gelu))
        self.drop_ff = self.add_layer("drop_ff", Dropout(self.dropout))
        self.ff2 = self.add_layer("ff2", Dense(f, d))
        self.drop2 = self.add_layer("drop2", Dropout(self.dropout))

    def expected_shape(self):
        return ("N", "T", self.d_model)

    def input_hint(self, shape):
        return f"TransformerBlock({self.d_model}, ...) takes (N, T, {self.d_model}) sequences."

    def _build(self, input_shape, rng):
        shape = tuple(input_shape)
        for child in self.children.values():
            shape = self.build_child(child, shape)

    # ------------------------------------------------------------ compute
    def _mlp(self, h, training):
        z = self.ff1.forward(self.ln2.forward(h, training), training)
        z = self.drop_ff.forward(self.act.forward(z, training), training)
        return self.drop2.forward(self.ff2.forward(z, training), training)

    def forward(self, x, training=False, key_padding_mask=None):
        if training:  # the dropouts draw from this block's generator, even if it was replaced
            for child in (self.attn, self.drop1, self.drop_ff, self.drop2):
                child.rng = self.rng
        a = self.attn.forward(self.ln1.forward(x, training), training, key_padding_mask=key_padding_mask)
        h = x + self.drop1.forward(a, training)
        return h + self._mlp(h, training)

    def backward(self, dy):
        dz = self.drop_ff.backward(self.ff2.backward(self.drop2.backward(dy)))
        dh = dy + self.ln2.backward(self.ff1.backward(self.act.backward(dz)))      # MLP branch + skip
        da = self.attn.backward(self.drop1.backward(dh))
        return dh + self.ln1.backward(da)                                          # attention branch + skip

    def step(self, x: np.ndarray, kv: dict) -> np.ndarray:
        """Inference on new positions x (N, t, D) with the attention's key/value cache ``kv``
        (from ``block.attn.new_kv_cache``); the MLP is per position and needs no cache."""
        h = x + self.attn.step(self.ln1.forward(x), kv)
        return h + self._mlp(h, False)

    def get_config(self):
        config = {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads,
                  "ff_dim": self.ff_dim, "dropout": self.dropout, "causal": self.causal, "gelu": self.gelu}
        if self.eps != 1e-5:
            config["eps"] = self.eps
        return config
