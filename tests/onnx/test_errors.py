"""The documented errors: a layer without an ONNX form is named with its class and position."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx.checker")
pytest.importorskip("onnx")

import scratchnn as sn  # noqa: E402
import scratchnn.onnx as sno  # noqa: E402
from scratchnn.layers.base import Layer  # noqa: E402
from scratchnn.registry import LAYERS  # noqa: E402

L = sn.layers


class Cube(Layer):
    """y = x^3: a layer scratchnn does not know how to export."""

    def forward(self, x, training=False):
        return x ** 3


def _built(layers, shape=(4,)):
    model = sn.Sequential(layers, seed=0)
    model.build(shape)
    return model


def test_marked_layer_raises_with_class_position_and_reason(monkeypatch, tmp_path):
    monkeypatch.setitem(LAYERS, "Cube", Cube)
    monkeypatch.setitem(sno.EXPORTERS, "Cube", None)  # so the entry is removed after the test
    sno.mark_not_exportable("Cube", "cubes have no ONNX operator here")
    model = _built([L.Dense(4, 4), L.ReLU(), Cube(name="c"), L.Dense(4, 2)])
    path = tmp_path / "m.onnx"
    with pytest.raises(sno.NotExportableError,
                       match=r"^Cube 'c' \(layer 3 of 4\) cannot be exported to ONNX: cubes have no ONNX"):
        sno.export(model, path)
    assert not path.exists()
    assert "Cube" in sno.not_exportable_layers()


def test_unregistered_layer_raises_naming_it():
    model = _built([L.Dense(4, 4), Cube()])
    with pytest.raises(sno.NotExportableError,
                       match=r"Cube \(layer 2 of 2\) cannot be exported to ONNX: no exporter is registered "
                             r"for the class Cube"):
        sno.to_onnx(model)


def test_unregistered_subclass_of_an_exportable_layer_is_refused():
    class MyDense(L.Dense):
        pass

    with pytest.raises(sno.NotExportableError, match=r"MyDense \(layer 1 of 1\)"):
        sno.to_onnx(_built([MyDense(4, 2)]))


def test_errors_are_scratchnn_and_value_errors():
    assert issubclass(sno.NotExportableError, sn.ScratchnnError)
    assert issubclass(sno.NotExportableError, ValueError)


def test_unbuilt_model_raises_not_built():
    with pytest.raises(sn.NotBuiltError, match="ONNX export needs a built model"):
        sno.to_onnx(sn.Sequential([L.Dense(4, 2)]))


@pytest.mark.parametrize("kwargs,match", [
    ({"opset": 9}, r"opset must be an integer from 14 to \d+ .*Received: opset=9$"),
    ({"opset": 1000}, r"opset must be an integer from 14 to \d+ .*Received: opset=1000$"),
    ({"dtype": "float16"}, r"dtype must be float32 or float64\. Received: dtype='float16'"),
    ({"dtype": "nonsense"}, r"dtype must be float32 or float64\. Received: dtype='nonsense'"),
    ({"input_name": "x", "output_name": "x"}, r"input_name and output_name must differ"),
])
def test_bad_options_raise(kwargs, match):
    with pytest.raises(sn.ScratchnnError, match=match):
        sno.to_onnx(_built([L.Dense(4, 2)]), **kwargs)


def test_export_onnx_method_delegates(tmp_path):
    model = _built([L.Dense(4, 2)])
    proto = model.export_onnx(tmp_path / "m.onnx", opset=18)
    assert proto.opset_import[0].version == 18
    assert (tmp_path / "m.onnx").read_bytes() == proto.SerializeToString()
    assert np.isfinite(np.frombuffer(proto.graph.initializer[0].raw_data, np.float32)).all()


def test_recurrent_layer_with_a_fixed_initial_state_is_refused():
    if "LSTM" not in LAYERS:
        pytest.skip("LSTM not registered yet")
    model = _built([LAYERS["LSTM"](3, 4), L.Dense(4, 1)], shape=(5, 3))
    model.layers[0].initial_state = (np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(sno.NotExportableError,
                       match=r"^LSTM \(layer 1 of 2\) cannot be exported to ONNX: its initial_state is set"):
        sno.to_onnx(model)
    model.layers[0].initial_state = None
    assert sno.to_onnx(model).graph.node


def test_missing_onnx_package_says_how_to_install(monkeypatch):
    import sys

    model = _built([L.Dense(4, 2)])
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes "import onnx" raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'scratchnn\[onnx\]'"):
        sno.to_onnx(model)


def test_missing_onnxruntime_says_how_to_install(monkeypatch):
    import sys

    model = _built([L.Dense(4, 2)])
    proto = sno.to_onnx(model)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match="pip install onnxruntime"):
        sno.run_onnx(proto, np.zeros((1, 4)))
