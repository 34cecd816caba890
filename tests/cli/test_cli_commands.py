"""The command line: every command through main([...]), one real subprocess, and every bad input
giving a one-line error with a non-zero exit status (never a traceback)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.cli import COMMANDS, main
from scratchnn.datasets import load_bundled_mnist

COMMAND_NAMES = ["train", "evaluate", "predict", "demo", "summary"]


@pytest.fixture(scope="module")
def tiny_data():
    (x, y), (xt, yt) = load_bundled_mnist()
    return (x[:400], y[:400]), (xt[:100], yt[:100])


@pytest.fixture
def tiny(monkeypatch, tiny_data):
    """Make every data set the first 400 + 100 bundled images (fast)."""
    monkeypatch.setattr("scratchnn.datasets.load_dataset", lambda name, path=None, download=True: tiny_data)
    monkeypatch.setenv("SCRATCHNN_OFFLINE", "1")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_data):
    """A run folder from 'scratchnn train' on tiny data (built once)."""
    out = tmp_path_factory.mktemp("run")
    mp = pytest.MonkeyPatch()
    mp.setattr("scratchnn.datasets.load_dataset", lambda name, path=None, download=True: tiny_data)
    try:
        rc = main(["train", "--epochs", "2", "--out", str(out), "--progress", "none"])
    finally:
        mp.undo()
    assert rc == 0
    return out


def one_line_error(capsys, rc, *, code=None, match=None):
    out, err = capsys.readouterr()
    assert rc != 0 if code is None else rc == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scratchnn: error: "), err
    assert "Traceback" not in err + out
    if match is not None:
        assert match in lines[0], lines[0]
    return lines[0]


def test_help_lists_every_command_with_examples(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and all(c in text for c in COMMAND_NAMES)
    assert set(COMMAND_NAMES) <= set(COMMANDS)
    for name in COMMAND_NAMES:
        assert main([name, "--help"]) == 0
        sub = capsys.readouterr().out
        assert "examples:" in sub and f"scratchnn {name}" in sub


def test_train_writes_model_history_results_and_plots(trained, capsys):
    names = sorted(os.listdir(trained))
    for f in ["model.npz", "history.json", "results.json", "training_curves.png", "confusion_matrix.png",
              "misclassified.png", "first_layer_weights.png", "layer_statistics.png"]:
        assert f in names
    history = json.loads((trained / "history.json").read_text())
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2
    results = json.loads((trained / "results.json").read_text())
    model = sn.load_model(trained / "model.npz")
    assert model.epochs_trained == 2 and model.metadata["train"]["dataset"] == "bundled"
    assert model.metadata["test"]["accuracy"] == pytest.approx(results["test_accuracy"])
    assert results["test_accuracy"] > 0.5  # 2 epochs on 360 images: far above chance (0.1)


def test_train_prints_accuracy_and_where(tiny, tmp_path, capsys):
    rc = main(["train", "--epochs", "1", "--out", str(tmp_path / "r"), "--no-plots", "--progress", "lines"])
    out = capsys.readouterr().out
    assert rc == 0 and "Test accuracy:" in out and str(tmp_path / "r") in out
    assert sorted(os.listdir(tmp_path / "r")) == ["history.json", "model.npz", "results.json"]


def test_resume_continues_counting(tiny, trained, tmp_path, capsys):
    run = tmp_path / "resumed"
    shutil.copytree(trained, run)
    assert main(["train", "--resume", str(run / "model.npz"), "--epochs", "1", "--no-plots",
                 "--progress", "none"]) == 0
    assert sn.load_model(run / "model.npz").epochs_trained == 3
    assert len(json.loads((run / "history.json").read_text())["loss"]) == 3
    rc = main(["train", "--resume", str(trained / "model.npz"), "--no-plots"])
    one_line_error(capsys, rc, match="already finished its 2 epochs")


def test_evaluate_and_summary(tiny, trained, tmp_path, capsys):
    assert main(["evaluate", str(trained / "model.npz"), "--plots", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "per class" in out
    assert {"confusion_matrix.png", "misclassified.png"} <= set(os.listdir(tmp_path / "ev"))
    assert main(["summary", str(trained)]) == 0
    out = capsys.readouterr().out
    assert "Total params: 235,146" in out and "Epochs trained: 2" in out and "Test accuracy" in out


def _png(path, array, mode="L"):
    from PIL import Image
    Image.fromarray(array).convert(mode).save(path)


def test_predict_28x28_and_converted_images(trained, tiny_data, tmp_path, capsys):
    _, (xt, yt) = tiny_data
    _png(tmp_path / "digit.png", xt[0])
    assert main(["predict", str(trained / "model.npz"), str(tmp_path / "digit.png")]) == 0
    out = capsys.readouterr().out
    assert "probability" in out and "converted" not in out and "resized" not in out
    model = sn.load_model(trained / "model.npz")
    expected = int(model.predict(xt[:1].reshape(1, 784) / 255.0).argmax())
    assert f"digit.png: {expected}  (probability" in out
    big = np.kron(255 - xt[0], np.ones((4, 4), np.uint8))  # 112x112, dark digit on white
    _png(tmp_path / "big.png", big, "RGBA")
    assert main(["predict", str(trained / "model.npz"), str(tmp_path / "big.png"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "converted RGBA to grayscale" in out and "resized it from 112x112 to 28x28" in out
    assert "inverted" in out and out.count("%") == 4  # the headline and the top 3


def test_load_digit_image_modes(tmp_path):
    from scratchnn.datasets.images import load_digit_image
    img = np.zeros((28, 28), np.uint16)
    img[8:20, 12:16] = 4000
    from PIL import Image
    Image.fromarray(img).save(tmp_path / "deep.png")
    arr, notes = load_digit_image(tmp_path / "deep.png")
    assert arr.dtype == np.uint8 and arr.shape == (28, 28) and arr.max() == 255
    assert any("0..255" in n for n in notes)
    _png(tmp_path / "blank.png", np.full((40, 40), 255, np.uint8))
    with pytest.raises(ValueError, match="blank"):
        load_digit_image(tmp_path / "blank.png")


def test_demo_xor_and_spirals(tmp_path, capsys):
    assert main(["demo", "xor", "--epochs", "3000", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Epoch 3000, Loss:" in out and "Solved" in out
    assert main(["demo", "spirals", "--epochs", "3", "--out", str(tmp_path)]) == 0
    assert {"xor_decision_boundary.png", "xor_loss.png", "spirals_decision_boundary.png",
            "spirals_history.png"} <= set(os.listdir(tmp_path))


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("argv, code, match", [
    (["train", "--dataset", "cifar"], 2, "invalid choice: 'cifar'"),
    (["train", "--model", "alexnet"], 2, "invalid choice: 'alexnet'"),
    (["train", "--epochs", "0"], 2, "expected an integer >= 1"),
    (["train", "--lr", "nan"], 2, "expected a finite number > 0"),
    (["frobnicate"], 2, "invalid choice"),
    (["demo", "xor", "--epochs", "-3"], 2, "argument --epochs: expected an integer from 1"),
    (["evaluate", "missing.npz"], 1, "model file not found: missing.npz"),
    (["summary", "missing.npz"], 1, "model file not found"),
])
def test_usage_errors_are_one_line(capsys, argv, code, match):
    one_line_error(capsys, main(argv), code=code, match=match)


def test_train_bad_inputs(tiny, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(capsys, main(["train", "--out", str(blocker / "sub")]), match="cannot write to the output folder")
    one_line_error(capsys, main(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]),
                   match="--data-dir is for")


def test_missing_dataset_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCRATCHNN_OFFLINE", "1")
    line = one_line_error(capsys, main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "nothing"),
                                        "--out", str(tmp_path / "o")]), match="MNIST files not found")
    assert str(tmp_path / "nothing") in line


def test_model_files_that_are_not_ours(trained, tmp_path, capsys):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    (tmp_path / "text.npz").write_text("hello")
    for bad in ("other.npz", "text.npz"):
        for cmd in (["evaluate"], ["summary"], ["predict"]):
            extra = [str(tmp_path / "x.png")] if cmd == ["predict"] else []
            one_line_error(capsys, main(cmd + [str(tmp_path / bad)] + extra),
                           match="is not a valid scratchnn model file")
    xor_model = sn.NeuralNetwork(2, 4, 1, seed=0).model
    xor_model.save(tmp_path / "xor.npz")
    one_line_error(capsys, main(["predict", str(tmp_path / "xor.npz"), "x.png"]), match="not 28x28 images")


def test_bad_images(trained, tmp_path, capsys):
    (tmp_path / "notes.png").write_text("not an image")
    model = str(trained / "model.npz")
    one_line_error(capsys, main(["predict", model, str(tmp_path / "notes.png")]), match="not an image")
    one_line_error(capsys, main(["predict", model, str(tmp_path / "absent.png")]), match="image file not found")
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    one_line_error(capsys, main(["predict", model, str(tmp_path / "cut.png")]))


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(FileNotFoundError):
        main(["--debug", "evaluate", "missing.npz"])


def test_real_subprocess_train(tmp_path):
    exe = shutil.which("scratchnn")
    cmd = [exe] if exe else [sys.executable, "-m", "scratchnn"]
    env = {**os.environ, "SCRATCHNN_OFFLINE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd + ["train", "--epochs", "1", "--no-plots", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Test accuracy:" in proc.stdout and "Epoch 1/1" in proc.stderr  # the progress bar
    acc = json.loads((tmp_path / "run" / "results.json").read_text())["test_accuracy"]
    assert acc > 0.8
    bad = subprocess.run(cmd + ["evaluate", str(tmp_path / "nope.npz")], capture_output=True, text=True,
                         timeout=120, env=env)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
