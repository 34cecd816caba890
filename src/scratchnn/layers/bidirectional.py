"""Bidirectional: a recurrent layer run forwards and a copy of it run backwards in time."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..registry import LAYERS, register_layer
from .base import Layer
from .recurrent import RecurrentBase


@register_layer
class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards in time; merge the outputs.

    ``y = concat(fw(x), reverse(bw(reverse(x))))`` along the feature axis (or their sum
    with ``merge_mode="sum"``). With ``return_sequences=False`` the backward half is
    the backward layer's last state, i.e. its state after reading x_0 -- PyTorch's
    ``h_n[1]`` for ``bidirectional=True``.

    Args:
        layer: a SimpleRNN, LSTM or GRU (its configuration is copied for the backward
            direction, which gets its own weights), or its saved form
            ``{"class_name": ..., "config": ...}``.
        merge_mode: ``"concat"`` (default; output size 2H) or ``"sum"`` (size H).

    Shape:
        - input: (N, T, D); output: (N, 2H) or (N, T, 2H) for "concat".
        - parameters: two child layers, ``fw`` and ``bw``, so the arrays are
          ``fw/<name>`` and ``bw/<name>`` in ``all_params()`` (torch: ``*_l0`` and ``*_l0_reverse``).

    Initial states: set ``forward_layer.initial_state`` / ``backward_layer.initial_state``.
    """

    def __init__(self, layer, merge_mode: str = "concat", *, name: str | None = None) -> None:
        super().__init__(name=name)
        if isinstance(layer, dict):
            name_ = layer.get("class_name")
            cls = LAYERS.get(name_) if isinstance(name_, str) else None
            if cls is None or not issubclass(cls, RecurrentBase):
                raise ConfigError(f"Bidirectional: layer must be a SimpleRNN, LSTM or GRU. "
                                  f"Received: layer={layer!r}")
            layer = cls.from_config(layer.get("config", {}))
        if not isinstance(layer, RecurrentBase):
            raise ConfigError(f"Bidirectional: layer must be a SimpleRNN, LSTM or GRU. "
                              f"Received: layer={type(layer).__name__}")
        if merge_mode not in ("concat", "sum"):
            raise ConfigError(f"Bidirectional: merge_mode must be 'concat' or 'sum'. "
                              f"Received: merge_mode={merge_mode!r}")
        self.forward_layer: RecurrentBase = layer
        self.add_layer("fw", layer)
        self.backward_layer = self.add_layer("bw", type(layer).from_config(layer.get_config()))
        self.merge_mode = merge_mode

    @property
    def return_sequences(self) -> bool:
        return self.forward_layer.return_sequences

    def expected_shape(self):
        return self.forward_layer.expected_shape()

    def input_hint(self, shape):
        return self.forward_layer.input_hint(shape)

    def _build(self, input_shape, rng):
        self.build_child(self.forward_layer, input_shape)
        self.build_child(self.backward_layer, input_shape)

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        factor = 2 if self.merge_mode == "concat" else 1
        return tuple(shape[:-1]) + (factor * shape[-1],)

    def forward(self, x, training=False):
        yf = self.forward_layer.forward(x, training)
        yb = self.backward_layer.forward(x[:, ::-1], training)
        if self.return_sequences:
            yb = yb[:, ::-1]
        if self.merge_mode == "sum":
            return yf + yb
        return np.concatenate([yf, yb], axis=-1)

    def backward(self, dy):
        H = self.forward_layer.hidden_size
        if self.merge_mode == "sum":
            dyf = dyb = dy
        else:
            dyf, dyb = dy[..., :H], dy[..., H:]
        dx = self.forward_layer.backward(dyf)
        if self.return_sequences:
            dyb = dyb[:, ::-1]
        return dx + self.backward_layer.backward(dyb)[:, ::-1]

    def get_config(self):
        inner = {"class_name": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()}
        return {**super().get_config(), "layer": inner, "merge_mode": self.merge_mode}
