"""Data-parallel training over MPI, run for real with ``mpiexec -n 2`` and ``-n 4``.

Each test starts ``mpiexec`` on tests/distributed/mpi_worker.py (4 ranks share CI's 2
cores: MPICH oversubscribes without a flag) and compares with one process here. Skipped
where mpi4py or mpiexec is missing (``pip install ".[mpi]"``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")

HERE = Path(__file__).resolve().parent
import scratchnn as sn
from tests.distributed import mpi_worker as W

MPIEXEC = shutil.which("mpiexec") or shutil.which(str(Path(sys.executable).parent / "mpiexec"))
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="mpiexec not found (pip install '.[mpi]')")

MODELS = ["mlp:float64", "cnn:float64", "lstm:float64", "graph:float64", "bn:float64:sync",
          "mlp:float32", "cnn:float32", "lstm:float32", "mlp:float64:last1", "multi:float64"]
TOL = {"float64": 1e-10, "float32": 1e-5}


def mpirun(n: int, *args, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "PYTHONPATH": os.pathsep.join([str(Path(sn.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
                **(env or {})}
    cmd = [MPIEXEC, "-n", str(n), sys.executable, str(HERE / "mpi_worker.py"), *map(str, args)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=full_env)


def rank_files(out: Path, n: int) -> list[dict]:
    return [dict(np.load(f"{out}.rank{r}.npz")) for r in range(n)]


@pytest.fixture(scope="module", params=[2, 4])
def equivalence_run(request, tmp_path_factory):
    n = request.param
    out = tmp_path_factory.mktemp(f"eq{n}") / "w"
    res = mpirun(n, "equivalence", out, "--models", ",".join(MODELS))
    assert res.returncode == 0, res.stderr[-3000:]
    return n, rank_files(out, n)


@pytest.mark.parametrize("spec", MODELS)
def test_n_ranks_at_batch_b_equal_one_process_at_batch_nb(equivalence_run, spec):
    n, ranks = equivalence_run
    kind, dtype, _, last = W.parse(spec)
    reference = W.train(kind, dtype, W.n_samples(n, last) + 40, n * W.PER_RANK)
    assert -(-W.n_samples(n, last) // (n * W.PER_RANK)) == W.STEPS
    assert W.n_samples(n, last) % (n * W.PER_RANK) % n != 0  # the last batch is split unequally
    for r, got in enumerate(ranks):
        np.testing.assert_allclose(got[spec], reference.flat_params, rtol=0, atol=TOL[dtype],
                                   err_msg=f"{spec}, rank {r} of {n}")
        np.testing.assert_array_equal(got[spec], ranks[0][spec])  # every rank holds the same weights
        np.testing.assert_array_equal(got[spec + "/optimizer"], ranks[0][spec + "/optimizer"])
    # training and validation figures (reduced over ranks) are the single-process ones
    hist = reference.history.history
    np.testing.assert_allclose(ranks[0][spec + "/history"], hist["val_loss"] + hist["loss"],
                               rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


@pytest.mark.parametrize("broken", ["sum", "equal"])
def test_broken_averaging_is_caught(tmp_path, broken):
    """The comparison above can fail: summing the gradients, or weighting the (unequal)
    shards of the last batch equally, does not give the one-process weights."""
    out = tmp_path / "w"
    res = mpirun(4, "equivalence", out, "--models", "mlp:float64", "--broken", broken)
    assert res.returncode == 0, res.stderr[-3000:]
    reference = W.train("mlp", "float64", W.n_samples(4) + 40, 4 * W.PER_RANK)
    got = rank_files(out, 4)[0]["mlp:float64"]
    assert np.abs(got - reference.flat_params).max() > 1e-6


def test_a_killed_rank_stops_the_others_and_the_checkpoint_resumes_on_other_ranks(tmp_path):
    ckpt = tmp_path / "ckpt.npz"
    start = time.monotonic()
    res = mpirun(2, "fault", ckpt, "--victim", 1, "--signal", "SIGKILL", timeout=60)
    assert res.returncode != 0
    assert time.monotonic() - start < 30
    assert "finished without the fault" not in res.stdout
    assert "signal 9" in res.stdout + res.stderr or "Killed" in res.stdout + res.stderr
    # rank 0's checkpoint is intact: written after epoch 2, the failure was in epoch 3
    model = sn.load_model(ckpt)
    assert model.epochs_trained == 2
    # resume on 4 ranks with the same global batch: ends where one uninterrupted process ends
    res = mpirun(4, "resume", ckpt)
    assert res.returncode == 0, res.stderr[-3000:]
    x, y = W.data("mlp", 400)
    reference = W.build("mlp", "float64")
    reference.fit(x, y, epochs=4, batch_size=40, verbose=0)
    np.testing.assert_allclose(np.load(str(ckpt) + ".resumed.npy"), reference.flat_params, rtol=0, atol=1e-10)


def test_a_hung_rank_ends_in_a_one_line_error_from_the_watchdog(tmp_path):
    start = time.monotonic()
    res = mpirun(2, "fault", tmp_path / "c.npz", "--victim", 1, "--signal", "SIGSTOP",
                 env={"SCRATCHNN_MPI_TIMEOUT": "3"}, timeout=60)
    assert time.monotonic() - start < 30
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.startswith("scratchnn: error:")]
    assert lines and "rank 0 of 2" in lines[0] and "no answer from the other ranks within 3 s" in lines[0]
    assert "gradient allreduce" in lines[0]
    assert "Traceback" not in res.stderr


def test_an_error_on_one_rank_ends_the_job_with_one_line(tmp_path):
    res = mpirun(2, "fault", tmp_path / "c.npz", "--victim", 1, "--signal", "raise", timeout=60)
    assert res.returncode != 0
    assert ("scratchnn: error: rank 1 of 2 stopped: ValueError: a failure on this rank only; "
            "ending all 2 ranks") in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("what, item", [("data", "training data shapes"), ("model", "model configuration")])
def test_mismatched_ranks_get_a_clear_error_at_the_start(tmp_path, what, item):
    res = mpirun(2, "mismatch", tmp_path / "x", "--what", what, timeout=60)
    assert res.returncode == 0, res.stderr[-3000:]
    for r in range(2):
        text = (tmp_path / f"x.rank{r}.txt").read_text()
        assert text.startswith(f"MismatchError: the 2 ranks disagree before training on: {item} (rank 0: ")
