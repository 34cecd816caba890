"""Benchmark: a small character-level Transformer on tinyshakespeare, scratchnn vs PyTorch CPU.

Both train the same model -- Embedding(V, 128) + learned positions -> 2 pre-norm causal
TransformerBlocks (4 heads, MLP 512, tanh GELU, no dropout) -> LayerNorm -> Linear(128, V),
next-character softmax cross-entropy on every position, Adam (lr 1e-3), global
gradient-norm clipping at 1, batch 32 windows of 128 characters, float32 -- from the
**same initial weights** (PyTorch's copied from scratchnn's) on the **same** batches (random
windows drawn by one seeded NumPy generator), each in its own process, interleaved
(A, B, A, B, ...), ``--repeats`` times, with the same number of threads. PyTorch runs
``torch.nn.TransformerEncoderLayer(norm_first=True, batch_first=True)`` with a causal mask.

Reported: median seconds per training step (the first ``--warmup`` steps excluded) as
tokens (characters) per second, the ratio, and the validation bits per character (last
10% of the text, first 32 windows of 128) after ``--steps`` steps.

    python benchmarks/transformer_chars.py                         # 150 steps, 3 repeats, 2 threads
    python benchmarks/transformer_chars.py --steps 30 --repeats 1  # a quick look
    python benchmarks/transformer_chars.py --budget 300            # Transformer vs LSTM, 5 min each

``--budget SECONDS`` instead trains the *default* models of ``scratchnn textgen train``
(``--model transformer``: d-model 128, 4 heads, 2 blocks; the LSTM: embedding 64, hidden
256; both seq 100, batch 64, Adam 2e-3, clip 5, seed 0) for the same wall-clock time each,
one after the other in separate processes, and reports the validation bits per character
on the whole validation part (last 10%) of the text; ``--save DIR`` keeps both models and
draws their learning curves (bits per character against training seconds).
``--sample MODEL.npz`` times 1,000 characters from a trained model with the key/value cache
and recomputing the whole window for each character (same seed: the texts must be equal).

Ends with one JSON line: scratchnn/torch tokens_per_s, ratio, scratchnn/torch
val_bits_per_char and their difference, steps, repeats, threads.
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
    char_data,
    default_text,
    interleaved,
    median,
    print_table,
    torch_char_bpc,
    torch_char_steps,
)

D_MODEL, HEADS, BLOCKS, FF, SEQ, BATCH, LR, CLIP = 128, 4, 2, 512, 128, 32, 1e-3, 1.0
VAL_SEQS = 32


def data(path):
    return char_data(path, SEQ, BATCH, VAL_SEQS)


def scratchnn_model(vocab, seed):
    from scratchnn.applications.textgen import build_char_transformer

    model = build_char_transformer(vocab, D_MODEL, HEADS, BLOCKS, FF, SEQ, seed=seed)
    model.build((SEQ,))
    return model


def worker_scratchnn(args) -> dict:
    from threadpoolctl import threadpool_limits

    import scratchnn as sn

    vocab, batches, xv, yv = data(args.text)
    model = scratchnn_model(vocab, args.seed)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=LR, clip_norm=CLIP))
    times = []
    with threadpool_limits(args.threads):
        for _ in range(args.steps):
            xb, yb = next(batches)
            t = time.perf_counter()
            model.train_step(xb.astype(np.float32), yb)
            times.append(time.perf_counter() - t)
        logits = model.predict(xv.astype(np.float32))
        bpc = sn.losses.SoftmaxCrossEntropy().forward(logits, yv) / math.log(2)
    return {"step_s": median(times[args.warmup:]), "val_bpc": bpc}


def torch_twin(model):
    """The PyTorch model with the scratchnn model's weights (float32)."""
    import torch

    emb, pos, *blocks, ln, out = model.layers

    def t(a):
        return torch.nn.Parameter(torch.tensor(np.asarray(a, dtype=np.float32)))

    class CharTransformer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(emb.num_embeddings, D_MODEL)
            self.emb.weight = t(emb.params["W"])
            self.pos = t(pos.params["P"])
            self.blocks = torch.nn.ModuleList()
            for b in blocks:
                layer = torch.nn.TransformerEncoderLayer(
                    D_MODEL, HEADS, FF, dropout=0.0, norm_first=True, batch_first=True,
                    activation=lambda z: torch.nn.functional.gelu(z, approximate="tanh"))
                p = b.attn.params
                layer.self_attn.in_proj_weight = t(np.concatenate([p["Wq"], p["Wk"], p["Wv"]], axis=1).T)
                layer.self_attn.in_proj_bias = t(np.concatenate([p["bq"], p["bk"], p["bv"]]))
                layer.self_attn.out_proj.weight, layer.self_attn.out_proj.bias = t(p["Wo"].T), t(p["bo"])
                layer.linear1.weight, layer.linear1.bias = t(b.ff1.params["W"].T), t(b.ff1.params["b"])
                layer.linear2.weight, layer.linear2.bias = t(b.ff2.params["W"].T), t(b.ff2.params["b"])
                for ours, theirs in ((b.ln1, layer.norm1), (b.ln2, layer.norm2)):
                    theirs.weight, theirs.bias = t(ours.params["gamma"]), t(ours.params["beta"])
                self.blocks.append(layer)
            self.ln = torch.nn.LayerNorm(D_MODEL)
            self.ln.weight, self.ln.bias = t(ln.params["gamma"]), t(ln.params["beta"])
            self.out = torch.nn.Linear(D_MODEL, out.out_features)
            self.out.weight, self.out.bias = t(out.params["W"].T), t(out.params["b"])

        def forward(self, x):
            n = x.shape[1]
            mask = torch.nn.Transformer.generate_square_subsequent_mask(n)
            h = self.emb(x) + self.pos[:n]
            for layer in self.blocks:
                h = layer(h, src_mask=mask, is_causal=True)
            return self.out(self.ln(h))

    return CharTransformer()


def worker_torch(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vocab, batches, xv, yv = data(args.text)
    model = torch_twin(scratchnn_model(vocab, args.seed))
    times = torch_char_steps(model, batches, args.steps, vocab.size, LR, CLIP)
    bpc = torch_char_bpc(model, xv, yv, vocab.size)
    return {"step_s": median(times[args.warmup:]), "val_bpc": bpc}


def worker_budget(args, kind: str) -> dict:
    """Train textgen's default ``kind`` model for ``args.budget`` seconds; full validation bits/char.

    Every ``args.budget / 10`` seconds of training the validation bits/char on 32 windows is
    recorded for the learning curve (evaluation time is not counted in the budget).
    """
    from threadpoolctl import threadpool_limits

    import scratchnn as sn
    from scratchnn.applications import textgen
    from scratchnn.datasets import text as T

    seq, batch = 100, 64
    text = T.load_text(args.text)
    vocab = T.CharVocab.from_text(text)
    train, val = T.split_ids(vocab.encode(text), 0.1)
    if kind == "transformer":
        model = textgen.build_char_transformer(vocab, 128, 4, 2, context=seq, seed=args.seed)
    else:
        model = textgen.build_char_lm(vocab, 64, 256, seed=args.seed)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=2e-3, clip_norm=5.0))
    model.build((seq,))
    batches = T.random_batches(train, seq, batch, np.random.default_rng(args.seed))
    curve = {"step": [], "time": [], "train_bpc": [], "val_bpc": []}
    steps, trained, running, count = 0, 0.0, 0.0, 0
    with threadpool_limits(args.threads):
        while trained < args.budget:
            xb, yb = next(batches)
            t = time.perf_counter()
            loss, _ = model.train_step(xb.astype(np.float32), yb)
            trained += time.perf_counter() - t
            steps += 1
            running, count = running + loss, count + 1
            if trained >= args.budget / 10 * (len(curve["step"]) + 1) or trained >= args.budget:
                curve["step"].append(steps)
                curve["time"].append(trained)
                curve["train_bpc"].append(running / count / math.log(2))
                curve["val_bpc"].append(textgen.bits_per_char(model, val, seq, max_sequences=32))
                running, count = 0.0, 0
        bpc = textgen.bits_per_char(model, val, seq)
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        model.metadata["val_bits_per_char"] = bpc
        model.save(os.path.join(args.save, f"{kind}.npz"))
    return {"model": kind, "steps": steps, "train_s": trained, "val_bpc": bpc, "params": model.count_params(),
            "curve": curve}


def budget_main(args) -> None:
    from _common import run_worker

    print(f"textgen defaults, {args.budget:.0f} s of training each, {args.threads} thread(s), "
          f"on {os.path.basename(args.text)}")
    res = {}
    for kind in ("transformer", "lstm"):
        extra = ["--save", args.save] if args.save else []
        res[kind] = run_worker(os.path.abspath(__file__), f"budget-{kind}",
                               ["--text", args.text, "--budget", str(args.budget), "--seed", str(args.seed), *extra],
                               args.threads)
        print(f"  {kind}: " + ", ".join(f"{k}={v}" for k, v in res[kind].items() if k != "curve"), flush=True)
    rows = [(k, f"{r['params']:,}", f"{r['steps']}", f"{r['train_s']:.0f}", f"{r['val_bpc']:.3f}")
            for k, r in res.items()]
    print_table("Same wall-clock budget", rows, ("model", "parameters", "steps", "seconds", "val bits/char (all)"))
    if args.save:
        from scratchnn.plots import plot_bits_per_char

        curves = {"Transformer": res["transformer"]["curve"], "LSTM": res["lstm"]["curve"]}
        with open(os.path.join(args.save, "curves.json"), "w") as f:
            json.dump(curves, f)
        plot_bits_per_char(curves, x="seconds", title=f"tiny Shakespeare, {args.budget:.0f} s each",
                           path=os.path.join(args.save, "curves.png"))
    print(json.dumps({"benchmark": "transformer_vs_lstm_budget", "budget_s": args.budget,
                      **{f"{k}_{m}": (round(v, 4) if isinstance(v, float) else v)
                         for k, r in res.items() for m, v in r.items() if m not in ("model", "curve")},
                      "threads": args.threads}))


def sample_main(args) -> None:
    """Time 1,000 characters from a trained model with and without the key/value cache."""
    import scratchnn as sn
    from scratchnn.applications import textgen

    model = sn.load_model(args.sample)
    text, seconds = {}, {}
    for cache in (True, False):
        t = time.perf_counter()
        text[cache] = textgen.sample(model, args.length, temperature=0.8, seed=args.seed, kv_cache=cache)
        seconds[cache] = time.perf_counter() - t
    print(f"{args.length} characters from {args.sample}: KV cache {seconds[True]:.2f} s, recomputing the "
          f"window {seconds[False]:.2f} s ({seconds[False] / seconds[True]:.1f}x); same text: {text[True] == text[False]}")
    print(json.dumps({"benchmark": "transformer_kv_cache", "characters": args.length,
                      "cached_s": round(seconds[True], 3), "recompute_s": round(seconds[False], 3),
                      "speedup": round(seconds[False] / seconds[True], 2), "same_text": text[True] == text[False]}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", default=default_text(), help="the training text (tinyshakespeare.txt)")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=None,
                   help="seconds: compare textgen's default Transformer and LSTM after this much training")
    p.add_argument("--save", default=None,
                   help="with --budget: a folder for the two models, curves.json and curves.png")
    p.add_argument("--sample", default=None, metavar="MODEL.npz",
                   help="time --length characters from a trained model with and without the KV cache")
    p.add_argument("--length", type=int, default=1000)
    p.add_argument("--worker", choices=["scratchnn", "torch", "budget-transformer", "budget-lstm"],
                   help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.warmup >= args.steps:
        p.error("--warmup must be smaller than --steps")
    if args.worker:
        if args.worker.startswith("budget-"):
            print(json.dumps(worker_budget(args, args.worker[len("budget-"):])))
            return
        fn = worker_scratchnn if args.worker == "scratchnn" else worker_torch
        print(json.dumps(fn(args)))
        return
    if args.sample:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.threads):
            sample_main(args)
        return
    if args.budget is not None:
        if args.budget <= 0:
            p.error("--budget must be > 0 seconds")
        budget_main(args)
        return

    print(f"char-Transformer (d_model {D_MODEL}, {HEADS} heads, {BLOCKS} blocks, MLP {FF}, seq {SEQ}, "
          f"batch {BATCH}, Adam {LR}, clip {CLIP}) on {os.path.basename(args.text)}, float32, "
          f"{args.threads} thread(s), {args.steps} steps x {args.repeats} run(s), same initial weights")
    results = interleaved(os.path.abspath(__file__),
                          ["--text", args.text, "--steps", str(args.steps), "--warmup", str(args.warmup),
                           "--seed", str(args.seed)], args.threads, args.repeats)
    step = {fw: median([r["step_s"] for r in rs]) for fw, rs in results.items()}
    bpc = {fw: median([r["val_bpc"] for r in rs]) for fw, rs in results.items()}
    tokens = {fw: BATCH * SEQ / s for fw, s in step.items()}
    ratio = tokens["scratchnn"] / tokens["torch"]
    rows = [(name, f"{step[fw] * 1e3:.0f}", f"{tokens[fw]:,.0f}", f"{bpc[fw]:.3f}")
            for name, fw in (("scratchnn", "scratchnn"), ("PyTorch CPU", "torch"))]
    rows.append(("ratio / difference", "", f"{ratio:.2f}x", f"{bpc['scratchnn'] - bpc['torch']:+.3f}"))
    print_table("Training throughput (median step time over all runs)", rows,
                ("framework", "ms/step", "tokens/s", f"val bits/char @{args.steps}"))
    print(json.dumps({"benchmark": "transformer_chars", "scratchnn_tokens_per_s": round(tokens["scratchnn"]),
                      "torch_tokens_per_s": round(tokens["torch"]), "ratio": round(ratio, 3),
                      "scratchnn_val_bits_per_char": round(bpc["scratchnn"], 4),
                      "torch_val_bits_per_char": round(bpc["torch"], 4),
                      "val_bits_per_char_diff": round(bpc["scratchnn"] - bpc["torch"], 4),
                      "steps": args.steps, "repeats": args.repeats, "threads": args.threads}))


if __name__ == "__main__":
    main()
