"""The layer contract (layers/base.py): building on first call, names and describe."""
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
