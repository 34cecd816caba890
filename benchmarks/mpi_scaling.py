"""Benchmark: data-parallel training over MPI -- per-step compute and allreduce time for
N = 1, 2, 4 ranks on this machine, and the cost model's speed-up on a cluster.

The three benchmark models (benchmarks/mlp_mnist.py, cnn_mnist.py, lstm_chars.py), float32,
Adam, at their global batch (128 images; 64 windows of 100 characters), on synthetic
inputs of the real shapes (the time of a step does not depend on the values). For each
model and N, ``mpiexec -n N`` runs ``--steps`` training steps after ``--warmup``; per step,
rank 0 records

- compute: forward, loss, backward and the optimizer step on its shard (B/N samples),
- allreduce: the one ``Allreduce`` of the flat gradient buffer, *including* the wait for
  the slowest rank (ranks share this machine's cores, so with N > cores it is mostly wait),

and afterwards the allreduce alone (``--repeats`` calls on the same buffer, after a
barrier). It also times one process at batch B, B/2, B/4, B/8 to fit the compute model
t(b) = t0 + t1 * b that the predictions use (on the fastest step of each size: the machine
is shared, and the minimum is the least disturbed estimate of the cost itself).

The cost model (docs/distributed.md): per step on N machines with per-machine compute
t(B/N), a ring allreduce of S bytes over links of bandwidth W and latency a,

    T(N) = t(B/N) + 2 (N - 1) / N * S / W + a * log2(N),     speed-up = t(B) / T(N),

and with B samples per machine (the global batch grows with N), in samples per second,
N t(B) / (t(B) + 2 (N - 1) / N * S / W + a * log2(N)),

evaluated for N = 8 and 64 on 10 and 100 Gbit/s Ethernet (a = 50 µs), with this machine's
single-core compute per machine (a faster machine lowers the speed-up: the
communication stays, the compute shrinks).

    python benchmarks/mpi_scaling.py                      # N = 1, 2, 4; 20 steps each
    python benchmarks/mpi_scaling.py --steps 5 --models mlp --ranks 1,2

Ends with one JSON line: per model the parameters, bytes, measured times per N and the
predicted speed-ups. There is no PyTorch side: this measures the MPI plumbing, not kernels.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import REPO, print_table, thread_env

MODELS = {"mlp": 128, "cnn": 128, "lstm": 64}  # global batch per model
LATENCY_S = 50e-6
LINKS = {"10 Gbit/s": 10e9 / 8, "100 Gbit/s": 100e9 / 8}
CLUSTER = (8, 64)


def build(name: str):
    import scratchnn as sn
    from scratchnn import layers as L

    rng = np.random.default_rng(0)
    if name == "mlp":
        model = sn.Sequential([L.Dense(784, 256), L.ReLU(), L.Dense(256, 128), L.ReLU(), L.Dense(128, 10)], seed=0)
        make = lambda b: (rng.random((b, 784), dtype=np.float32), rng.integers(0, 10, b))
    elif name == "cnn":
        from scratchnn.applications.zoo import build_model
        model = build_model("cnn", (1, 28, 28), 10, seed=0)
        make = lambda b: (rng.random((b, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, b))
    else:
        from scratchnn.applications.textgen import build_char_lm
        from scratchnn.datasets.text import CharVocab
        vocab = CharVocab.from_text("".join(chr(32 + i) for i in range(65)))
        model = build_char_lm(vocab, 64, 256, seed=0)
        make = lambda b: (rng.integers(0, 65, (b, 100)).astype(np.float32), rng.integers(0, 65, (b, 100)))
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=1e-3))
    return model, make


def worker(args) -> None:
    from scratchnn.distributed import DataParallel, launched_ranks

    model, make = build(args.model)
    batch = MODELS[args.model]
    x, y = make(batch)
    model.build(x.shape[1:])
    if launched_ranks() == 1:  # one process: compute only, at several batch sizes
        out, best = {}, {}
        for b in (batch, batch // 2, batch // 4, batch // 8):
            times = []
            for _step in range(args.warmup + args.steps):
                t = time.perf_counter()
                model.train_step(x[:b], y[:b])
                times.append(time.perf_counter() - t)
            out[str(b)] = statistics.median(times[args.warmup:])
            best[str(b)] = min(times[args.warmup:])
        print(json.dumps({"compute_by_batch": out, "compute_by_batch_min": best, "params": model.count_params()}))
        return
    dp = DataParallel()
    reduce_times: list[float] = []
    reduce = dp.reduce_gradients

    def timed(flat, poison=False):
        t = time.perf_counter()
        reduce(flat, poison)
        reduce_times.append(time.perf_counter() - t)
    dp.reduce_gradients = timed
    steps = []
    with dp.attached(model):
        dp.start(model, None, None, {"benchmark": args.model})
        for _ in range(args.warmup + args.steps):
            part = dp.part(batch)
            t = time.perf_counter()
            model.train_step(x[part], y[part])
            steps.append(time.perf_counter() - t)
    compute = [s - r for s, r in zip(steps, reduce_times)][args.warmup:]
    wait = reduce_times[args.warmup:]
    dp.comm.barrier()
    alone = []
    buf = model.flat_grads.copy()
    for _ in range(args.repeats):
        dp.comm.barrier()
        t = time.perf_counter()
        dp.comm.allreduce_(buf)
        alone.append(time.perf_counter() - t)
    if dp.is_root:
        print(json.dumps({"compute": statistics.median(compute), "allreduce": statistics.median(wait),
                          "allreduce_alone": statistics.median(alone), "step": statistics.median(steps[args.warmup:]),
                          "params": model.count_params()}))


def run(n: int, args, model: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--model", model, "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    if n > 1:
        mpiexec = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
        cmd = [mpiexec, "-n", str(n)] + cmd
    env = thread_env(args.threads)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    out = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{model} on {n} ranks failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fit_compute(by_batch: dict) -> tuple[float, float]:
    """Least squares t(b) = t0 + t1 * b over the measured batch sizes."""
    b = np.array([float(k) for k in by_batch])
    t = np.array(list(by_batch.values()))
    t1, t0 = np.polyfit(b, t, 1)
    return max(float(t0), 0.0), float(t1)


def predict(t0: float, t1: float, batch: int, nbytes: int, n: int, bandwidth: float) -> dict:
    """Strong scaling (the global batch stays ``batch``) and weak scaling (``batch`` per machine)."""
    compute = t0 + t1 * batch / n
    comm = 2 * (n - 1) / n * nbytes / bandwidth + LATENCY_S * math.log2(n)
    one = t0 + t1 * batch
    return {"step_s": compute + comm, "compute_s": compute, "comm_s": comm,
            "speedup": one / (compute + comm), "weak_speedup": n * one / (one + comm)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    p.add_argument("--models", default="mlp,cnn,lstm")
    p.add_argument("--ranks", default="1,2,4")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=30, help="allreduce-alone calls")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads per rank")
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    ranks = [int(r) for r in args.ranks.split(",")]
    report = {"ranks": ranks, "threads": args.threads, "cpus": os.cpu_count(), "latency_s": LATENCY_S, "models": {}}
    rows, pred_rows = [], []
    for name in args.models.split(","):
        batch = MODELS[name]
        measured = {}
        for n in ranks:
            print(f"  {name}: {n} rank(s)...", flush=True)
            measured[n] = run(n, args, name)
        single = measured.get(1) or run(1, args, name)
        params = single["params"]
        nbytes = 4 * params
        t0, t1 = fit_compute(single["compute_by_batch_min"])
        for n in ranks:
            m = measured[n]
            if n == 1:
                step = m["compute_by_batch"][str(batch)]
                rows.append((name, f"{params:,}", 1, f"{batch}", f"{step * 1e3:.1f}", "-", "-", f"{step * 1e3:.1f}"))
            else:
                rows.append((name, f"{params:,}", n, f"{batch / n:.4g}", f"{m['compute'] * 1e3:.1f}",
                             f"{m['allreduce'] * 1e3:.2f}", f"{m['allreduce_alone'] * 1e3:.2f}",
                             f"{m['step'] * 1e3:.1f}"))
        preds = {}
        for link, bw in LINKS.items():
            for n in CLUSTER:
                pr = predict(t0, t1, batch, nbytes, n, bw)
                preds[f"{n} x {link}"] = pr
                pred_rows.append((name, f"{nbytes / 1e6:.2f}", link, n, f"{pr['compute_s'] * 1e3:.2f}",
                                  f"{pr['comm_s'] * 1e3:.2f}", f"{pr['speedup']:.2f}", f"{pr['weak_speedup']:.2f}"))
        report["models"][name] = {"params": params, "bytes": nbytes, "global_batch": batch,
                                  "compute_fit_s": {"t0": t0, "t1_per_sample": t1},
                                  "measured": {str(n): measured[n] for n in ranks}, "predicted": preds}
    print_table(f"Measured here: per-step time, rank 0, median of {args.steps} steps "
                f"({os.cpu_count()} CPUs, {args.threads} BLAS thread(s) per rank; ranks > CPUs share cores)",
                rows, ("model", "params", "ranks", "samples/rank", "compute ms", "allreduce+wait ms",
                       "allreduce alone ms", "step ms"))
    print_table("Predicted on a cluster: ring allreduce of float32 gradients, latency 50 us, compute per "
                "machine as one core here (t0 + t1*b fitted on the fastest of the 1-process steps); "
                "speed-up at the same global batch B, and in samples/s with B per machine",
                pred_rows, ("model", "MB/step", "link", "machines", "compute ms", "comm ms", "speed-up (B)",
                            "speed-up (B/machine)"))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
