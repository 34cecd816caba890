"""Writing model files: the JSON configuration, the arrays, and one atomic save.

The format is described in :mod:`scratchnn.io`, which reads it back. This module needs
nothing of :mod:`scratchnn.model` (a model is read through its attributes), so the model can
save itself without an import cycle: ``model -> savefile``, ``io -> model, savefile``.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ._version import __version__
from .atomic import atomic_write
from .errors import ScratchnnError

FORMAT = "scratchnn-model"
FORMAT_VERSION = 2
#: Upper bounds that keep a hostile file from making us allocate without limit.
MAX_CONFIG_BYTES = 16 * 2**20
MAX_LAYERS = 10_000
MAX_NODES = 20_000
MAX_INPUTS = 64
MAX_FAN_IN = 64
MAX_ARRAYS = 100_000
MAX_NDIM = 32


def model_to_config(model) -> dict:
    """The JSON part of a model file."""
    layers = [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in model.layers]
    compile_cfg = None
    if model.loss is not None and model.optimizer is not None:
        compile_cfg = {
            "loss": {"class_name": type(model.loss).__name__, "config": model.loss.get_config()},
            "optimizer": {"class_name": type(model.optimizer).__name__, "config": model.optimizer.get_config(),
                          "iterations": model.optimizer.iterations},
            "metrics": list(model.metric_names),
        }
    mcfg = {"class_name": "Sequential", "seed": model.seed, "dtype": model.dtype.name, "name": model.name}
    if model.file_kind == "Sequential":
        mcfg["input_shape"] = list(model.input_shape) if model.built else None
    else:
        mcfg["class_name"] = "Model"
        mcfg.update(graph_to_config(model))
    mcfg["layers"] = layers
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "scratchnn_version": __version__,
        "model": mcfg,
        "compile": compile_cfg,
        "training": {"epochs_trained": model.epochs_trained, "rng_state": model.rng.bit_generator.state,
                     "history": model.history.to_dict()},
        "metadata": model.metadata,
    }


def graph_to_config(model) -> dict:
    """A graph model's inputs, layer calls and outputs, as references (see the module docstring)."""
    index = {id(layer): i for i, layer in enumerate(model.layers)}
    refs = {id(t): ["input", k] for k, t in enumerate(model.inputs)}
    nodes = []
    for j, node in enumerate(model.nodes):
        nodes.append({"layer": index[id(node.layer)], "inputs": [refs[id(t)] for t in node.inputs]})
        refs[id(node.output)] = ["node", j]
    return {"inputs": [{"shape": list(t.shape), "name": t.name} for t in model.inputs],
            "nodes": nodes, "outputs": [refs[id(t)] for t in model.outputs]}


def model_to_arrays(model) -> dict[str, np.ndarray]:
    """Every array of the file, as host (NumPy) arrays whatever the model's device."""
    get = getattr(model, "device", None)
    get = get.get if get is not None else np.asarray
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(model.layers):
        for name, p in layer.all_params().items():
            arrays[f"params/{i}/{name}"] = get(p)
        for name, b in layer.all_buffers().items():
            arrays[f"buffers/{i}/{name}"] = get(b)
    if model.optimizer is not None:
        for key, state in model.optimizer.state.items():
            for slot, value in state.items():
                arrays[f"optimizer/{key}/{slot}"] = get(value)
    return arrays


def save_model(model, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` (an ``.npz`` file) atomically. See the module docstring."""
    if not model.built:
        raise ScratchnnError("save: the model has no weights yet; build or fit it first.")
    config = json.dumps(model_to_config(model), allow_nan=False).encode("utf-8")
    arrays = model_to_arrays(model)
    arrays["__config__"] = np.frombuffer(config, dtype=np.uint8)
    savez: Any = np.savez  # numpy's stub types the arrays (**kwds) as bool
    atomic_write(path, lambda f: savez(f, **arrays))
