"""Every check of the layer harness (tests/layers/harness.py) on every case of every registered
layer, and the completeness rules: a registered layer without a test entry, a PyTorch twin (or
a reason) fails here; without an ONNX exporter (or a mark) it fails tests/onnx/test_registry.py."""
from __future__ import annotations

import pytest

from scratchnn.registry import LAYERS
from tests.layer_cases import LAYER_CASES
from tests.layers.harness import CASES, CHECKS, applies
from tests.torch_twins import NO_TWIN, TORCH_TWINS

PARAMS = [pytest.param(check, *case.values, id=f"{check}-{case.id}")
          for check in CHECKS for case in CASES if applies(check, case.values[0])]


@pytest.mark.parametrize("check,name,i", PARAMS)
def test_layer(check, name, i, rng, tmp_path):
    CHECKS[check](name, i, rng, tmp_path)


def test_every_registered_layer_has_a_case():
    missing = sorted(set(LAYERS) - set(LAYER_CASES))
    assert not missing, f"registered layers without an entry in tests/layer_cases.py: {missing}"


def test_every_case_names_a_registered_layer_of_that_class():
    for name, cases in LAYER_CASES.items():
        assert name in LAYERS, f"layer_cases.py names {name!r}, which is not registered"
        for factory, _, _ in cases:
            assert type(factory()) is LAYERS[name], f"a case for {name} builds {type(factory()).__name__}"


def test_every_registered_layer_has_a_torch_twin_or_a_reason():
    missing = sorted(set(LAYERS) - set(TORCH_TWINS) - set(NO_TWIN))
    assert not missing, f"registered layers without a PyTorch twin in tests/torch_twins.py: {missing}"
    both = sorted(set(TORCH_TWINS) & set(NO_TWIN))
    assert not both, f"layers with a torch twin and a reason for having none: {both}"
    assert all(reason.strip() for reason in NO_TWIN.values())


def test_every_check_runs_on_every_case_it_applies_to():
    """The harness cannot quietly drop a case: only the stated exemptions are left out."""
    left_out = {(check, c.values[0]) for check in CHECKS for c in CASES} - {(p.values[0], p.values[1]) for p in PARAMS}
    assert {check for check, _ in left_out} <= {"torch", "onnx"}, left_out
    assert {name for check, name in left_out if check == "torch"} == set(NO_TWIN)
