"""Turn a built :class:`~scratchnn.Model` or :class:`~scratchnn.Sequential` into an ONNX model,
one layer call at a time in topological order."""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import NotBuiltError, ScratchnnError
from ..registry import LAYERS
from . import exporters as _exporters  # noqa: F401  (registers every exporter)
from .graph import GraphBuilder
from .registry import EXPORTERS, NotExportable

#: The opset used by default: 17 runs in every onnxruntime since 1.13 (2022).
DEFAULT_OPSET = 17
MIN_OPSET = 14


class NotExportableError(ScratchnnError, ValueError):
    """A layer of the model has no ONNX form (or no exporter is registered for it).

    The message names the layer's class and its position in the model, as
    ``LayerName (layer 3 of 5)``, and gives the reason.
    """


def _require_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("ONNX export needs the onnx package: pip install 'scratchnn[onnx]' "
                          "(or pip install onnx).") from exc
    return onnx


def exporter_for(layer) -> Any:
    """The exporter function of ``layer``; raises :class:`NotExportableError` naming it if none."""
    cls = type(layer)
    name = cls.__name__
    entry = EXPORTERS.get(name)
    where = layer.describe()
    if isinstance(entry, NotExportable):
        raise NotExportableError(f"{where} cannot be exported to ONNX: {entry.reason}")
    if entry is None or LAYERS.get(name) is not cls:
        raise NotExportableError(
            f"{where} cannot be exported to ONNX: no exporter is registered for the class {name}. "
            "Register one with @scratchnn.onnx.register_exporter"
            f"({name!r}), or use only the layers listed by scratchnn.onnx.exportable_layers().")
    return entry


def layers_config(model) -> list[dict]:
    """The model's layers as ``[{"class_name", "config"}, ...]`` (as in a model file)."""
    return [{"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in model.layers]


def probability_op(model) -> str:
    """The ONNX op turning the model's logits into probabilities: ``"Softmax"`` or ``"Sigmoid"``.

    Chosen by the compiled loss, as :meth:`Model.predict_proba` does.

    Raises:
        ScratchnnError: the loss does not take logits (or the model has none).
    """
    links = {"softmax": "Softmax", "sigmoid": "Sigmoid"}
    losses = getattr(model, "losses", None) or [model.loss]
    ops = {links.get(getattr(loss, "output_activation", None)) for loss in losses}
    if len(ops) == 1 and None not in ops and all(getattr(loss, "from_logits", False) for loss in losses):
        return ops.pop()
    raise ScratchnnError("export: probabilities=True needs a model trained on logits (loss "
                         "SoftmaxCrossEntropy or BinaryCrossEntropyWithLogits). Received: loss="
                         f"{type(model.loss).__name__ if model.loss is not None else None}")


def to_onnx(model, *, opset: int = DEFAULT_OPSET, dtype: object = "float32",
            input_name: str = "input", output_name: str = "output", graph_name: str | None = None,
            probabilities: bool = False):
    """The ``onnx.ModelProto`` of a built model, checked with ``onnx.checker``.

    See :func:`scratchnn.onnx.export` for the arguments.
    """
    onnx = _require_onnx()
    from onnx import helper

    if not model.built:
        raise NotBuiltError("ONNX export needs a built model: fit it, load it, or call "
                            "model.build(input_shape) first.")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ScratchnnError(f"export: opset must be an integer from {MIN_OPSET} to {newest} "
                             f"(the newest this onnx {onnx.__version__} knows). "
                             f"Received: opset={opset!r}")
    requested = dtype
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ScratchnnError("export: dtype must be float32 or float64. "
                             f"Received: dtype={requested!r}")
    if input_name == output_name:
        raise ScratchnnError("export: input_name and output_name must differ. "
                             f"Received: input_name={input_name!r}, output_name={output_name!r}")
    fns = {id(layer): exporter_for(layer) for layer in model.layers}  # every error before any work
    link = probability_op(model) if probabilities else None

    g = GraphBuilder(opset, dtype)
    n_in, n_out = len(model.inputs), len(model.outputs)
    in_names = [input_name] if n_in == 1 else [f"{input_name}_{k}" for k in range(n_in)]
    out_names = [output_name] if n_out == 1 else [f"{output_name}_{k}" for k in range(n_out)]
    for name in in_names + out_names:
        g.reserve(name)
    names = {id(t): name for t, name in zip(model.inputs, in_names)}
    index = {id(layer): i for i, layer in enumerate(model.layers)}
    for node in model.nodes:  # topological order; a layer called twice is exported twice, one weight set
        layer = node.layer
        i = index[id(layer)]
        g.prefix = f"l{i}_{type(layer).__name__.lower()}/"
        xs = [names[id(t)] for t in node.inputs]
        shapes = [tuple(t.shape) for t in node.inputs]
        try:
            if layer.num_inputs == 1:
                y = fns[id(layer)](layer, g, xs[0], shapes[0])
            else:
                y = fns[id(layer)](layer, g, xs, shapes)
        except NotExportableError:
            raise
        except ScratchnnError as exc:
            raise NotExportableError(
                f"{layer.describe()} cannot be exported to ONNX: {exc}") from None
        names[id(node.output)] = y
    g.prefix = ""
    # Name the final tensors "output" (Identity nodes; onnxruntime removes them when optimising).
    for t, name in zip(model.outputs, out_names):
        x = names[id(t)]
        if link is not None:  # logits -> probabilities, as model.predict_proba
            x = g.op(link, [x], name="probabilities", axis=-1 if link == "Softmax" else None)
        g.nodes.append(("Identity", [x], [name], {}, g.fresh("output_identity")))

    elem = helper.np_dtype_to_tensor_dtype(dtype)
    inputs = [helper.make_tensor_value_info(name, elem, ["N", *t.shape]) for t, name in zip(model.inputs, in_names)]
    outputs = [helper.make_tensor_value_info(name, elem, ["N", *t.shape]) for t, name in zip(model.outputs, out_names)]
    graph = g.to_graph(graph_name or model.name or f"scratchnn_{type(model).__name__.lower()}", inputs, outputs,
                       doc="Exported by scratchnn " + __version__)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="scratchnn",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    proto.doc_string = model.summary(print_fn=None)
    meta = {
        "scratchnn_version": __version__,
        "scratchnn_layers": json.dumps(layers_config(model)),
        "scratchnn_input_shape": json.dumps([list(t.shape) for t in model.inputs] if n_in > 1
                                            else list(model.input_shape)),
        "scratchnn_dtype": model.dtype.name,
    }
    if model.metadata:
        meta["scratchnn_metadata"] = json.dumps(model.metadata)
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET, dtype: object = "float32",
           input_name: str = "input", output_name: str = "output", probabilities: bool = False):
    """Write ``model`` to ``path`` as an ONNX file that predicts what ``model.predict`` does.

    ``model.predict`` gives logits for a classifier; with ``probabilities=True`` the
    graph ends with a ``Softmax`` (loss ``SoftmaxCrossEntropy``) or ``Sigmoid`` (loss
    ``BinaryCrossEntropyWithLogits``) node and gives ``model.predict_proba`` instead.

    The graph has one input ``input`` of shape ``(N, *model.input_shape)`` and one
    output ``output`` (for a graph model with several, ``input_0``, ``input_1``... and
    ``output_0``...), with a dynamic batch dimension ``"N"``; weights are stored as
    initializers in ``dtype``. The file's ``metadata_props`` hold ``scratchnn_version``,
    ``scratchnn_layers`` (the JSON layer configuration, as in a model file),
    ``scratchnn_input_shape``, ``scratchnn_dtype`` and, when non-empty,
    ``scratchnn_metadata`` (``model.metadata``). The model passes
    ``onnx.checker.check_model(full_check=True)`` before anything is written, and
    the file is written atomically.

    Inputs stay floating point even for an :class:`Embedding` first layer (the
    graph casts indices to int64), as ``model.predict`` takes them.

    Args:
        model: a built :class:`~scratchnn.Sequential`.
        path: where to write the ``.onnx`` file.
        opset: ONNX opset, from 14 to the installed onnx's newest (default 17, which every
            onnxruntime since 1.13 runs; from 20, GELU uses the ``Gelu`` op).
        dtype: ``"float32"`` (default, what runtimes are fastest at) or ``"float64"``
            (a valid file, but onnxruntime's CPU Conv and LSTM kernels are float32-only,
            so it suits dense networks).
        input_name, output_name: the graph's tensor names.
        probabilities: end the graph with the loss's link (softmax or sigmoid), so that
            the file outputs probabilities (see :func:`probability_op`).

    Returns:
        The ``onnx.ModelProto`` that was written.

    Raises:
        NotExportableError: a layer has no ONNX form; the message names its class and
            position (``"Foo (layer 3 of 5) cannot be exported to ONNX: <reason>"``).
        NotBuiltError: the model has no weights yet.
        ImportError: the ``onnx`` package is not installed (``pip install 'scratchnn[onnx]'``).

    Example::

        model.export_onnx("digits.onnx")
        import onnxruntime as ort
        sess = ort.InferenceSession("digits.onnx")
        y = sess.run(None, {"input": x.astype("float32")})[0]   # == model.predict(x)
    """
    proto = to_onnx(model, opset=opset, dtype=dtype, input_name=input_name, output_name=output_name,
                    probabilities=probabilities)
    from ..atomic import atomic_write

    data = proto.SerializeToString()
    atomic_write(path, lambda f: f.write(data))
    return proto


def run_onnx(onnx_model, x):
    """Run an exported model (a path or a ``ModelProto``) on ``x`` with onnxruntime (CPU).

    ``x`` is an array, or a list of arrays for a model with several inputs; the result is
    an array, or a list for several outputs."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ImportError("running ONNX models needs onnxruntime: pip install onnxruntime") from exc
    if isinstance(onnx_model, (str, os.PathLike)):
        source = os.fspath(onnx_model)
    else:
        source = onnx_model.SerializeToString()
    sess = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    ins = sess.get_inputs()
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    feed = {inp.name: np.asarray(a, dtype=np.float64 if inp.type == "tensor(double)" else np.float32)
            for inp, a in zip(ins, xs)}
    outs = sess.run(None, feed)
    return outs[0] if len(outs) == 1 else outs


def max_abs_diff(model, onnx_model, x, probabilities: bool = False) -> float:
    """``max |onnxruntime(x) - model.predict(x)|`` (``predict_proba`` with ``probabilities``)."""
    expected = model.predict_proba(x) if probabilities else model.predict(x)
    got = run_onnx(onnx_model, x)
    worst = 0.0
    for a, b in zip(got if isinstance(got, list) else [got], expected if isinstance(expected, list) else [expected]):
        if a.shape != b.shape:
            raise ScratchnnError(f"the ONNX output has shape {a.shape}; model.predict gives {b.shape}")
        worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    return worst
