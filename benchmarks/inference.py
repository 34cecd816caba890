"""Benchmark: inference speed of ``model.predict`` next to onnxruntime on the exported model.

The three networks of the training benchmarks (MLP 784-256-128-10, the CNN of issue 4, the
character LSTM with embedding 64 and hidden size 256 over 100 characters) are built with a
fixed seed, saved as a scratchnn model file and exported to ONNX (``model.export_onnx``).
Each framework then runs in its own process, interleaved (A, B, B, A, ...), ``--repeats``
times, with the same number of threads (``threadpoolctl`` for NumPy's BLAS and scratchnn's
threads; ``intra_op_num_threads`` for onnxruntime): scratchnn's ``model.predict(x,
batch_size=B)`` against ``session.run`` on the same batches of B samples. Reported: samples/s
(median of ``--timed`` measurements per run, over all runs; min-max), and the peak resident
memory the prediction added (RSS growth).

    python benchmarks/inference.py                       # 3 repeats, 2 threads, batch 1024
    python benchmarks/inference.py --repeats 1 --timed 2 # a quick look

Needs ``onnx`` and ``onnxruntime`` (``pip install -e ".[onnx]" onnxruntime``). Ends with
one JSON line: per model, scratchnn and onnxruntime samples/s with spreads and the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import PeakMemory, interleaved, median, print_table, spread

#: name -> (per-sample input shape, samples per measurement)
MODELS = {"mlp": ((784,), 16384), "cnn": ((1, 28, 28), 4096), "lstm": ((100,), 1024)}
VOCAB = 65


def build(name: str):
    import scratchnn as sn

    L = sn.layers
    if name == "mlp":
        layers = [L.Dense(784, 256), L.ReLU(), L.Dense(256, 128), L.ReLU(), L.Dense(128, 10)]
    elif name == "cnn":
        layers = [L.Conv2D(1, 32, kernel_size=3, padding="same"), L.ReLU(), L.MaxPool2D(2),
                  L.Conv2D(32, 64, kernel_size=3, padding="same"), L.ReLU(), L.MaxPool2D(2),
                  L.Flatten(), L.Dense(64 * 7 * 7, 128), L.ReLU(), L.Dense(128, 10)]
    else:
        layers = [L.Embedding(VOCAB, 64), L.LSTM(64, 256, return_sequences=True), L.Dense(256, VOCAB)]
    model = sn.Sequential(layers, seed=0)
    model.build(MODELS[name][0])
    return model


def inputs(name: str) -> np.ndarray:
    shape, n = MODELS[name]
    rng = np.random.default_rng(1)
    if name == "lstm":
        return rng.integers(0, VOCAB, (n, *shape)).astype(np.float32)
    return rng.random((n, *shape), dtype=np.float32)


def worker(args) -> dict:
    x = inputs(args.model)
    B = args.batch_size
    if args.worker == "scratchnn":
        from threadpoolctl import threadpool_limits

        import scratchnn as sn

        model = sn.load_model(os.path.join(args.dir, f"{args.model}.npz"))
        limits = threadpool_limits(args.threads)
        run = lambda: model.predict(x, batch_size=B)
    else:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(os.path.join(args.dir, f"{args.model}.onnx"), opts,
                                    providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        limits = None
        run = lambda: [sess.run(None, {name: x[i:i + B]})[0] for i in range(0, len(x), B)]
    try:
        run()  # warm-up
        speeds = []
        with PeakMemory() as mem:
            for _ in range(args.timed):
                t = time.perf_counter()
                run()
                speeds.append(len(x) / (time.perf_counter() - t))
    finally:
        if limits is not None:
            limits.restore_original_limits()
    return {"samples_per_s": median(speeds), "speeds": speeds, **mem.as_dict()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="mlp,cnn,lstm", help="comma-separated, from mlp, cnn, lstm")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--timed", type=int, default=3, help="measurements per run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--worker", choices=["scratchnn", "onnxruntime"], help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {sorted(MODELS)}")

    print(f"Inference: model.predict vs onnxruntime on the exported model, batch {args.batch_size}, "
          f"float32, {args.threads} thread(s), {args.timed} measurement(s) x {args.repeats} run(s)")
    rows, summary = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model = build(name)
            model.save(os.path.join(tmp, f"{name}.npz"))
            model.export_onnx(os.path.join(tmp, f"{name}.onnx"))
            results = interleaved(os.path.abspath(__file__),
                                  ["--model", name, "--dir", tmp, "--batch-size", str(args.batch_size),
                                   "--timed", str(args.timed)],
                                  args.threads, args.repeats, frameworks=("scratchnn", "onnxruntime"))
            speeds = {fw: [s for r in rs for s in r["speeds"]] for fw, rs in results.items()}
            ours, theirs = median(speeds["scratchnn"]), median(speeds["onnxruntime"])
            growth = {fw: median([r["rss_growth_mb"] for r in rs]) for fw, rs in results.items()}
            rows.append((name, f"{ours:,.0f} ({min(speeds['scratchnn']):,.0f}-{max(speeds['scratchnn']):,.0f})",
                         f"{theirs:,.0f} ({min(speeds['onnxruntime']):,.0f}-{max(speeds['onnxruntime']):,.0f})",
                         f"{ours / theirs:.2f}x", f"{growth['scratchnn']:,.0f} / {growth['onnxruntime']:,.0f}"))
            summary[name] = {"scratchnn_samples_per_s": round(ours, 1), "onnxruntime_samples_per_s": round(theirs, 1),
                             "ratio": round(ours / theirs, 3), "scratchnn_spread": spread(speeds["scratchnn"]),
                             "onnxruntime_spread": spread(speeds["onnxruntime"]),
                             "scratchnn_rss_growth_mb": growth["scratchnn"],
                             "onnxruntime_rss_growth_mb": growth["onnxruntime"]}
    print_table("Inference throughput, samples/s: median (min-max) over all measurements of all runs", rows,
                ("model", "scratchnn predict", "onnxruntime", "ratio", "RSS growth MiB (ours / ort)"))
    print(json.dumps({"benchmark": "inference", "models": summary, "batch_size": args.batch_size,
                      "repeats": args.repeats, "threads": args.threads}))


if __name__ == "__main__":
    main()
