"""``Sequential``: a stack of layers, the chain special case of :class:`~scratchnn.model.Model`.

It shares the model's one training loop; it only knows how to turn a list of layers into
the chain graph once the input shape is known (from the first batch, or :meth:`build`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from .backend import Device
from .errors import ConfigError, NotBuiltError
from .graph import Input
from .layers.base import Layer
from .model import Model


class Sequential(Model):
    """A model that applies its layers one after the other: the chain special case of :class:`Model`.

    Args:
        layers: the layers, first to last.
        seed: seed of the model's random generator (weights, shuffling, dropout).
            ``None`` draws a fresh seed, which is then recorded in ``model.seed``.
        dtype: ``"float32"`` (default) or ``"float64"``; inputs are converted to it.
        name: an optional name, shown by :meth:`summary`.
        device: ``"cpu"`` (default) or ``"gpu"``; see :class:`Model`.

    The input shape comes from the first batch (or :meth:`build`); until then the
    model has no weights.

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> model = sn.Sequential([sn.layers.Dense(2, 8), sn.layers.Tanh(), sn.layers.Dense(8, 1)], seed=0)
        >>> model.compile(loss="mse", optimizer=sn.optimizers.Adam(lr=0.05))
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([[0], [1], [1], [0]])
        >>> history = model.fit(X, y, epochs=300, batch_size=4, verbose=0)
        >>> bool(history.history["loss"][-1] < 0.05)
        True
    """

    file_kind = "Sequential"

    def __init__(self, layers: Sequence[Layer] | None = None, *, seed: int | None = None,
                 dtype: object = "float32", name: str | None = None, device: str | Device = "cpu") -> None:
        super().__init__(seed=seed, dtype=dtype, name=name, device=device)
        self.outputs = [None]  # type: ignore[list-item]  # one output; the graph is made when the input shape is known
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built)."""
        if not isinstance(layer, Layer):
            raise ConfigError(f"Sequential.add expects a Layer; got {type(layer).__name__}. "
                              "Did you forget the parentheses, as in ReLU instead of ReLU()?")
        if layer.num_inputs != 1:
            raise ConfigError(f"Sequential.add: {type(layer).__name__} merges several tensors; "
                              "use sn.Model(inputs, outputs) for graphs")
        if self.built:
            raise ConfigError("cannot add layers to a model that is already built")
        self.layers.append(layer)

    def build(self, input_shape: Iterable[int] | None = None) -> None:
        """Create every layer's weights for samples of shape ``input_shape`` (batch excluded)."""
        if not self.layers:
            raise ConfigError("the model has no layers; pass a list of layers to Sequential([...])")
        if input_shape is None:
            input_shape = self._infer_input_shape()
            if input_shape is None:
                raise NotBuiltError("Sequential.build needs the per-sample input shape, e.g. build((1, 28, 28))")
        layers = list(self.layers)
        for i, layer in enumerate(layers):
            layer.position = (i + 1, len(layers))
        t = x = Input(tuple(input_shape))
        for layer in layers:
            t = layer(t)
        self._set_graph(x, t)
        self.layers = layers  # keep the user's order (and a layer listed twice, twice)
        super().build()

    def _infer_input_shape(self) -> tuple[int, ...] | None:
        first = self.layers[0] if self.layers else None
        return (first.in_features,) if first is not None and hasattr(first, "in_features") else None

    @property
    def input_shape(self):
        return super().input_shape if self.built else None

    @property
    def output_shape(self):
        return super().output_shape if self.built else None

    def summary(self, print_fn=print) -> str:
        if not self.built:
            shape = self._infer_input_shape()
            if shape is None:
                raise NotBuiltError("summary needs the input shape: call model.build(input_shape) "
                                    "(per sample, e.g. (1, 28, 28)) or fit the model first.")
            self.build(shape)
        return super().summary(print_fn)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], seed={self.seed}, dtype={self.dtype.name!r})"
