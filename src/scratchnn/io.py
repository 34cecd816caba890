"""Saving and loading models: one ``.npz`` file, no pickle, atomic writes.

File layout, format version 2 (a NumPy ``.npz``, i.e. a zip of ``.npy`` arrays,
stored uncompressed):

- ``__config__``: a uint8 array holding UTF-8 JSON::

      {"format": "scratchnn-model", "format_version": 2, "scratchnn_version": "...",
       "model": {"class_name": "Sequential", "seed": 0, "dtype": "float32", "name": null,
                 "input_shape": [784], "layers": [{"class_name": "Dense", "config": {...}}, ...]},
       "compile": {"loss": {...}, "optimizer": {"class_name", "config", "iterations"},
                   "metrics": [...]} or null,
       "training": {"epochs_trained": 3, "rng_state": {...}, "history": {...}},
       "metadata": {...}}

  A graph model (``"class_name": "Model"``) has, instead of ``input_shape``,
  ``"inputs": [{"shape": [...], "name": ...}]``, ``"nodes": [{"layer": i, "inputs": [ref, ...]}]``
  (layer calls in topological order) and ``"outputs": [ref, ...]``, where a ref is
  ``["input", k]`` or ``["node", j]`` with ``j`` an *earlier* node -- so a file cannot
  describe a cycle.

- ``params/<layer>/<name>``: each layer's parameters (``<child>/<name>`` inside a
  composite layer);
- ``buffers/<layer>/<name>``: non-trained state (e.g. BatchNorm running statistics);
- ``optimizer/<layer>/<name>/<slot>``: the optimizer's per-parameter state.

Format version 1 (scratchnn 0.1: Sequential only, Bidirectional arrays named ``fw_W``)
is still read.

**Loading is safe on untrusted files.** It never unpickles (object arrays are
refused), only instantiates classes from the registries in
:mod:`scratchnn.registry` (never a name looked up with ``import``/``getattr``),
and bounds every allocation by the size of the file itself:

1. every zip member must be stored uncompressed (no zip bombs), unique, and lie
   inside the file; each ``.npy`` header is read first, and its declared shape
   times its itemsize must equal the member's size, so no array can claim more
   memory than the file holds;
2. before a layer is built, the shapes its configuration implies
   (``layer.param_shapes(input_shape)``, a dry run of its declarations that
   allocates nothing) must equal the shapes declared in the file; a graph is
   checked first (references only to earlier nodes, every layer and node used,
   bounded fan-in), so nothing is allocated for a hostile graph either;
3. each array's dtype must be the model's float dtype (no object, string or
   complex arrays), and the JSON configuration is checked field by field.

Anything else ends in :class:`~scratchnn.errors.ModelFileError`. A missing file
raises the usual ``FileNotFoundError``.

**Saving** goes through :func:`atomic_write`: a temporary file in the same
folder, flushed and fsynced, then renamed over the target, so a crash or a kill
mid-save leaves either the old complete file or the new complete one. Temporary
files left by a killed save are removed by the next save to the same path.

Reproducibility: a saved model holds the weights bit for bit, the optimizer
state and the random generator state, so training resumed from it continues
exactly as the uninterrupted run would on the same machine. Across machines,
results can differ in the last bits (BLAS kernels, thread counts, CPU
instruction sets); see ``docs/reproducibility.md``.
"""
from __future__ import annotations

import json
import math
import os
import re
import zipfile
from typing import Any

import numpy as np

from ._version import __version__
from .atomic import _tmp_prefix, atomic_write  # noqa: F401  (re-exported: scratchnn.io.atomic_write)
from .backend import get_device
from .callbacks import History
from .errors import ModelFileError, ScratchnnError
from .graph import Input
from .model import Model
from .registry import LAYERS, LOSSES, OPTIMIZERS

# The writing half of the format (re-exported), and the upper bounds that keep a hostile file
# from making us allocate without limit, defined once beside the writer.
from .savefile import (  # noqa: F401
    FORMAT,
    FORMAT_VERSION,
    MAX_ARRAYS,
    MAX_CONFIG_BYTES,
    MAX_FAN_IN,
    MAX_INPUTS,
    MAX_LAYERS,
    MAX_NDIM,
    MAX_NODES,
    graph_to_config,
    model_to_arrays,
    model_to_config,
    save_model,
)
from .sequential import Sequential

READABLE_VERSIONS = (1, 2)

_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
_PATH = rf"{_NAME}(?:/{_NAME}){{0,7}}"
_MEMBER = re.compile(rf"__config__|(params|buffers)/\d{{1,5}}/{_PATH}|optimizer/\d{{1,5}}/{_PATH}/{_NAME}")


# ---------------------------------------------------------------- reading
def _fail(path, why: str) -> ModelFileError:
    return ModelFileError(f"{os.fspath(path)} is not a valid scratchnn model file: {why}")


def _expect(cond: bool, path, why: str) -> None:
    if not cond:
        raise _fail(path, why)


class _Archive:
    """A zip of .npy members read safely: every header checked up front, sizes bounded by the file."""

    def __init__(self, path):
        self.path = path
        size = os.path.getsize(path)  # FileNotFoundError / IsADirectoryError pass through
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError,
                OverflowError, UnicodeDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _fail(path, f"cannot open it as a .npz archive ({type(exc).__name__}: {exc})") from None
        _expect(len(infos) <= MAX_ARRAYS, path, f"it holds {len(infos)} members")
        self.members: dict[str, zipfile.ZipInfo] = {}
        #: key -> (shape, dtype, fortran_order) from each member's .npy header.
        self.headers: dict[str, tuple[tuple[int, ...], np.dtype, bool]] = {}
        self._header_len: dict[str, int] = {}
        for info in infos:
            name = info.filename
            _expect(name.endswith(".npy") and _MEMBER.fullmatch(name[:-4]) is not None,
                    path, f"unexpected member {name[:80]!r}")
            key = name[:-4]
            _expect(key not in self.members, path, f"the member {name!r} appears twice")
            _expect(info.compress_type == zipfile.ZIP_STORED, path,
                    f"the member {name!r} is compressed; format version {FORMAT_VERSION} stores arrays uncompressed")
            _expect(not info.flag_bits & 0x1, path, f"the member {name!r} is encrypted")
            _expect(info.file_size == info.compress_size and info.header_offset >= 0
                    and info.header_offset + info.compress_size <= size, path,
                    f"the member {name!r} declares {info.file_size} bytes, more than the file holds")
            self.members[key] = info
        for key in self.members:
            self.headers[key] = self._read_header(key)

    def _read_header(self, key):
        info = self.members[key]
        try:
            with self.zip.open(info) as f:
                shape, dtype, fortran = self._header(f, key)
                header_len = f.tell()
        except ModelFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to parse a hostile header is a file error
            raise _fail(self.path, f"cannot read the header of {key!r} ({type(exc).__name__}: {exc})") from None
        nbytes = math.prod(shape) * dtype.itemsize
        _expect(header_len + nbytes == info.file_size, self.path,
                f"array {key!r} declares shape {shape} ({nbytes} bytes) but its member holds "
                f"{info.file_size - header_len} bytes of data")
        self._header_len[key] = header_len
        return shape, dtype, fortran

    def _header(self, f, key):
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise _fail(self.path, f"array {key!r} has unsupported .npy version {version}")
        _expect(not dtype.hasobject and dtype.kind in "biuf" and dtype.fields is None and dtype.subdtype is None,
                self.path, f"array {key!r} has dtype {dtype}, not a plain number type (pickled objects are refused)")
        _expect(len(shape) <= MAX_NDIM and all(isinstance(d, int) and d >= 0 for d in shape), self.path,
                f"array {key!r} has a bad shape {shape!r}")
        return tuple(int(d) for d in shape), dtype, bool(fortran)

    def declared_bytes(self, prefix: str) -> int:
        return sum(math.prod(s) * dt.itemsize for k, (s, dt, _) in self.headers.items() if k.startswith(prefix))

    def read(self, key: str, shape: tuple | None = None, dtype: np.dtype | None = None) -> np.ndarray:
        _expect(key in self.members, self.path, f"the array {key!r} is missing")
        got_shape, got_dtype, fortran = self.headers[key]
        _expect(shape is None or got_shape == tuple(shape), self.path,
                f"array {key!r} has shape {got_shape}, expected {tuple(shape or ())}")
        _expect(dtype is None or got_dtype == dtype, self.path,
                f"array {key!r} has dtype {got_dtype}, expected {dtype}")
        nbytes = math.prod(got_shape) * got_dtype.itemsize
        try:
            with self.zip.open(self.members[key]) as f:
                f.read(self._header_len[key])  # parsed and checked when the archive was opened
                data = f.read(nbytes + 1)  # reading to the end also checks the CRC
        except ModelFileError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _fail(self.path, f"cannot read array {key!r} ({type(exc).__name__}: {exc})") from None
        _expect(len(data) == nbytes, self.path, f"array {key!r} is truncated or has trailing data")
        arr = np.frombuffer(data, dtype=got_dtype)
        return arr.reshape(got_shape, order="F" if fortran else "C").copy()


def _build_from_registry(table: dict, spec, path, kind: str):
    _expect(isinstance(spec, dict), path, f"a {kind} entry is not an object")
    name = spec.get("class_name")
    _expect(isinstance(name, str) and name in table, path, f"unknown {kind} class {str(name)[:80]!r}")
    config = spec.get("config", {})
    _expect(isinstance(config, dict), path, f"the {kind} config of {name} is not an object")
    cls = table[name]
    try:
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    except Exception as exc:  # noqa: BLE001 - a hostile config may break a constructor in any way
        raise _fail(path, f"invalid {kind} configuration for {name}: {exc}") from None


def _graph_from_config(mcfg, n_layers: int, path) -> tuple[list, list, list]:
    """Check a graph model's inputs, nodes and outputs; returns them as plain lists."""
    inputs, nodes, outputs = mcfg.get("inputs"), mcfg.get("nodes"), mcfg.get("outputs")
    _expect(isinstance(inputs, list) and 0 < len(inputs) <= MAX_INPUTS, path, "bad graph inputs")
    shapes = []
    for spec in inputs:
        _expect(isinstance(spec, dict) and (spec.get("name") is None or isinstance(spec.get("name"), str)),
                path, "bad graph input")
        shape = spec.get("shape")
        _expect(isinstance(shape, list) and 0 < len(shape) <= MAX_NDIM and all(_is_int(d, 1, 2**31) for d in shape),
                path, f"bad input shape {str(shape)[:80]}")
        shapes.append(tuple(shape))
    _expect(isinstance(nodes, list) and 0 < len(nodes) <= MAX_NODES, path, "bad graph node list")

    def ref_ok(ref, j) -> bool:  # j: the index of the node holding the reference
        return (isinstance(ref, list) and len(ref) == 2 and ref[0] in ("input", "node")
                and _is_int(ref[1], 0, len(inputs) if ref[0] == "input" else j))

    used_layers, used_nodes = set(), set()
    for j, node in enumerate(nodes):
        _expect(isinstance(node, dict) and _is_int(node.get("layer"), 0, n_layers), path,
                f"graph node {j} names no valid layer")
        ins = node.get("inputs")
        _expect(isinstance(ins, list) and 0 < len(ins) <= MAX_FAN_IN, path,
                f"graph node {j} has {len(ins) if isinstance(ins, list) else 'no'} inputs (1 to {MAX_FAN_IN})")
        for ref in ins:
            _expect(ref_ok(ref, j), path, f"graph node {j} refers to {str(ref)[:40]}, which is not an input "
                                         "or an earlier node (a dangling reference or a cycle)")
        used_layers.add(node["layer"])
    _expect(isinstance(outputs, list) and 0 < len(outputs) <= MAX_INPUTS
            and all(ref_ok(r, len(nodes)) for r in outputs), path, "bad graph outputs")
    _expect(len({tuple(r) for r in outputs}) == len(outputs), path, "an output is listed twice")
    _expect(used_layers == set(range(n_layers)), path, "a layer is not used by any graph node")
    stack = [r[1] for r in outputs if r[0] == "node"]
    while stack:
        j = stack.pop()
        if j in used_nodes:
            continue
        used_nodes.add(j)
        stack.extend(r[1] for r in nodes[j]["inputs"] if r[0] == "node")
    _expect(len(used_nodes) == len(nodes), path, "a graph node does not lead to any output")
    return shapes, nodes, outputs


def _check_declared_shapes(layer, i: int, shape, archive: _Archive, path, key_of=None) -> None:
    """The array shapes layer ``i`` implies for input ``shape`` (a dry run) must equal the file's."""
    declared = {k.split("/", 2)[2]: archive.headers[k][0] for k in archive.headers
                if k.startswith((f"params/{i}/", f"buffers/{i}/"))}
    if key_of is not None:
        declared = {key_of(i, k): v for k, v in declared.items()}
    try:
        implied = {str(k): tuple(int(d) for d in v) for k, v in layer.param_shapes(shape).items()}
    except ScratchnnError:
        raise
    except Exception as exc:  # noqa: BLE001 - a layer whose _build does more than declare
        raise _fail(path, f"{layer.describe()} cannot declare its arrays ({type(exc).__name__}: {exc})") from None
    _expect(implied == declared, path,
            f"{layer.describe()} with input {shape} has arrays {implied}; the file declares {declared}")


def _build_model(mcfg, layers, archive: _Archive, path, version: int):
    """Check the architecture against the file's arrays (no allocation), then build the model."""
    seed, dtype, name = mcfg["seed"], mcfg["dtype"], mcfg.get("name")
    key_of = _v1_key if version == 1 else None
    for i, layer in enumerate(layers):
        layer.position = (i + 1, len(layers))
    try:
        if mcfg["class_name"] == "Sequential":
            input_shape = mcfg.get("input_shape")
            _expect(isinstance(input_shape, list) and 0 < len(input_shape) <= MAX_NDIM
                    and all(_is_int(d, 1, 2**31) for d in input_shape), path,
                    f"bad input_shape {str(input_shape)[:80]}")
            shape: Any = tuple(input_shape)
            for i, layer in enumerate(layers):
                _expect(layer.num_inputs == 1, path, f"{layer.describe()} merges tensors; not in a Sequential")
                _check_declared_shapes(layer, i, shape, archive, path, key_of)
                shape = tuple(layer.compute_output_shape(shape))
            model = Sequential(layers, seed=seed, dtype=dtype, name=name)
            model.build(input_shape)
            return model
        shapes, nodes, outputs = _graph_from_config(mcfg, len(layers), path)
        tensors = [Input(s) for s in shapes]
        node_out: list = []
        checked = set()

        def get(ref):
            return tensors[ref[1]] if ref[0] == "input" else node_out[ref[1]]

        for node in nodes:  # symbolic calls compute shapes only
            layer = layers[node["layer"]]
            ins = [get(r) for r in node["inputs"]]
            if node["layer"] not in checked:
                checked.add(node["layer"])
                shape = ins[0].shape if layer.num_inputs == 1 else [t.shape for t in ins]
                _check_declared_shapes(layer, node["layer"], shape, archive, path, key_of)
            node_out.append(layer(ins if layer.num_inputs != 1 else ins[0]))
        for t, spec in zip(tensors, mcfg["inputs"]):
            t.name = spec.get("name")
        return Model(tensors, [get(r) for r in outputs], seed=seed, dtype=dtype, name=name)
    except ModelFileError:
        raise
    except ScratchnnError as exc:
        raise _fail(path, f"the layers do not fit together: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, f"the model cannot be built ({type(exc).__name__}: {exc})") from None


def _v1_key(i: int, key: str) -> str:
    """Format 1 named Bidirectional's arrays ``fw_W``/``bw_W``; format 2 ``fw/W``/``bw/W``."""
    return key[:2] + "/" + key[3:] if key.startswith(("fw_", "bw_")) else key


def _is_int(v, low: int = 0, high: int = 2**63) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v < high


def load_model(path: str | os.PathLike, compile: bool = True, device: str = "cpu"):
    """Load a model saved by :func:`save_model` / ``model.save``; safe on untrusted files.

    ``device`` (``"cpu"``, ``"gpu"``) is where the loaded model lives; files do not record a
    device, so a model saved from a GPU loads on the CPU and the other way round.

    The returned model predicts exactly what the saved one did, and (with
    ``compile=True``) continues training with the saved optimizer state, epoch
    count and random generator state, so ``model.fit`` picks up where the saved
    run stopped (bit for bit on the same machine).

    Raises:
        ModelFileError: for anything that is not a valid scratchnn model file
            (corrupt, truncated, of another version, or crafted); see the module
            docstring for what is checked.
        FileNotFoundError: where ``path`` does not exist.
    """
    target = get_device(device)  # a missing GPU is reported before the file is read
    try:
        return _load(path, compile).to(target)
    except ModelFileError:
        raise
    except RecursionError as exc:
        raise _fail(path, f"nesting too deep ({exc})") from None


def _load(path, compile: bool):

    archive = _Archive(path)
    _expect("__config__" in archive.members, path, "no __config__ entry (was it saved by scratchnn?)")
    shape, dtype, _ = archive.headers["__config__"]
    _expect(len(shape) == 1 and dtype == np.uint8 and shape[0] <= MAX_CONFIG_BYTES, path,
            "the configuration is not a byte string of at most 16 MiB")
    raw = archive.read("__config__")
    try:
        config = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _fail(path, f"the configuration is not valid JSON ({str(exc)[:200]})") from None
    _expect(isinstance(config, dict) and config.get("format") == FORMAT, path, "the format marker is missing")
    version = config.get("format_version")
    _expect(version in READABLE_VERSIONS, path,
            f"format version {str(version)[:20]}; this scratchnn ({__version__}) reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}")

    mcfg = config.get("model")
    _expect(isinstance(mcfg, dict) and mcfg.get("class_name") in ("Sequential", "Model")
            and (version == 2 or mcfg.get("class_name") == "Sequential"), path,
            "the model is neither a Sequential nor a Model")
    layer_specs = mcfg.get("layers")
    _expect(isinstance(layer_specs, list) and 0 < len(layer_specs) <= MAX_LAYERS, path, "bad layer list")
    seed = mcfg.get("seed")
    _expect(_is_int(seed, 0, 2**64), path, "bad seed")
    _expect(mcfg.get("dtype") in ("float32", "float64"), path, f"bad dtype {str(mcfg.get('dtype'))[:40]!r}")
    name = mcfg.get("name")
    _expect(name is None or isinstance(name, str), path, "bad model name")

    layers = [_build_from_registry(LAYERS, spec, path, "layer") for spec in layer_specs]
    model = _build_model(mcfg, layers, archive, path, version)

    expected_keys = {"__config__"}
    for i, layer in enumerate(model.layers):
        for kind, store in (("params", layer.all_params()), ("buffers", layer.all_buffers())):
            for pname, p in store.items():
                key = f"{kind}/{i}/{pname}"
                if version == 1 and pname.startswith(("fw/", "bw/")):
                    key = f"{kind}/{i}/{pname[:2]}_{pname[3:]}"
                expected_keys.add(key)
                p[...] = archive.read(key, p.shape, p.dtype)

    ccfg = config.get("compile")
    if ccfg is not None and compile:
        _expect(isinstance(ccfg, dict), path, "bad compile section")
        loss = _build_from_registry(LOSSES, ccfg.get("loss"), path, "loss")
        optimizer = _build_from_registry(OPTIMIZERS, ccfg.get("optimizer"), path, "optimizer")
        metrics = ccfg.get("metrics", [])
        _expect(isinstance(metrics, list) and len(metrics) <= 100 and all(isinstance(m, str) for m in metrics),
                path, "bad metrics")
        try:
            model.compile(loss, optimizer, metrics)
        except Exception as exc:  # noqa: BLE001
            raise _fail(path, str(exc)) from None
        iterations = ccfg["optimizer"].get("iterations", 0)
        _expect(_is_int(iterations), path, "bad optimizer iteration count")
        optimizer.iterations = iterations
        params = {f"{i}/{n}": p for i, layer in enumerate(model.layers) for n, p in layer.all_params().items()}
        slots = set(optimizer.slots)
        for member in archive.members:
            if not member.startswith("optimizer/"):
                continue
            key, _, slot = member[len("optimizer/"):].rpartition("/")
            _expect(key in params and slot in slots, path, f"unexpected optimizer state {member!r}")
            p = params[key]
            optimizer.state.setdefault(key, {})[slot] = archive.read(member, p.shape, p.dtype)
            expected_keys.add(member)
        for key, state in optimizer.state.items():
            missing = set(optimizer._init_state(params[key])) - set(state)
            _expect(not missing, path, f"the optimizer state of {key!r} lacks {sorted(missing)}")

    extra = set(archive.members) - expected_keys
    if ccfg is None or compile:
        _expect(not extra, path, f"unexpected arrays {sorted(extra)[:5]}")

    training = config.get("training") or {}
    _expect(isinstance(training, dict), path, "bad training section")
    epochs = training.get("epochs_trained", 0)
    _expect(_is_int(epochs), path, "bad epoch count")
    model.epochs_trained = epochs
    state = training.get("rng_state")
    if state is not None:
        _expect(isinstance(state, dict) and state.get("bit_generator") == type(model.rng.bit_generator).__name__,
                path, "bad random generator state")
        try:
            model.rng.bit_generator.state = state
        except Exception as exc:  # noqa: BLE001
            raise _fail(path, f"bad random generator state ({str(exc)[:200]})") from None
    history = training.get("history") or {}
    _expect(isinstance(history, dict) and all(isinstance(v, list) for v in history.values()), path, "bad history")
    try:
        model.history = History.from_dict(history)
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, f"bad history ({str(exc)[:200]})") from None
    metadata = config.get("metadata") or {}
    _expect(isinstance(metadata, dict), path, "bad metadata")
    model.metadata = metadata
    return model
