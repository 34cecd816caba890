"""Trust at the edges: no silent overwrite, no silent wrong answer, Unix manners.

The table of bad inputs is tests/robustness/test_cli_table.py; here are the behaviours that
need more than one command or a real process: run folders that appear whole, Ctrl-C and
--resume in ``textgen train``, closed pipes, progress output in logs, CSV and image
reading, probabilities.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.cli import build_parser, main
from scratchnn.cli.run_folder import RunFolder, UsageError
from scratchnn.datasets import load_bundled_mnist
from scratchnn.datasets import timeseries as ts

L = sn.layers
SRC = str(Path(sn.__file__).resolve().parents[1])
CLI = [sys.executable, "-c", "import sys; from scratchnn.cli import main; sys.exit(main())"]


def _interruptible(cmd: list[str]) -> subprocess.Popen:
    """Start ``cmd`` as a terminal's foreground job would run it, with SIGINT's default action.

    A job a shell starts in the background (``cmd &``, as CI runners and nohup'd scripts do)
    inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt handler: Ctrl-C
    could not be tested there. (The library keeps that convention: a job started to ignore
    Ctrl-C is not stopped by it.)
    """
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _stop(proc: subprocess.Popen) -> str:
    """Wait for ``proc`` after its SIGINT (killing it if it does not end); returns its stderr."""
    try:
        return proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _env():
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.fixture
def tiny(monkeypatch):
    (x, y), (xt, yt) = load_bundled_mnist()
    data = ((x[:300], y[:300]), (xt[:60], yt[:60]))
    monkeypatch.setattr("scratchnn.datasets.load_dataset", lambda name, path=None, download=True: data)


# ------------------------------------------------------------------ run folders
def test_run_folder_appears_whole_or_not_at_all(tmp_path):
    run = RunFolder(tmp_path / "r")
    assert not (tmp_path / "r").exists() and run.path.parent == tmp_path and run.path.name.startswith(".r.partial-")
    (run.path / "model.npz").write_text("new")
    assert run.publish() == tmp_path / "r" and (tmp_path / "r" / "model.npz").read_text() == "new"
    assert os.listdir(tmp_path) == ["r"]  # no staging folder left
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "r").stat().st_mode & 0o777 == 0o777 & ~mask  # as mkdir makes it, not 0700

    with pytest.raises(UsageError, match="already holds files .*--force"):
        RunFolder(tmp_path / "r")
    failed = RunFolder(tmp_path / "r", force=True)
    (failed.path / "model.npz").write_text("half")
    failed.abandon()  # a failed run: the old one is untouched, nothing else appears
    assert os.listdir(tmp_path) == ["r"] and (tmp_path / "r" / "model.npz").read_text() == "new"

    forced = RunFolder(tmp_path / "r", force=True)
    (forced.path / "log.json").write_text("{}")
    forced.publish()  # replaced as a whole: the old run's files are gone, not mixed
    assert os.listdir(tmp_path / "r") == ["log.json"] and os.listdir(tmp_path) == ["r"]


def test_interrupted_run_keeps_only_its_checkpoint(tmp_path):
    run = RunFolder(tmp_path / "a")
    (run.path / "model.npz").write_text("ckpt")
    (run.path / "results.json").write_text("{}")
    assert run.finish_interrupted() == tmp_path / "a"
    assert os.listdir(tmp_path / "a") == ["model.npz"]
    empty = RunFolder(tmp_path / "b")
    assert empty.finish_interrupted() is None and not (tmp_path / "b").exists()


def test_stale_staging_folders_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    stale = tmp_path / f".r.partial-{int(dead.stdout)}-abc"
    stale.mkdir()
    RunFolder(tmp_path / "r").abandon()
    assert not stale.exists()


def test_train_refuses_an_existing_run_and_replaces_it_whole_with_force(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.json").write_text('{"model": "a character LSTM"}')
    (out / "training_curves.png").write_bytes(b"old")
    argv = ["train", "--epochs", "1", "--out", str(out), "--no-plots", "--progress", "none"]
    assert main(argv) == 2
    assert "already holds files" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0
    assert sorted(os.listdir(out)) == ["history.json", "model.npz", "results.json"]  # no old plot beside it
    assert json.loads((out / "results.json").read_text())["model"] == "mlp"
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_forecast_writes_a_whole_new_folder_and_names_its_column(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    t = np.arange(150)
    csv.write_bytes(("\ufeffDate;Index;Price\r\n" + "".join(
        f"2020-{i:04d};{i};{10 + np.sin(i / 4):.3f}\r\n".replace(".", ",") for i in t)).encode())
    out = tmp_path / "f"
    assert main(["forecast", str(csv), "--epochs", "1", "--window", "8", "--out", str(out), "--quiet"]) == 0
    assert sorted(os.listdir(out)) == ["model", "report.json", "report.txt"]
    assert json.loads((out / "report.json").read_text())["series"] == "Price"
    capsys.readouterr()
    assert main(["forecast", str(csv), "--epochs", "1", "--window", "8"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "column 'Price' (3 of 3)" in head and "'Date', 'Index'" in head and "decimal commas" in head


# ------------------------------------------------------------------ CSV reading
@pytest.mark.parametrize("content, name, values", [
    ("\ufefftime,value\r\n1,5\r\n2,6\r\n3,4\r\n", "value", [5, 6, 4]),  # BOM + CRLF
    ("1749.0,58\n1749.083,62.6\n1749.167,70\n", "2", [58, 62.6, 70]),  # no header: time first
    ("0,5.5\n1,6.5\n2,4.5\n3,7\n", "2", [5.5, 6.5, 4.5, 7]),  # no header: a row number first
    ("date\tclose\n2020-01-01\t1.5\n2020-01-02\t2.5\n2020-01-03\t2\n", "close", [1.5, 2.5, 2]),  # tab, dates
    ("Unnamed: 0|x\n0|3\n1|4\n2|9\n", "x", [3, 4, 9]),  # a pandas index column, | delimiter
    ("year;temp\n2000;1,5\n2001;2,5\n2002;3,5\n", "temp", [1.5, 2.5, 3.5]),  # ; and decimal commas
])
def test_csv_never_takes_a_time_or_index_column(tmp_path, content, name, values):
    path = tmp_path / "s.csv"
    path.write_bytes(content.encode("utf-8"))
    s = ts.load_csv_column(path)
    assert s.name == name and s.values.tolist() == pytest.approx(values)
    assert s.notes[0].startswith(f"column {name!r}")


def test_csv_latin1_and_column_numbers(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("temps,précip\n1,4\n2,5\n3,7\n".encode("latin-1"))
    s = ts.load_csv_column(path, "2")
    assert s.name == "précip" and s.values.tolist() == [4, 5, 7] and any("Latin-1" in n for n in s.notes)


def test_degenerate_series_are_refused_up_front():
    with pytest.raises(sn.DataError, match="constant"):
        ts.check_forecastable(np.full(100, 2.0), window=10)
    with pytest.raises(sn.ConfigError, match="too short|no complete window"):
        ts.check_forecastable(np.arange(15.0), window=10)
    with pytest.raises(sn.ConfigError, match="season 90"):
        ts.check_forecastable(np.sin(np.arange(100.0)), window=5, season=90)
    ts.check_forecastable(np.sin(np.arange(100.0)), window=5, season=12)


# ------------------------------------------------------------------ images
def _rgba(ink: int, ink_alpha: np.ndarray) -> np.ndarray:
    a = np.zeros(ink_alpha.shape + (4,), np.uint8)
    a[..., :3] = ink
    a[..., 3] = ink_alpha
    return a


def test_transparent_images_are_judged_by_their_ink(tmp_path):
    from PIL import Image

    from scratchnn.datasets.images import load_digit_image
    stroke = np.zeros((60, 60), np.uint8)
    stroke[10:50, 26:34] = 255
    Image.fromarray(_rgba(255, stroke)).save(tmp_path / "white.png")  # dark-mode canvas
    Image.fromarray(_rgba(0, stroke)).save(tmp_path / "black.png")
    white, notes = load_digit_image(tmp_path / "white.png")
    black, _ = load_digit_image(tmp_path / "black.png")
    assert any("black (light ink)" in n for n in notes)
    np.testing.assert_array_equal(white, black)  # the same digit, whatever its ink colour
    assert white.max() == 255 and white[:, :5].max() == 0


def test_a_bomb_is_refused_from_its_header_without_pillows_warning(tmp_path, recwarn):
    from scratchnn.datasets.images import load_digit_image
    from tests.robustness.test_cli_table import png_bomb
    png_bomb(tmp_path / "b.png", 12_000, 12_000, full=False)
    with pytest.raises(sn.DataError, match=r"b\.png is 12000x12000 pixels"):
        load_digit_image(tmp_path / "b.png")
    assert not recwarn.list


# ------------------------------------------------------------------ probabilities
def test_predict_proba_and_onnx_probabilities(tmp_path):
    x = np.random.default_rng(0).normal(size=(5, 4))
    m = sn.Sequential([L.Dense(4, 3)], seed=0)
    m.compile(sn.losses.SoftmaxCrossEntropy(), "adam")
    p = m.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(p.argmax(1), m.predict(x).argmax(1))
    b = sn.Sequential([L.Dense(4, 1)], seed=0)
    b.compile(sn.losses.BinaryCrossEntropyWithLogits(), "adam")
    np.testing.assert_allclose(b.predict_proba(x), 1 / (1 + np.exp(-b.predict(x).astype(np.float64))), rtol=1e-6)
    b.compile("mse", "adam")
    with pytest.raises(sn.ConfigError, match="predict_proba needs a model trained on logits"):
        b.predict_proba(x)
    pytest.importorskip("onnxruntime")
    from scratchnn.onnx import export, run_onnx
    export(m, tmp_path / "p.onnx", probabilities=True)
    np.testing.assert_allclose(run_onnx(tmp_path / "p.onnx", x), p, rtol=1e-5, atol=1e-6)


def test_saving_to_a_folder_names_it(tmp_path):
    m = sn.Sequential([L.Dense(2, 2)], seed=0)
    m.build((2,))
    for target in (f"{tmp_path}/", tmp_path):
        with pytest.raises(IsADirectoryError, match="cannot write a file over a folder") as info:
            m.save(target)
        assert ".tmp-" not in str(info.value)
    with pytest.raises(FileNotFoundError) as info:
        m.save(tmp_path / "no" / "m.npz")
    assert info.value.filename == str(tmp_path / "no") and os.listdir(tmp_path) == []


# ------------------------------------------------------------------ help and manners
def _parsers(p, name="scratchnn"):
    yield name, p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for n, sp in a.choices.items():
                yield from _parsers(sp, f"{name} {n}")


def test_help_shows_a_default_for_every_option():
    missing = []
    for name, p in _parsers(build_parser()):
        fmt = p._get_formatter()
        for a in p._actions:
            option = a.option_strings and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))
            if option and "default" not in fmt._expand_help(a).lower():
                missing.append(f"{name} {a.option_strings[0]}")
    assert not missing, missing


def test_the_demo_that_should_fail_fails(tmp_path, capsys):
    assert main(["demo", "--help"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "see it fail" in x)
    argv = line.split("#")[0].split()[1:]
    assert main(argv + ["--out", str(tmp_path)]) == 0
    assert "Not solved yet" in capsys.readouterr().out


def test_progress_bar_writes_plain_lines_into_a_log(capsys):
    m = sn.Sequential([L.Dense(2, 1)], seed=0)
    m.compile("mse", "sgd")
    m.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=1)
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[0].startswith("Epoch 1/2 - loss: ")


def _model_and_image(tmp_path: Path) -> tuple[Path, Path]:
    from PIL import Image
    m = sn.Sequential([L.Dense(784, 10)], seed=0)
    m.compile(sn.losses.SoftmaxCrossEntropy(), "adam")
    m.build((784,))
    m.save(tmp_path / "m.npz")
    a = np.zeros((28, 28), np.uint8)
    a[5:23, 12:16] = 255
    Image.fromarray(a).save(tmp_path / "d.png")
    return tmp_path / "m.npz", tmp_path / "d.png"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE")
def test_a_closed_pipe_ends_quietly_with_141(tmp_path):
    model, image = _model_and_image(tmp_path)
    # far more than a pipe buffer (64 kB) of output, so the writer meets the closed pipe
    proc = subprocess.Popen(CLI + ["predict", str(model)] + [str(image)] * 600, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    first = proc.stdout.readline()
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and b"d.png" in first
    assert err == b"", err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_textgen_ctrl_c_saves_and_resume_finishes(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("to be or not to be, that is the question. " * 200)
    out = tmp_path / "run"
    train = CLI + ["textgen", "train", str(text), "--out", str(out), "--steps", "100000", "--eval-every", "5",
                   "--hidden", "8", "--embedding", "4", "--seq-len", "16", "--batch-size", "4", "--sample-length", "0"]
    proc = _interruptible(train)
    assert proc.stdout.readline().startswith(str(text))  # the header line: training has started
    assert proc.stdout.readline().startswith("step")  # one evaluation (and checkpoint) done
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    err = _stop(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"--resume {out}" in err
    assert sorted(os.listdir(out)) == ["log.json", "model.npz"] and sorted(os.listdir(tmp_path)) == ["run", "t.txt"]
    done = sn.load_model(out / "model.npz").metadata["steps_trained"]
    assert 5 <= done < 100000
    res = subprocess.run(CLI + ["textgen", "train", "--resume", str(out), "--steps", "5", "--quiet",
                                "--sample-length", "0"], capture_output=True, text=True, env=_env(), timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert sn.load_model(out / "model.npz").metadata["steps_trained"] == done + 5
    assert re.search(rf"after {done + 5} steps", res.stdout)


def test_textgen_sample_streams(tmp_path):
    from scratchnn.applications.textgen import sample, sample_stream, train_char_lm
    m, _ = train_char_lm("abcabc" * 40, steps=3, seq_len=8, batch_size=2, hidden_size=4, embedding_dim=2, verbose=0)
    stream = sample_stream(m, 20, prompt="ab", seed=1)
    first = next(stream)
    assert "ab" + first + "".join(stream) == sample(m, 20, prompt="ab", seed=1)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_train_ctrl_c_publishes_the_checkpoint_to_resume(tmp_path):
    out = tmp_path / "run"
    # 20,000 epochs: far more than the test waits for, so that a busy machine that delays this
    # process's reading cannot let the run finish before it is interrupted
    proc = _interruptible(CLI + ["train", "--out", str(out), "--epochs", "20000", "--progress", "lines",
                                 "--batch-size", "512", "--no-plots"])
    for line in proc.stdout:
        if line.startswith("Epoch 1/20000"):  # the first checkpoint is saved
            break
    assert not out.exists()  # the run is still being written beside it
    proc.send_signal(signal.SIGINT)
    err = _stop(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"scratchnn train --resume {out / 'model.npz'}" in err
    assert os.listdir(out) == ["model.npz"] and os.listdir(tmp_path) == ["run"]
    epochs = sn.load_model(out / "model.npz").epochs_trained
    assert 1 <= epochs < 20000


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE")
def test_textgen_sample_streams_and_a_closed_pipe_ends_it(tmp_path):
    from scratchnn.applications.textgen import train_char_lm
    m, _ = train_char_lm("abcd efgh\n" * 60, steps=2, seq_len=8, batch_size=2, hidden_size=4, embedding_dim=2,
                         verbose=0)
    m.save(tmp_path / "lm.npz")
    proc = subprocess.Popen(CLI + ["textgen", "sample", str(tmp_path / "lm.npz"), "--length", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    first = proc.stdout.read(64)
    still_running = proc.poll() is None  # the first characters came before the last was drawn
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and len(first) == 64 and still_running
    assert err == b"", err
