"""``scratchnn textgen train|sample``: a character-level language model from a text file."""
from __future__ import annotations

import argparse
import json

from . import _distributed
from ._common import add_parser, default_run_dir, prepare_out_dir, say

EXAMPLES = """\
  scratchnn textgen train ../shared/data/text/tinyshakespeare.txt --out runs/shakespeare
  scratchnn textgen train input.txt --steps 500 --hidden 128 --cell gru --clip-norm 5
  scratchnn textgen sample runs/shakespeare/model.npz --length 500 --temperature 0.8 --prompt "ROMEO:"
  mpiexec -n 4 scratchnn textgen train input.txt --batch-size 256 --distributed   # 4 MPI ranks

'train' reports the validation loss (the last 10% of the text) in bits per character and
saves model.npz with its vocabulary inside; 'sample' needs only that file."""


def register(subparsers) -> argparse.ArgumentParser:
    p = add_parser(subparsers, "textgen", "train a character-level language model, or sample from one",
                   "Character-level language models (Embedding -> LSTM/GRU -> Dense).", EXAMPLES)
    sub = p.add_subparsers(dest="textgen_command", metavar="ACTION", parser_class=type(p))
    sub.required = True

    t = sub.add_parser("train", help="train on a text file", description="Train a character model.",
                       epilog="examples:\n" + EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("text", help="a UTF-8 text file")
    t.add_argument("--out", help="output folder (default runs/<date-time>)")
    t.add_argument("--steps", type=int, default=1000, help="Adam steps (default 1000)")
    t.add_argument("--seq-len", type=int, default=100)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--embedding", type=int, default=64)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--layers", type=int, default=1)
    t.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--clip-norm", type=float, default=5.0, help="gradient clipping norm (0: off)")
    t.add_argument("--eval-every", type=int, default=100)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--sample-length", type=int, default=300, help="characters of the closing sample")
    t.add_argument("--quiet", action="store_true")
    _distributed.add_argument(t)
    t.set_defaults(func=run_train)

    s = sub.add_parser("sample", help="generate text from a trained model", description="Sample text.",
                       epilog="examples:\n" + EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", help="model.npz written by 'scratchnn textgen train'")
    s.add_argument("--length", type=int, default=500)
    s.add_argument("--temperature", type=float, default=0.8)
    s.add_argument("--prompt", default="")
    s.add_argument("--seed", type=int, default=None)
    s.set_defaults(func=run_sample)
    return p


def run_train(args: argparse.Namespace) -> int:
    return _distributed.run("textgen train", args, lambda dp: _train(args, dp))


def _train(args: argparse.Namespace, dp) -> int:
    from ..datasets.text import load_text
    from ..textgen import sample, train_char_lm

    root = dp is None or dp.is_root
    out = prepare_out_dir(args.out or default_run_dir()) if root else None
    text = load_text(args.text)
    say(f"{args.text}: {len(text):,} characters, {len(set(text))} distinct; training {args.steps} steps "
        f"({args.cell.upper()} {args.hidden}, clip-norm {args.clip_norm})"
        + (f", data-parallel on {dp.size} ranks" if dp is not None else ""), quiet=args.quiet or not root)
    model, log = train_char_lm(text, steps=args.steps, seq_len=args.seq_len, batch_size=args.batch_size,
                               embedding_dim=args.embedding, hidden_size=args.hidden,
                               num_layers=args.layers, cell=args.cell, lr=args.lr,
                               clip_norm=args.clip_norm if args.clip_norm > 0 else None,
                               eval_every=args.eval_every, seed=args.seed, verbose=0 if args.quiet else 1,
                               distributed=dp if dp is not None else False)
    if not root:
        return 0
    model.save(out / "model.npz")
    (out / "log.json").write_text(json.dumps(log, indent=1) + "\n")
    print(f"validation: {log['val_bpc_final']:.3f} bits/char after {args.steps} steps "
          f"({log['seconds']:.0f} s); saved {out / 'model.npz'}")
    if args.sample_length:
        print("sample (temperature 0.8):")
        print(sample(model, args.sample_length, temperature=0.8, seed=args.seed))
    return 0


def run_sample(args: argparse.Namespace) -> int:
    import os

    from ..io import load_model
    from ..textgen import sample

    if not os.path.exists(args.model):
        raise FileNotFoundError(2, "model file not found", args.model)
    model = load_model(args.model, compile=False)
    print(sample(model, args.length, prompt=args.prompt, temperature=args.temperature, seed=args.seed))
    return 0
