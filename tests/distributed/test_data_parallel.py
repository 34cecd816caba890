"""DataParallel within one process (no mpiexec: a world of one rank): the shards, the
weighting, and that ``fit(distributed=True)`` on one rank is plain ``fit``."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import scratchnn as sn
from scratchnn.distributed import Communicator, DataParallel
from scratchnn.distributed.fingerprint import differences
from scratchnn.errors import ConfigError


class _Fake(Communicator):
    """Rank ``rank`` of ``size`` for the pure bookkeeping (no collective is called)."""

    def __init__(self, rank, size):
        self.rank, self.size, self.timeout = rank, size, 1.0


@pytest.mark.parametrize("n, size", [(10, 4), (3, 4), (128, 2), (7, 3)])
def test_parts_cover_the_batch_once_and_weights_sum_to_one(n, size):
    parts, weights = [], []
    for r in range(size):
        dp = DataParallel(_Fake(r, size))
        s = dp.part(n)
        parts.extend(range(n)[s])
        weights.append(dp.weight)
        assert (s.stop - s.start) in (n // size, n // size + 1)
    assert parts == list(range(n))
    assert sum(weights) == pytest.approx(1.0)


def test_fit_distributed_on_one_rank_is_plain_fit():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 4)), rng.integers(0, 2, 50)

    def run(distributed):
        m = sn.Sequential([sn.layers.Dense(4, 5), sn.layers.ReLU(), sn.layers.Dense(5, 2)], seed=1, dtype="float64")
        m.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=0.01), ["accuracy"])
        m.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_split=0.2, distributed=distributed)
        return m

    a, b = run(False), run(True)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert a.history.history == b.history.history
    assert b._dist is None  # detached after fit
    assert a.evaluate(x, y) == b.evaluate(x, y, distributed=True)


def test_bad_distributed_argument():
    m = sn.Sequential([sn.layers.Dense(2, 1)], seed=0)
    m.compile("mse", "sgd")
    with pytest.raises(ConfigError, match="distributed must be True"):
        m.fit(np.zeros((4, 2)), np.zeros((4, 1)), distributed="yes")


def test_differences_name_the_item_and_the_ranks():
    prints = [{"a": "1", "b": "x"}, {"a": "1", "b": "y"}, {"a": "1", "b": "x"}]
    assert differences(prints, ["a", "b"]) == ["b (ranks 0,2: x; rank 1: y)"]
    assert differences(prints[:1] * 3) == []
