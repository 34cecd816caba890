"""Run one ``scratchnn`` command in this process (its parser alone), for tests that call it directly."""
from __future__ import annotations

from types import ModuleType


def run_command(module: ModuleType, argv: list[str]) -> int:
    """Parse ``argv`` with only ``module``'s subcommand registered (``module.register``), run it
    and return its exit status, as ``scratchnn <argv>`` would (without a new process)."""
    from scratchnn.cli import ArgumentParser

    parser = ArgumentParser(prog="scratchnn")
    sub = parser.add_subparsers(dest="command", parser_class=ArgumentParser)
    module.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)
