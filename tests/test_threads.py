"""The thread policy (scratchnn.threads): the pool, and the BLAS held to one thread for a
whole step of a model whose layers use the pool."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import scratchnn as sn
from scratchnn import threads

L = sn.layers


def blas_threads() -> int:
    return min(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


class _Probe(L.Identity):
    """Records the BLAS's thread count whenever it runs forward or backward."""

    seen: list[int] = []

    def forward(self, x, training=False):
        _Probe.seen.append(blas_threads())
        return super().forward(x, training)

    def backward(self, dy):
        _Probe.seen.append(blas_threads())
        return super().backward(dy)


@pytest.fixture
def two_threads():
    with threadpool_limits(2, user_api="blas"):
        if blas_threads() < 2:
            pytest.skip("this BLAS cannot run two threads")
        threads.set_num_threads(2)
        try:
            yield
        finally:
            threads.set_num_threads(None)


@pytest.mark.parametrize("pooled, expected", [(True, 1), (False, 2)], ids=["conv-model", "mlp"])
def test_step_holds_the_blas_to_one_thread_only_in_models_that_use_the_pool(pooled, expected, two_threads, rng):
    first = [L.Conv2D(1, 2, 3), L.Flatten()] if pooled else [L.Flatten()]
    model = sn.Sequential([*first, _Probe(), L.Dense(2 * 4 * 4 if pooled else 36, 3)], seed=0)
    model.compile(loss="softmax_crossentropy", optimizer="sgd")
    x, y = rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 3, 8)
    _Probe.seen = []
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.predict(x)
    assert _Probe.seen and set(_Probe.seen) == {expected}
    assert blas_threads() == 2  # restored after each step


def test_layers_that_split_the_batch_say_so():
    assert L.Conv2D(1, 2, 3).uses_thread_pool and L.MaxPool2D(2).uses_thread_pool
    assert L.LSTM(3, 4).uses_thread_pool and not L.Dense(3, 4).uses_thread_pool


def test_batch_parallel_covers_every_item_once(two_threads):
    hits = np.zeros(1000, dtype=int)

    def work(lo, hi):
        hits[lo:hi] += 1

    threads.batch_parallel(work, 1000, min_rows=10, grain=7)
    threads.batch_parallel(work, 1000, min_rows=10)
    np.testing.assert_array_equal(hits, 2)


@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_splits_rows_inside_a_held_step_and_equals_numpy(transposed, two_threads, monkeypatch, rng):
    monkeypatch.setattr(threads, "SPLIT_PRODUCT_MACS", 1)
    a = rng.standard_normal((40, 30)).astype(np.float32)
    a = np.ascontiguousarray(a.T).T if transposed else a  # a transposed view, as dW = x.T @ dy
    b = rng.standard_normal((30, 20)).astype(np.float32)
    calls = []
    real = threads.batch_parallel
    monkeypatch.setattr(threads, "batch_parallel", lambda fn, n, **kw: (calls.append(n), real(fn, n, **kw)))
    with threads.step_threads(True):
        split = threads.matmul(a, b)
        out = np.empty((40, 20), np.float32)
        assert threads.matmul(a, b, out=out) is out
    assert calls == [40, 40]
    plain = threads.matmul(a, b)  # outside a held step: np.matmul, the BLAS's own threads
    assert calls == [40, 40]
    np.testing.assert_allclose(split, plain, rtol=1e-5)
    np.testing.assert_array_equal(split, out)


def test_batch_parallel_inside_a_pool_thread_runs_in_that_thread(two_threads):
    seen = []

    def inner(lo, hi):
        seen.append((lo, hi))

    threads.batch_parallel(lambda lo, hi: threads.batch_parallel(inner, 100, min_rows=10), 100, min_rows=10)
    # no deadlock, and each of the two outer slices covered the inner range once (the pool
    # thread's whole, in that thread)
    assert sum(hi - lo for lo, hi in seen) == 200 and (0, 100) in seen


def test_an_error_in_any_slice_reaches_the_caller_and_the_pool_still_works(two_threads):
    import threading
    import time

    threads.set_num_threads(3)
    in_pool = []

    def failing(where):
        def work(lo, hi):
            pooled = threading.current_thread().name.startswith(threads._POOL_PREFIX)
            if not pooled:
                time.sleep(0.05)  # the caller stays on its first slice: the others go to the pool
            in_pool.append(pooled)
            if pooled == (where == "pool"):
                raise ValueError(f"slice {lo}:{hi} in the {where}")
        return work

    for _ in range(3):
        with pytest.raises(ValueError, match="in the pool"):
            threads.batch_parallel(failing("pool"), 90, min_rows=10)
        with pytest.raises(ValueError, match="in the caller"):
            threads.batch_parallel(failing("caller"), 90, min_rows=10)
    assert any(in_pool)
    hits = np.zeros(90, dtype=int)

    def count(lo, hi):
        hits[lo:hi] += 1

    threads.batch_parallel(count, 90, min_rows=10)
    np.testing.assert_array_equal(hits, 1)


def test_a_call_from_another_thread_while_the_pool_is_busy_runs_in_that_thread(two_threads):
    import threading

    inside, release = threading.Event(), threading.Event()
    outer_hits, inner_hits = np.zeros(100, dtype=int), np.zeros(100, dtype=int)
    inner_threads = set()

    def outer(lo, hi):
        outer_hits[lo:hi] += 1
        inside.set()
        release.wait(5)

    def inner(lo, hi):
        inner_hits[lo:hi] += 1
        inner_threads.add(threading.current_thread().name)

    busy = threading.Thread(target=threads.batch_parallel, args=(outer, 100), kwargs={"min_rows": 10})
    busy.start()
    assert inside.wait(5)
    threads.batch_parallel(inner, 100, min_rows=10)  # the pool is held by `busy`: done here, whole
    release.set()
    busy.join(5)
    assert not busy.is_alive()
    assert inner_threads == {threading.current_thread().name}
    np.testing.assert_array_equal(inner_hits, 1)
    np.testing.assert_array_equal(outer_hits, 1)
