"""The layer contract, version 2, written once.

Every layer in scratchnn follows the same steps:

1. ``__init__(**hyperparameters)`` validates and stores the hyperparameters. No arrays.
   A *composite* layer also creates its child layers here with
   ``self.child = self.add_layer("child", SomeLayer(...))``.
2. ``_build(input_shape, rng)`` **declares** every array once, with its shape and
   initializer, from the shape of one sample (the batch axis excluded)::

       self.add_weight("W", (d_in, d_out), "glorot_uniform", fan_in=d_in, fan_out=d_out)
       self.add_buffer("running_mean", (c,), "zeros")       # state that is not trained

   and builds its children with ``shape = self.build_child(self.child, shape)``, which
   returns the child's output shape. ``_build`` does nothing else: the same code runs
   in a *dry run* that only records the declared shapes (:meth:`param_shapes`), which is
   how loading a model file checks a configuration's size before allocating anything.
   A layer without weights has no ``_build``.
3. ``forward(x, training=False)`` computes the output and keeps in ``self.cache``
   everything ``backward`` needs (only there: a graph model that calls a layer twice
   saves and restores ``cache`` around each call). Layers that merge several inputs
   (``Add``, ``Concatenate``...) set ``num_inputs`` and take a list of arrays.
4. ``backward(dy)`` takes dL/dy (same shape as the output), **overwrites** the arrays
   of ``self.grads`` in place (same keys, shapes and dtype as ``params``; in place
   because the model may keep all gradients in one flat buffer) and returns dL/dx
   (a list for a multi-input layer). It must not modify ``dy`` in place. A layer may
   return ``None`` instead of dL/dx when ``self.input_grad_required`` is False (the
   model sets that where the input is a model input, whose gradient nobody needs).
   A composite calls its children's ``forward``/``backward`` itself.
5. ``get_config()`` returns the constructor arguments as a JSON-safe dict; it is
   what a model file stores, and ``cls(**config)`` rebuilds the layer (children
   included: a composite recreates them from its own arguments).

Parameters, gradients and buffers of a layer *and its children* are reached with
:meth:`Layer.all_params`, :meth:`Layer.all_grads` and :meth:`Layer.all_buffers`
(keys ``"W"``, ``"child/W"``, ...); saving, loading, optimizers, gradcheck and export
use those, so a composite layer needs nothing more than the steps above.

A new layer is its file plus its test entry (``tests/layer_cases.py``, with its PyTorch twin
in ``tests/torch_twins.py``) and an ONNX exporter (or a reason why it has none): the generic
tests then check its gradients, config, files, dtypes, declared shapes and export.

Conventions: the batch axis comes first; images are NCHW (as in PyTorch);
sequences are (N, T, D). Inputs are checked against :attr:`expected_shape`
before ``forward`` runs, so that a wrong shape gives an error naming the layer,
its position in the model, the expected and the received shape, and a hint.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from .. import initializers
from ..backend import DEFAULT_DTYPE, as_dtype
from ..errors import ConfigError, NotBuiltError, ShapeError

Shape = tuple[int, ...]
LayerT = TypeVar("LayerT", bound="Layer")


class Layer:
    """Base class of all layers. See the module docstring for the contract."""

    #: Whether the layer behaves differently in training (dropout, batch norm).
    has_training_mode: bool = False
    #: How many input tensors ``forward`` takes: 1 (an array) or, for merge layers, a
    #: list of arrays (``None`` for "two or more").
    num_inputs: int | None = 1
    #: Whether the layer splits its work over the batch among scratchnn's own threads
    #: (:func:`scratchnn.threads.batch_parallel`: convolutions, pooling, recurrent loops).
    #: A model holding such a layer runs each step with the BLAS on one thread
    #: (:func:`scratchnn.threads.step_threads`).
    uses_thread_pool: bool = False

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
        #: Child layers of a composite layer, in the order they were added.
        self.children: dict[str, Layer] = {}
        #: During a dry run of ``_build`` (see :meth:`param_shapes`): the declared shapes.
        self._declared: dict[str, Shape] | None = None

    # --------------------------------------------------------- declarations
    def add_weight(self, name: str, shape: tuple, initializer: str | Callable = "zeros", *,
                   fan_in: int | None = None, fan_out: int | None = None) -> np.ndarray | None:
        """Declare a trained parameter (call from ``_build``); returns the new array.

        ``initializer`` is a name from :mod:`scratchnn.initializers` or a function
        ``init(shape, fan_in, fan_out, rng, dtype) -> array``; ``fan_in``/``fan_out``
        default to the first and last dimension. In a dry run nothing is allocated
        and ``None`` is returned.
        """
        return self._declare(self.params, name, shape, initializer, fan_in, fan_out)

    def add_buffer(self, name: str, shape: tuple, initializer: str | Callable = "zeros") -> np.ndarray | None:
        """Declare non-trained state (saved with the model, e.g. running statistics)."""
        return self._declare(self.buffers, name, shape, initializer, None, None)

    def _declare(self, store, name, shape, initializer, fan_in, fan_out):
        shape = tuple(int(d) for d in shape)
        if name in self.params or name in self.buffers or (self._declared is not None and name in self._declared):
            raise ConfigError(f"{type(self).__name__}: the array {name!r} is declared twice")
        if self._declared is not None:
            self._declared[name] = shape
            return None
        init = initializers.get(initializer) if isinstance(initializer, str) else initializer
        fan_in = (shape[0] if shape else 1) if fan_in is None else fan_in
        fan_out = (shape[-1] if shape else 1) if fan_out is None else fan_out
        array = np.ascontiguousarray(init(shape, fan_in, fan_out, self.rng, self.dtype), dtype=self.dtype)
        if array.shape != shape:
            raise ConfigError(f"{type(self).__name__}: the initializer of {name!r} returned shape "
                              f"{array.shape}, declared {shape}")
        store[name] = array
        return array

    def add_layer(self, name: str, layer: LayerT) -> LayerT:
        """Register ``layer`` as a child of this composite layer (call from ``__init__``)."""
        if not isinstance(layer, Layer):
            raise ConfigError(f"{type(self).__name__}.add_layer expects a Layer. Received: {type(layer).__name__}")
        if not name.isidentifier() or name in self.children:
            raise ConfigError(f"{type(self).__name__}: child name {name!r} is not a new identifier")
        self.children[name] = layer
        return layer

    def build_child(self, child: Layer, input_shape: Shape) -> Shape:
        """Build ``child`` (from ``_build``) for ``input_shape``; returns its output shape."""
        if self._declared is not None:
            name = next(k for k, v in self.children.items() if v is child)
            for key, shape in child.param_shapes(input_shape).items():
                self._declared[f"{name}/{key}"] = shape
        else:
            child.build(input_shape, self.rng, self.dtype)
        return tuple(child.compute_output_shape(tuple(input_shape)))

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """Every array ``build(input_shape)`` creates -- parameters and buffers, children's as
        ``"child/name"`` -- from a dry run of ``_build`` that allocates nothing."""
        input_shape = self._normalize_shape(input_shape)
        if self.num_inputs == 1:
            self._check_shape(("N",) + input_shape, building=True)
        self._declared = {}
        try:
            self._build(input_shape, None)
            return self._declared
        finally:
            self._declared = None

    # ---------------------------------------------------------- traversal
    def walk(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """``(path, layer)`` for this layer (path ``""``) and every descendant (``"child/"``...)."""
        stack = [(prefix, self)]
        while stack:
            path, layer = stack.pop()
            yield path, layer
            stack.extend(reversed([(f"{path}{k}/", c) for k, c in layer.children.items()]))

    def all_params(self) -> dict[str, np.ndarray]:
        """The parameters of this layer and its children: ``{"W": ..., "child/W": ...}``."""
        return {path + k: v for path, layer in self.walk() for k, v in layer.params.items()}

    def all_grads(self) -> dict[str, np.ndarray]:
        """The gradients, keyed as :meth:`all_params`."""
        return {path + k: v for path, layer in self.walk() for k, v in layer.grads.items()}

    def all_buffers(self) -> dict[str, np.ndarray]:
        """The buffers (non-trained state), keyed as :meth:`all_params`."""
        return {path + k: v for path, layer in self.walk() for k, v in layer.buffers.items()}

    def all_arrays(self) -> dict[str, np.ndarray]:
        """Parameters and buffers together: what a model file stores for this layer."""
        return {**self.all_params(), **self.all_buffers()}

    # ------------------------------------------------------------------ build
    def build(self, input_shape, rng: np.random.Generator | None = None,
              dtype: object = DEFAULT_DTYPE) -> None:
        """Create the arrays for inputs of per-sample shape ``input_shape`` (a list of
        shapes for a multi-input layer)."""
        self.dtype = as_dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng()
        input_shape = self._normalize_shape(input_shape)
        if self.num_inputs == 1:
            self._check_shape(("N",) + input_shape, building=True)
        self.input_shape = input_shape
        self._last_checked_shape = None
        self.params, self.buffers = {}, {}
        self._build(input_shape, self.rng)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True

    def _normalize_shape(self, input_shape):
        if self.num_inputs == 1:
            return tuple(int(d) for d in input_shape)
        return [tuple(int(d) for d in s) for s in input_shape]

    def _build(self, input_shape: Shape, rng: np.random.Generator | None) -> None:
        """Declare the arrays (``add_weight``/``add_buffer``) and build the children.

        ``rng`` is ``None`` in a dry run; initializers get the generator through
        :meth:`add_weight`, so ``_build`` never draws numbers itself."""

    # --------------------------------------------------------------- compute
    def __call__(self, x, training: bool = False):
        from ..graph import SymbolicTensor, call_symbolic

        if isinstance(x, SymbolicTensor) or (isinstance(x, (list, tuple)) and x
                                             and all(isinstance(t, SymbolicTensor) for t in x)):
            return call_symbolic(self, x)  # building a graph: sn.Model(inputs, outputs)
        if self.num_inputs != 1:
            xs = list(x)
            if not self.built:
                self.build([a.shape[1:] for a in xs], dtype=xs[0].dtype if xs[0].dtype.kind == "f" else DEFAULT_DTYPE)
            return self.forward(xs, training=training)
        if not self.built:
            self.build(x.shape[1:], dtype=x.dtype if x.dtype.kind == "f" else DEFAULT_DTYPE)
        self._check_shape(x.shape)
        return self.forward(x, training=training)

    def forward(self, x: Any, training: bool = False) -> Any:
        """The output for ``x`` (an array, or a list of arrays for a multi-input layer)."""
        raise NotImplementedError

    def backward(self, dy: Any) -> Any:
        """dL/dx (a list for a multi-input layer, ``None`` where not required) from dL/dy."""
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

    def _check_shape(self, shape: tuple, building: bool = False) -> None:
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
    def from_config(cls, config: dict) -> Layer:
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
        """The number of trained scalars, children's included."""
        return int(sum(p.size for p in self.all_params().values()))

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
