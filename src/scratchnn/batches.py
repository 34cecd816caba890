"""Where ``fit``'s mini-batches come from.

Training data reaches :meth:`~scratchnn.training.Trainer.fit` in one of two forms:

- **arrays** of N samples: cut into consecutive mini-batches of a (reshuffled) order each
  epoch; under data parallelism each rank takes its own contiguous part of every global
  batch (:func:`array_batches`);
- a **batch source**: any iterable or iterator of ``(x_batch, y_batch)`` pairs that is not
  itself array-like (:func:`is_batch_source`), read as it comes (:func:`source_batches`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .errors import ConfigError

Batch = tuple[list[np.ndarray], list[np.ndarray]]


def is_batch_source(x) -> bool:
    """A source of (x, y) batches rather than an array or a list of arrays."""
    if isinstance(x, (np.ndarray, list, tuple, str, bytes, dict)) or x is None:
        return False
    return isinstance(x, (Iterator, Iterable)) and not hasattr(x, "__array__")


def source_length(source) -> int | None:
    """The number of batches a source gives, when it knows (``len``), else None."""
    try:
        return len(source)
    except TypeError:
        return None


def array_batches(xs: list[np.ndarray], ys: list[np.ndarray], batch_size: int,
                  order: np.ndarray | None = None, dist=None) -> Iterator[Batch]:
    """``(x_batches, y_batches)`` of ``batch_size`` samples (the last one smaller), in
    ``order`` (a permutation of the samples) or as stored.

    With ``dist`` (a :class:`~scratchnn.distributed.DataParallel`), every rank uses rank 0's
    order and takes its own part of each global batch."""
    n = len(xs[0])
    if dist is not None and order is not None:
        order = dist.same_order(order)
    for lo in range(0, n, batch_size):
        hi = min(n, lo + batch_size)
        if dist is not None:  # data parallel: this rank's part of the global batch
            part = dist.part(hi - lo)
            lo, hi = lo + part.start, lo + part.stop
        if order is None:
            yield [a[lo:hi] for a in xs], [a[lo:hi] for a in ys]
        else:
            idx = order[lo:hi]
            yield [a[idx] for a in xs], [a[idx] for a in ys]


def source_batches(source: Iterable, steps: int | None, prepare: Callable[..., Batch]) -> Iterator[Batch]:
    """At most ``steps`` batches of ``source`` (all of them when None), each pair checked and
    converted by ``prepare(x_batch, y_batch)``."""
    iterator = iter(source)
    step = 0
    while steps is None or step < steps:
        try:
            item = next(iterator)
        except StopIteration:
            return
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ConfigError(f"fit: a batch source must give (x_batch, y_batch) pairs; batch {step + 1} "
                              f"is a {type(item).__name__}")
        yield prepare(*item)
        step += 1
