"""The command line turns hostile model files and bad input into one line and a non-zero exit.

``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchnn as sn

cli = pytest.importorskip("scratchnn.cli")
from tests.robustness import fuzz_model_files as fz  # noqa: E402

L = sn.layers


@pytest.fixture(scope="module")
def valid_bytes() -> bytes:
    return fz.to_bytes(fz.base_models()[0])


def _hostile(valid: bytes, kind: str, marker: Path) -> bytes:
    items = fz.members(valid)
    if kind == "pickle":
        obj = np.empty(1, dtype=object)
        obj[0] = fz._Marker(str(marker))
        items["params/0/W.npy"] = fz.npy(obj)
        return fz.rezip(list(items.items()))
    if kind in ("os.system", "huge-dense"):
        cfg = fz.config_of(items)
        if kind == "os.system":
            cfg["model"]["layers"][0]["class_name"] = "os.system"
        else:
            cfg["model"]["layers"][0]["config"].update(in_features=10**9, out_features=10**9)
            cfg["model"]["input_shape"] = [10**9]
        return fz.rezip(fz.with_config(items, cfg))
    if kind == "truncated":
        return valid[: len(valid) // 2]
    if kind == "zip-bomb":
        items["params/0/W.npy"] += b"\0" * 10**6
        return fz.rezip(list(items.items()), compress=8)
    if kind == "not-a-zip":
        return b"print('hello')\n"
    raise AssertionError(kind)


KINDS = ["pickle", "os.system", "huge-dense", "truncated", "zip-bomb", "not-a-zip"]


def _one_line_error(capsys, code: int, match: str) -> str:
    out, err = capsys.readouterr()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scratchnn: error: ") and "Traceback" not in err
    assert match in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["summary", "predict"])
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_model_file_is_one_line(tmp_path, capsys, valid_bytes, kind, command):
    marker = tmp_path / "PWNED"
    model = tmp_path / "model.npz"
    model.write_bytes(_hostile(valid_bytes, kind, marker))
    argv = [command, str(model)] + ([str(tmp_path / "digit.png")] if command == "predict" else [])
    _one_line_error(capsys, cli.main(argv), "is not a valid scratchnn model file")
    assert not marker.exists()


def test_missing_model_file(tmp_path, capsys):
    _one_line_error(capsys, cli.main(["summary", str(tmp_path / "nope.npz")]), "nope.npz")


def test_model_of_the_wrong_kind_for_predict(tmp_path, capsys):
    m = sn.Sequential([L.Dense(4, 3)], seed=0)
    m.build((4,))
    m.save(tmp_path / "m.npz")
    png = tmp_path / "d.png"
    png.write_bytes(b"")
    _one_line_error(capsys, cli.main(["predict", str(tmp_path / "m.npz"), str(png)]),
                    "takes inputs of shape (4,), not 28x28 images")


def test_bad_image_input(tmp_path, capsys):
    pytest.importorskip("PIL")
    m = sn.Sequential([L.Flatten(), L.Dense(784, 10)], seed=0) if "Flatten" in sn.registry.LAYERS else None
    if m is None:
        pytest.skip("no Flatten layer")
    m.build((1, 28, 28))
    m.save(tmp_path / "m.npz")
    bad = tmp_path / "not_an_image.png"
    bad.write_text("this is text, not a PNG")
    code = cli.main(["predict", str(tmp_path / "m.npz"), str(bad)])
    _one_line_error(capsys, code, "not_an_image.png")


def test_debug_shows_the_traceback(tmp_path, valid_bytes):
    model = tmp_path / "model.npz"
    model.write_bytes(_hostile(valid_bytes, "os.system", tmp_path / "PWNED"))
    run = [sys.executable, "-c", "import sys; from scratchnn.cli import main; sys.exit(main())"]
    plain = subprocess.run(run + ["summary", str(model)], capture_output=True, text=True, timeout=120)
    debug = subprocess.run(run + ["--debug", "summary", str(model)], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1 and len(plain.stderr.strip().splitlines()) == 1
    assert "Traceback" not in plain.stderr and "unknown layer class 'os.system'" in plain.stderr
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "scratchnn.errors.ModelFileError" in debug.stderr and "unknown layer class 'os.system'" in debug.stderr
