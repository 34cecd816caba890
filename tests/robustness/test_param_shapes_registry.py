"""Every layer with arrays declares them through ``param_shapes`` (no allocation), so that
loading a file can check a configuration's size before building it (see scratchnn.io)."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.registry import LAYERS
from tests.layer_cases import LAYER_CASES  # noqa: E402

CASES = [(name, i, case) for name, cases in LAYER_CASES.items() for i, case in enumerate(cases)]


@pytest.mark.parametrize("name,i,case", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_param_shapes_match_build(name, i, case):
    """The dry run of a layer's declarations gives exactly the arrays build creates."""
    make, shape, _ = case
    layer = make()
    shape = [tuple(s) for s in shape] if isinstance(shape, list) else tuple(shape)
    implied = layer.param_shapes(shape)
    assert not layer.params and not layer.buffers, "the dry run allocated arrays"
    layer.build(shape, np.random.default_rng(0))
    built = {k: v.shape for k, v in layer.all_arrays().items()}
    assert {k: tuple(v) for k, v in implied.items()} == built


def test_a_dry_run_allocates_nothing_for_a_huge_layer():
    layer = sn.layers.Dense(2**40, 2**40)
    assert layer.param_shapes((2**40,)) == {"W": (2**40, 2**40), "b": (2**40,)}
    lstm = sn.layers.Bidirectional(sn.layers.LSTM(2**30, 2**30))
    assert lstm.param_shapes((5, 2**30))["bw/U"] == (2**30, 4 * 2**30)


def test_every_registered_layer_has_a_case():
    assert set(LAYERS) <= set(LAYER_CASES) | {"Layer"}, sorted(set(LAYERS) - set(LAYER_CASES))
