"""Flag validators and the help formatter shared by every command.

Every numeric flag is checked by argparse itself (``type=``), so a bad value is a usage
error (exit status 2) before any work starts, in one line naming the flag and the valid
range: ``scratchnn: error: argument --epochs: expected an integer >= 1, got '0'``. The
range checks themselves are the library's (:mod:`scratchnn.checks`), as for every layer,
loss and optimizer; only the parsing of the text and the message's form are argparse's.
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from .. import checks
from ..errors import ConfigError


def _bounds(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    return " and ".join(parts)


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` accepting integers in ``[lo, hi]`` (either bound optional)."""
    what = "an integer" + (f" {_bounds(lo, hi)}" if lo is not None or hi is not None else "")
    if lo is not None and hi is not None:
        what = f"an integer from {lo} to {hi}"

    def parse(text: str) -> int:
        try:
            return checks.integer("", "", int(text, 10), lo, hi)
        except (ValueError, ConfigError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    parse.__name__ = "integer"
    return parse


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type=`` accepting finite numbers between ``lo`` and ``hi`` (open or closed ends)."""
    what = "a finite number" + (f" {_bounds(lo, hi, lo_open, hi_open)}" if lo is not None or hi is not None else "")

    def parse(text: str) -> float:
        try:
            return checks.number("", "", float(text), -math.inf if lo is None else lo,
                                 math.inf if hi is None else hi, lo_open, hi_open)
        except (ValueError, ConfigError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    parse.__name__ = "number"
    return parse


positive_int = integer(1)
nonneg_int = integer(0)
positive_float = number(0, lo_open=True)
nonneg_float = number(0)
fraction = number(0, 1, lo_open=True, hi_open=True)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout and shows every option's default.

    An option whose help does not already say its default gets ``(default: X)``; an
    on/off flag gets ``(default: off)``; one without a default, ``(default: none)`` --
    options whose default is computed say it in words in their help instead.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text.lower() or action.default is argparse.SUPPRESS:
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return text + " (default: off)" if action.default is False else text + " (default: on)"
        if action.default is None:  # nothing unless given: say so rather than say nothing
            return text + " (default: none)"
        return text + " (default: %(default)s)"
