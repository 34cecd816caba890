"""Benchmark: the CNN of issue 4 on MNIST, scratchnn vs PyTorch CPU.

Network (both sides): Conv 1->32 3x3 same, ReLU, MaxPool 2, Conv 32->64 3x3 same,
ReLU, MaxPool 2, Flatten, Dense 3136->128, ReLU, Dense 128->10; softmax
cross-entropy, Adam 1e-3, batch 128, float32. Each framework runs in its own
process, interleaved (A, B, B, A, ...), ``--repeats`` times, with the same number of
BLAS/OpenMP threads (``torch.set_num_threads`` = NumPy's BLAS threads).

Speed: training samples/s over ``--batches`` mini-batches (after 3 warm-up
batches), measured ``--timed`` times per run; the median over all runs is reported.
The per-batch loss and accuracy are computed on both sides. Accuracy: with
``--epochs E > 0`` each run also trains E full epochs and reports the test
accuracy (median over runs) and the epoch speeds.

    python benchmarks/cnn_mnist.py                               # speed only, 40 batches, 3 repeats
    python benchmarks/cnn_mnist.py --epochs 5 --repeats 1        # + accuracy after 5 epochs
    python benchmarks/cnn_mnist.py --profile                     # per-layer profile of one batch
    python benchmarks/cnn_mnist.py --profile --cpu-time          # ... as CPU time on one thread

Ends with one JSON line: scratchnn_samples_per_s, torch_samples_per_s, ratio,
scratchnn_test_accuracy, torch_test_accuracy, epochs, threads.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (
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
# Multiply-adds of the matrix products per sample: conv1, conv2 (im2col form), fc1, fc2.
# A training step does each three times (forward, dW, dx) except dx of the first layer.
_MACS = (28 * 28 * 9 * 32, 14 * 14 * 288 * 64, 3136 * 128, 128 * 10)
FLOPS_PER_SAMPLE = 2 * (3 * sum(_MACS) - _MACS[0])


def scratchnn_model(seed: int):
    import scratchnn as sn

    L = sn.layers
    model = sn.Sequential([
        L.Conv2D(1, 32, kernel_size=3, padding="same"), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(32, 64, kernel_size=3, padding="same"), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Dense(64 * 7 * 7, 128), L.ReLU(), L.Dense(128, 10)], seed=seed)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=1e-3),
                  metrics=["accuracy"])
    return model


def worker_scratchnn(args) -> dict:
    from threadpoolctl import threadpool_limits

    x_train, y_train, x_test, y_test = load_mnist_cache(args.data, (1, 28, 28))
    n = args.batches * BATCH
    with threadpool_limits(args.threads):
        speeds = []
        with PeakMemory() as mem:
            model = scratchnn_model(args.seed)
            model.fit(x_train[:3 * BATCH], y_train[:3 * BATCH], epochs=1, batch_size=BATCH, verbose=0)
            for _ in range(args.timed):
                t = time.perf_counter()
                model.fit(x_train[:n], y_train[:n], epochs=1, batch_size=BATCH, verbose=0)
                speeds.append(n / (time.perf_counter() - t))
        out = {"samples_per_s": median(speeds), "speeds": speeds, **mem.as_dict()}
        if args.epochs > 0:
            model = scratchnn_model(args.seed)
            epoch_speeds = []
            for _ in range(args.epochs):
                t = time.perf_counter()
                model.fit(x_train, y_train, epochs=1, batch_size=BATCH, verbose=0)
                epoch_speeds.append(len(x_train) / (time.perf_counter() - t))
            out["epoch_speeds"] = epoch_speeds
            out["test_accuracy"] = model.evaluate(x_test, y_test)["accuracy"]
    return out


def torch_model():
    import torch

    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def worker_torch(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in load_mnist_cache(args.data, (1, 28, 28)))

    def train(model, opt, count):
        torch_epoch(model, opt, x_train, y_train, count, BATCH)

    n = args.batches * BATCH
    speeds = []
    with PeakMemory() as mem:
        model = torch_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        train(model, opt, 3 * BATCH)
        for _ in range(args.timed):
            t = time.perf_counter()
            train(model, opt, n)
            speeds.append(n / (time.perf_counter() - t))
    out = {"samples_per_s": median(speeds), "speeds": speeds, **mem.as_dict()}
    if args.epochs > 0:
        model = torch_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        epoch_speeds = []
        for _ in range(args.epochs):
            t = time.perf_counter()
            train(model, opt, len(x_train))
            epoch_speeds.append(len(x_train) / (time.perf_counter() - t))
        out["epoch_speeds"] = epoch_speeds
        with torch.no_grad():
            out["test_accuracy"] = float((model(x_test).argmax(1) == y_test).float().mean())
    return out


def profile(threads: int, repeats: int = 20, cpu: bool = False) -> None:
    """Per-layer forward and backward time of one batch, in this process (see ``layer_profile``)."""
    model = scratchnn_model(0)
    model.build((1, 28, 28))
    rng = np.random.default_rng(0)
    x = (rng.random((BATCH, 1, 28, 28)) * (rng.random((BATCH, 1, 28, 28)) < 0.2)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    layer_profile(model, x, y, threads, cpu=cpu, repeats=repeats, title=f"CNN, batch {BATCH}. ")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=default_mnist_dir(), help="folder with the MNIST IDX files")
    p.add_argument("--epochs", type=int, default=0, help="full epochs for the accuracy (0: speed only)")
    p.add_argument("--batches", type=int, default=40, help="mini-batches per speed measurement")
    p.add_argument("--timed", type=int, default=3, help="speed measurements per run")
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
        print(f"CNN (conv32-pool-conv64-pool-fc128-fc10) on MNIST, batch {BATCH}, Adam 1e-3, float32, "
              f"{args.threads} thread(s); speed over {args.batches} batches x {args.timed}, "
              f"{args.epochs} epoch(s) for accuracy, {args.repeats} run(s)")
        peak = matmul_peak_gflops(args.threads)
        results = interleaved(os.path.abspath(__file__),
                              ["--data", cache, "--epochs", str(args.epochs), "--seed", str(args.seed),
                               "--batches", str(args.batches), "--timed", str(args.timed)],
                              args.threads, args.repeats)
        peak = max(peak, matmul_peak_gflops(args.threads))  # before and after the runs: the better one
    speeds = {fw: [s for r in results[fw] for s in r["speeds"]] for fw in results}
    ours, theirs = median(speeds["scratchnn"]), median(speeds["torch"])
    extras = summary_fields(results, ours, theirs, FLOPS_PER_SAMPLE, peak, "samples_per_s")
    acc_ours = acc_theirs = None
    if args.epochs > 0:
        acc_ours = median([r["test_accuracy"] for r in results["scratchnn"]])
        acc_theirs = median([r["test_accuracy"] for r in results["torch"]])
    fmt = lambda a: "-" if a is None else f"{a:.4f}"
    rng = lambda v: f"{min(v):,.0f}-{max(v):,.0f}"
    lo, hi = extras["ratio_spread"]
    print_table("Training throughput (median, min-max over all measurements of all runs)",
                [("scratchnn", f"{ours:,.0f}", rng(speeds["scratchnn"]), fmt(acc_ours)),
                 ("PyTorch CPU", f"{theirs:,.0f}", rng(speeds["torch"]), fmt(acc_theirs)),
                 ("ratio", f"{ours / theirs:.2f}x", f"{lo:.2f}-{hi:.2f}x (per run)", "")],
                ("framework", "samples/s", "min-max", f"test acc ({args.epochs} ep)"))
    print_extras(extras)
    print(json.dumps({"benchmark": "cnn_mnist", "scratchnn_samples_per_s": round(ours, 1),
                      "torch_samples_per_s": round(theirs, 1), "ratio": round(ours / theirs, 3),
                      "scratchnn_spread": spread(speeds["scratchnn"]), "torch_spread": spread(speeds["torch"]),
                      **extras,
                      "scratchnn_test_accuracy": acc_ours, "torch_test_accuracy": acc_theirs,
                      "epochs": args.epochs, "batches": args.batches, "repeats": args.repeats,
                      "threads": args.threads}))


if __name__ == "__main__":
    main()
