"""The layer contract, written once.

Every layer in scratchnn follows the same steps:

1. ``__init__(**hyperparameters)`` validates and stores the hyperparameters. No arrays.
2. ``build(input_shape, rng, dtype)`` creates ``self.params`` (a dict of arrays in
   the layer's dtype) from the shape of one sample (the batch axis excluded).
   A layer without weights has ``params == {}``.
3. ``forward(x, training=False)`` computes the output and keeps in ``self.cache``
   what the backward pass needs.
4. ``backward(dy)`` takes dL/dy (same shape as the output), **overwrites**
   ``self.grads`` (same keys, shapes and dtype as ``params``) and returns dL/dx
   (same shape as ``x``). It must not modify ``dy`` in place. A layer may return
   ``None`` instead of dL/dx when ``self.input_grad_required`` is False (the
   model sets that on its first layer, whose input needs no gradient).
5. ``get_config()`` returns the constructor arguments as a JSON-safe dict; it is
   what a model file stores, and ``cls(**config)`` rebuilds the layer.
6. A layer with parameters also defines ``param_shapes(input_shape) -> {name: shape}``,
   computed without allocating anything: loading a model file compares it with the
   shapes stored in the file *before* building, so a hostile configuration cannot make
   the loader allocate without bound (``tests/robustness`` enforces it for every layer).

Conventions: the batch axis comes first; images are NCHW (as in PyTorch);
sequences are (N, T, D). Inputs are checked against :attr:`expected_shape`
before ``forward`` runs, so that a wrong shape gives an error naming the layer,
its position in the model, the expected and the received shape, and a hint.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import DEFAULT_DTYPE, as_dtype
from ..errors import ConfigError, NotBuiltError, ShapeError

Shape = tuple[int, ...]


class Layer:
    """Base class of all layers. See the module docstring for the contract."""

    #: Whether the layer behaves differently in training (dropout, batch norm).
    has_training_mode: bool = False

    def __init__(self, *, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{type(self).__name__}: name must be a string. Received: name={name!r}")
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        #: Arrays that are state but not trained (e.g. BatchNorm running statistics); saved with the model.
        self.buffers: dict[str, np.ndarray] = {}
        self.cache: Any = None
        self.built = False
        self.dtype: np.dtype = DEFAULT_DTYPE
        self.input_shape: Shape | None = None
        self.rng: np.random.Generator | None = None
        #: (index, total) in the owning model, 1-based; used in error messages.
        self.position: tuple[int, int] | None = None
        #: False when nothing upstream needs dL/dx (the first layer of a model): layers
        #: whose input gradient is costly (Dense, Conv) then skip it and return None.
        self.input_grad_required = True
        self._last_checked_shape: Shape | None = None

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Shape, rng: np.random.Generator | None = None,
              dtype: object = DEFAULT_DTYPE) -> None:
        """Create the parameters for inputs of per-sample shape ``input_shape``."""
        self.dtype = as_dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng()
        input_shape = tuple(int(d) for d in input_shape)
        self._check_shape(("N",) + input_shape, building=True)
        self.input_shape = input_shape
        self._last_checked_shape = None
        self._build(input_shape, self.rng)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True

    def _build(self, input_shape: Shape, rng: np.random.Generator) -> None:
        """Create ``self.params``; layers with weights override this."""

    # --------------------------------------------------------------- compute
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not self.built:
            self.build(x.shape[1:], dtype=x.dtype if x.dtype.kind == "f" else DEFAULT_DTYPE)
        self._check_shape(x.shape)
        return self.forward(x, training=training)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Per-sample output shape for per-sample ``input_shape`` (batch excluded)."""
        return tuple(input_shape)

    @property
    def output_shape(self) -> Shape:
        if self.input_shape is None:
            raise NotBuiltError(f"{self.describe()} is not built yet")
        return self.compute_output_shape(self.input_shape)

    # ------------------------------------------------------------ shape check
    def expected_shape(self) -> tuple | None:
        """The expected input shape, batch included, as symbols and sizes.

        A string is a free dimension (``"N"``, ``"T"``); an int must match;
        ``"..."`` stands for any number of dimensions. ``None`` accepts any shape.
        Built layers fill in the sizes they were built for.
        """
        return None

    def input_hint(self, shape: Shape) -> str:
        """A hint added to the shape error for input ``shape``; override per layer."""
        return ""

    def _check_shape(self, shape: Shape, building: bool = False) -> None:
        if not building and shape == self._last_checked_shape:
            return  # the common case in training: the same batch shape again
        expected = self.expected_shape()
        if expected is None:
            return
        if _shape_matches(tuple(shape), expected):
            if not building:
                self._last_checked_shape = shape
            return
        got = tuple(shape)[1:] if building else tuple(shape)
        what = "per-sample input" if building else "input"
        exp = _format_expected(expected[1:] if building else expected)
        hint = self.input_hint(tuple(shape))
        raise ShapeError(f"{self.describe()} expected {what} {exp}, got {got}." + (f" {hint}" if hint else ""))

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        """The constructor arguments, JSON-safe. Subclasses extend this."""
        return {"name": self.name} if self.name is not None else {}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    def describe(self) -> str:
        """``"Dense 'fc1' (layer 2 of 5)"``: how errors name this layer."""
        text = type(self).__name__
        if self.name:
            text += f" {self.name!r}"
        if self.position is not None:
            text += f" (layer {self.position[0]} of {self.position[1]})"
        return text

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _shape_matches(shape: Shape, expected: tuple) -> bool:
    if "..." in expected:
        i = expected.index("...")
        head, tail = expected[:i], expected[i + 1:]
        if len(shape) < len(head) + len(tail):
            return False
        return (_shape_matches(shape[:len(head)], head)
                and _shape_matches(shape[len(shape) - len(tail):], tail))
    if len(shape) != len(expected):
        return False
    return all(isinstance(e, str) or int(e) == s for s, e in zip(shape, expected))


def _format_expected(expected: tuple) -> str:
    inner = ", ".join(str(e) for e in expected)
    return f"({inner},)" if len(expected) == 1 else f"({inner})"
