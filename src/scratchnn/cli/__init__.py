"""The ``scratchnn`` command line: ``scratchnn train``, ``evaluate``, ``predict``, ``demo``, ``summary``.

Each command lives in its own module listed in :data:`COMMANDS`; the module exposes
``register(subparsers)``, which adds its parser and sets ``func=run`` (``run(args) -> int``).

Errors: without ``--debug`` every error (bad input, missing file, a model file that is not
ours, ...) is printed as ONE line ``scratchnn: error: ...`` on stderr with a non-zero exit
status; ``--debug`` shows the full traceback instead.

Exit statuses: 0 success; 1 an error while working (a file that cannot be read, a model of
the wrong kind, some images of a batch that failed); 2 a usage error (a bad flag or
value, a missing argument, an output that would replace existing files without
``--force``), always before any work starts; 130 interrupted (Ctrl-C); 141 (128 + SIGPIPE)
when the reader of our output went away (``scratchnn predict ... | head -1``) -- quietly,
as ``cat`` or ``grep`` end when their output pipe closes. Results go to stdout; errors,
warnings and progress bars to stderr.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import ScratchnnError
from .options import HelpFormatter
from .run_folder import UsageError

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
  scratchnn train --dataset fashion-mnist           # downloaded once (SHA-256 checked)
  scratchnn evaluate runs/mlp --dataset mnist
  scratchnn predict runs/mlp digit.png              # class + probabilities
  scratchnn demo xor                                # the article's network, with a picture
  scratchnn summary runs/mlp
  scratchnn forecast                                # bundled monthly sunspots, LSTM
  scratchnn export runs/mlp/model.npz digits.onnx   # run it in any ONNX runtime
  scratchnn serve                                   # web playground on http://127.0.0.1:8765/

Run 'scratchnn COMMAND --help' for each command's options and examples.
"""

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, pointing at ``--help``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"scratchnn: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="scratchnn", description="Neural networks from scratch in NumPy: train and inspect a "
        "digit recognizer, try the article's XOR network, look inside models.",
        epilog=EXAMPLES, formatter_class=HelpFormatter)
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


def _quiet_stdout() -> None:
    """After a closed pipe: send what is still buffered to /dev/null (no 'Exception ignored')."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (e.g. captured in tests)
        pass


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
        print("scratchnn: error: a COMMAND is required (see 'scratchnn --help')", file=sys.stderr)
        return EXIT_USAGE
    try:
        if not hasattr(args, "distributed"):  # the commands without --distributed refuse mpiexec -n N
            from ._distributed import refuse_under_mpi
            refuse_under_mpi(args.command)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print("\nscratchnn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader closed our stdout (| head): stop quietly
        if debug:
            raise
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except UsageError as exc:
        if debug:
            raise
        print(f"scratchnn: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (ScratchnnError, OSError, ValueError, MemoryError, RuntimeError, ImportError) as exc:
        if debug:
            raise
        print(f"scratchnn: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            raise
        print(f"scratchnn: error: {type(exc).__name__}: {one_line(exc)} (an internal error: rerun with "
              "--debug for the traceback and please report it)", file=sys.stderr)
        return EXIT_ERROR
