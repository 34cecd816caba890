"""Export models to ONNX, so a network trained here runs in any ONNX runtime.

::

    model.export_onnx("digits.onnx")              # or scratchnn.onnx.export(model, "digits.onnx")

and from the shell ``scratchnn export model.npz digits.onnx``. The graph has one
input ``"input"`` and one output ``"output"`` with a dynamic batch dimension ``"N"``
(logits, as ``model.predict``; ``probabilities=True`` / ``--probabilities`` appends the
softmax or sigmoid and gives ``model.predict_proba``),
the weights as initializers, and the scratchnn version and JSON layer configuration
in ``metadata_props``; it is checked with ``onnx.checker`` before it is written.
Needs the ``onnx`` package (``pip install 'scratchnn[onnx]'``); importing this module
does not.

Every layer in :data:`scratchnn.registry.LAYERS` has either an exporter or an explicit
"not exportable" mark (:data:`EXPORTERS`); exporting a model with a layer that has
no ONNX form raises :class:`NotExportableError` naming the layer's class and position::

    NotExportableError: Foo (layer 3 of 5) cannot be exported to ONNX: <reason>

:func:`exportable_layers` lists what exports; :func:`max_abs_diff` measures how
closely onnxruntime reproduces ``model.predict`` on given inputs.
"""
from __future__ import annotations

from ..registry import LAYERS
from .export import (
    DEFAULT_OPSET,
    NotExportableError,
    export,
    exporter_for,
    layers_config,
    max_abs_diff,
    probability_op,
    run_onnx,
    to_onnx,
)
from .registry import EXPORTERS, NotExportable, mark_not_exportable, register_exporter


def exportable_layers() -> list[str]:
    """Names of the registered layer classes that export to ONNX."""
    return sorted(n for n in LAYERS
                  if n in EXPORTERS and not isinstance(EXPORTERS[n], NotExportable))


def not_exportable_layers() -> dict[str, str]:
    """``{class name: reason}`` for the registered layers marked not exportable."""
    return {n: e.reason for n, e in sorted(EXPORTERS.items())
            if n in LAYERS and isinstance(e, NotExportable)}


__all__ = [
    "DEFAULT_OPSET",
    "EXPORTERS",
    "NotExportable",
    "NotExportableError",
    "export",
    "exportable_layers",
    "exporter_for",
    "layers_config",
    "mark_not_exportable",
    "max_abs_diff",
    "not_exportable_layers",
    "probability_op",
    "register_exporter",
    "run_onnx",
    "to_onnx",
]
