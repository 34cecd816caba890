"""The training and inference loop of a model: ``compile``, ``train_step``, ``fit``,
``evaluate``, ``predict``.

:class:`Trainer` is the base class of :class:`~scratchnn.Model`, which supplies the network
itself (the graph, ``build``, ``forward``, ``backward`` and the flat parameter and gradient
buffers); everything here runs any model the same way, a chain (``Sequential``) or a graph.

Per mini-batch (x_b, y_b), :meth:`Trainer.train_step` does::

    y_hat = forward(x_b)              # each layer in order
    loss  = L(y_hat, y_b)             # averaged over the batch
    dy    = dL/dy_hat                 # loss.backward()
    backward(dy)                      # each layer in reverse fills its grads
    optimizer.step_flat(...)          # one fused update of the flat buffers, in place

``fit`` stops with :class:`~scratchnn.errors.TrainingDivergedError` when the loss or a
gradient becomes NaN/inf, before the optimizer step, so the weights stay those of the last
good step.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from . import checks
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .backend import Device
from .batches import array_batches, is_batch_source, source_batches, source_length
from .callbacks import Callback, History, ProgressBar
from .errors import ConfigError, NotBuiltError, ShapeError, TrainingDivergedError
from .layers.base import Layer
from .threads import step_threads
from .validation import as_float_array, as_target_array, check_same_length, check_targets


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Trainer:
    """``compile``/``fit``/``evaluate``/``predict`` for a network that :class:`~scratchnn.Model`
    defines (its graph, ``build``, ``forward``, ``backward``, flat buffers)."""

    # Supplied by the model (see Model.__init__ and Model.build); declared for readers and type checkers.
    layers: list[Layer]
    inputs: list[Any]
    outputs: list[Any]
    loss: Any
    losses: list[losses_mod.Loss]
    optimizer: Any
    metric_names: list[str]
    history: History
    epochs_trained: int
    stop_training: bool
    device: Device
    dtype: np.dtype
    rng: np.random.Generator
    flat_params: Any
    flat_grads: Any
    flat_layout: list[tuple[str, int, tuple[int, ...]]]
    _uses_thread_pool: bool
    _dist: Any

    @property
    def built(self) -> bool:
        raise NotImplementedError

    def build(self, input_shape: Iterable[int] | None = None) -> None:
        raise NotImplementedError

    def forward(self, x, training: bool = False, record: list | None = None):
        raise NotImplementedError

    def backward(self, dy, record: list | None = None):
        raise NotImplementedError

    def compile(self, loss="mse", optimizer="adam", metrics: Sequence[str] | None = None) -> None:
        """Choose the loss (a :class:`~scratchnn.losses.Loss`, a name, or one per output),
        the optimizer and the metrics."""
        losses = [losses_mod.get(v) for v in _as_list(loss)]
        n_out = max(len(self.outputs), 1)
        if len(losses) == 1:
            losses = losses * n_out
        elif len(losses) != n_out:
            raise ConfigError(f"compile: the model has {n_out} outputs; give one loss or {n_out}. "
                              f"Received: {len(losses)} losses")
        self.losses, self.loss = losses, losses[0]
        self.optimizer = optimizers_mod.get(optimizer)
        metrics = list(metrics or [])
        for m in metrics:
            metrics_mod.get(m)
        self.metric_names = metrics

    def _metric(self, name: str, loss=None):
        """The metric function; a single output column is cut at the loss's decision threshold
        (0 for a logit)."""
        threshold = (loss or self.loss).decision_threshold
        return metrics_mod.get(name, threshold=None if threshold == 0.5 else threshold)


    # ------------------------------------------------------------- training
    def _require_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise NotBuiltError(f"{what} needs a loss and an optimizer: call model.compile(loss=..., optimizer=...) first.")

    def _ensure_built(self, xs: list[np.ndarray]) -> None:
        if not self.built:
            self.build(xs[0].shape[1:])

    def _prepare_x(self, x, xname: str = "x") -> list[np.ndarray]:
        n_in = max(len(self.inputs), 1)
        if n_in > 1:
            if not isinstance(x, (list, tuple)) or len(x) != n_in:
                raise ShapeError(f"the model takes {n_in} inputs: pass {xname} as a list of {n_in} arrays")
            xs = [as_float_array(a, self.dtype, f"{xname}[{i}]") for i, a in enumerate(x)]
            for a in xs[1:]:
                check_same_length(xs[0], a, f"{xname}[0]", f"{xname}[i]")
        else:
            xs = [as_float_array(x, self.dtype, xname)]
        self._ensure_built(xs)
        return xs

    def _prepare_y(self, y, xs0: np.ndarray, yname: str = "y") -> list[np.ndarray]:
        n_out = len(self.outputs)
        ys = _as_list(y) if n_out > 1 else [y]
        if len(ys) != n_out:
            raise ShapeError(f"the model has {n_out} outputs: pass {yname} as a list of {n_out} arrays")
        out_shapes = [t.shape for t in self.outputs]
        prepared = []
        for i, (loss, t, shape) in enumerate(zip(self.losses, ys, out_shapes)):
            name = yname if n_out == 1 else f"{yname}[{i}]"
            arr = as_target_array(t, name)
            check_same_length(xs0, arr, "x", name)
            arr = check_targets(loss, arr, shape, name)
            prepared.append(loss.prepare_targets(arr, self.dtype))
        return prepared

    def _prepare(self, x, y=None, xname="x", yname="y"):
        xs = self._prepare_x(x, xname)
        if y is None:
            return xs, None
        return xs, self._prepare_y(y, xs[0], yname)

    def _unwrap(self, xs: list):
        return xs[0] if len(xs) == 1 else xs

    def train_step(self, x, y, check_finite: bool = True):
        """One optimizer step on one prepared batch; returns (loss, predictions before the step).

        ``x``/``y`` are arrays of the model's dtype (lists for several inputs/outputs).
        """
        n_out = len(self.outputs)
        ys = _as_list(y) if n_out > 1 else [y]
        dist = self._dist
        # Data parallel: a rank whose part of a small last batch is empty adds zero gradients.
        idle = dist is not None and len(_as_list(x)[0] if len(self.inputs) > 1 else x) == 0
        # With check_finite, overflow and NaN are detected below, so NumPy need not warn on the way.
        guard = (np.errstate(over="ignore", invalid="ignore", divide="ignore") if check_finite
                 else contextlib.nullcontext())
        with guard, step_threads(self._uses_thread_pool):
            y_hat, loss = None, 0.0
            if not idle:
                y_hat = self.forward(x, training=True)
                outs = [y_hat] if n_out == 1 else y_hat
                for loss_fn, o, t in zip(self.losses, outs, ys):
                    loss += loss_fn.forward(o, t)
            bad_loss = check_finite and not math.isfinite(loss)
            if bad_loss and dist is None:
                raise TrainingDivergedError(f"the loss became {loss}; {self._weights_note()}")
            if idle:
                self.flat_grads[...] = 0
            elif not bad_loss:
                dys = [loss_fn.backward() for loss_fn in self.losses]
                self.backward(dys[0] if n_out == 1 else dys)
            if dist is not None:  # data parallel: average over ranks, so that all stop together
                dist.reduce_gradients(self.flat_grads, poison=bad_loss)
                if bad_loss:
                    raise TrainingDivergedError(f"the loss became {loss}; {self._weights_note()}")
            if check_finite:
                self._check_finite_gradients()
            # One fused update over the flat buffers; an overflowing step is reported at the next batch.
            self.optimizer.step_flat(self.flat_params, self.flat_grads, self.flat_layout)
        return loss, y_hat

    def _weights_note(self) -> str:
        """Where training diverged: are the kept weights themselves still finite?"""
        for layer in self.layers:
            for name, p in layer.all_params().items():
                if not np.isfinite(p).all():
                    return (f"the previous update already made {name!r} in {layer.describe()} NaN or infinite "
                            "(a finite but huge gradient step), so the weights are not usable.")
        return "the weights from before this batch are kept."

    def _check_finite_gradients(self) -> None:
        # One dot product g . g over the flat buffer: finite iff every element is, unless some
        # |g| > 1.8e19 overflows its square (float32). The BLAS's dot is 3x faster than NumPy's sum here
        # (12 vs 37 us on the benchmark MLP). Otherwise look for the culprit with per-layer sums,
        # which overflow only far later (and then deserve a stop).
        g = self.flat_grads
        if g is not None and math.isfinite(np.vdot(g, g)):
            return
        for layer in self.layers:
            for name, g in layer.all_grads().items():
                if not math.isfinite(g.sum()):
                    raise TrainingDivergedError(
                        f"the gradient of {name!r} in {layer.describe()} is NaN or infinite (the first "
                        f"layer, in forward order, with a non-finite gradient); {self._weights_note()}")

    def fit(self, x, y=None, epochs: int = 1, batch_size: int = 32, *, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True,
            callbacks: Sequence[Callback] | None = None, verbose: int = 1,
            check_finite: bool = True, steps_per_epoch: int | None = None,
            distributed=False) -> History:
        """Train for ``epochs`` more epochs on mini-batches of ``batch_size``.

        Args:
            x, y: inputs (N, ...) and targets (N, ...) (integer labels or one-hot for
                classification losses); lists of arrays for several inputs/outputs.
                Or ``x`` is a source of batches and ``y`` is None: an iterable (a
                re-iterable object is iterated afresh each epoch) or an iterator/generator
                of ``(x_batch, y_batch)`` pairs; then ``batch_size``, ``shuffle`` and
                ``validation_split`` do not apply, and ``steps_per_epoch`` bounds an epoch
                (required for an endless generator).
            epochs: number of epochs to run in this call (the count continues in
                ``model.epochs_trained``, so a resumed model carries on numbering).
            validation_split: fraction in [0, 1) of the samples, taken from the **end**
                (before shuffling, as Keras), held out for validation.
            validation_data: ``(x_val, y_val)``, or a source of ``(x, y)`` batches (read once
                per epoch; only the predictions are kept); overrides ``validation_split``.
            shuffle: reshuffle the training samples each epoch (seeded).
            callbacks: e.g. :class:`~scratchnn.callbacks.EarlyStopping`.
            verbose: 0 silent, 1 progress bar per epoch, 2 one line per epoch.
            check_finite: stop with :class:`~scratchnn.errors.TrainingDivergedError`
                when the loss or a gradient becomes NaN/inf (weights before that step are kept).
            steps_per_epoch: with a batch source, the number of batches per epoch.
            distributed: ``True`` (or a :class:`scratchnn.distributed.DataParallel`) to train
                data-parallel on the MPI ranks of ``mpiexec -n N``: ``batch_size`` is the
                global batch, each rank takes its shard, gradients are averaged with one
                allreduce per step; reports and callbacks marked ``rank_zero_only`` (progress
                bar, checkpoints) on rank 0. See ``docs/distributed.md``.

        Returns:
            The model's :class:`~scratchnn.callbacks.History` (``history.history["loss"]``...).
            Training metrics are running means over the epoch's batches; validation
            metrics are computed on the whole validation set.
        """
        if distributed is not False and self._dist is None:
            from .distributed import as_data_parallel
            return as_data_parallel(distributed).run(self, lambda: self.fit(
                x, y, epochs, batch_size, validation_split=validation_split, validation_data=validation_data,
                shuffle=shuffle, callbacks=callbacks, verbose=verbose, check_finite=check_finite,
                steps_per_epoch=steps_per_epoch))
        dist = self._dist
        self._require_compiled("fit")
        _check_count("fit", "epochs", epochs, 0)
        _check_count("fit", "batch_size", batch_size, 1)
        if steps_per_epoch is not None:
            _check_count("fit", "steps_per_epoch", steps_per_epoch, 1)
        validation_split = checks.number("fit", "validation_split", validation_split, 0.0, 1.0, high_open=True,
                                         what="in [0, 1)")
        streaming = y is None and is_batch_source(x)
        if streaming:
            if validation_split:
                raise ConfigError("fit: validation_split needs arrays; with a batch source pass validation_data")
            source = x
            iterator = x if isinstance(x, Iterator) else None
            if iterator is not None and steps_per_epoch is None and epochs > 1:
                raise ConfigError("fit: an iterator is used up after one pass; give steps_per_epoch "
                                  "(or pass a re-iterable object) to train for several epochs")
            steps = steps_per_epoch if steps_per_epoch is not None else source_length(source)
        else:
            if y is None:
                raise ConfigError("fit needs targets y (or a source of (x, y) batches as x)")
            xs, ys = self._prepare(x, y)
            n = len(xs[0])
            steps = math.ceil(n / batch_size)
        if validation_data is not None and is_batch_source(validation_data):
            if dist is not None:
                raise ConfigError("fit: distributed validation needs arrays (x_val, y_val), not a batch source")
            val = validation_data
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ConfigError("fit: validation_data must be a pair (x_val, y_val) or a source of batches")
            val = self._prepare(*validation_data, xname="x_val", yname="y_val")
        elif validation_split > 0:
            n_val = int(round(n * validation_split))
            if n_val == 0 or n_val == n:
                raise ConfigError(f"fit: validation_split={validation_split} leaves {n_val} of {n} samples "
                                  "for validation; use a split that leaves samples on both sides.")
            val = ([a[-n_val:] for a in xs], [a[-n_val:] for a in ys])
            xs, ys = [a[:-n_val] for a in xs], [a[:-n_val] for a in ys]
            n -= n_val
        else:
            val = None
        if dist is not None:  # every rank agrees on model, seed, data and settings; rank 0's weights
            dist.start(self, None if streaming else xs, None if streaming else ys, {
                "epochs": epochs, "batch_size": batch_size, "shuffle": shuffle,
                "steps_per_epoch": steps_per_epoch, "streaming": streaming}, val)

        cbs: list[Callback] = [self.history, *(callbacks or [])]
        if verbose:
            cbs.append(ProgressBar(epochs, steps, verbose, first_epoch=self.epochs_trained))  # type: ignore[arg-type]
        if dist is not None:
            cbs = [cb for cb in cbs if dist.keeps(cb)]
        for cb in cbs:
            cb.set_model(self)
        self.stop_training = False
        metric_fns = self._metric_fns()
        for cb in cbs:
            cb.on_train_begin({})
        for _ in range(epochs):
            epoch = self.epochs_trained
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            if streaming:
                batches = source_batches(source if iterator is None else iterator, steps_per_epoch,
                                         lambda xb, yb: self._prepare(xb, yb, xname="x_batch", yname="y_batch"))
                if dist is not None:
                    batches = dist.shard_batches(batches)
            else:
                batches = array_batches(xs, ys, batch_size, self.rng.permutation(len(xs[0])) if shuffle else None, dist)
            totals = dict.fromkeys(["loss", *(name for name, _, _ in metric_fns)], 0.0)
            seen = 0
            step = -1
            put = self.device.put
            for step, (xb, yb) in enumerate(batches):
                if not self.device.is_cpu:  # one copy per batch to the device
                    xb, yb = [put(a) for a in xb], [put(a) for a in yb]
                try:
                    loss, y_hat = self.train_step(self._unwrap(xb), self._unwrap(yb), check_finite)
                except TrainingDivergedError as exc:
                    where = f"{step + 1}/{steps}" if steps else f"{step + 1}"
                    raise TrainingDivergedError(
                        f"Training stopped at epoch {epoch + 1}, batch {where}: {exc} "
                        "Hint: lower the learning rate, clip gradients (optimizer clip_norm=1.0), "
                        "or standardise the inputs.") from None
                w = len(xb[0])
                seen += w
                totals["loss"] += loss * w
                batch_logs = {"loss": loss}
                outs = [y_hat] if len(self.outputs) == 1 else y_hat
                for name, k, fn in metric_fns if w else ():
                    value = fn(yb[k], outs[k])
                    totals[name] += value * w
                    batch_logs[name] = value
                for cb in cbs:
                    cb.on_batch_end(step, batch_logs)
                # A callback may stop training after any batch (Ctrl-C, a step budget). With data
                # parallelism the ranks agree at the end of the epoch instead (one collective there,
                # none per step), so that every rank stops at the same step.
                if self.stop_training and dist is None:
                    break
            if dist is not None:  # sums over ranks: every rank logs the global means
                *sums, seen = dist.reduce_sums([*totals.values(), seen])
                totals = dict(zip(totals, sums))
                dist.sync_buffers(self)
            if seen == 0:
                raise ConfigError(f"fit: the batch source gave no batches in epoch {epoch + 1}")
            logs = {k: v / seen for k, v in totals.items()}
            if val is not None:
                scores = self._evaluate_source(val) if is_batch_source(val) else self._evaluate_arrays(*val)
                logs.update({f"val_{k}": v for k, v in scores.items()})
            logs["lr"] = self.optimizer.current_lr
            self.epochs_trained += 1
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if dist is not None:
                self.stop_training = dist.any(self.stop_training)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end({})
        return self.history

    def _metric_fns(self) -> list[tuple[str, int, Any]]:
        """``(log name, output index, function)`` for every compiled metric and output."""
        n_out = len(self.outputs)
        return [(m if n_out == 1 else f"{m}_{k}", k, self._metric(m, self.losses[k]))
                for k in range(n_out) for m in self.metric_names]

    # ------------------------------------------------------------ inference
    def _predict_arrays(self, xs: list[np.ndarray], batch_size: int):
        n = len(xs[0])
        put, get = self.device.put, self.device.get
        outs = []
        for i in range(0, n, batch_size):  # one copy in and one out per batch
            with step_threads(self._uses_thread_pool):
                y = self.forward(self._unwrap([put(a[i:i + batch_size]) for a in xs]), training=False)
            outs.append(get(y) if len(self.outputs) == 1 else [get(o) for o in y])
        if len(self.outputs) == 1:
            return outs[0] if len(outs) == 1 else np.concatenate(outs)
        return [np.concatenate([o[k] for o in outs]) for k in range(len(self.outputs))]

    def predict(self, x, batch_size: int = 1024):
        """Outputs for ``x`` (N, ...), computed in batches, in inference mode (no dropout)."""
        _check_count("predict", "batch_size", batch_size, 1)
        return self._predict_arrays(self._prepare_x(x), batch_size)

    def predict_proba(self, x, batch_size: int = 1024):
        """Probabilities for ``x``: :meth:`predict`'s logits turned by the compiled loss's link
        (:meth:`~scratchnn.losses.Loss.probabilities`).

        ``SoftmaxCrossEntropy`` -> softmax over the last axis (rows sum to 1);
        ``BinaryCrossEntropyWithLogits`` -> elementwise sigmoid. :meth:`predict` itself
        returns logits, what those losses take. With several outputs, a list.

        Raises:
            ConfigError: the model's loss does not take logits (nothing to convert: use
                :meth:`predict`), or it has no loss (compile it, or load it with its loss).
        """
        if not self.losses or not all(loss.from_logits for loss in self.losses):
            raise ConfigError("predict_proba needs a model trained on logits (loss SoftmaxCrossEntropy or "
                              "BinaryCrossEntropyWithLogits); this one's outputs are not logits, use predict. "
                              f"Received: loss={type(self.loss).__name__ if self.loss is not None else None}")
        y_hat = self.predict(x, batch_size)
        if len(self.outputs) == 1:
            return self.loss.probabilities(y_hat)
        return [loss.probabilities(o) for loss, o in zip(self.losses, y_hat)]

    def _evaluate_source(self, source) -> dict[str, float]:
        """Loss and metrics over every batch of a source (as :meth:`_evaluate_arrays` on their union)."""
        preds: list = []
        targets: list = []
        for xb, yb in source:
            xs, ys = self._prepare(xb, yb, xname="x_val", yname="y_val")
            y_hat = self._predict_arrays(xs, len(xs[0]))
            preds.append([y_hat] if len(self.outputs) == 1 else y_hat)
            targets.append(ys)
        if not preds:
            raise ConfigError("fit: the validation source gave no batches")
        outs = [np.concatenate([p[k] for p in preds]) for k in range(len(self.outputs))]
        ys = [np.concatenate([t[k] for t in targets]) for k in range(len(self.outputs))]
        result = {"loss": float(sum(loss.forward(o, t) for loss, o, t in zip(self.losses, outs, ys)))}
        for name, k, fn in self._metric_fns():
            result[name] = float(fn(ys[k], outs[k]))
        return result

    def _evaluate_arrays(self, xs, ys, batch_size: int = 1024) -> dict[str, float]:
        if self._dist is not None:  # each rank predicts its part; all compute the same figures
            y_hat = self._dist.predict(self, xs, batch_size)
        else:
            y_hat = self._predict_arrays(xs, batch_size)
        outs = [y_hat] if len(self.outputs) == 1 else y_hat
        result = {"loss": float(sum(loss.forward(o, t) for loss, o, t in zip(self.losses, outs, ys)))}
        for name, k, fn in self._metric_fns():
            result[name] = float(fn(ys[k], outs[k]))
        return result

    def evaluate(self, x, y, batch_size: int = 1024, verbose: int = 0, distributed=False) -> dict[str, float]:
        """The loss and every compiled metric on ``(x, y)``, as a dict.

        With ``distributed`` (as in :meth:`fit`), each MPI rank predicts its part of ``x``
        and every rank returns the figures for the whole set."""
        if distributed is not False and self._dist is None:
            from .distributed import as_data_parallel
            return as_data_parallel(distributed).run(self, lambda: self.evaluate(x, y, batch_size, verbose))
        self._require_compiled("evaluate")
        xs, ys = self._prepare(x, y)
        result = self._evaluate_arrays(xs, ys, batch_size)
        if verbose and (self._dist is None or self._dist.is_root):
            print(" - ".join(f"{k}: {v:.4f}" for k, v in result.items()))
        return result


def _check_count(owner: str, name: str, value, low: int) -> None:
    checks.integer(owner, name, value, low=low)
