"""Exportable layers alone in a model: onnxruntime matches ``model.predict``.

The cases of ``tests/layer_cases.py`` run in the harness's onnx check (tests/layers/harness.py);
here the same check runs on ``onnx_cases.EXTRA_LAYER_CASES`` (settings those cases lack), and
GELU's opset-20 form and negative tail are checked. Inputs have 1, 3 and 17 samples, so the
batch dimension must really be dynamic.
"""
from __future__ import annotations

import pytest

# A submodule first: without onnx installed, "onnx" alone could resolve to this tests/onnx folder.
pytest.importorskip("onnx.checker")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import scratchnn.onnx as sno  # noqa: E402
from scratchnn.onnx.registry import NotExportable  # noqa: E402
from tests.layer_cases import LAYER_CASES  # noqa: E402
from tests.layers.harness import check_onnx_case  # noqa: E402
from tests.onnx.onnx_cases import layer_cases, measure, model_for_layer  # noqa: E402

CASES = [pytest.param(name, case, id=f"{name}-{i}") for name, i, case in layer_cases()
         if not isinstance(sno.EXPORTERS.get(name), NotExportable)]
#: ids of onnx_cases.EXTRA_LAYER_CASES: they follow a layer's layer_cases.py cases in layer_cases()
EXTRA_IDS = {f"{name}-{i}" for name, i, _ in layer_cases() if i >= len(LAYER_CASES.get(name, []))}


@pytest.mark.parametrize("name,case", [c for c in CASES if c.id in EXTRA_IDS])
def test_extra_layer_case_matches_onnxruntime(name, case, tmp_path):
    """The export settings layer_cases.py lacks (its own cases run in the harness's onnx check)."""
    check_onnx_case(name, case, tmp_path)


@pytest.mark.parametrize("name,case", [c for c in CASES if c.values[0] in ("GELU", "Softmax", "Dense")])
def test_opset_20_matches(name, case):
    """From opset 20 GELU exports as the Gelu op; the others are unchanged."""
    model = model_for_layer(case)
    proto = sno.to_onnx(model, opset=20)
    ops = {n.op_type for n in proto.graph.node}
    if name == "GELU":
        assert "Gelu" in ops and "Erf" not in ops
    _, shape, kwargs = case
    measure(model, proto, shape, kwargs)


@pytest.mark.parametrize("opset", [17, 20])
def test_gelu_tanh_keeps_relative_accuracy_in_the_negative_tail(opset):
    """The exported tanh-GELU is x sigmoid(2u), as the layer: no 1 + tanh(u) cancellation."""
    import numpy as np

    import scratchnn as sn

    model = sn.Sequential([sn.layers.GELU("tanh")], seed=0)
    model.build((50,))
    x = np.linspace(-9.0, -3.0, 50)[None, :]
    expected = model.predict(x).astype(np.float64)
    got = sno.run_onnx(sno.to_onnx(model, opset=opset), x).astype(np.float64)
    rel = np.max(np.abs(got - expected) / np.abs(expected))
    if opset == 17:
        assert rel < 1e-4, rel
    else:  # onnxruntime's own Gelu kernel: report, do not require
        assert np.max(np.abs(got - expected)) < 1e-5
