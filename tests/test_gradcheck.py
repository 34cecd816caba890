"""scratchnn.gradcheck: every registered loss passes it (cases: ``LOSS_CASES`` in
``tests/layer_cases.py``; a registered loss without one fails), and the check itself can fail.
Every layer's gradient check is one of the harness checks (tests/layers/harness.py).
"""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.registry import LOSSES
from tests.layer_cases import LOSS_CASES


def _flatten(cases: dict) -> list:
    return [pytest.param(name, i, id=f"{name}-{i}") for name in sorted(cases) for i in range(len(cases[name]))]


LOSS_PARAMS = _flatten(LOSS_CASES)


# ------------------------------------------------------------------ coverage
def test_every_registered_loss_has_a_case():
    missing = sorted(set(LOSSES) - set(LOSS_CASES))
    assert not missing, f"registered losses without an entry in LOSS_CASES (tests/layer_cases.py): {missing}"
    for name, cases in LOSS_CASES.items():
        for factory, _ in cases:
            assert type(factory()) is LOSSES[name]


# ------------------------------------------------------------ gradient check
@pytest.mark.parametrize("name,i", LOSS_PARAMS)
def test_loss_gradcheck(name, i, rng):
    factory, make = LOSS_CASES[name][i]
    y_pred, y_true = make(rng)
    with np.errstate(all="raise"):
        report = sn.gradcheck(factory(), y_pred, y_true)
    assert report.ok, str(report)
    assert report.rows[0].checked == y_pred.size


def test_gradcheck_catches_a_wrong_gradient(rng):
    """The check itself can fail: an ELU whose gradient is 0 for negative inputs (tinynn's bug)."""

    class BrokenELU(sn.layers.ELU):
        def _grad(self, x, y, dy):
            return np.where(x > 0, dy, 0.0)

    report = sn.gradcheck(BrokenELU(), rng.standard_normal((4, 5)))
    assert not report.ok
    assert "NO" in str(report)


def test_gradcheck_catches_a_wrong_parameter_gradient(rng):
    class BrokenDense(sn.layers.Dense):
        def backward(self, dy):
            dx = super().backward(dy)
            self.grads["b"] *= 2.0
            return dx

    report = sn.gradcheck(BrokenDense(3, 2), rng.standard_normal((4, 3)))
    rows = {r.name: r.ok for r in report.rows}
    assert rows == {"x": True, "W": True, "b": False}


def test_gradcheck_catches_a_wrong_loss_gradient(rng):
    class BrokenMSE(sn.losses.MeanSquaredError):
        def backward(self):
            return super().backward() * 0.5  # forgot the 2 of d(d^2)

    assert not sn.gradcheck(BrokenMSE(), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))).ok


def test_gradcheck_integer_inputs_check_params_only(rng):
    report = sn.gradcheck(sn.layers.Dense(3, 2), rng.integers(0, 5, (4, 3)))
    assert [r.name for r in report.rows] == ["W", "b"] and report.ok
    with pytest.raises(TypeError, match="integer inputs"):
        sn.gradcheck(sn.layers.Dense(3, 2), rng.integers(0, 5, (4, 3)), check_input=True)
    empty = sn.gradcheck(sn.layers.ReLU(), rng.integers(0, 5, (4, 3)))
    assert empty.rows == [] and not empty.ok, "a report that checked nothing must not pass"


def test_gradcheck_model_and_report_table(rng):
    model = sn.Sequential([sn.layers.Dense(3, 4), sn.layers.Tanh(), sn.layers.Dense(4, 2)], seed=0)
    model.build((3,))
    report = sn.gradcheck(model, rng.standard_normal((5, 3)))
    assert report.ok, str(report)
    assert [r.name for r in report.rows] == ["x", "0/W", "0/b", "2/W", "2/b"]
    text = str(report)
    assert text.startswith("gradcheck Sequential: OK") and "max abs diff" in text
    # the float32 model's weights are used (copied into float64 twins), not fresh ones
    assert model.layers[0].params["W"].dtype == np.float32


def test_gradcheck_rejects_other_targets(rng):
    with pytest.raises(TypeError, match="gradcheck takes"):
        sn.gradcheck(object(), rng.standard_normal((2, 2)))
