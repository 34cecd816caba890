"""Benchmark: a character-level LSTM on tinyshakespeare, scratchnn vs PyTorch CPU.

Both train the same model -- Embedding(V, 64) -> LSTM(64, 256) -> Linear(256, V), next-
character softmax cross-entropy on every step, Adam (lr 2e-3), global gradient-norm
clipping at 5, batch 64 windows of 100 characters, float32 -- on the **same** batches
(random windows drawn by one seeded NumPy generator), each in its own process,
interleaved (A, B, A, B, ...), ``--repeats`` times, with the same number of threads.

Reported: median seconds per training step (the first ``--warmup`` steps excluded), as
sequences/s and characters/s, the ratio, and the validation bits per character
(last 10% of the text, first 64 windows of 100) after ``--steps`` steps.

    python benchmarks/lstm_chars.py                         # 150 steps, 3 repeats, 2 threads
    python benchmarks/lstm_chars.py --steps 40 --repeats 1  # a quick look

Ends with one JSON line: scratchnn/torch sequences_per_s and chars_per_s, ratio,
scratchnn/torch val_bits_per_char, steps, repeats, threads.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    PeakMemory,
    char_data,
    default_text,
    interleaved,
    layer_profile,
    matmul_peak_gflops,
    median,
    print_extras,
    print_table,
    spread,
    summary_fields,
    torch_char_bpc,
    torch_char_steps,
)

EMBED, HIDDEN, SEQ, BATCH, LR, CLIP = 64, 256, 100, 64, 2e-3, 5.0
VAL_SEQS = 64


def flops_per_sequence(vocab_size: int) -> int:
    """Matrix-product FLOPs of one training sequence: input projection, recurrent product
    and output layer, each three times (forward, weight gradient, input gradient)."""
    H4 = 4 * HIDDEN
    return 2 * 3 * SEQ * (EMBED * H4 + HIDDEN * H4 + HIDDEN * vocab_size)


def data(path):
    return char_data(path, SEQ, BATCH, VAL_SEQS)


def worker_scratchnn(args) -> dict:
    from threadpoolctl import threadpool_limits

    import scratchnn as sn
    from scratchnn.applications.textgen import build_char_lm

    vocab, batches, xv, yv = data(args.text)
    times = []
    with threadpool_limits(args.threads):
        with PeakMemory() as mem:
            model = build_char_lm(vocab, EMBED, HIDDEN, seed=args.seed)
            model.compile(loss=sn.losses.SoftmaxCrossEntropy(),
                          optimizer=sn.optimizers.Adam(lr=LR, clip_norm=CLIP))
            model.build((SEQ,))
            for _ in range(args.steps):
                xb, yb = next(batches)
                t = time.perf_counter()
                model.train_step(xb.astype(np.float32), yb)
                times.append(time.perf_counter() - t)
        logits = model.predict(xv.astype(np.float32))
        bpc = sn.losses.SoftmaxCrossEntropy().forward(logits, yv) / math.log(2)
    return {"step_s": median(times[args.warmup:]), "val_bpc": bpc, "vocab_size": vocab.size,
            "steps_per_s": 1 / median(times[args.warmup:]), **mem.as_dict()}


def worker_torch(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vocab, batches, xv, yv = data(args.text)

    class CharLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab.size, EMBED)
            self.lstm = torch.nn.LSTM(EMBED, HIDDEN, batch_first=True)
            self.out = torch.nn.Linear(HIDDEN, vocab.size)

        def forward(self, x):
            return self.out(self.lstm(self.emb(x))[0])

    with PeakMemory() as mem:
        model = CharLSTM()
        times = torch_char_steps(model, batches, args.steps, vocab.size, LR, CLIP)
    bpc = torch_char_bpc(model, xv, yv, vocab.size)
    return {"step_s": median(times[args.warmup:]), "val_bpc": bpc,
            "steps_per_s": 1 / median(times[args.warmup:]), **mem.as_dict()}


def profile(threads: int, cpu: bool, repeats: int = 12) -> None:
    """Per-layer time of one training step on a random batch, in this process (see ``layer_profile``)."""
    import scratchnn as sn
    from scratchnn.applications.textgen import build_char_lm
    from scratchnn.datasets.text import CharVocab

    vocab = CharVocab.from_text("".join(chr(c) for c in range(32, 97)))  # 65 characters, as tinyshakespeare
    model = build_char_lm(vocab, EMBED, HIDDEN, seed=0)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=LR, clip_norm=CLIP))
    model.build((SEQ,))
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocab.size, (BATCH, SEQ)).astype(np.float32)
    y = rng.integers(0, vocab.size, (BATCH, SEQ))
    layer_profile(model, x, y, threads, cpu=cpu, repeats=repeats, title=f"char-LSTM, batch {BATCH}x{SEQ}. ")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", default=default_text(), help="the training text (tinyshakespeare.txt)")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", action="store_true", help="print a per-layer profile of one step and exit")
    p.add_argument("--cpu-time", action="store_true", help="profile CPU time on one thread instead of wall time")
    p.add_argument("--worker", choices=["scratchnn", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.profile:
        profile(args.threads, args.cpu_time)
        return
    if args.warmup >= args.steps:
        p.error("--warmup must be smaller than --steps")
    if args.worker:
        fn = worker_scratchnn if args.worker == "scratchnn" else worker_torch
        print(json.dumps(fn(args)))
        return

    print(f"char-LSTM (embedding {EMBED}, hidden {HIDDEN}, seq {SEQ}, batch {BATCH}, Adam {LR}, clip {CLIP}) "
          f"on {os.path.basename(args.text)}, float32, {args.threads} thread(s), "
          f"{args.steps} steps x {args.repeats} run(s)")
    peak = matmul_peak_gflops(args.threads)
    results = interleaved(os.path.abspath(__file__),
                          ["--text", args.text, "--steps", str(args.steps), "--warmup", str(args.warmup),
                           "--seed", str(args.seed)], args.threads, args.repeats)
    peak = max(peak, matmul_peak_gflops(args.threads))  # before and after the runs: the better one
    step = {fw: median([r["step_s"] for r in rs]) for fw, rs in results.items()}
    bpc = {fw: median([r["val_bpc"] for r in rs]) for fw, rs in results.items()}
    seqs = {fw: BATCH / s for fw, s in step.items()}
    seq_runs = {fw: [BATCH / r["step_s"] for r in rs] for fw, rs in results.items()}
    ratio = seqs["scratchnn"] / seqs["torch"]
    flops = flops_per_sequence(results["scratchnn"][0]["vocab_size"])
    extras = summary_fields(results, 1 / step["scratchnn"], 1 / step["torch"], flops, peak, "steps_per_s",
                            samples_per_unit=BATCH)
    lo, hi = extras["ratio_spread"]
    rows = [(name, f"{step[fw] * 1e3:.0f}", f"{seqs[fw]:,.0f}",
             f"{min(seq_runs[fw]):,.0f}-{max(seq_runs[fw]):,.0f}", f"{seqs[fw] * SEQ:,.0f}", f"{bpc[fw]:.3f}")
            for name, fw in (("scratchnn", "scratchnn"), ("PyTorch CPU", "torch"))]
    rows.append(("ratio", "", f"{ratio:.2f}x", f"{lo:.2f}-{hi:.2f}x (per run)", f"{ratio:.2f}x", ""))
    print_table("Training throughput (median step time over all runs; min-max of the runs' medians)", rows,
                ("framework", "ms/step", "sequences/s", "min-max", "chars/s", f"val bits/char @{args.steps}"))
    print_extras(extras)
    print(json.dumps({"benchmark": "lstm_chars", "scratchnn_sequences_per_s": round(seqs["scratchnn"], 1),
                      "torch_sequences_per_s": round(seqs["torch"], 1),
                      "scratchnn_chars_per_s": round(seqs["scratchnn"] * SEQ),
                      "torch_chars_per_s": round(seqs["torch"] * SEQ), "ratio": round(ratio, 3),
                      "scratchnn_spread": spread(seq_runs["scratchnn"]), "torch_spread": spread(seq_runs["torch"]),
                      **extras,
                      "scratchnn_val_bits_per_char": round(bpc["scratchnn"], 4),
                      "torch_val_bits_per_char": round(bpc["torch"], 4), "steps": args.steps,
                      "repeats": args.repeats, "threads": args.threads}))


if __name__ == "__main__":
    main()
