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
