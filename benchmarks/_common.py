"""Shared machinery of the benchmarks: run scratchnn and PyTorch workers in separate
processes, interleaved (A, B, A, B, ...), and summarise with medians.

Why separate processes: in one process, OpenBLAS's spinning worker threads after a
NumPy product slow the next PyTorch step (measured 2x here), and the machine's speed
swings from second to second; interleaving spreads those swings over both sides.
"""
from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_mnist_dir() -> str:
    for candidate in (os.environ.get("SCRATCHNN_DATA", ""), str(REPO.parent / "shared" / "data" / "mnist")):
        if candidate and Path(candidate).is_dir():
            return candidate
    return str(REPO.parent / "shared" / "data" / "mnist")


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def run_worker(script: str, framework: str, args: list[str], threads: int) -> dict:
    """Run ``script --worker framework args...`` and return the JSON its last line prints."""
    cmd = [sys.executable, script, "--worker", framework, "--threads", str(threads), *args]
    out = subprocess.run(cmd, env=thread_env(threads), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{framework} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def interleaved(script: str, args: list[str], threads: int, repeats: int,
                frameworks=("scratchnn", "torch")) -> dict[str, list[dict]]:
    """Run every framework ``repeats`` times, alternating which goes first."""
    results: dict[str, list[dict]] = {f: [] for f in frameworks}
    for r in range(repeats):
        order = frameworks if r % 2 == 0 else tuple(reversed(frameworks))
        for fw in order:
            res = run_worker(script, fw, args, threads)
            results[fw].append(res)
            print(f"  run {r + 1}/{repeats} {fw:<9} " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in res.items() if not isinstance(v, list)), flush=True)
    return results


def median(values) -> float:
    return float(statistics.median(values))


def print_table(title: str, rows: list[tuple], headers: tuple) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "+".join("-" * (w + 2) for w in widths)
    print(f"\n{title}\n{line}")
    print(" | ".join(f"{h:<{w}}" for h, w in zip(headers, widths)))
    print(line)
    for row in rows:
        print(" | ".join(f"{str(x):<{w}}" for x, w in zip(row, widths)))
    print(line)


@contextlib.contextmanager
def mnist_cache(data_dir: str):
    """Read MNIST once (uint8) into a temporary ``.npz`` the workers load; yields its path."""
    import numpy as np

    from scratchnn.datasets.mnist import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir, download=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mnist.npz")
        np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        yield path


def load_mnist_cache(path: str, sample_shape: tuple[int, ...]):
    """(x_train, y_train, x_test, y_test) from :func:`mnist_cache`'s file: float32 pixels in
    [0, 1] shaped (N, *sample_shape), int64 labels."""
    import numpy as np

    d = np.load(path)

    def to_float(a):
        return a.reshape(len(a), *sample_shape).astype(np.float32) / np.float32(255.0)

    return to_float(d["x_train"]), d["y_train"].astype(np.int64), to_float(d["x_test"]), d["y_test"].astype(np.int64)
