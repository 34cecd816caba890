"""Argument checks, written once: every layer, loss, optimizer, schedule, callback and the
command line validate their arguments here.

Each check returns the value as a plain Python ``int``/``float``/``str``/``tuple`` and raises
:class:`~scratchnn.errors.ConfigError` in the library's one form::

    Dropout: rate must be a number in [0, 1). Received: rate=1.5

NumPy scalars are accepted wherever a Python number is (``np.float32(0.5)``,
``np.int64(3)``); booleans are never numbers (``True`` is not a batch size).

Example:
    >>> from scratchnn import checks
    >>> checks.integer("Dense", "in_features", 3, low=1)
    3
    >>> checks.number("Huber", "delta", 0.5, low=0, low_open=True)
    0.5
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .errors import ConfigError


def fail(owner: str, name: str, what: str, value: Any) -> ConfigError:
    """The error for ``name`` of ``owner``, which must be ``what``."""
    return ConfigError(f"{owner}: {name} must be {what}. Received: {name}={value!r}")


def is_integer(value: Any) -> bool:
    """A whole number (Python or NumPy integer), not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def is_number(value: Any) -> bool:
    """A finite real number (Python or NumPy, int or float), not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(float(value))


def _range_text(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if high == math.inf and not math.isinf(low):
        return f"{'>' if low_open else '>='} {low:g}"
    if low == -math.inf and not math.isinf(high):
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def integer(owner: str, name: str, value: Any, low: int | None = None, high: int | None = None,
            what: str | None = None) -> int:
    """``value`` as an int, checked to lie in ``[low, high]`` (either bound optional)."""
    ok = is_integer(value) and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        if what is None:
            if low == 1 and high is None:
                what = "a positive integer"
            elif high is None:
                what = "an integer" if low is None else f"an integer >= {low}"
            else:
                what = f"an integer from {low} to {high}"
        raise fail(owner, name, what, value)
    return int(value)


def number(owner: str, name: str, value: Any, low: float = -math.inf, high: float = math.inf,
           low_open: bool = False, high_open: bool = False, what: str | None = None) -> float:
    """``value`` as a finite float in the range given (open or closed at each end)."""
    ok = is_number(value)
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        raise fail(owner, name, what or f"a finite number {_range_text(low, high, low_open, high_open)}", value)
    return float(value)


def choice(owner: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise fail(owner, name, f"one of {options}", value)
    return value


def int_tuple(owner: str, name: str, value: Any, n: int, low: int = 1) -> tuple[int, ...]:
    """An int or a tuple/list of ``n`` ints, each >= ``low``, as a tuple of ``n`` ints."""
    items = value if isinstance(value, (tuple, list)) else (value,) * n
    if not (len(items) == n and all(is_integer(v) and v >= low for v in items)):
        kind = "a positive integer" if low >= 1 else f"an integer >= {low}"
        also = f" or a tuple of {n} such" if n > 1 else ""
        raise fail(owner, name, kind + also, value)
    return tuple(int(v) for v in items)
