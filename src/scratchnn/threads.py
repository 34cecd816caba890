"""How scratchnn uses threads: the one place that decides.

Two kinds of work run in a training step, and they want threads differently:

- **Large matrix products** (Dense layers, the input projection of a recurrent layer)
  are left to the BLAS, which splits them over its own threads.
- **Everything else** -- element-wise passes (copies, pooling, ``col2im``) and the
  convolutions' products on one slice of the batch at a time -- runs on one core in
  NumPy. :func:`batch_parallel` splits such work over the batch axis into a small
  thread pool (NumPy and the BLAS release the GIL inside their loops). While the pool
  works, the BLAS is held to one thread: two pool threads each calling a BLAS that
  itself starts two threads would put four busy threads on two cores.
- **Small products in a loop** (one per time step of a recurrent layer) are too small to
  share: waking BLAS threads for each of them costs more than the product (5-10x,
  measured on 2 shared cores). :func:`small_products` runs such loops with the BLAS on
  one thread.
- **One model, one policy per step.** A model with any layer of the second kind
  (``Layer.uses_thread_pool``) runs each whole step with the BLAS on one thread
  (:func:`step_threads`), its Dense products included; a model without (an MLP) leaves
  the BLAS its threads. Mixing both within a step costs more than it gains: OpenBLAS's
  workers keep spinning after each two-thread product and take a core from the pool.
- **Fused optimizer updates** over a large flat buffer are split the same way
  (``scratchnn.optimizers.SPLIT_MIN_SIZE``).

The thread count is :func:`get_num_threads`: by default the BLAS's (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS``, else the CPU count), at most 8.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable

import numpy as np

from .errors import ConfigError

#: Per-step products with fewer multiply-adds than this run their loop with the BLAS on
#: one thread (see :func:`small_products`); 0 leaves the BLAS's thread count alone. A
#: (64 x 256) x (256 x 1024) product (16.8 M multiply-adds) is below it.
SMALL_PRODUCT_MACS = 1 << 25

_POOL_PREFIX = "scratchnn-pool"
_state: dict = {"n": None, "pool": None, "controller": None, "held": False, "cpus": None}


def set_num_threads(n: int | None) -> None:
    """Threads for :func:`batch_parallel` (``None``: back to the default)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ConfigError(f"set_num_threads: n must be a positive integer or None. Received: n={n!r}")
    _state["n"] = n


def get_num_threads() -> int:
    """The number of threads :func:`batch_parallel` uses."""
    if _state["n"] is not None:
        return _state["n"]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return min(int(value), 8)
    if _state["cpus"] is None:  # os.cpu_count() costs tens of microseconds: asked once
        _state["cpus"] = max(1, min(os.cpu_count() or 1, 8))
    return _state["cpus"]


def blas_single_thread():
    """Context manager: the BLAS runs on one thread inside, its previous count is restored after."""
    if _state["controller"] is None:
        from threadpoolctl import ThreadpoolController

        _state["controller"] = ThreadpoolController()  # scans the loaded libraries once (slow)
    return _state["controller"].limit(limits=1, user_api="blas")


@contextlib.contextmanager
def _held_step():
    with blas_single_thread():
        _state["held"] = True
        try:
            yield
        finally:
            _state["held"] = False


def step_threads(uses_thread_pool: bool):
    """Context for one training or inference step of a model.

    A model whose layers split their work among scratchnn's threads (``uses_thread_pool``:
    convolutions, pooling, recurrent layers) runs the whole step with the BLAS on one
    thread, its Dense products included. Between two pool tasks OpenBLAS's own worker
    threads, woken by any product on two threads, keep spinning for a while and take a
    core from the pool: holding them for the whole step made the benchmark CNN train 1.5x
    faster on 2 quiet cores (1,720 -> 2,570 samples/s) and the char-LSTM 8 % faster. Large
    products inside such a step share their rows among the pool (:func:`matmul`). Other
    models (MLPs, attention) keep the BLAS's threads for their large products.
    """
    if uses_thread_pool and get_num_threads() > 1 and not _state["held"]:
        return _held_step()
    return contextlib.nullcontext()


#: Products of at least this many multiply-adds are split among the pool by :func:`matmul`
#: while a step holds the BLAS to one thread (a (128 x 3136) x (3136 x 128) product is 51 M).
SPLIT_PRODUCT_MACS = 1 << 22


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D ``a``, the rows of the result shared among the threads when needed.

    Inside a step that holds the BLAS to one thread (:func:`step_threads`), a large product
    -- a recurrent layer's input projection and weight gradients, a Dense layer of a CNN --
    would run on one core; here each thread computes its own rows of the result on a
    one-thread BLAS. Elsewhere it is ``np.matmul``, which the BLAS splits by itself. The
    two agree to rounding (each row is a sum over the same inner dimension; the BLAS may
    block a smaller product differently), and the rows do not depend on the thread count
    beyond that.
    """
    m, k = a.shape
    if not _state["held"] or type(a) is not np.ndarray or m * k * b.shape[1] < SPLIT_PRODUCT_MACS:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, b.shape[1]), dtype=np.result_type(a, b))
    batch_parallel(lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]), m, min_rows=8)
    return out


def small_products(macs: int):
    """Context for a loop of products of ``macs`` multiply-adds each (see :data:`SMALL_PRODUCT_MACS`)."""
    if macs < SMALL_PRODUCT_MACS:
        return blas_single_thread()
    return contextlib.nullcontext()


class _Worker:
    """One pool thread, waiting on its own lock for a task: a hand-over is one lock release.

    ``concurrent.futures`` (a queue, a future and a waiter per task) cost 74-80 us per
    fork-join of an empty task on 2 vCPUs, against 48 us for these locks, which is the
    operating system's own wake-up of a sleeping thread and back; a 2 M-element pass split
    in two took 206 us that way, 142 us this way (198 us on one thread).
    """

    def __init__(self, index: int) -> None:
        self.start = threading.Lock()
        self.done = threading.Lock()
        self.start.acquire()
        self.done.acquire()
        self.task: Callable[[], None] | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._loop, name=f"{_POOL_PREFIX}-{index}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.start.acquire()
            try:
                if self.task is not None:
                    self.task()
            except BaseException as exc:  # handed to the caller, which raises it
                self.error = exc
            self.task = None
            self.done.release()

    def run(self, task: Callable[[], None]) -> None:
        self.task, self.error = task, None
        self.start.release()

    def join(self) -> BaseException | None:
        self.done.acquire()
        return self.error


class _Pool:
    """The process's worker threads, and a lock that gives one caller at a time the pool."""

    def __init__(self, size: int) -> None:
        self.pid = os.getpid()
        self.busy = threading.Lock()
        self.workers = [_Worker(i) for i in range(size)]


def _pool(size: int) -> _Pool:
    pool = _state["pool"]
    if pool is None or pool.pid != os.getpid() or len(pool.workers) < size:  # (a forked child has no workers)
        pool = _state["pool"] = _Pool(size)  # (a smaller one's idle threads just keep waiting)
    return pool


def batch_parallel(fn: Callable[[int, int], None], n: int, min_rows: int = 8, grain: int | None = None) -> None:
    """Call ``fn(lo, hi)`` on consecutive slices of ``range(n)``, in parallel threads.

    ``fn`` must only write to its own slice. Work smaller than ``2 * min_rows`` items runs
    in the calling thread. With ``grain``, the slices are ``grain`` items long and handed
    out one at a time to whichever thread is free, so that a thread the operating system
    pauses (a busy machine) delays only its current slice; without it the work is cut into
    one equal slice per thread. While several threads run, the BLAS is held to one thread. A call made
    while the pool is busy (from a pool thread, or from another thread of the program) runs
    in its own thread: the same slices' results, never a deadlock.
    """
    parts = n // max(1, min_rows)
    if parts > 1:  # (small work, the common case: no need to look the thread count up)
        parts = min(get_num_threads(), parts)
    if parts <= 1 or threading.current_thread().name.startswith(_POOL_PREFIX):
        fn(0, n)
        return
    pool = _pool(parts - 1)
    if not pool.busy.acquire(blocking=False):
        fn(0, n)
        return
    try:
        if grain is None:
            bounds = [n * i // parts for i in range(parts + 1)]
            slices = iter(list(itertools.pairwise(bounds)))
        else:
            slices = iter([(lo, min(n, lo + grain)) for lo in range(0, n, grain)])

        def drain():
            for lo, hi in slices:  # next() on a list iterator is atomic under the GIL
                fn(lo, hi)

        workers = pool.workers[:parts - 1]
        # Inside a held step the BLAS is on one thread already: no need to ask it again.
        with contextlib.nullcontext() if _state["held"] else blas_single_thread():
            for worker in workers:
                worker.run(drain)
            try:
                drain()
            finally:
                errors = [worker.join() for worker in workers]
        for error in errors:
            if error is not None:
                raise error
    finally:
        pool.busy.release()
