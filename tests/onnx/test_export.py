"""Whole models (MLP, CNN, LSTM) exported and run in onnxruntime; file contents and options."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx.checker")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import scratchnn as sn  # noqa: E402
import scratchnn.onnx as sno  # noqa: E402
from scratchnn.registry import LAYERS  # noqa: E402
from tests.onnx.onnx_cases import MODEL_CASES, build_model_case, make_input, measure  # noqa: E402


def _model(name):
    missing = [n for n in MODEL_CASES[name][1] if n not in LAYERS]
    if missing:
        pytest.skip(f"layers not in the registry yet: {missing}")
    return build_model_case(name)


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_model_matches_onnxruntime(name, tmp_path):
    model = _model(name)
    path = tmp_path / "model.onnx"
    model.export_onnx(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    measure(model, path, model.input_shape, MODEL_CASES[name][2])


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_trained_then_saved_and_loaded_model_matches(name, tmp_path):
    """The user's path: train, save, load, export; a few optimizer steps make the weights non-initial."""
    model = _model(name)
    rng = np.random.default_rng(0)
    kwargs = MODEL_CASES[name][2]
    x = make_input(model.input_shape, kwargs, rng, 32)
    y = rng.standard_normal((32,) + model.output_shape)
    model.compile(loss="mse", optimizer="adam")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = sn.load_model(tmp_path / "m.npz")
    sno.export(loaded, tmp_path / "m.onnx")
    measure(loaded, tmp_path / "m.onnx", model.input_shape, kwargs)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_metadata_and_names(tmp_path):
    model = build_model_case("MLP")
    model.metadata = {"classes": ["a", "b", "c", "d", "e"]}
    proto = sno.export(model, tmp_path / "m.onnx", input_name="pixels", output_name="probs")
    assert proto.producer_name == "scratchnn"
    props = {p.key: p.value for p in onnx.load(tmp_path / "m.onnx").metadata_props}
    assert props["scratchnn_version"] == sn.__version__
    layers = json.loads(props["scratchnn_layers"])
    assert [entry["class_name"] for entry in layers] == [type(layer).__name__ for layer in model.layers]
    assert layers[0]["config"] == model.layers[0].get_config()
    rebuilt = [LAYERS[e["class_name"]](**e["config"]) for e in layers]  # the config rebuilds the layers
    assert [type(layer) for layer in rebuilt] == [type(layer) for layer in model.layers]
    assert json.loads(props["scratchnn_input_shape"]) == [20]
    assert json.loads(props["scratchnn_metadata"]) == model.metadata
    assert [i.name for i in proto.graph.input] == ["pixels"]
    assert [o.name for o in proto.graph.output] == ["probs"]
    out_dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == "N" and out_dims[1].dim_value == 5


def test_float64_export(tmp_path):
    model, shape = MODEL_CASES["MLP"][0]()
    model = sn.Sequential(model.layers, seed=1, dtype="float64")
    model.build(shape)
    proto = sno.to_onnx(model, dtype="float64")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    x = np.random.default_rng(0).standard_normal((9,) + shape)
    got = sno.run_onnx(proto, x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-12, atol=1e-12)


def test_export_is_atomic_and_returns_the_written_model(tmp_path):
    model = build_model_case("MLP")
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    proto = sno.export(model, path)
    assert path.read_bytes() == proto.SerializeToString()
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_max_abs_diff_reports_a_mismatch():
    """The comparison helper can fail: change a weight after export and it sees the change."""
    model = build_model_case("MLP")
    proto = sno.to_onnx(model)
    x = np.random.default_rng(0).standard_normal((5, 20))
    assert sno.max_abs_diff(model, proto, x) < 1e-5
    model.layers[0].params["W"] += 0.5
    assert sno.max_abs_diff(model, proto, x) > 1e-3


def _zoo_names():
    try:
        from scratchnn.applications.zoo import MODELS
    except ImportError:
        return []
    return sorted(MODELS)


@pytest.mark.parametrize("name", _zoo_names())
def test_every_zoo_model_exports(name, tmp_path):
    """The architectures ``scratchnn train --model NAME`` builds all export and match."""
    from scratchnn.applications.zoo import build_model, model_input_shape

    try:
        model = build_model(name, n_classes=10, seed=0)
    except sn.ConfigError as exc:  # a placeholder for an architecture that has not landed
        pytest.skip(str(exc))
    if not model.built:
        model.build(model_input_shape(name))
    proto = sno.export(model, tmp_path / f"{name}.onnx")
    assert proto.graph.node
    measure(model, tmp_path / f"{name}.onnx", model.input_shape, {})
