"""Registries of the classes that may appear in a model file.

Loading a model only ever instantiates classes found here (never names taken
from a file and looked up with ``getattr``/``import``), so a model file cannot
make scratchnn run code. The test suite also walks :data:`LAYERS` so that every
registered layer gets a gradient check and a reference test.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

LAYERS: dict[str, type] = {}
LOSSES: dict[str, type] = {}
OPTIMIZERS: dict[str, type] = {}
SCHEDULES: dict[str, type] = {}


def _register(table: dict[str, type]) -> Callable[[T], T]:
    def decorator(cls: T) -> T:
        name = cls.__name__
        if name in table and table[name] is not cls:
            raise RuntimeError(f"two classes registered under the name {name!r}")
        table[name] = cls
        return cls

    return decorator


register_layer = _register(LAYERS)
register_loss = _register(LOSSES)
register_optimizer = _register(OPTIMIZERS)
register_schedule = _register(SCHEDULES)
