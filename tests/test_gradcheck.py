"""The generic layer test every registered layer (and loss) must pass.

Walks :data:`scratchnn.registry.LAYERS` and :data:`scratchnn.registry.LOSSES`;
the example instances come from ``tests/layer_cases.py``. A registered class with
no case there fails the walk, so no layer or loss can skip the gradient check.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.registry import LAYERS, LOSSES
from tests.layer_cases import LAYER_CASES, LOSS_CASES


def _flatten(cases: dict) -> list:
    return [pytest.param(name, i, id=f"{name}-{i}") for name in sorted(cases) for i in range(len(cases[name]))]


LAYER_PARAMS = _flatten(LAYER_CASES)
LOSS_PARAMS = _flatten(LOSS_CASES)


def make_input(shape, kwargs: dict, rng: np.random.Generator, batch: int = 3):
    """A batch for one case, following the ``input=`` kinds documented in layer_cases.py
    (a list of batches where ``shape`` is a list of shapes: a multi-input layer)."""
    if isinstance(shape, list):
        return [make_input(s, kwargs, rng, batch) for s in shape]
    kind = kwargs.get("input", "normal")
    full = (batch,) + tuple(shape)
    if kind == "normal":
        return rng.standard_normal(full)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, full)
    if kind == "int":
        return rng.integers(0, 10, full)
    if isinstance(kind, str) and kind.startswith("labels:"):
        return rng.integers(0, int(kind.split(":", 1)[1]), full)
    raise ValueError(f"unknown input kind {kind!r} in layer_cases.py")


def build_case(name: str, i: int, dtype="float64"):
    factory, shape, kwargs = LAYER_CASES[name][i]
    layer = factory()
    layer.build(shape, np.random.default_rng(7), dtype)
    return layer, shape if isinstance(shape, list) else tuple(shape), dict(kwargs)


def _first(x):
    return x[0] if isinstance(x, list) else x


def _each(x) -> list:
    return x if isinstance(x, list) else [x]


# ------------------------------------------------------------------ coverage
def test_every_registered_layer_has_a_case():
    missing = sorted(set(LAYERS) - set(LAYER_CASES))
    assert not missing, f"registered layers without an entry in tests/layer_cases.py: {missing}"


def test_every_case_names_a_registered_layer_of_that_class():
    for name, cases in LAYER_CASES.items():
        assert name in LAYERS, f"layer_cases.py names {name!r}, which is not registered"
        for factory, _, _ in cases:
            assert type(factory()) is LAYERS[name], f"a case for {name} builds {type(factory()).__name__}"


def test_every_registered_loss_has_a_case():
    missing = sorted(set(LOSSES) - set(LOSS_CASES))
    assert not missing, f"registered losses without an entry in LOSS_CASES (tests/layer_cases.py): {missing}"
    for name, cases in LOSS_CASES.items():
        for factory, _ in cases:
            assert type(factory()) is LOSSES[name]


# ------------------------------------------------------------ gradient check
@pytest.mark.parametrize("name,i", LAYER_PARAMS)
def test_layer_gradcheck(name, i, rng):
    layer, shape, kwargs = build_case(name, i)
    x = make_input(shape, kwargs, rng)
    tol = {k: kwargs[k] for k in ("atol", "rtol") if k in kwargs}
    with np.errstate(all="raise"):
        report = sn.gradcheck(layer, x, training=kwargs.get("training", False), **tol)
    assert report.ok, str(report)
    integer_input = _first(x).dtype.kind in "iu"
    names = [r.name for r in report.rows]
    inputs = [f"x[{k}]" for k in range(len(x))] if isinstance(x, list) else ["x"]
    assert (set(inputs) <= set(names)) != integer_input, names
    assert set(names) - set(inputs) == set(layer.all_params()), f"not every parameter was checked: {names}"


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


# ------------------------------------------------------------ contract checks
@pytest.mark.parametrize("name,i", LAYER_PARAMS)
def test_layer_config_round_trip(name, i):
    layer, _, _ = build_case(name, i)
    config = layer.get_config()
    json.dumps(config)  # JSON-safe
    twin = type(layer)(**config)
    assert twin.get_config() == config
    text = repr(layer)
    assert text.startswith(type(layer).__name__ + "(") and repr(twin) == text


@pytest.mark.parametrize("name,i", LAYER_PARAMS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_output_shape_and_dtype(name, i, dtype, rng):
    layer, shape, kwargs = build_case(name, i, dtype)
    x = make_input(shape, kwargs, rng, batch=2)
    if _first(x).dtype.kind == "f":
        x = [a.astype(dtype) for a in x] if isinstance(x, list) else x.astype(dtype)
    y = layer.forward(x, training=kwargs.get("training", False))
    assert y.shape == (2,) + tuple(layer.compute_output_shape(shape))
    assert y.dtype == np.dtype(dtype), f"{name} forward turned {dtype} into {y.dtype}"
    dx = layer.backward(np.ones_like(y))
    if _first(x).dtype.kind == "f":
        for a, d in zip(_each(x), _each(dx)):
            assert d.shape == a.shape and d.dtype == np.dtype(dtype)
    grads = layer.all_grads()
    for k, p in layer.all_params().items():
        assert p.dtype == np.dtype(dtype)
        assert grads[k].shape == p.shape and grads[k].dtype == p.dtype, k


@pytest.mark.parametrize("name,i", LAYER_PARAMS)
def test_layer_backward_overwrites_grads(name, i, rng):
    layer, shape, kwargs = build_case(name, i)
    x = make_input(shape, kwargs, rng)
    training = kwargs.get("training", False)
    layer.rng = np.random.default_rng(0)
    y = layer.forward(x, training=training)
    dy = rng.standard_normal(y.shape)
    layer.backward(dy)
    first = {k: g.copy() for k, g in layer.all_grads().items()}
    layer.rng = np.random.default_rng(0)
    layer.forward(x, training=training)
    layer.backward(dy)
    for k, g in layer.all_grads().items():
        np.testing.assert_array_equal(g, first[k], err_msg=f"{name}.grads[{k!r}] accumulates")


@pytest.mark.parametrize("name,i", LAYER_PARAMS)
def test_layer_save_load_predicts_identically(name, i, tmp_path, rng):
    factory, shape, kwargs = LAYER_CASES[name][i]
    layer = factory()
    if isinstance(shape, list):  # a merge layer: a graph model with one Input per input
        inputs = [sn.Input(s) for s in shape]
        model = sn.Model(inputs, layer(inputs), seed=3)
    else:
        model = sn.Sequential([layer], seed=3)
        model.build(shape)
    x = make_input(shape, kwargs, rng, batch=4)
    before = model.predict(x)
    path = tmp_path / "m.npz"
    sn.save_model(model, path)
    loaded = sn.load_model(path)
    assert type(loaded.layers[0]) is type(model.layers[0])
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(loaded.predict(x), before)
    for k, p in model.layers[0].all_arrays().items():
        np.testing.assert_array_equal(loaded.layers[0].all_arrays()[k], p)
