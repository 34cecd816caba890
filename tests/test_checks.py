"""The one module of argument checks: NumPy scalars accepted everywhere, bools never numbers."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn import checks


@pytest.mark.parametrize("make", [
    lambda v: sn.losses.Huber(delta=v), lambda v: sn.optimizers.Adam(lr=v),
    lambda v: sn.layers.Dropout(v), lambda v: sn.layers.LeakyReLU(v),
    lambda v: sn.schedules.ExponentialDecay(v, 10, 0.5),
])
def test_numpy_scalars_are_accepted_like_python_numbers(make):
    for value in (np.float32(0.25), np.float64(0.25), 0.25):
        make(value)


@pytest.mark.parametrize("make", [
    lambda v: sn.layers.Dense(v, 2), lambda v: sn.layers.Conv2D(1, v, 3),
    lambda v: sn.callbacks.EarlyStopping(patience=v),
])
def test_numpy_integers_are_accepted_and_bools_refused(make):
    make(np.int64(3))
    make(np.int32(3))
    with pytest.raises(sn.ConfigError, match=r"Received: \w+=True"):
        make(True)


def test_messages_follow_one_form():
    with pytest.raises(sn.ConfigError, match=r"^Foo: bar must be a finite number in \[0, 1\)\. Received: bar=1\.5$"):
        checks.number("Foo", "bar", 1.5, 0, 1, high_open=True)
    with pytest.raises(sn.ConfigError, match=r"^Foo: n must be an integer from 2 to 5\. Received: n=9$"):
        checks.integer("Foo", "n", 9, 2, 5)
    with pytest.raises(sn.ConfigError, match=r"^Foo: mode must be one of 'a', 'b'\. Received: mode='c'$"):
        checks.choice("Foo", "mode", "c", ["a", "b"])
    with pytest.raises(sn.ConfigError, match="Received: x=nan"):
        checks.number("Foo", "x", float("nan"))
    assert checks.int_tuple("Foo", "k", np.int64(2), 2) == (2, 2)
    assert type(checks.number("Foo", "x", np.float32(0.5))) is float
