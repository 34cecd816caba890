"""The layer contract (layers/base.py): building on first call, names and describe, the
param_shapes dry run."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn

L = sn.layers


def test_unbuilt_layer_builds_on_first_call(rng):
    layer = L.Dense(3, 2)
    y = layer(rng.standard_normal((4, 3)).astype(np.float32))
    assert layer.built and layer.dtype == np.float32 and y.dtype == np.float32
    with pytest.raises(sn.NotBuiltError, match="is not built yet"):
        _ = L.Dense(3, 2).output_shape


def test_layer_names_and_describe():
    layer = L.ReLU(name="act")
    assert layer.describe() == "ReLU 'act'" and repr(layer) == "ReLU(name='act')"
    layer.position = (2, 5)
    assert layer.describe() == "ReLU 'act' (layer 2 of 5)"
    with pytest.raises(sn.ConfigError, match=r"ReLU: name must be a string\. Received: name=3"):
        L.ReLU(name=3)
    assert L.Dense(3, 2, name="fc").get_config()["name"] == "fc"
    assert "name" not in L.Dense(3, 2).get_config()


def test_a_dry_run_allocates_nothing_for_a_huge_layer():
    """param_shapes declares arrays without allocating them (every layer: the harness's
    param-shapes check)."""
    layer = sn.layers.Dense(2**40, 2**40)
    assert layer.param_shapes((2**40,)) == {"W": (2**40, 2**40), "b": (2**40,)}
    lstm = sn.layers.Bidirectional(sn.layers.LSTM(2**30, 2**30))
    assert lstm.param_shapes((5, 2**30))["bw/U"] == (2**30, 4 * 2**30)
