"""``scratchnn export MODEL.npz OUT.onnx``: writes a file onnxruntime runs; bad input is one line, exit 1."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("onnx.checker")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import scratchnn as sn  # noqa: E402
import scratchnn.onnx as sno  # noqa: E402
from scratchnn import cli  # noqa: E402
from scratchnn.layers.base import Layer  # noqa: E402
from scratchnn.registry import LAYERS  # noqa: E402

L = sn.layers


if not hasattr(cli, "main") or "export" not in getattr(cli, "COMMANDS", []):
    pytest.skip("the scratchnn.cli package (with COMMANDS) is not there yet", allow_module_level=True)


@pytest.fixture
def saved(tmp_path):
    model = sn.Sequential([L.Dense(6, 8), L.Tanh(), L.Dense(8, 3), L.Softmax()], seed=0)
    model.build((6,))
    model.layers[0].params["b"] += 0.1
    path = tmp_path / "model.npz"
    model.save(path)
    return model, path


def test_export_command_writes_a_matching_file(saved, tmp_path, capsys):
    model, path = saved
    out = tmp_path / "digits.onnx"
    assert cli.main(["export", str(path), str(out), "--verify"]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "input 'input' (N, 6) -> output 'output' (N, 3)" in text
    assert "max |onnx - predict| =" in text
    onnx.checker.check_model(onnx.load(out), full_check=True)
    x = np.random.default_rng(1).standard_normal((17, 6))
    np.testing.assert_allclose(sno.run_onnx(out, x), model.predict(x), rtol=1e-5, atol=1e-6)


def test_options_reach_the_file(saved, tmp_path):
    _, path = saved
    out = tmp_path / "m.onnx"
    assert cli.main(["export", str(path.parent), str(out), "--opset", "20", "--dtype", "float64"]) == 0
    proto = onnx.load(out)
    assert proto.opset_import[0].version == 20
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_export_is_listed_in_the_help(capsys):
    assert cli.main(["--help"]) == 0
    assert "scratchnn export runs/mlp/model.npz digits.onnx" in capsys.readouterr().out
    assert cli.main(["export", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--opset" in text and "--verify" in text and 'one input "input"' in text


@pytest.mark.parametrize("case,match", [
    ("missing", r"^scratchnn: error: model file not found: .*nope\.npz$"),
    ("not_a_model", r"^scratchnn: error: .*junk\.npz is not a valid scratchnn model file"),
    ("unwritable", r"^scratchnn: error: cannot write .*m\.onnx \(No such file or directory\)$"),
    ("bad_opset", r"^scratchnn: error: argument --opset: expected an integer from 14 to \d+ .*got '3'"),
])
def test_bad_input_is_one_line_and_exit_1(case, match, saved, tmp_path, capsys):
    """Exit 1 for a problem while working, 2 for a bad flag (refused at parse time)."""
    _, path = saved
    argv = {
        "missing": [str(tmp_path / "nope.npz"), str(tmp_path / "m.onnx")],
        "not_a_model": [str(_write(tmp_path / "junk.npz", b"junk")), str(tmp_path / "m.onnx")],
        "unwritable": [str(path), str(tmp_path / "no_dir" / "m.onnx")],
        "bad_opset": [str(path), str(tmp_path / "m.onnx"), "--opset", "3"],
    }[case]
    assert cli.main(["export", *argv]) == (2 if case == "bad_opset" else 1)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.match(match, err), err
    assert not (tmp_path / "m.onnx").exists()


class Cube(Layer):
    def forward(self, x, training=False):
        return x ** 3


def test_not_exportable_layer_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(LAYERS, "Cube", Cube)
    monkeypatch.setitem(sno.EXPORTERS, "Cube", sno.NotExportable("no cube operator"))
    model = sn.Sequential([L.Dense(2, 2), Cube()], seed=0)
    model.build((2,))
    model.save(tmp_path / "m.npz")
    assert cli.main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "scratchnn: error: Cube (layer 2 of 2) cannot be exported to ONNX: no cube operator"


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
