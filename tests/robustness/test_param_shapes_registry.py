"""Every layer with arrays declares them through ``param_shapes`` (no allocation), so that
loading a file can check a configuration's size before building it (see scratchnn.io)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from scratchnn.registry import LAYERS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layer_cases import LAYER_CASES  # noqa: E402

CASES = [(name, i, case) for name, cases in LAYER_CASES.items() for i, case in enumerate(cases)]


@pytest.mark.parametrize("name,i,case", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_param_shapes_match_build(name, i, case):
    make, shape, _ = case
    layer = make()
    fn = getattr(layer, "param_shapes", None)
    implied = fn(tuple(shape)) if fn is not None else None
    layer.build(tuple(shape), np.random.default_rng(0))
    built = {k: v.shape for k, v in {**layer.params, **layer.buffers}.items()}
    if implied is None:
        assert not built, (f"{name} creates arrays {built} but has no param_shapes(input_shape); model files "
                           "holding it cannot be size-checked before building")
        return
    assert {k: tuple(v) for k, v in implied.items()} == built


def test_every_registered_layer_has_a_case():
    assert set(LAYERS) <= set(LAYER_CASES) | {"Layer"}, sorted(set(LAYERS) - set(LAYER_CASES))
