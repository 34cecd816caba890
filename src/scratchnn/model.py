"""``Model``: a graph of layers, run as one network (build, forward, backward, flat buffers,
summary, save, export).

``sn.Model(inputs, outputs)`` runs any graph recorded with :func:`scratchnn.Input` and
layer calls (residual connections, several inputs or outputs, a layer used twice);
``Sequential`` (:mod:`scratchnn.sequential`) is the special case of a chain. Its training
and inference loop -- ``compile``, ``train_step``, ``fit``, ``evaluate``, ``predict`` -- is
inherited from :class:`~scratchnn.training.Trainer`, one loop for every model.

Randomness (weight init, shuffling, dropout) comes from one
``numpy.random.Generator`` seeded by ``seed``, so the same seed, data and
settings give bit-identical weights on the same machine. Across machines the
last bits can differ (BLAS kernels and thread counts, CPU instruction sets,
library versions); see ``docs/reproducibility.md``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from . import losses as losses_mod
from .backend import CPU, Device, as_dtype, get_device
from .callbacks import History
from .errors import ConfigError, NotBuiltError, ShapeError
from .graph import Node, SymbolicTensor, collect_nodes
from .layers.base import Layer
from .savefile import save_model
from .training import Trainer, _as_list


def _seed_of(owner: str, seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"{owner}: seed must be a non-negative integer or None. Received: seed={seed!r}")
    return int(seed)


class Model(Trainer):
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
        self._uses_thread_pool = any(sub.uses_thread_pool for layer in self.layers for _, sub in layer.walk())
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

