"""The exporter registry covers every registered layer: a new layer must decide its ONNX form."""
from __future__ import annotations

import scratchnn.onnx as sno
from scratchnn.onnx.registry import NotExportable
from scratchnn.registry import LAYERS


def test_every_registered_layer_has_an_exporter_or_a_not_exportable_mark():
    missing = sorted(set(LAYERS) - set(sno.EXPORTERS))
    assert not missing, (
        f"registered layers with neither an ONNX exporter nor a not-exportable mark: {missing}. "
        "Add an exporter in src/scratchnn/onnx/exporters/ (@register_exporter) or call "
        "mark_not_exportable(name, reason).")


def test_every_exporter_names_a_registered_layer():
    stale = sorted(set(sno.EXPORTERS) - set(LAYERS))
    assert not stale, f"ONNX exporters for names that are not registered layers: {stale}"


def test_entries_are_callables_or_marks_with_reasons():
    for name, entry in sno.EXPORTERS.items():
        if isinstance(entry, NotExportable):
            assert entry.reason.strip(), name
        else:
            assert callable(entry), name
    assert set(sno.exportable_layers()) | set(sno.not_exportable_layers()) == set(LAYERS)
    assert not set(sno.exportable_layers()) & set(sno.not_exportable_layers())
