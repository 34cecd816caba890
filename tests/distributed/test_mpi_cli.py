"""``mpiexec -n 2 scratchnn train --distributed``: the command line on two MPI ranks."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mpi4py")

import scratchnn as sn

MPIEXEC = shutil.which("mpiexec") or shutil.which(str(Path(sys.executable).parent / "mpiexec"))
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="mpiexec not found (pip install '.[mpi]')")


def scratchnn_on(n: int, *args, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(sn.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    cmd = [MPIEXEC, "-n", str(n), sys.executable, "-m", "scratchnn", *map(str, args)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def test_train_distributed_writes_once_and_reports_once(tmp_path):
    res = scratchnn_on(2, "train", "--epochs", "1", "--distributed", "--no-plots", "--progress", "lines",
                       "--out", tmp_path / "run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("Test accuracy:") == 1  # rank 0 only
    assert res.stdout.count("Epoch 1/1") == 1
    assert "data-parallel on 2 ranks, 64 samples per rank per step" in res.stdout
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["mpi_ranks"] == 2 and results["epochs_trained"] == 1
    model = sn.load_model(tmp_path / "run" / "model.npz")
    assert model.epochs_trained == 1
    assert not (tmp_path / "runs").exists()  # no rank made a default folder of its own


def test_mpiexec_without_distributed_is_refused(tmp_path):
    res = scratchnn_on(2, "train", "--epochs", "1", "--no-plots", "--out", tmp_path / "run", cwd=tmp_path)
    assert res.returncode != 0
    assert "this process is one of 2 MPI ranks" in res.stderr and "Add --distributed" in res.stderr
    assert not (tmp_path / "run" / "model.npz").exists()


def test_commands_that_do_not_train_in_parallel_refuse_mpiexec(tmp_path):
    res = scratchnn_on(2, "forecast", "--epochs", "1", "--out", tmp_path / "fc", cwd=tmp_path)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.startswith("scratchnn: error:")]
    assert lines and all("'scratchnn forecast' does not run on several MPI ranks" in line for line in lines)
    assert not (tmp_path / "fc").exists()


def test_textgen_distributed_matches_one_process(tmp_path):
    """The hand-written loop of textgen: 2 ranks at half the batch each = 1 process."""
    from scratchnn.cli import main

    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    flags = ["--steps", "12", "--eval-every", "6", "--hidden", "16", "--embedding", "8", "--batch-size", "6",
             "--seq-len", "12", "--sample-length", "0", "--quiet"]
    res = scratchnn_on(2, "textgen", "train", text, *flags, "--distributed", "--out", tmp_path / "two", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert main(["textgen", "train", str(text), *flags, "--out", str(tmp_path / "one")]) == 0
    two = json.loads((tmp_path / "two" / "log.json").read_text())
    one = json.loads((tmp_path / "one" / "log.json").read_text())
    assert two["val_bpc"] == pytest.approx(one["val_bpc"], abs=1e-5)
    assert two["train_bpc"] == pytest.approx(one["train_bpc"], abs=1e-5)
