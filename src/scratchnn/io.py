"""Saving and loading models: one ``.npz`` file, no pickle, atomic writes.

File layout (a NumPy ``.npz``, i.e. a zip of ``.npy`` arrays):

- ``__config__``: a uint8 array holding UTF-8 JSON::

      {"format": "scratchnn-model", "format_version": 1, "scratchnn_version": "...",
       "model": {"class_name": "Sequential", "seed": 0, "dtype": "float32", "name": null,
                 "input_shape": [784], "layers": [{"class_name": "Dense", "config": {...}}, ...]},
       "compile": {"loss": {...}, "optimizer": {"class_name", "config", "iterations"},
                   "metrics": [...]} or null,
       "training": {"epochs_trained": 3, "rng_state": {...}, "history": {...}},
       "metadata": {...}}

- ``params/<layer>/<name>``: each layer's parameters;
- ``buffers/<layer>/<name>``: non-trained state (e.g. BatchNorm running statistics);
- ``optimizer/<layer>/<name>/<slot>``: the optimizer's per-parameter state.

Loading never unpickles (``allow_pickle=False``), only builds classes from the
registries in :mod:`scratchnn.registry`, reads each array's header first and
checks its shape and dtype against what the configuration implies before
reading its data, and turns every problem into :class:`~scratchnn.errors.ModelFileError`.

Saving writes to a temporary file in the same folder, flushes and fsyncs it,
then renames it over the target, so an interrupted save leaves the previous
file intact.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import IO, Callable

import numpy as np

from ._version import __version__
from .errors import ModelFileError, ScratchnnError
from .registry import LAYERS, LOSSES, OPTIMIZERS

FORMAT = "scratchnn-model"
FORMAT_VERSION = 1
#: Upper bounds that keep a hostile file from making us allocate without limit.
MAX_CONFIG_BYTES = 16 * 2**20
MAX_LAYERS = 10_000
MAX_ARRAYS = 100_000


# ---------------------------------------------------------------- writing
def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``.

    Either the old file or the complete new one is at ``path`` at every moment.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass


def model_to_config(model) -> dict:
    """The JSON part of a model file."""
    from .schedules import Schedule  # noqa: F401  (schedules serialise via the optimizer)

    layers = [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in model.layers]
    compile_cfg = None
    if model.loss is not None and model.optimizer is not None:
        compile_cfg = {
            "loss": {"class_name": type(model.loss).__name__, "config": model.loss.get_config()},
            "optimizer": {"class_name": type(model.optimizer).__name__, "config": model.optimizer.get_config(),
                          "iterations": model.optimizer.iterations},
            "metrics": list(model.metric_names),
        }
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "scratchnn_version": __version__,
        "model": {"class_name": "Sequential", "seed": model.seed, "dtype": model.dtype.name,
                  "name": model.name, "input_shape": list(model.input_shape) if model.built else None,
                  "layers": layers},
        "compile": compile_cfg,
        "training": {"epochs_trained": model.epochs_trained, "rng_state": model.rng.bit_generator.state,
                     "history": model.history.to_dict()},
        "metadata": model.metadata,
    }


def model_to_arrays(model) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(model.layers):
        for name, p in layer.params.items():
            arrays[f"params/{i}/{name}"] = p
        for name, b in layer.buffers.items():
            arrays[f"buffers/{i}/{name}"] = b
    if model.optimizer is not None:
        for key, state in model.optimizer.state.items():
            for slot, value in state.items():
                arrays[f"optimizer/{key}/{slot}"] = value
    return arrays


def save_model(model, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` (an ``.npz`` file) atomically. See the module docstring."""
    if not model.built:
        raise ScratchnnError("save: the model has no weights yet; build or fit it first.")
    config = json.dumps(model_to_config(model), allow_nan=False).encode("utf-8")
    arrays = model_to_arrays(model)
    arrays["__config__"] = np.frombuffer(config, dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


# ---------------------------------------------------------------- reading
def _fail(path, why: str) -> ModelFileError:
    return ModelFileError(f"{os.fspath(path)} is not a valid scratchnn model file: {why}")


class _Archive:
    """A zip of .npy members read safely: header first, bounded sizes, no pickle."""

    def __init__(self, path):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise _fail(path, f"cannot open it as a .npz archive ({exc})") from None
        if len(infos) > MAX_ARRAYS:
            raise _fail(path, f"it holds {len(infos)} members")
        self.members = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise _fail(path, f"unexpected member {info.filename!r}")
            self.members[info.filename[:-4]] = info

    def read(self, key: str, shape: tuple | None = None, dtype: np.dtype | None = None,
             max_bytes: int | None = None) -> np.ndarray:
        info = self.members.get(key)
        if info is None:
            raise _fail(self.path, f"the array {key!r} is missing")
        try:
            with self.zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    got_shape, fortran, got_dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    got_shape, fortran, got_dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
                if got_dtype.hasobject or got_dtype.kind not in "biuf":
                    raise _fail(self.path, f"array {key!r} has dtype {got_dtype}, not a plain number type")
                if shape is not None and tuple(got_shape) != tuple(shape):
                    raise _fail(self.path, f"array {key!r} has shape {tuple(got_shape)}, expected {tuple(shape)}")
                if dtype is not None and got_dtype != dtype:
                    raise _fail(self.path, f"array {key!r} has dtype {got_dtype}, expected {dtype}")
                nbytes = int(np.prod(got_shape, dtype=np.int64)) * got_dtype.itemsize
                if max_bytes is not None and nbytes > max_bytes:
                    raise _fail(self.path, f"array {key!r} declares {nbytes} bytes (limit {max_bytes})")
                data = f.read(nbytes + 1)
                if len(data) != nbytes:
                    raise _fail(self.path, f"array {key!r} is truncated or has trailing data")
                arr = np.frombuffer(data, dtype=got_dtype)
                order = "F" if fortran else "C"
                return arr.reshape(got_shape, order=order).copy()
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError,
                OverflowError, MemoryError) as exc:
            raise _fail(self.path, f"cannot read array {key!r} ({type(exc).__name__}: {exc})") from None


def _expect(cond: bool, path, why: str) -> None:
    if not cond:
        raise _fail(path, why)


def _build_from_registry(table: dict, spec, path, kind: str):
    _expect(isinstance(spec, dict), path, f"a {kind} entry is not an object")
    name = spec.get("class_name")
    _expect(isinstance(name, str) and name in table, path, f"unknown {kind} class {name!r}")
    config = spec.get("config", {})
    _expect(isinstance(config, dict), path, f"the {kind} config of {name} is not an object")
    cls = table[name]
    try:
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    except ScratchnnError as exc:
        raise _fail(path, f"invalid {kind} configuration for {name}: {exc}") from None
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise _fail(path, f"invalid {kind} configuration for {name}: {exc}") from None


def load_model(path: str | os.PathLike, compile: bool = True):
    """Load a model saved by :func:`save_model` / ``model.save``.

    The returned model predicts exactly what the saved one did, and (with
    ``compile=True``) continues training with the saved optimizer state, epoch
    count and random generator state.

    Raises:
        ModelFileError: for anything that is not a valid scratchnn model file.
    """
    from .model import Sequential

    archive = _Archive(path)
    info = archive.members.get("__config__")
    _expect(info is not None, path, "no __config__ entry (was it saved by scratchnn?)")
    _expect(info.file_size <= MAX_CONFIG_BYTES + 256, path, "the configuration is too large")
    raw = archive.read("__config__", dtype=np.dtype(np.uint8), max_bytes=MAX_CONFIG_BYTES)
    _expect(raw.ndim == 1, path, "the configuration is not a byte string")
    try:
        config = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _fail(path, f"the configuration is not valid JSON ({exc})") from None
    _expect(isinstance(config, dict) and config.get("format") == FORMAT, path, "the format marker is missing")
    version = config.get("format_version")
    _expect(version == FORMAT_VERSION, path,
            f"format version {version!r}; this scratchnn ({__version__}) reads version {FORMAT_VERSION}")

    mcfg = config.get("model")
    _expect(isinstance(mcfg, dict) and mcfg.get("class_name") == "Sequential", path, "the model is not a Sequential")
    layer_specs = mcfg.get("layers")
    _expect(isinstance(layer_specs, list) and 0 < len(layer_specs) <= MAX_LAYERS, path, "bad layer list")
    input_shape = mcfg.get("input_shape")
    _expect(isinstance(input_shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and 0 < d < 2**31
                                                  for d in input_shape), path, f"bad input_shape {input_shape!r}")
    seed = mcfg.get("seed")
    _expect(isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**64, path, "bad seed")
    _expect(mcfg.get("dtype") in ("float32", "float64"), path, f"bad dtype {mcfg.get('dtype')!r}")
    name = mcfg.get("name")
    _expect(name is None or isinstance(name, str), path, "bad model name")

    layers = [_build_from_registry(LAYERS, spec, path, "layer") for spec in layer_specs]
    try:
        model = Sequential(layers, seed=seed, dtype=mcfg["dtype"], name=name)
        model.build(input_shape)
    except ScratchnnError as exc:
        raise _fail(path, f"the layers do not fit together: {exc}") from None
    except (MemoryError, ValueError, OverflowError) as exc:
        raise _fail(path, f"the layers cannot be built ({type(exc).__name__}: {exc})") from None

    expected_keys = {"__config__"}
    for i, layer in enumerate(model.layers):
        for kind, store in (("params", layer.params), ("buffers", layer.buffers)):
            for pname, p in store.items():
                key = f"{kind}/{i}/{pname}"
                expected_keys.add(key)
                store[pname][...] = archive.read(key, p.shape, p.dtype)

    ccfg = config.get("compile")
    if ccfg is not None and compile:
        _expect(isinstance(ccfg, dict), path, "bad compile section")
        loss = _build_from_registry(LOSSES, ccfg.get("loss"), path, "loss")
        optimizer = _build_from_registry(OPTIMIZERS, ccfg.get("optimizer"), path, "optimizer")
        metrics = ccfg.get("metrics", [])
        _expect(isinstance(metrics, list) and all(isinstance(m, str) for m in metrics), path, "bad metrics")
        try:
            model.compile(loss, optimizer, metrics)
        except ScratchnnError as exc:
            raise _fail(path, str(exc)) from None
        iterations = ccfg["optimizer"].get("iterations", 0)
        _expect(isinstance(iterations, int) and not isinstance(iterations, bool) and iterations >= 0,
                path, "bad optimizer iteration count")
        optimizer.iterations = iterations
        params = {f"{i}/{n}": p for i, layer in enumerate(model.layers) for n, p in layer.params.items()}
        slots = set(optimizer.slots)
        for member in archive.members:
            if not member.startswith("optimizer/"):
                continue
            key, _, slot = member[len("optimizer/"):].rpartition("/")
            _expect(key in params and slot in slots, path, f"unexpected optimizer state {member!r}")
            p = params[key]
            optimizer.state.setdefault(key, {})[slot] = archive.read(member, p.shape, p.dtype)
            expected_keys.add(member)

    extra = set(archive.members) - expected_keys
    if ccfg is None or compile:
        _expect(not extra, path, f"unexpected arrays {sorted(extra)[:5]}")

    training = config.get("training") or {}
    _expect(isinstance(training, dict), path, "bad training section")
    epochs = training.get("epochs_trained", 0)
    _expect(isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 0, path, "bad epoch count")
    model.epochs_trained = epochs
    state = training.get("rng_state")
    if state is not None:
        try:
            _expect(isinstance(state, dict) and state.get("bit_generator") == type(model.rng.bit_generator).__name__,
                    path, "bad random generator state")
            model.rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise _fail(path, f"bad random generator state ({exc})") from None
    history = training.get("history") or {}
    try:
        from .callbacks import History
        _expect(isinstance(history, dict) and all(isinstance(v, list) for v in history.values()), path, "bad history")
        model.history = History.from_dict(history)
    except (TypeError, ValueError) as exc:
        raise _fail(path, f"bad history ({exc})") from None
    metadata = config.get("metadata") or {}
    _expect(isinstance(metadata, dict), path, "bad metadata")
    model.metadata = metadata
    return model
