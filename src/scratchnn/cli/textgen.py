"""``scratchnn textgen train|sample``: a character-level language model from a text file."""
from __future__ import annotations

import argparse
import json

from ._common import add_parser, default_run_dir, prepare_out_dir, say

EXAMPLES = """\
  scratchnn textgen train ../shared/data/text/tinyshakespeare.txt --out runs/shakespeare
  scratchnn textgen train input.txt --steps 500 --hidden 128 --cell gru --clip-norm 5
  scratchnn textgen train input.txt --model transformer --d-model 128 --heads 4 --blocks 2 --lr 1e-3
  scratchnn textgen sample runs/shakespeare/model.npz --length 500 --temperature 0.8 --prompt "ROMEO:"

'train' reports the validation loss (the last 10% of the text) in bits per character and
saves model.npz with its vocabulary inside; 'sample' needs only that file."""


def register(subparsers) -> argparse.ArgumentParser:
    p = add_parser(subparsers, "textgen", "train a character-level language model, or sample from one",
                   "Character-level language models (Embedding -> LSTM/GRU -> Dense, or a Transformer).", EXAMPLES)
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
    t.add_argument("--model", choices=["recurrent", "transformer"], default="recurrent",
                   help="recurrent (--cell, --hidden, --layers) or transformer (the options below)")
    t.add_argument("--d-model", type=int, default=128, help="transformer: vector size (default 128)")
    t.add_argument("--heads", type=int, default=4, help="transformer: attention heads (default 4)")
    t.add_argument("--blocks", type=int, default=2, help="transformer: TransformerBlocks (default 2)")
    t.add_argument("--ff-dim", type=int, default=None, help="transformer: MLP size (default 4 x d-model)")
    t.add_argument("--dropout", type=float, default=0.0, help="transformer: dropout rate (default 0)")
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--clip-norm", type=float, default=5.0, help="gradient clipping norm (0: off)")
    t.add_argument("--eval-every", type=int, default=100)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--sample-length", type=int, default=300, help="characters of the closing sample")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=run_train)

    s = sub.add_parser("sample", help="generate text from a trained model", description="Sample text.",
                       epilog="examples:\n" + EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", help="model.npz written by 'scratchnn textgen train'")
    s.add_argument("--length", type=int, default=500)
    s.add_argument("--temperature", type=float, default=0.8)
    s.add_argument("--prompt", default="")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--no-kv-cache", action="store_true",
                   help="transformer: recompute the whole window for every character (slower; same text)")
    s.set_defaults(func=run_sample)
    return p


def run_train(args: argparse.Namespace) -> int:
    from ..datasets.text import load_text
    from ..textgen import sample, train_char_lm

    out = prepare_out_dir(args.out or default_run_dir())
    text = load_text(args.text)
    model = _transformer(args, text) if args.model == "transformer" else None
    what = (f"Transformer {args.blocks} x d-model {args.d_model}, {args.heads} heads" if model is not None
            else f"{args.cell.upper()} {args.hidden}")
    say(f"{args.text}: {len(text):,} characters, {len(set(text))} distinct; training {args.steps} steps "
        f"({what}, clip-norm {args.clip_norm})", quiet=args.quiet)
    model, log = train_char_lm(text, model=model, steps=args.steps, seq_len=args.seq_len, batch_size=args.batch_size,
                               embedding_dim=args.embedding, hidden_size=args.hidden,
                               num_layers=args.layers, cell=args.cell, lr=args.lr,
                               clip_norm=args.clip_norm if args.clip_norm > 0 else None,
                               eval_every=args.eval_every, seed=args.seed, verbose=0 if args.quiet else 1)
    model.save(out / "model.npz")
    (out / "log.json").write_text(json.dumps(log, indent=1) + "\n")
    print(f"validation: {log['val_bpc_final']:.3f} bits/char after {args.steps} steps "
          f"({log['seconds']:.0f} s); saved {out / 'model.npz'}")
    if args.sample_length:
        print("sample (temperature 0.8):")
        print(sample(model, args.sample_length, temperature=0.8, seed=args.seed))
    return 0


def _transformer(args: argparse.Namespace, text: str):
    """The model of ``--model transformer``: its context is --seq-len (learned positions)."""
    from ..datasets.text import CharVocab
    from ..textgen import build_char_transformer

    return build_char_transformer(CharVocab.from_text(text), args.d_model, args.heads, args.blocks,
                                  args.ff_dim, args.seq_len, args.dropout, seed=args.seed)


def run_sample(args: argparse.Namespace) -> int:
    import os

    from ..io import load_model
    from ..textgen import sample

    if not os.path.exists(args.model):
        raise FileNotFoundError(2, "model file not found", args.model)
    model = load_model(args.model, compile=False)
    print(sample(model, args.length, prompt=args.prompt, temperature=args.temperature, seed=args.seed,
                 kv_cache=not args.no_kv_cache))
    return 0
