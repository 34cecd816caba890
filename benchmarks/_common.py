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


# ------------------------------------------------------------------ memory
def _proc_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident memory (MiB) of this process while the ``with`` block runs.

    On Linux the kernel's high-water mark (VmHWM) is reset on entry (``/proc/self/clear_refs``),
    so the peak is that of the block, not of the imports or the data loading before it;
    elsewhere it falls back to ``ru_maxrss`` (the peak since the process started).
    ``peak_mb`` is the peak, ``start_mb`` the resident size on entry, ``growth_mb`` the
    difference: what training itself added (activations, caches, gradients, workspaces).
    """

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._hwm = True
        except OSError:
            self._hwm = False
        rss = _proc_status_kib("VmRSS")
        self.start_mb = rss / 1024 if rss is not None else self._maxrss_mb()
        return self

    @staticmethod
    def _maxrss_mb() -> float:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    def __exit__(self, *exc):
        hwm = _proc_status_kib("VmHWM") if self._hwm else None
        self.peak_mb = hwm / 1024 if hwm is not None else self._maxrss_mb()
        self.growth_mb = self.peak_mb - self.start_mb
        return False

    def as_dict(self) -> dict:
        return {"peak_rss_mb": round(self.peak_mb, 1), "rss_growth_mb": round(self.growth_mb, 1)}


# ---------------------------------------------------------- matmul peak
def matmul_peak_gflops(threads: int, size: int = 2048, repeats: int = 7) -> float:
    """The machine's float32 matrix-product speed (GFLOP/s): the best of ``repeats``
    (size x size) @ (size x size) NumPy products on ``threads`` BLAS threads, measured in a
    fresh process (as the workers run), so the figure is this run's, on this machine."""
    code = ("import time, numpy as np\nfrom threadpoolctl import threadpool_limits\n"
            f"n, best = {size}, float('inf')\n"
            "a = np.random.default_rng(0).random((n, n), dtype=np.float32); b = a.T.copy()\n"
            f"with threadpool_limits({threads}):\n    a @ b\n"
            f"    for _ in range({repeats}):\n"
            "        t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)\n"
            "print(2 * n ** 3 / best / 1e9)")
    out = subprocess.run([sys.executable, "-c", code], env=thread_env(threads), capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- summary
def spread(values) -> list[float]:
    """[min, max] of ``values``, rounded for the JSON line."""
    return [round(float(min(values)), 1), round(float(max(values)), 1)]


def paired_ratios(results: dict[str, list[dict]], key: str) -> list[float]:
    """scratchnn / PyTorch for each interleaved pair of runs (run r of both), from ``key``."""
    return [a[key] / b[key] for a, b in zip(results["scratchnn"], results["torch"])]


def summary_fields(results: dict[str, list[dict]], ours: float, theirs: float, flops_per_sample: float,
                   peak_gflops: float, run_key: str, samples_per_unit: float = 1.0) -> dict:
    """The JSON fields every training benchmark adds to its last line: spread of the ratio
    over runs, fraction of the matmul peak, and the peak memory of both sides.

    ``run_key`` names each run's median speed; ``samples_per_unit`` converts that speed to
    samples/s (for a benchmark that reports step times, pass the batch size and give the
    steps/s)."""
    ratios = paired_ratios(results, run_key)
    out = {"ratio_spread": [round(min(ratios), 3), round(max(ratios), 3)],
           "matmul_peak_gflops": round(peak_gflops, 1)}
    for fw, speed in (("scratchnn", ours), ("torch", theirs)):
        out[f"{fw}_peak_fraction"] = round(speed * samples_per_unit * flops_per_sample / 1e9 / peak_gflops, 3)
        out[f"{fw}_peak_rss_mb"] = median([r["peak_rss_mb"] for r in results[fw]])
        out[f"{fw}_train_rss_growth_mb"] = median([r["rss_growth_mb"] for r in results[fw]])
    out["peak_rss_ratio"] = round(out["scratchnn_peak_rss_mb"] / out["torch_peak_rss_mb"], 3)
    return out


def print_extras(fields: dict) -> None:
    """Print the peak fraction and the memory figures of :func:`summary_fields` as a table."""
    rows = [(name, f"{fields[f'{fw}_peak_fraction']:.1%}", f"{fields[f'{fw}_peak_rss_mb']:,.0f}",
             f"{fields[f'{fw}_train_rss_growth_mb']:,.0f}")
            for name, fw in (("scratchnn", "scratchnn"), ("PyTorch CPU", "torch"))]
    rows.append(("ratio", "", f"{fields['peak_rss_ratio']:.2f}x", ""))
    print_table(f"Matrix-product peak ({fields['matmul_peak_gflops']:.0f} GFLOP/s float32 measured in this run) "
                "and memory while training", rows,
                ("framework", "of peak", "peak RSS MiB", "RSS growth MiB"))


# ---------------------------------------------------------------- profile
def layer_profile(model, x, y, threads: int, cpu: bool = False, repeats: int = 20, title: str = "") -> None:
    """Per-layer forward and backward time of one training step of ``model`` on (x, y).

    With ``cpu`` the clock is the thread's CPU time with everything on one thread (BLAS and
    scratchnn's threads): the work each layer costs, which a busy machine disturbs far less
    than wall time. Prints the median and the minimum of ``repeats`` steps (after 2 warm-up
    steps); on a shared machine the minimum is the steadier figure.
    """
    import time

    from threadpoolctl import threadpool_limits

    try:
        from scratchnn.threads import set_num_threads
    except ImportError:  # a scratchnn from before scratchnn.threads: profiling it for a before/after
        from scratchnn.functional.conv import set_num_threads

    try:  # each step under the model's thread policy, as train_step runs it
        from scratchnn.threads import step_threads
        policy = lambda: step_threads(model._uses_thread_pool)  # noqa: E731
    except ImportError:  # a scratchnn from before the policy
        import contextlib
        policy = contextlib.nullcontext

    clock = time.perf_counter
    if cpu:
        threads, clock = 1, time.thread_time
    set_num_threads(threads)
    times: dict[str, list] = {}

    def note(key, t0):
        times.setdefault(key, []).append(clock() - t0)

    with threadpool_limits(threads):
        for _ in range(repeats + 2):
            with policy():
                t_step = clock()
                h = x
                for i, layer in enumerate(model.layers):
                    t = clock()
                    h = layer(h, True)
                    note(f"f{i}", t)
                t = clock()
                model.loss.forward(h, y)
                d = model.loss.backward()
                note("loss", t)
                for i in reversed(range(len(model.layers))):
                    t = clock()
                    d = model.layers[i].backward(d)
                    note(f"b{i}", t)
                if hasattr(model, "_check_finite_gradients"):  # as train_step does before the update
                    t = clock()
                    model._check_finite_gradients()
                    note("finite check", t)
                t = clock()
                if hasattr(model.optimizer, "step_flat"):  # as train_step does: one fused update
                    model.optimizer.step_flat(model.flat_params, model.flat_grads, model.flat_layout)
                else:  # a scratchnn from before the flat buffers (for a before/after profile)
                    model.optimizer.step(model.parameters())
                note("optimizer", t)
                note("step", t_step)
    stat = {k: (1000 * median(v[2:]), 1000 * min(v[2:])) for k, v in times.items()}
    fmt = lambda k: f"{stat[k][0]:.2f} ({stat[k][1]:.2f})"
    rows = [(f"{i}: {type(layer).__name__}", fmt(f"f{i}"), fmt(f"b{i}"),
             f"{stat[f'f{i}'][0] + stat[f'b{i}'][0]:.2f}") for i, layer in enumerate(model.layers)]
    for k in ("loss", "finite check", "optimizer", "step"):
        if k in stat:
            rows.append((k if k != "step" else "whole step", "", "", fmt(k)))
    what = "CPU time, 1 thread" if cpu else f"wall time, {threads} thread(s)"
    print_table(f"{title}Per-layer time of one training step (ms, median (min) of {repeats}, {what})",
                rows, ("layer", "forward", "backward", "total (median)"))


# ------------------------------------------------------------ image models
def torch_epoch(model, opt, x, y, count: int, batch: int, sched=None) -> None:
    """One pass of PyTorch training over the first ``count`` samples of (x, y), shuffled, as
    the scratchnn side does: cross-entropy, the per-batch loss and accuracy read back (as
    scratchnn's ``fit`` computes them), and ``sched.step()`` per batch when given."""
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(count)
    for i in range(0, count, batch):
        idx = perm[i:i + batch]
        xb, yb = x[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        _ = loss.item(), (out.argmax(1) == yb).float().mean().item()


# ------------------------------------------------------- character models
def default_text() -> str:
    """tinyshakespeare in the shared data folder beside the repository."""
    return str(REPO.parent / "shared" / "data" / "text" / "tinyshakespeare.txt")


def char_data(path: str, seq: int, batch: int, val_seqs: int):
    """(vocab, an endless source of random training batches, x_val, y_val) of the text at ``path``."""
    import numpy as np

    from scratchnn.datasets.text import CharVocab, load_text, random_batches, sequences, split_ids

    text = load_text(path)
    vocab = CharVocab.from_text(text)
    train, val = split_ids(vocab.encode(text), 0.1)
    xv, yv = sequences(val, seq)
    return vocab, random_batches(train, seq, batch, np.random.default_rng(0)), xv[:val_seqs], yv[:val_seqs]


def torch_char_steps(model, batches, steps: int, vocab_size: int, lr: float, clip: float) -> list[float]:
    """Train a PyTorch character model for ``steps`` batches as the scratchnn side does (Adam,
    cross-entropy over every position, gradient norm clipped to ``clip``); the time of each step."""
    import time

    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(steps):
        xb, yb = (torch.from_numpy(a) for a in next(batches))
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb).reshape(-1, vocab_size), yb.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        loss.item()
        times.append(time.perf_counter() - t)
    return times


def torch_char_bpc(model, xv, yv, vocab_size: int) -> float:
    """Validation bits per character of a PyTorch character model (in inference mode)."""
    import math

    import torch

    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(xv))
        nats = float(torch.nn.functional.cross_entropy(logits.reshape(-1, vocab_size), torch.from_numpy(yv).reshape(-1)))
    return nats / math.log(2)
