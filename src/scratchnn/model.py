"""``Model`` (a graph of layers) and ``Sequential`` (a stack): fit, evaluate, predict, summary, save.

``sn.Model(inputs, outputs)`` runs any graph recorded with :func:`scratchnn.Input` and
layer calls (residual connections, several inputs or outputs, a layer used twice);
``Sequential`` is the special case of a chain. Both share one training loop.

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
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from . import checks
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .backend import CPU, Device, as_dtype, get_device
from .callbacks import Callback, History, ProgressBar
from .errors import ConfigError, NotBuiltError, ShapeError, TrainingDivergedError
from .graph import Node, SymbolicTensor, collect_nodes
from .layers.base import Layer
from .savefile import save_model
from .threads import step_threads
from .validation import as_float_array, as_target_array, check_same_length, check_targets


def _seed_of(owner: str, seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"{owner}: seed must be a non-negative integer or None. Received: seed={seed!r}")
    return int(seed)


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Model:
    """A graph of layers from ``inputs`` to ``outputs``, trained as one network.

    Args:
        inputs: a tensor from :func:`scratchnn.Input`, or a list of them.
        outputs: the tensor (or list of tensors) computed from the inputs by calling layers.
        seed: seed of the model's random generator (weights, shuffling, dropout).
            ``None`` draws a fresh seed, which is then recorded in ``model.seed``.
        dtype: ``"float32"`` (default) or ``"float64"``; inputs are converted to it.
        name: an optional name, shown by :meth:`summary`.
        device: ``"cpu"`` (default) or ``"gpu"`` (CuPy, ``pip install 'scratchnn[gpu]'``): where
            the weights live and the maths runs. Weights are always drawn on the host from the
            model's generator, so a seed gives the same initial weights on every device;
            ``fit``/``predict`` take and return NumPy arrays (one copy per batch each way).
            :meth:`to` moves a model.

    With several inputs, ``fit``/``predict`` take a list of arrays (one per input, in
    the order of ``inputs``); with several outputs, the targets are a list and
    ``compile`` takes one loss for all outputs or a list of losses (the training loss
    is their sum), and ``predict`` returns a list.

    A layer called on two tensors is one set of weights used twice; its gradients
    are the sums over both calls. Where one tensor feeds several layers, the
    gradients flowing back into it are added (fan-out).

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> x = sn.Input((4,))
        >>> h = sn.layers.Dense(4, 4)(x)
        >>> y = sn.layers.Dense(4, 1)(sn.layers.Add()([x, sn.layers.Tanh()(h)]))
        >>> model = sn.Model(x, y, seed=0)
        >>> model.compile(loss="mse", optimizer="adam")
        >>> model.predict(np.ones((2, 4))).shape
        (2, 1)
    """

    #: How a model file names this kind of model (read by :mod:`scratchnn.savefile`).
    file_kind = "Model"

    def __init__(self, inputs=None, outputs=None, *, seed: int | None = None, dtype: object = "float32",
                 name: str | None = None, device: str | Device = "cpu") -> None:
        self.device: Device = get_device(device)
        self.seed = _seed_of(type(self).__name__, seed)
        self.rng = np.random.default_rng(self.seed)
        self.dtype = as_dtype(dtype)
        self.name = name
        #: The compiled loss (of the first output) and optimizer; ``None`` until :meth:`compile`.
        self.loss: Any = None
        self.losses: list[losses_mod.Loss] = []
        self.optimizer: Any = None
        self.metric_names: list[str] = []
        self.history = History()
        self.epochs_trained = 0
        self.stop_training = False
        #: JSON-safe data saved with the model (e.g. a text model's vocabulary).
        self.metadata: dict = {}
        self.layers: list[Layer] = []
        self.inputs: list[SymbolicTensor] = []
        self.outputs: list[SymbolicTensor] = []
        self.nodes: list[Node] = []
        self._built = False
        #: All parameters in one contiguous array, all gradients in another (after :meth:`build`).
        self.flat_params: Any = None
        self.flat_grads: Any = None
        #: Whether a step holds the BLAS to one thread (set by :meth:`build`, see :func:`scratchnn.threads.step_threads`).
        self._uses_thread_pool = False
        #: The data-parallel context during a distributed fit/evaluate (scratchnn.distributed), else None.
        self._dist: Any = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ConfigError("Model needs both inputs and outputs: sn.Model(inputs=x, outputs=y)")
            self._set_graph(inputs, outputs)
            self.build()

    # --------------------------------------------------------------- the graph
    def _set_graph(self, inputs, outputs) -> None:
        ins, outs = _as_list(inputs), _as_list(outputs)
        for what, ts in (("inputs", ins), ("outputs", outs)):
            if not ts or not all(isinstance(t, SymbolicTensor) for t in ts):
                raise ConfigError(f"Model {what} must be tensors from sn.Input(...) and layer calls. "
                                  f"Received: {what}={[type(t).__name__ for t in ts]}")
        if any(t.node is not None for t in ins):
            raise ConfigError("Model inputs must come from sn.Input(...), not from a layer call")
        if len({id(t) for t in ins}) != len(ins):
            raise ConfigError("the same Input appears twice in Model inputs")
        self.nodes = collect_nodes(ins, outs)
        self.inputs, self.outputs = ins, outs
        layers: dict[int, Layer] = {}
        for node in self.nodes:
            layers.setdefault(id(node.layer), node.layer)
        self.layers = list(layers.values())
        uses: dict[int, int] = {}
        for node in self.nodes:
            uses[id(node.layer)] = uses.get(id(node.layer), 0) + 1
        #: Per node: is its layer called more than once? Then caches are kept per call and
        #: gradients summed. (Flags, not ids, so that a deep copy of the model stays valid.)
        self._node_shared = [uses[id(node.layer)] > 1 for node in self.nodes]
        # A tensor's value may be dropped after its last consumer (inference memory).
        last: dict[int, int] = {}
        for j, node in enumerate(self.nodes):
            for t in node.inputs:
                last[id(t)] = j
        keep = {id(t) for t in outs}
        self._release = [[t for t in {id(t): t for t in node.inputs}.values()
                          if last[id(t)] == j and id(t) not in keep] for j, node in enumerate(self.nodes)]

    @property
    def built(self) -> bool:
        return self._built

    def build(self, input_shape: Iterable[int] | None = None) -> None:
        """Create every layer's weights (drawn from the model's generator) and the flat buffers."""
        for i, layer in enumerate(self.layers):
            layer.position = (i + 1, len(self.layers))
        model_inputs = {id(t) for t in self.inputs}
        need_dx: dict[int, bool] = {}
        for node in self.nodes:
            layer = node.layer
            shape = node.inputs[0].shape if layer.num_inputs == 1 else [t.shape for t in node.inputs]
            if not layer.built:
                layer.build(shape, self.rng, self.dtype)
            # Nothing consumes the gradient with respect to a model input.
            need = any(id(t) not in model_inputs for t in node.inputs)
            need_dx[id(layer)] = need_dx.get(id(layer), False) or need
        for layer in self.layers:
            layer.input_grad_required = need_dx[id(layer)]
        self._flatten()
        self._built = True
        if not self.device.is_cpu:  # drawn on the host, then copied: the same weights on every device
            device, self.device = self.device, CPU
            self.to(device)

    def _flatten(self) -> None:
        """Move every parameter into one contiguous array (``flat_params``) and every gradient
        into another (``flat_grads``); the layers keep views into them.

        The optimizer then updates the whole model in a few vectorised passes, and a
        data-parallel run averages all gradients with one collective call.
        """
        entries: list[tuple[dict, dict, str, np.ndarray, str]] = []
        seen: set[int] = set()
        for i, layer in enumerate(self.layers):
            for path, sub in layer.walk():
                for k, p in sub.params.items():
                    if id(p) not in seen:
                        seen.add(id(p))
                        entries.append((sub.params, sub.grads, k, p, f"{i}/{path}{k}"))
        total = sum(e[3].size for e in entries)
        like = entries[0][3] if entries else np.empty(0)
        flat = np.empty(total, dtype=self.dtype, like=like)      # on the parameters' device
        flat_g = np.zeros(total, dtype=self.dtype, like=like)
        offset = 0
        #: ``(key, offset, shape)`` of every parameter in the flat buffers (the optimizer's view).
        self.flat_layout: list[tuple[str, int, tuple[int, ...]]] = []
        for params, grads, k, p, key in entries:
            self.flat_layout.append((key, offset, p.shape))
            n = p.size
            view = flat[offset:offset + n].reshape(p.shape)
            view[...] = p
            params[k] = view
            grads[k] = flat_g[offset:offset + n].reshape(p.shape)
            offset += n
        self.flat_params, self.flat_grads = flat, flat_g
        self._uses_thread_pool = any(sub.uses_thread_pool for layer in self.layers for _, sub in layer.walk())

    def to(self, device: str | Device) -> Model:
        """Move the model -- weights, gradients, buffers, optimizer state -- to ``device``
        (``"cpu"`` or ``"gpu"``); returns the model. Raises
        :class:`~scratchnn.backend.DeviceError` where no such device can be used."""
        device = get_device(device)
        if device is self.device:
            return self
        old = self.device

        def move(a):
            return device.put(np.asarray(old.get(a)))

        for layer in self.layers:
            for _, sub in layer.walk():
                sub.params = {k: move(v) for k, v in sub.params.items()}
                sub.grads = {k: move(v) for k, v in sub.grads.items()}
                sub.buffers = {k: move(v) for k, v in sub.buffers.items()}
                for attr, value in list(vars(sub).items()):  # derived constants (e.g. gate scales)
                    if attr != "cache" and isinstance(value, old.array_type) and hasattr(value, "shape"):
                        setattr(sub, attr, move(value))
                sub.cache = None
        if self.optimizer is not None:
            for state in self.optimizer.state.values():
                for slot, value in state.items():
                    state[slot] = move(value)
            self.optimizer._flat_state = self.optimizer._flat_layout = None
        self.device = device
        if self._built:
            self._flatten()
        return self

    @property
    def input_shape(self):
        """Per-sample input shape; a list of shapes for a model with several inputs."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """Per-sample output shape; a list of shapes for a model with several outputs."""
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

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

    # ------------------------------------------------------------- compute
    def forward(self, x, training: bool = False, record: list | None = None):
        """Run the graph on ``x`` (an array, or a list of arrays for several inputs) of the
        model's dtype; returns an array (a list for several outputs).

        With ``record`` (a list), ``(node, output)`` of every layer call is appended to it, in
        order: the one way to look inside a forward pass (plots, sampling)."""
        xs = _as_list(x) if len(self.inputs) > 1 else [x]
        if len(xs) != len(self.inputs):
            raise ShapeError(f"the model takes {len(self.inputs)} inputs; got {len(xs)} arrays")
        values: dict[Any, Any] = {id(t): a for t, a in zip(self.inputs, xs)}
        any_shared = False
        for node, release, shared in zip(self.nodes, self._release, self._node_shared):
            layer = node.layer
            if layer.num_inputs == 1:
                a = values[id(node.inputs[0])]
                layer._check_shape(a.shape)
                y = layer.forward(a, training)
            else:
                y = layer.forward([values[id(t)] for t in node.inputs], training)
            if shared:
                any_shared = True
                values[("cache", id(node))] = [(sub, sub.cache) for _, sub in layer.walk()]
            values[id(node.output)] = y
            if record is not None:
                record.append((node, y))
            if not training and record is None:
                for t in release:
                    del values[id(t)]
        self._values = values if any_shared else None
        outs = [values[id(t)] for t in self.outputs]
        return outs[0] if len(outs) == 1 else outs

    __call__ = forward

    def backward(self, dy, record: list | None = None):
        """Backpropagate dL/d(output) (a list for several outputs) through the graph, filling
        every layer's grads; returns dL/d(input) where a layer computed it, else None.

        With ``record``, ``(node, dL/d(node output))`` is appended for every call, last first."""
        dys = _as_list(dy) if len(self.outputs) > 1 else [dy]
        grads: dict[int, np.ndarray] = {}
        for t, d in zip(self.outputs, dys):
            grads[id(t)] = d if id(t) not in grads else grads[id(t)] + d
        sums: dict[int, dict[str, np.ndarray]] = {}
        values: Any = getattr(self, "_values", None)
        for node, is_shared in zip(reversed(self.nodes), reversed(self._node_shared)):
            d = grads.pop(id(node.output), None)
            if d is None:
                continue  # this output was given no gradient
            if record is not None:
                record.append((node, d))
            layer = node.layer
            if is_shared:
                for sub, cache in values[("cache", id(node))]:
                    sub.cache = cache
            dx = layer.backward(d)
            if is_shared:  # each call overwrote the grads: keep the running sum
                acc = sums.get(id(layer))
                if acc is None:
                    sums[id(layer)] = {k: g.copy() for k, g in layer.all_grads().items()}
                else:
                    for k, g in layer.all_grads().items():
                        acc[k] += g
            dxs = [dx] if layer.num_inputs == 1 else dx
            for t, g in zip(node.inputs, dxs):
                if g is None:
                    continue
                grads[id(t)] = g if id(t) not in grads else grads[id(t)] + g
        for layer in self.layers:
            if id(layer) in sums:
                for k, g in layer.all_grads().items():
                    g[...] = sums[id(layer)][k]
        self._values = None
        dxs = [grads.get(id(t)) for t in self.inputs]
        return dxs[0] if len(dxs) == 1 else dxs

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(key, param, grad)`` for every parameter; key is ``"<layer index>/<name>"``
        (``"<layer index>/<child>/<name>"`` inside composite layers)."""
        for i, layer in enumerate(self.layers):
            grads = layer.all_grads()
            for name, p in layer.all_params().items():
                yield f"{i}/{name}", p, grads[name]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self) -> list[dict[str, np.ndarray]]:
        """A copy of every layer's state: its parameters and its buffers (such as
        BatchNorm's running statistics), one dict per layer, as Keras' ``get_weights``
        and PyTorch's ``state_dict`` include non-trained state."""
        get = self.device.get
        return [{k: np.array(get(v), copy=True) for k, v in layer.all_arrays().items()} for layer in self.layers]

    def set_weights(self, weights: list[dict[str, np.ndarray]]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the layers, checking names and shapes."""
        if len(weights) != len(self.layers):
            raise ShapeError(f"set_weights: the model has {len(self.layers)} layers; got weights for {len(weights)}.")
        for layer, w in zip(self.layers, weights):
            state = layer.all_arrays()
            if set(w) != set(state):
                raise ShapeError(f"set_weights: {layer.describe()} has weights {sorted(state)}; got {sorted(w)}.")
            for k, v in w.items():
                if np.shape(v) != state[k].shape:
                    raise ShapeError(f"set_weights: {layer.describe()} weight {k!r} has shape "
                                     f"{state[k].shape}; got {np.shape(v)}.")
                state[k][...] = self.device.put(np.asarray(v, dtype=state[k].dtype))

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
        # One sum over the flat buffer: finite iff every element is (bar overflow, which also
        # deserves a stop); only on failure look for the culprit.
        if self.flat_grads is not None and math.isfinite(self.flat_grads.sum()):
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
        streaming = y is None and _is_batch_source(x)
        if streaming:
            if validation_split:
                raise ConfigError("fit: validation_split needs arrays; with a batch source pass validation_data")
            source = x
            iterator = x if isinstance(x, Iterator) else None
            if iterator is not None and steps_per_epoch is None and epochs > 1:
                raise ConfigError("fit: an iterator is used up after one pass; give steps_per_epoch "
                                  "(or pass a re-iterable object) to train for several epochs")
            steps = steps_per_epoch if steps_per_epoch is not None else _length_or_none(source)
        else:
            if y is None:
                raise ConfigError("fit needs targets y (or a source of (x, y) batches as x)")
            xs, ys = self._prepare(x, y)
            n = len(xs[0])
            steps = math.ceil(n / batch_size)
        if validation_data is not None and _is_batch_source(validation_data):
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
                batches = self._source_batches(source if iterator is None else iterator, steps_per_epoch)
                if dist is not None:
                    batches = dist.shard_batches(batches)
            else:
                batches = self._array_batches(xs, ys, batch_size, shuffle)
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
                scores = self._evaluate_source(val) if _is_batch_source(val) else self._evaluate_arrays(*val)
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

    def _array_batches(self, xs, ys, batch_size, shuffle):
        n = len(xs[0])
        order = self.rng.permutation(n) if shuffle else None
        dist = self._dist
        if dist is not None and order is not None:
            order = dist.same_order(order)
        for lo in range(0, n, batch_size):
            hi = min(n, lo + batch_size)
            if dist is not None:  # data parallel: this rank's part of the global batch
                part = dist.part(hi - lo)
                lo, hi = lo + part.start, lo + part.stop
            if order is None:
                yield [a[lo:hi] for a in xs], [a[lo:hi] for a in ys]
            else:
                idx = order[lo:hi]
                yield [a[idx] for a in xs], [a[idx] for a in ys]

    def _source_batches(self, source, steps):
        iterator = iter(source)
        step = 0
        while steps is None or step < steps:
            try:
                item = next(iterator)
            except StopIteration:
                return
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ConfigError(f"fit: a batch source must give (x_batch, y_batch) pairs; batch {step + 1} "
                                  f"is a {type(item).__name__}")
            yield self._prepare(*item, xname="x_batch", yname="y_batch")
            step += 1

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

    # ------------------------------------------------------------- describe
    def _summary_rows(self) -> list[tuple[str, str, str, str]]:
        index = {id(layer): i for i, layer in enumerate(self.layers)}
        names = {id(t): f"input_{i}" for i, t in enumerate(self.inputs)}
        rows = []
        counted: set[int] = set()
        for node in self.nodes:
            layer = node.layer
            i = index[id(layer)]
            label = f"{i}: {type(layer).__name__}" + (f" ({layer.name})" if layer.name else "")
            names[id(node.output)] = str(i)
            params = "" if id(layer) in counted else f"{layer.count_params():,}"
            counted.add(id(layer))
            shape = str(("N",) + tuple(node.output.shape)).replace("'", "")
            rows.append((label, shape, params, ", ".join(names[id(t)] for t in node.inputs)))
        return rows

    def summary(self, print_fn=print) -> str:
        """A table of the layers, their output shapes, parameter counts and (for a graph)
        the inputs of each call; printed and returned."""
        if not self.built:
            raise NotBuiltError("summary needs the input shape: call model.build(input_shape) "
                                "(per sample, e.g. (1, 28, 28)) or fit the model first.")
        graph = self.file_kind != "Sequential"
        head = ("Layer (type)", "Output shape", "Params", "Inputs")
        rows = [head] + self._summary_rows()
        cols = 4 if graph else 3
        widths = [max(len(r[c]) for r in rows) for c in range(cols)]
        line = "-" * (sum(widths) + 3 * (cols - 1))
        ins = "; ".join("(N, " + ", ".join(map(str, t.shape)) + ")" for t in self.inputs)
        title = self.name or type(self).__name__
        out = [f"Model: {title}  (input {ins}, dtype {self.dtype.name})", line]
        for j, r in enumerate(rows):
            cells = [f"{r[0]:<{widths[0]}}", f"{r[1]:<{widths[1]}}", f"{r[2]:>{widths[2]}}"]
            if graph:
                cells.append(f"{r[3]:<{widths[3]}}")
            out.append("   ".join(cells).rstrip())
            if j == 0:
                out.append(line)
        out += [line, f"Total params: {self.count_params():,}"]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        return (f"Model({len(self.inputs)} input(s), {len(self.nodes)} layer calls, {len(self.outputs)} "
                f"output(s), seed={self.seed}, dtype={self.dtype.name!r})")

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        """Save architecture, weights, optimizer and generator state to one ``.npz`` file, atomically
        (:func:`scratchnn.savefile.save_model`; :func:`scratchnn.load_model` reads it back)."""
        save_model(self, path)

    def export_onnx(self, path, **kwargs):
        """Write the model as an ONNX file; see :func:`scratchnn.onnx.export` for the options."""
        from .onnx import export
        return export(self, path, **kwargs)


def _check_count(owner: str, name: str, value, low: int) -> None:
    checks.integer(owner, name, value, low=low)


def _is_batch_source(x) -> bool:
    """A source of (x, y) batches rather than an array or a list of arrays."""
    if isinstance(x, (np.ndarray, list, tuple, str, bytes, dict)) or x is None:
        return False
    return isinstance(x, (Iterator, Iterable)) and not hasattr(x, "__array__")


def _length_or_none(source) -> int | None:
    try:
        return len(source)
    except TypeError:
        return None

