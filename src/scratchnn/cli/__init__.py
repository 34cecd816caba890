"""The ``scratchnn`` command line: ``scratchnn train``, ``evaluate``, ``predict``, ``demo``, ``summary``.

Each command lives in its own module listed in :data:`COMMANDS`; the module exposes
``register(subparsers)``, which adds its parser and sets ``func=run`` (``run(args) -> int``).

Errors: without ``--debug`` every error (bad input, missing file, a model file that is not
ours, ...) is printed as ONE line ``scratchnn: error: ...`` on stderr with a non-zero exit
status; ``--debug`` shows the full traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .._version import __version__
from ..errors import ScratchnnError

#: Modules of :mod:`scratchnn.cli` that each add one subcommand (other work adds its own here).
COMMANDS = [
    "train",
    "evaluate",
    "predict",
    "demo",
    "summary",
    "forecast",
    "textgen",
    "export",
    "serve",
]

EXAMPLES = """\
examples:
  scratchnn train                                   # default MLP on the bundled MNIST subset
  scratchnn train --dataset mnist --model mlp --epochs 10 --out runs/mlp
  scratchnn train --dataset fashion-mnist --data-dir /usr/share/datasets/fashion-mnist
  scratchnn evaluate runs/mlp/model.npz --dataset mnist
  scratchnn predict runs/mlp/model.npz digit.png    # class + probabilities
  scratchnn demo xor                                # the article's network, with a picture
  scratchnn summary runs/mlp/model.npz
  scratchnn export runs/mlp/model.npz digits.onnx   # run it in any ONNX runtime
  scratchnn serve                                   # web playground on http://127.0.0.1:8765/

Run 'scratchnn COMMAND --help' for each command's options and examples.
"""

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, pointing at ``--help``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"scratchnn: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="scratchnn", description="Neural networks from scratch in NumPy: train and inspect a "
        "digit recognizer, try the article's XOR network, look inside models.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"scratchnn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def one_line(exc: BaseException) -> str:
    """An exception as a single line of text."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print("\nscratchnn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ScratchnnError, OSError, ValueError, MemoryError, RuntimeError, ImportError) as exc:
        if debug:
            raise
        print(f"scratchnn: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence: still no traceback
        if debug:
            raise
        print(f"scratchnn: error: {type(exc).__name__}: {one_line(exc)} (an internal error: rerun with "
              "--debug for the traceback and please report it)", file=sys.stderr)
        return EXIT_ERROR
