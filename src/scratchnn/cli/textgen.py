"""``scratchnn textgen train|sample``: a character-level language model from a text file.

``train`` writes a new run folder (refused if it holds files, unless ``--force``),
saves ``model.npz`` and ``log.json`` at every evaluation (``--eval-every``) and, on
Ctrl-C, after the step in progress; ``--resume RUN`` continues such a run in place,
up to its ``--steps`` (or ``--steps`` more). ``sample`` prints the text as it is drawn.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from . import _distributed
from ._common import (
    add_force,
    add_parser,
    default_run_dir,
    model_file_path,
    say,
    stderr,
)
from .options import (
    HelpFormatter,
    integer,
    nonneg_float,
    nonneg_int,
    number,
    positive_float,
)
from .run_folder import RunFolder, UsageError

#: Upper bound of ``textgen sample --length`` (and ``--sample-length``): about 30 pages.
MAX_SAMPLE_LENGTH = 100_000
#: Larger text files are refused before reading (the ids alone take 8 bytes a character).
MAX_TEXT_BYTES = 64 * 2**20

EXAMPLES = """\
  scratchnn textgen train notes.txt --out runs/notes        # any UTF-8 text file
  scratchnn textgen train notes.txt --steps 500 --hidden 128 --cell gru --clip-norm 5
  scratchnn textgen train notes.txt --model transformer --d-model 128 --heads 4 --blocks 2 --lr 1e-3
  scratchnn textgen train --resume runs/notes              # after Ctrl-C: continue
  scratchnn textgen sample runs/notes --length 500 --temperature 0.8 --prompt "The "
  mpiexec -n 4 scratchnn textgen train notes.txt --batch-size 256 --distributed   # 4 MPI ranks

'train' reports the validation loss (the last 10% of the text) in bits per character and
saves model.npz with its vocabulary inside, at every evaluation and on Ctrl-C; 'sample'
needs only that file and prints the characters as they are drawn."""


def _sub(sub, name: str, help: str, description: str):
    return sub.add_parser(name, help=help, description=description, epilog="examples:\n" + EXAMPLES,
                          formatter_class=HelpFormatter)


def register(subparsers) -> argparse.ArgumentParser:
    p = add_parser(subparsers, "textgen", "train a character-level language model, or sample from one",
                   "Character-level language models (Embedding -> LSTM/GRU -> Dense, or a Transformer).", EXAMPLES)
    sub = p.add_subparsers(dest="textgen_command", metavar="ACTION", parser_class=type(p))
    sub.required = True

    t = _sub(sub, "train", "train on a text file", "Train a character model on a UTF-8 text file.")
    t.add_argument("text", nargs="?", help="a UTF-8 text file (default with --resume: the run's own)")
    t.add_argument("--out", help="new output folder (default: runs/<date-time>)")
    add_force(t, "the run already in --out")
    t.add_argument("--resume", metavar="RUN", help="continue the run in this folder (or its model.npz) "
                   "in place (default: start a new run)")
    t.add_argument("--steps", type=integer(1, 10_000_000), default=None,
                   help="Adam steps (default: 1000; with --resume, the steps the run has left)")
    t.add_argument("--seq-len", type=integer(1, 100_000), default=100, help="characters per training window")
    t.add_argument("--batch-size", type=integer(1, 100_000), default=64, help="windows per step")
    t.add_argument("--embedding", type=integer(1, 4096), default=64, help="embedding size")
    t.add_argument("--hidden", type=integer(1, 8192), default=256, help="hidden size")
    t.add_argument("--layers", type=integer(1, 16), default=1, help="stacked recurrent layers")
    t.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm", help="recurrent cell")
    t.add_argument("--model", choices=["recurrent", "transformer"], default="recurrent",
                   help="recurrent (--cell, --hidden, --layers) or transformer (the options below) "
                   "(default: recurrent)")
    t.add_argument("--d-model", type=integer(1, 4096), default=128, help="transformer: vector size")
    t.add_argument("--heads", type=integer(1, 256), default=4, help="transformer: attention heads")
    t.add_argument("--blocks", type=integer(1, 64), default=2, help="transformer: TransformerBlocks")
    t.add_argument("--ff-dim", type=integer(1, 65536), default=None,
                   help="transformer: MLP size (default: 4 x d-model)")
    t.add_argument("--dropout", type=number(0, 1, hi_open=True), default=0.0, help="transformer: dropout rate")
    t.add_argument("--lr", type=positive_float, default=2e-3, help="learning rate of Adam")
    t.add_argument("--clip-norm", type=nonneg_float, default=5.0, help="gradient clipping norm (0: off)")
    t.add_argument("--eval-every", type=integer(1, 10_000_000), default=100,
                   help="steps between validations and checkpoints")
    t.add_argument("--seed", type=nonneg_int, default=0, help="seed of the weights and batches")
    t.add_argument("--sample-length", type=integer(0, MAX_SAMPLE_LENGTH), default=300,
                   help="characters of the closing sample (0: none)")
    t.add_argument("--quiet", action="store_true", help="print only the result")
    _distributed.add_argument(t)
    t.set_defaults(func=run_train)

    s = _sub(sub, "sample", "generate text from a trained model", "Sample text from a character model.")
    s.add_argument("model", help="model.npz written by 'scratchnn textgen train' (or its run folder)")
    s.add_argument("--length", type=integer(0, MAX_SAMPLE_LENGTH), default=500, help="characters to generate")
    s.add_argument("--temperature", type=number(0, 100), default=0.8,
                   help="0: always the likeliest character; higher: wilder")
    s.add_argument("--prompt", default="", help="text to start from (default: a new line)")
    s.add_argument("--seed", type=nonneg_int, default=None, help="seed of the sampling (default: random)")
    s.add_argument("--no-kv-cache", action="store_true",
                   help="transformer: recompute the whole window for every character (slower; same text)")
    s.set_defaults(func=run_sample)
    return p


class _StopOnCtrlC:
    """First Ctrl-C: finish the step in progress, save, stop. Second Ctrl-C: stop at once."""

    def __init__(self) -> None:
        self.requested = False
        self.previous = None

    def __enter__(self):
        if sys.platform != "win32" and _main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        stderr("\nscratchnn: stopping after this step and saving (Ctrl-C again to stop at once)")

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def _save(run_path: Path, model, log: dict) -> None:
    from ..atomic import atomic_write

    model.save(run_path / "model.npz")
    data = json.dumps(log, indent=1).encode() + b"\n"
    atomic_write(run_path / "log.json", lambda f: f.write(data))


def run_train(args: argparse.Namespace) -> int:
    return _distributed.run("textgen train", args, lambda dp: _run_train(args, dp))


def _run_train(args: argparse.Namespace, dp) -> int:
    """``textgen train``; ``dp`` is the DataParallel context with --distributed (rank 0 writes)."""
    from ..datasets.text import load_text

    model, settings = None, None
    if args.resume:
        model, settings, folder = _resumed(args)
        if args.out is not None:
            raise UsageError("--resume continues a run in its own folder; --out cannot be used with it")
        text_path = args.text or settings.get("text")
        if not text_path:
            raise UsageError(f"{folder} does not record its text file; give it: textgen train TEXT --resume ...")
        steps = args.steps or settings.get("steps", 1000) - int(model.metadata.get("steps_trained", 0))
        if steps <= 0:
            raise UsageError(f"{folder} already finished its {settings.get('steps')} steps; pass --steps N "
                             "to train N more")
        run_dir = RunFolder(folder, in_place=True) if dp is None or dp.is_root else None
    else:
        if args.text is None:
            raise UsageError("the text file is required (or --resume RUN)")
        text_path, steps = args.text, args.steps or 1000
        run_dir = RunFolder(args.out or default_run_dir(), force=args.force) if dp is None or dp.is_root else None
    try:
        size = os.path.getsize(text_path) if os.path.isfile(text_path) else 0
        if size > MAX_TEXT_BYTES:
            raise UsageError(f"{text_path} is {size / 2**20:,.0f} MiB; 'textgen train' reads text files up to "
                             f"{MAX_TEXT_BYTES // 2**20} MiB (take a part of it)")
        text = load_text(text_path)
        return _train(args, run_dir, text, text_path, steps, model, settings, dp)
    except KeyboardInterrupt:
        if run_dir is not None and run_dir.finish_interrupted() is not None:
            stderr(f"scratchnn: the last checkpoint is in {run_dir.final / 'model.npz'}; continue with: "
                   f"scratchnn textgen train --resume {run_dir.final}")
        raise
    except BaseException:
        if run_dir is not None:
            run_dir.abandon()
        raise


def _resumed(args):
    from ..io import load_model

    path = model_file_path(args.resume)
    model = load_model(path)
    settings = model.metadata.get("textgen") if isinstance(model.metadata, dict) else None
    if model.metadata.get("task") != "char-lm" or not isinstance(settings, dict):
        raise UsageError(f"{path} is not a run of 'scratchnn textgen train'; nothing to resume")
    return model, settings, Path(path).parent


def _train(args, run_dir: RunFolder | None, text: str, text_path: str, steps: int, model, settings,
           dp=None) -> int:
    from ..applications.textgen import sample, train_char_lm

    s = settings or {}
    seq_len, batch_size = s.get("seq_len", args.seq_len), s.get("batch_size", args.batch_size)
    eval_every, seed = s.get("eval_every", args.eval_every), s.get("seed", args.seed)
    if model is None and args.model == "transformer":
        model = _transformer(args, text)
        what = f"Transformer {args.blocks} x d-model {args.d_model}, {args.heads} heads"
        fresh = True
    else:
        what = f"{args.cell.upper()} {args.hidden}"
        fresh = model is None
    say(f"{text_path}: {len(text):,} characters, {len(set(text))} distinct; training {steps} steps "
        + (f"({what}, clip-norm {args.clip_norm})" if fresh else
           f"more (after {model.metadata.get('steps_trained', 0)})")
        + (f", data-parallel on {dp.size} ranks" if dp is not None else ""),
        quiet=args.quiet or (dp is not None and not dp.is_root))
    target = int(model.metadata.get("steps_trained", 0)) + steps if model is not None and not fresh else steps
    meta = {"text": os.path.abspath(text_path), "steps": target, "seq_len": seq_len,
            "batch_size": batch_size, "eval_every": eval_every, "seed": seed}

    def checkpoint(m, log):
        if run_dir is None:  # ranks other than 0 write nothing
            return
        m.metadata["textgen"] = meta
        _save(run_dir.path, m, log)

    with _StopOnCtrlC() as ctrl_c:
        model, log = train_char_lm(text, steps=steps, seq_len=seq_len, batch_size=batch_size,
                                   embedding_dim=args.embedding, hidden_size=args.hidden,
                                   num_layers=args.layers, cell=args.cell, lr=args.lr,
                                   clip_norm=args.clip_norm if args.clip_norm > 0 else None,
                                   eval_every=eval_every, seed=seed, model=model,
                                   verbose=0 if args.quiet else 1, on_eval=checkpoint,
                                   should_stop=lambda: ctrl_c.requested,
                                   distributed=dp if dp is not None else False)
    if run_dir is None:
        return 130 if log["interrupted"] else 0
    final = run_dir.final / "model.npz"
    if log["interrupted"]:
        run_dir.publish()
        stderr(f"scratchnn: interrupted after step {model.metadata['steps_trained']} of {target}; saved "
               f"{final}. Continue with: scratchnn textgen train --resume {run_dir.final}")
        return 130
    out = run_dir.publish()
    print(f"validation: {log['val_bpc_final']:.3f} bits/char after {model.metadata['steps_trained']} steps "
          f"({log['seconds']:.0f} s); saved {out / 'model.npz'}")
    if args.sample_length:
        print("sample (temperature 0.8):")
        print(sample(model, args.sample_length, temperature=0.8, seed=seed))
    return 0


def _transformer(args: argparse.Namespace, text: str):
    """The model of ``--model transformer``: its context is --seq-len (learned positions)."""
    from ..applications.textgen import build_char_transformer
    from ..datasets.text import CharVocab

    return build_char_transformer(CharVocab.from_text(text), args.d_model, args.heads, args.blocks,
                                  args.ff_dim, args.seq_len, args.dropout, seed=args.seed)


def run_sample(args: argparse.Namespace) -> int:
    from ..applications.textgen import sample_stream
    from ..io import load_model

    model = load_model(model_file_path(args.model), compile=False)
    chars = sample_stream(model, args.length, prompt=args.prompt, temperature=args.temperature, seed=args.seed,
                          kv_cache=not args.no_kv_cache)
    out = sys.stdout
    out.write(args.prompt)
    for i, c in enumerate(chars, start=1):
        out.write(c)
        if i % 64 == 0 or c == "\n":
            out.flush()
    out.write("\n")
    out.flush()
    return 0
