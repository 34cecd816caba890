"""Where fit's mini-batches come from (scratchnn.batches)."""
from __future__ import annotations

import numpy as np
import pytest

from scratchnn.batches import array_batches, is_batch_source, source_batches, source_length
from scratchnn.errors import ConfigError


def test_array_batches_follow_the_order_and_cover_every_sample_once():
    x, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    order = np.array([3, 1, 4, 0, 5, 9, 2, 6, 8, 7])
    batches = list(array_batches([x], [y], 4, order))
    assert [len(yb[0]) for _, yb in batches] == [4, 4, 2]
    assert np.concatenate([yb[0] for _, yb in batches]).tolist() == order.tolist()
    assert all(np.array_equal(xb[0][:, 0], yb[0]) for xb, yb in batches)  # x and y stay paired
    stored = list(array_batches([x], [y], 4))
    assert np.concatenate([yb[0] for _, yb in stored]).tolist() == list(range(10))


def test_batch_sources_are_told_from_arrays():
    assert not any(is_batch_source(a) for a in (np.zeros(3), [np.zeros(3)], (1, 2), "text", None, {"x": 1}))
    assert is_batch_source(iter([])) and is_batch_source(range(3).__iter__())
    assert is_batch_source(pair for pair in []) and is_batch_source(_Reiterable())
    assert source_length(_Reiterable()) is None and source_length([1, 2]) == 2


class _Reiterable:
    def __iter__(self):
        yield from [(np.zeros((2, 1)), np.zeros(2))] * 3


def test_source_batches_stop_at_steps_and_reject_what_is_not_a_pair():
    seen = list(source_batches(_Reiterable(), 2, lambda xb, yb: ([xb], [yb])))
    assert len(seen) == 2 and seen[0][0][0].shape == (2, 1)
    assert len(list(source_batches(_Reiterable(), None, lambda xb, yb: ([xb], [yb])))) == 3
    with pytest.raises(ConfigError, match=r"must give \(x_batch, y_batch\) pairs; batch 2 is a int"):
        list(source_batches([(1, 2), 3], None, lambda xb, yb: ([xb], [yb])))
