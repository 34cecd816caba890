"""``Sequential``: a stack of layers with fit, evaluate, predict, summary and save.

Training loop, per mini-batch (x_b, y_b)::

    y_hat = forward(x_b)              # each layer in order
    loss  = L(y_hat, y_b)             # averaged over the batch
    dy    = dL/dy_hat                 # loss.backward()
    backward(dy)                      # each layer in reverse fills its grads
    optimizer.step(params, grads)     # in place

Randomness (weight init, shuffling, dropout) comes from one
``numpy.random.Generator`` seeded by ``seed``, so the same seed, data and
settings give bit-identical weights on the same machine. Across machines the
last bits can differ (BLAS kernels and thread counts, CPU instruction sets,
library versions); see ``docs/reproducibility.md``. ``fit`` stops with
:class:`~scratchnn.errors.TrainingDivergedError` when the loss or a gradient
becomes NaN/inf, before the optimizer step, so the weights stay those of the
last good step.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterable, Iterator, Sequence

import numpy as np

from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .backend import as_dtype
from .callbacks import Callback, History, ProgressBar
from .errors import ConfigError, NotBuiltError, ShapeError, TrainingDivergedError
from .layers.base import Layer
from .validation import as_float_array, as_target_array, check_same_length, check_targets


class Sequential:
    """A model that applies its layers one after the other.

    Args:
        layers: the layers, first to last.
        seed: seed of the model's random generator (weights, shuffling, dropout).
            ``None`` draws a fresh seed, which is then recorded in ``model.seed``.
        dtype: ``"float32"`` (default) or ``"float64"``; inputs are converted to it.
        name: an optional name, shown by :meth:`summary`.

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> model = sn.Sequential([sn.layers.Dense(2, 8), sn.layers.Tanh(), sn.layers.Dense(8, 1)], seed=0)
        >>> model.compile(loss="mse", optimizer=sn.optimizers.Adam(lr=0.05))
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([[0], [1], [1], [0]])
        >>> history = model.fit(X, y, epochs=300, batch_size=4, verbose=0)
        >>> bool(history.history["loss"][-1] < 0.05)
        True
    """

    def __init__(self, layers: Sequence[Layer] | None = None, *, seed: int | None = None,
                 dtype: object = "float32", name: str | None = None) -> None:
        self.layers: list[Layer] = []
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"Sequential: seed must be a non-negative integer or None. Received: seed={seed!r}")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.dtype = as_dtype(dtype)
        self.name = name
        self.loss: losses_mod.Loss | None = None
        self.optimizer: optimizers_mod.Optimizer | None = None
        self.metric_names: list[str] = []
        self.history = History()
        self.epochs_trained = 0
        self.stop_training = False
        self.input_shape: tuple[int, ...] | None = None
        #: JSON-safe data saved with the model (e.g. a text model's vocabulary).
        self.metadata: dict = {}
        for layer in layers or []:
            self.add(layer)

    # --------------------------------------------------------------- building
    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built)."""
        if not isinstance(layer, Layer):
            raise ConfigError(f"Sequential.add expects a Layer; got {type(layer).__name__}. "
                              "Did you forget the parentheses, as in ReLU instead of ReLU()?")
        if self.built:
            raise ConfigError("cannot add layers to a model that is already built")
        self.layers.append(layer)

    @property
    def built(self) -> bool:
        return self.input_shape is not None

    def build(self, input_shape: Iterable[int]) -> None:
        """Create every layer's weights for samples of shape ``input_shape`` (batch excluded)."""
        if not self.layers:
            raise ConfigError("the model has no layers; pass a list of layers to Sequential([...])")
        shape = tuple(int(d) for d in input_shape)
        for i, layer in enumerate(self.layers):
            layer.position = (i + 1, len(self.layers))
            # Nothing consumes the gradient with respect to the model's input.
            layer.input_grad_required = i > 0
            if not layer.built:
                layer.build(shape, self.rng, self.dtype)
            else:
                layer._check_shape(("N",) + shape, building=True)
            shape = layer.compute_output_shape(shape)
        self.input_shape = tuple(int(d) for d in input_shape)

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build(x.shape[1:])

    def _infer_input_shape(self) -> tuple[int, ...] | None:
        first = self.layers[0] if self.layers else None
        return (first.in_features,) if hasattr(first, "in_features") else None

    @property
    def output_shape(self) -> tuple[int, ...]:
        shape = self.input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def compile(self, loss="mse", optimizer="adam", metrics: Sequence[str] | None = None) -> None:
        """Choose the loss (a :class:`~scratchnn.losses.Loss` or a name), the optimizer and the metrics."""
        self.loss = losses_mod.get(loss)
        self.optimizer = optimizers_mod.get(optimizer)
        metrics = list(metrics or [])
        for m in metrics:
            metrics_mod.get(m)
        self.metric_names = metrics

    def _metric(self, name: str):
        """The metric function; a single output column is thresholded at 0 when the loss takes logits."""
        logits = isinstance(self.loss, losses_mod.BinaryCrossEntropyWithLogits)
        return metrics_mod.get(name, threshold=0.0 if logits else None)

    # ------------------------------------------------------------- compute
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Apply every layer; ``x`` must already be an array of the model's dtype."""
        for layer in self.layers:
            x = layer(x, training)
        return x

    __call__ = forward

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """Backpropagate dL/d(output) through every layer, filling each layer's grads.

        Returns dL/d(input), or None where the first layer skipped it
        (``input_grad_required`` is False on a model's first layer).
        """
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(key, param, grad)`` for every parameter; key is ``"<layer index>/<name>"``."""
        for i, layer in enumerate(self.layers):
            for name, p in layer.params.items():
                yield f"{i}/{name}", p, layer.grads[name]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self) -> list[dict[str, np.ndarray]]:
        """A copy of every layer's state: its parameters and its buffers (such as
        BatchNorm's running statistics), one dict per layer, as Keras' ``get_weights``
        and PyTorch's ``state_dict`` include non-trained state."""
        return [{k: v.copy() for k, v in {**layer.params, **layer.buffers}.items()} for layer in self.layers]

    def set_weights(self, weights: list[dict[str, np.ndarray]]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the layers, checking names and shapes."""
        if len(weights) != len(self.layers):
            raise ShapeError(f"set_weights: the model has {len(self.layers)} layers; got weights for {len(weights)}.")
        for layer, w in zip(self.layers, weights):
            state = {**layer.params, **layer.buffers}
            if set(w) != set(state):
                raise ShapeError(f"set_weights: {layer.describe()} has weights {sorted(state)}; got {sorted(w)}.")
            for k, v in w.items():
                if np.shape(v) != state[k].shape:
                    raise ShapeError(f"set_weights: {layer.describe()} weight {k!r} has shape "
                                     f"{state[k].shape}; got {np.shape(v)}.")
                state[k][...] = v

    # ------------------------------------------------------------- training
    def _require_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise NotBuiltError(f"{what} needs a loss and an optimizer: call model.compile(loss=..., optimizer=...) first.")

    def _prepare(self, x, y=None, xname="x", yname="y"):
        x = as_float_array(x, self.dtype, xname)
        self._ensure_built(x)
        if y is None:
            return x, None
        y = as_target_array(y, yname)
        check_same_length(x, y, xname, yname)
        y = check_targets(self.loss, y, self.output_shape, yname)
        return x, self.loss.prepare_targets(y, self.dtype)

    def train_step(self, x: np.ndarray, y: np.ndarray, check_finite: bool = True) -> tuple[float, np.ndarray]:
        """One optimizer step on one batch; returns (loss, predictions before the step)."""
        # With check_finite, overflow and NaN are detected below, so NumPy need not warn on the way.
        guard = (np.errstate(over="ignore", invalid="ignore", divide="ignore") if check_finite
                 else contextlib.nullcontext())
        with guard:
            y_hat = self.forward(x, training=True)
            loss = self.loss.forward(y_hat, y)
            if check_finite and not math.isfinite(loss):
                raise TrainingDivergedError(f"the loss became {loss}; {self._weights_note()}")
            self.backward(self.loss.backward())
            if check_finite:
                self._check_finite_gradients()
            self.optimizer.step(self.parameters())  # an overflowing step is reported at the next batch
        return loss, y_hat
        # Overflow and NaN are detected below, so NumPy need not warn about them on the way.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            y_hat = self.forward(x, training=True)
            loss = self.loss.forward(y_hat, y)
            if not math.isfinite(loss):
                raise TrainingDivergedError(f"the loss became {loss}; {self._weights_note()}")
            self.backward(self.loss.backward())
            self._check_finite_gradients()
            self.optimizer.step(self.parameters())  # an overflowing step is reported at the next batch
        return loss, y_hat

    def _weights_note(self) -> str:
        """Where training diverged: are the kept weights themselves still finite?"""
        for layer in self.layers:
            for name, p in layer.params.items():
                if not np.isfinite(p).all():
                    return (f"the previous update already made {name!r} in {layer.describe()} NaN or infinite "
                            "(a finite but huge gradient step), so the weights are not usable.")
        return "the weights from before this batch are kept."

    def _check_finite_gradients(self) -> None:
        for layer in self.layers:
            for name, g in layer.grads.items():
                # A sum is finite iff every element is (bar overflow, which also deserves a stop).
                if not math.isfinite(g.sum()):
                    raise TrainingDivergedError(
                        f"the gradient of {name!r} in {layer.describe()} is NaN or infinite (the first "
                        f"layer, in forward order, with a non-finite gradient); {self._weights_note()}")

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, *, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True,
            callbacks: Sequence[Callback] | None = None, verbose: int = 1,
            check_finite: bool = True) -> History:
        """Train for ``epochs`` more epochs on mini-batches of ``batch_size``.

        Args:
            x, y: inputs (N, ...) and targets (N, ...) (integer labels or one-hot for
                classification losses).
            epochs: number of epochs to run in this call (the count continues in
                ``model.epochs_trained``, so a resumed model carries on numbering).
            validation_split: fraction in [0, 1) of the samples, taken from the **end**
                (before shuffling, as Keras), held out for validation.
            validation_data: ``(x_val, y_val)``; overrides ``validation_split``.
            shuffle: reshuffle the training samples each epoch (seeded).
            callbacks: e.g. :class:`~scratchnn.callbacks.EarlyStopping`.
            verbose: 0 silent, 1 progress bar per epoch, 2 one line per epoch.
            check_finite: stop with :class:`~scratchnn.errors.TrainingDivergedError`
                when the loss or a gradient becomes NaN/inf (weights before that step are kept).

        Returns:
            The model's :class:`~scratchnn.callbacks.History` (``history.history["loss"]``...).
            Training metrics are running means over the epoch's batches; validation
            metrics are computed on the whole validation set.
        """
        self._require_compiled("fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ConfigError(f"fit: epochs must be an integer >= 0. Received: epochs={epochs!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ConfigError(f"fit: batch_size must be a positive integer. Received: batch_size={batch_size!r}")
        if not (isinstance(validation_split, (int, float)) and 0.0 <= validation_split < 1.0):
            raise ConfigError(f"fit: validation_split must be in [0, 1). Received: validation_split={validation_split!r}")
        x, y = self._prepare(x, y)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ConfigError("fit: validation_data must be a pair (x_val, y_val)")
            x_val, y_val = self._prepare(*validation_data, xname="x_val", yname="y_val")
        elif validation_split > 0:
            n_val = int(round(len(x) * validation_split))
            if n_val == 0 or n_val == len(x):
                raise ConfigError(f"fit: validation_split={validation_split} leaves {n_val} of {len(x)} samples "
                                  "for validation; use a split that leaves samples on both sides.")
            x, x_val, y, y_val = x[:-n_val], x[-n_val:], y[:-n_val], y[-n_val:]
        else:
            x_val = y_val = None

        n = len(x)
        steps = math.ceil(n / batch_size)
        cbs: list[Callback] = [self.history, *(callbacks or [])]
        if verbose:
            cbs.append(ProgressBar(epochs, steps, verbose, first_epoch=self.epochs_trained))
        for cb in cbs:
            cb.set_model(self)
        self.stop_training = False
        metric_fns = [(m, self._metric(m)) for m in self.metric_names]
        for cb in cbs:
            cb.on_train_begin({})
        for _ in range(epochs):
            epoch = self.epochs_trained
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            order = self.rng.permutation(n) if shuffle else None
            totals = dict.fromkeys(["loss"] + self.metric_names, 0.0)
            for step in range(steps):
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                if order is None:
                    xb, yb = x[lo:hi], y[lo:hi]
                else:
                    idx = order[lo:hi]
                    xb, yb = x[idx], y[idx]
                try:
                    loss, y_hat = self.train_step(xb, yb, check_finite)
                except TrainingDivergedError as exc:
                    raise TrainingDivergedError(
                        f"Training stopped at epoch {epoch + 1}, batch {step + 1}/{steps}: {exc} "
                        "Hint: lower the learning rate, clip gradients (optimizer clip_norm=1.0), "
                        "or standardise the inputs.") from None
                w = hi - lo
                totals["loss"] += loss * w
                batch_logs = {"loss": loss}
                for name, fn in metric_fns:
                    value = fn(yb, y_hat)
                    totals[name] += value * w
                    batch_logs[name] = value
                for cb in cbs:
                    cb.on_batch_end(step, batch_logs)
            logs = {k: v / n for k, v in totals.items()}
            if x_val is not None:
                logs.update({f"val_{k}": v for k, v in self._evaluate_arrays(x_val, y_val).items()})
            logs["lr"] = self.optimizer.current_lr
            self.epochs_trained += 1
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end({})
        return self.history

    # ------------------------------------------------------------ inference
    def _predict_arrays(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        outs = [self.forward(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Outputs for ``x`` (N, ...), computed in batches, in inference mode (no dropout)."""
        x = as_float_array(x, self.dtype, "x")
        self._ensure_built(x)
        return self._predict_arrays(x, batch_size)

    def predict_proba(self, x, batch_size: int = 1024) -> np.ndarray:
        """Probabilities for ``x``: :meth:`predict`'s logits turned by the compiled loss's link.

        ``SoftmaxCrossEntropy`` -> softmax over the last axis (rows sum to 1);
        ``BinaryCrossEntropyWithLogits`` -> elementwise sigmoid. :meth:`predict` itself
        returns logits, what those losses take.

        Raises:
            ConfigError: the model's loss does not take logits (nothing to convert: use
                :meth:`predict`), or it has no loss (compile it, or load it with its loss).
        """
        from .functional.activations import sigmoid, softmax

        if isinstance(self.loss, losses_mod.SoftmaxCrossEntropy):
            return softmax(self.predict(x, batch_size), axis=-1)
        if isinstance(self.loss, losses_mod.BinaryCrossEntropyWithLogits):
            return sigmoid(self.predict(x, batch_size))
        raise ConfigError("predict_proba needs a model trained on logits (loss SoftmaxCrossEntropy or "
                          "BinaryCrossEntropyWithLogits); this one's outputs are not logits, use predict. "
                          f"Received: loss={type(self.loss).__name__ if self.loss is not None else None}")

    def _evaluate_arrays(self, x, y, batch_size: int = 1024) -> dict[str, float]:
        y_hat = self._predict_arrays(x, batch_size)
        result = {"loss": float(self.loss.forward(y_hat, y))}
        for m in self.metric_names:
            result[m] = float(self._metric(m)(y, y_hat))
        return result

    def evaluate(self, x, y, batch_size: int = 1024, verbose: int = 0) -> dict[str, float]:
        """The loss and every compiled metric on ``(x, y)``, as a dict."""
        self._require_compiled("evaluate")
        x, y = self._prepare(x, y)
        result = self._evaluate_arrays(x, y, batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in result.items()))
        return result

    # ------------------------------------------------------------- describe
    def summary(self, print_fn=print) -> str:
        """A table of the layers, their output shapes and parameter counts; printed and returned."""
        if not self.built:
            shape = self._infer_input_shape()
            if shape is None:
                raise NotBuiltError("summary needs the input shape: call model.build(input_shape) "
                                    "(per sample, e.g. (1, 28, 28)) or fit the model first.")
            self.build(shape)
        rows = [("Layer (type)", "Output shape", "Params")]
        shape = self.input_shape
        for i, layer in enumerate(self.layers):
            shape = layer.compute_output_shape(shape)
            label = f"{i}: {type(layer).__name__}" + (f" ({layer.name})" if layer.name else "")
            rows.append((label, str(("N",) + tuple(shape)).replace("'", ""), f"{layer.count_params():,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        line = "-" * (sum(widths) + 6)
        out = [f'Model: {self.name or "Sequential"}  (input (N, {", ".join(map(str, self.input_shape))}), '
               f'dtype {self.dtype.name})', line]
        for j, r in enumerate(rows):
            out.append(f"{r[0]:<{widths[0]}}   {r[1]:<{widths[1]}}   {r[2]:>{widths[2]}}")
            if j == 0:
                out.append(line)
        out += [line, f"Total params: {self.count_params():,}"]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], seed={self.seed}, dtype={self.dtype.name!r})"

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        """Save architecture, weights, optimizer and generator state to one ``.npz`` file, atomically."""
        from .io import save_model
        save_model(self, path)

    def export_onnx(self, path, **kwargs):
        """Write the model as an ONNX file; see :func:`scratchnn.onnx.export` for the options."""
        from .onnx import export
        return export(self, path, **kwargs)
