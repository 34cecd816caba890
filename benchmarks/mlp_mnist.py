"""Benchmark: the MLP 784-256-128-10 on MNIST, scratchnn vs PyTorch CPU.

Both train the same network (ReLU, softmax cross-entropy, Adam 1e-3 with a cosine
decay of the learning rate to 0 over the run, batch 128, float32; each framework's
own default initialisation) for ``--epochs`` epochs,
each in its own process, interleaved, ``--repeats`` times, with the same number
of BLAS/OpenMP threads. Reported: median training samples/s over all epochs of
all runs (data loading excluded, the per-batch loss and accuracy included on both
sides), and the test accuracy after the last epoch (median over runs).

    python benchmarks/mlp_mnist.py                      # 10 epochs, 3 repeats, 2 threads
    python benchmarks/mlp_mnist.py --epochs 2 --repeats 1 --data-dir ../shared/data/mnist
    python benchmarks/mlp_mnist.py --profile                     # per-layer profile of one batch
    python benchmarks/mlp_mnist.py --profile --cpu-time          # ... as CPU time on one thread

Ends with one JSON line: scratchnn_samples_per_s, torch_samples_per_s, ratio,
scratchnn_test_accuracy, torch_test_accuracy, epochs, threads.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    PeakMemory,
    default_mnist_dir,
    interleaved,
    layer_profile,
    load_mnist_cache,
    matmul_peak_gflops,
    median,
    mnist_cache,
    print_extras,
    print_table,
    spread,
    summary_fields,
    torch_epoch,
)

BATCH = 128
# Multiply-adds of the three products per sample; a training step does each three times
# (forward, dW, dx) except dx of the first layer.
_MACS = (784 * 256, 256 * 128, 128 * 10)
FLOPS_PER_SAMPLE = 2 * (3 * sum(_MACS) - _MACS[0])


def scratchnn_model(seed: int, total_steps: int):
    import scratchnn as sn

    L = sn.layers
    model = sn.Sequential([L.Dense(784, 256), L.ReLU(), L.Dense(256, 128), L.ReLU(), L.Dense(128, 10)], seed=seed)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(),
                  optimizer=sn.optimizers.Adam(lr=sn.schedules.CosineDecay(1e-3, total_steps)),
                  metrics=["accuracy"])
    return model


def worker_scratchnn(args) -> dict:
    from threadpoolctl import threadpool_limits

    x_train, y_train, x_test, y_test = load_mnist_cache(args.data, (784,))
    total_steps = args.epochs * -(-len(x_train) // BATCH)
    speeds = []
    with threadpool_limits(args.threads):
        with PeakMemory() as mem:
            model = scratchnn_model(args.seed, total_steps)
            for _ in range(args.epochs):
                t = time.perf_counter()
                model.fit(x_train, y_train, epochs=1, batch_size=BATCH, verbose=0)
                speeds.append(len(x_train) / (time.perf_counter() - t))
        acc = model.evaluate(x_test, y_test)["accuracy"]
    return {"samples_per_s": median(speeds), "epoch_speeds": speeds, "test_accuracy": acc, **mem.as_dict()}


def profile(threads: int, repeats: int = 200, cpu: bool = False) -> None:
    """Per-layer forward and backward time of one batch, in this process (see ``layer_profile``)."""
    import numpy as np

    model = scratchnn_model(0, 1000)
    model.build((784,))
    rng = np.random.default_rng(0)
    x = (rng.random((BATCH, 784)) * (rng.random((BATCH, 784)) < 0.2)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    layer_profile(model, x, y, threads, cpu=cpu, repeats=repeats, title=f"MLP, batch {BATCH}. ")


def worker_torch(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in load_mnist_cache(args.data, (784,)))
    with PeakMemory() as mem:
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                    torch.nn.ReLU(), torch.nn.Linear(128, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        n = len(x_train)
        total_steps = args.epochs * -(-n // BATCH)
        # The same cosine decay as scratchnn's CosineDecay(1e-3, total_steps), stepped per batch.
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps)))
        speeds = []
        for _ in range(args.epochs):
            t = time.perf_counter()
            torch_epoch(model, opt, x_train, y_train, n, BATCH, sched)
            speeds.append(n / (time.perf_counter() - t))
    with torch.no_grad():
        acc = float((model(x_test).argmax(1) == y_test).float().mean())
    return {"samples_per_s": median(speeds), "epoch_speeds": speeds, "test_accuracy": acc, **mem.as_dict()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=default_mnist_dir(), help="folder with the MNIST IDX files")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", action="store_true", help="print a per-layer profile of one batch and exit")
    p.add_argument("--cpu-time", action="store_true", help="profile CPU time on one thread instead of wall time")
    p.add_argument("--worker", choices=["scratchnn", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.profile:
        profile(args.threads, cpu=args.cpu_time)
        return
    if args.worker:
        fn = worker_scratchnn if args.worker == "scratchnn" else worker_torch
        print(json.dumps(fn(args)))
        return

    with mnist_cache(args.data_dir) as cache:
        print(f"MLP 784-256-128-10 on MNIST, batch {BATCH}, "
              f"Adam 1e-3 cosine, float32, {args.threads} thread(s), {args.epochs} epoch(s) x {args.repeats} run(s)")
        peak = matmul_peak_gflops(args.threads)
        results = interleaved(os.path.abspath(__file__),
                              ["--data", cache, "--epochs", str(args.epochs), "--seed", str(args.seed)],
                              args.threads, args.repeats)
        peak = max(peak, matmul_peak_gflops(args.threads))  # before and after the runs: the better one
    speeds = {fw: [s for r in results[fw] for s in r["epoch_speeds"]] for fw in results}
    ours, theirs = median(speeds["scratchnn"]), median(speeds["torch"])
    extras = summary_fields(results, ours, theirs, FLOPS_PER_SAMPLE, peak, "samples_per_s")
    acc_ours = median([r["test_accuracy"] for r in results["scratchnn"]])
    acc_theirs = median([r["test_accuracy"] for r in results["torch"]])
    lo, hi = extras["ratio_spread"]
    print_table("Training throughput (median, min-max over all epochs of all runs)",
                [("scratchnn", f"{ours:,.0f}", f"{min(speeds['scratchnn']):,.0f}-{max(speeds['scratchnn']):,.0f}",
                  f"{acc_ours:.4f}"),
                 ("PyTorch CPU", f"{theirs:,.0f}", f"{min(speeds['torch']):,.0f}-{max(speeds['torch']):,.0f}",
                  f"{acc_theirs:.4f}"),
                 ("ratio", f"{ours / theirs:.2f}x", f"{lo:.2f}-{hi:.2f}x (per run)", "")],
                ("framework", "samples/s", "min-max", f"test acc ({args.epochs} ep)"))
    print_extras(extras)
    print(json.dumps({"benchmark": "mlp_mnist", "scratchnn_samples_per_s": round(ours, 1),
                      "torch_samples_per_s": round(theirs, 1), "ratio": round(ours / theirs, 3),
                      "scratchnn_spread": spread(speeds["scratchnn"]), "torch_spread": spread(speeds["torch"]),
                      **extras,
                      "scratchnn_test_accuracy": acc_ours, "torch_test_accuracy": acc_theirs,
                      "epochs": args.epochs, "repeats": args.repeats, "threads": args.threads}))


if __name__ == "__main__":
    main()
