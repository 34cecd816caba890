"""The layer harness: every generic check of a layer, each a function of one test entry.

A layer's test entry is its cases in ``tests/layer_cases.py`` (``LAYER_CASES[name][i]``: a
factory, the per-sample input shape(s) and options), its PyTorch twin in
``tests/torch_twins.py`` and its ONNX exporter (``scratchnn.onnx``). Each ``check_*`` below
takes one case ``(name, i)`` plus the fixtures ``rng`` and ``tmp_path``, and fails with a
message naming the layer; :data:`CHECKS` lists them all and :data:`CASES` every case of every
layer, and ``tests/layers/test_every_layer.py`` runs the product. Adding a check here runs it on
every layer; adding a layer's entry runs every check on it.
"""
from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest

import scratchnn as sn
from tests.device_seam import StrictArray  # registers the "strict" device
from tests.layer_cases import LAYER_CASES, make_input

#: every case of every layer with an entry, as pytest parameters ``(name, i)``, id "Name-i"
CASES = [pytest.param(name, i, id=f"{name}-{i}") for name in sorted(LAYER_CASES)
         for i in range(len(LAYER_CASES[name]))]


# ------------------------------------------------------------------ building blocks
def build_case(name: str, i: int, dtype="float64"):
    """The case's layer, built (seed 7) in ``dtype``; its shape(s) and options."""
    factory, shape, kwargs = LAYER_CASES[name][i]
    layer = factory()
    layer.build(shape, np.random.default_rng(7), dtype)
    return layer, shape if isinstance(shape, list) else tuple(shape), dict(kwargs)


def model_for_case(name: str, i: int, **model_kwargs) -> sn.Model:
    """The case's layer alone in a built model: a Sequential, or a graph model with one Input per
    input for a multi-input layer."""
    factory, shape, _ = LAYER_CASES[name][i]
    if isinstance(shape, list):
        inputs = [sn.Input(s) for s in shape]
        return sn.Model(inputs, factory()(inputs), **model_kwargs)
    model = sn.Sequential([factory()], **model_kwargs)
    model.build(shape)
    return model


def _first(x):
    return x[0] if isinstance(x, list) else x


def _each(x) -> list:
    return x if isinstance(x, list) else [x]


# ------------------------------------------------------------------ the checks
def check_gradcheck(name, i, rng, tmp_path=None):
    """float64 central differences: the input gradient(s) (not for integer inputs) and every
    parameter gradient, with gradcheck's tolerances (or the case's ``atol``/``rtol``)."""
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


def check_config_round_trip(name, i, rng=None, tmp_path=None):
    """get_config is JSON-safe and rebuilds an equal layer; repr is ``Name(...)`` and survives."""
    layer, _, _ = build_case(name, i)
    config = layer.get_config()
    json.dumps(config)  # JSON-safe
    twin = type(layer)(**config)
    assert twin.get_config() == config
    text = repr(layer)
    assert text.startswith(type(layer).__name__ + "(") and repr(twin) == text


def check_output_shape_and_dtype(name, i, rng, tmp_path=None, *, dtype):
    """Forward gives compute_output_shape and keeps ``dtype``; backward's input gradients and
    every parameter gradient have their array's shape and dtype."""
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


def check_backward_overwrites_grads(name, i, rng, tmp_path=None):
    """Two identical passes give identical gradients: backward overwrites, never accumulates."""
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


def check_save_load(name, i, rng, tmp_path):
    """save_model -> load_model: same class, config and arrays, bit-identical predictions."""
    _, shape, kwargs = LAYER_CASES[name][i]
    model = model_for_case(name, i, seed=3)
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


def check_param_shapes(name, i, rng=None, tmp_path=None):
    """The dry run of the layer's declarations (``param_shapes``, no allocation) gives exactly
    the arrays build creates, so a model file's size is checked before building (scratchnn.io)."""
    make, shape, _ = LAYER_CASES[name][i]
    layer = make()
    shape = [tuple(s) for s in shape] if isinstance(shape, list) else tuple(shape)
    implied = layer.param_shapes(shape)
    assert not layer.params and not layer.buffers, "the dry run allocated arrays"
    layer.build(shape, np.random.default_rng(0))
    built = {k: v.shape for k, v in layer.all_arrays().items()}
    assert {k: tuple(v) for k, v in implied.items()} == built


def check_device_seam(name, i, rng, tmp_path=None):
    """On the 'strict' device (tests/device_seam.py: arrays that raise when they meet a host
    array) forward and backward stay on the device and equal the CPU's bit for bit."""
    _, shape, kwargs = LAYER_CASES[name][i]
    training = kwargs.get("training", False)
    xs = [a.astype(np.float64) if a.dtype.kind in "iu" else a
          for a in _each(make_input(shape, kwargs, rng, batch=4))]
    results = {}
    for device in ("cpu", "strict"):
        model = model_for_case(name, i, seed=3, dtype="float64", device=device)
        for layer in model.layers:
            layer.input_grad_required = True
        dev = model.device
        arg = [dev.put(a) for a in xs]
        arg = arg if len(arg) > 1 else arg[0]
        y = model.forward(arg, training=training)
        dy = dev.put(np.random.default_rng(1).standard_normal(y.shape))
        dx = model.backward(dy)
        if device == "strict":
            assert isinstance(y, StrictArray), f"{name} forward left the device"
        grads = {k: np.array(dev.get(g)) for k, g in
                 ((key, g) for key, _, g in model.parameters())}
        dxs = dx if isinstance(dx, list) else [dx]
        results[device] = (np.array(dev.get(y)), [np.array(dev.get(d)) for d in dxs if d is not None], grads)
    cpu, dev = results["cpu"], results["strict"]
    np.testing.assert_array_equal(dev[0], cpu[0])
    for a, b in zip(dev[1], cpu[1]):
        np.testing.assert_array_equal(a, b)
    for k in cpu[2]:
        np.testing.assert_array_equal(dev[2][k], cpu[2][k])


def check_torch_twin(name, i, rng, tmp_path=None):
    """float64 forward and backward with a random upstream gradient against torch autograd on
    the layer's twin (tests/torch_twins.py): the output, the input gradient(s) and every
    parameter gradient, within 1e-8 (tests/reference/torch_helpers.compare)."""
    pytest.importorskip("torch")
    from tests.reference.torch_helpers import compare, float64_torch, tt
    from tests.torch_twins import NO_TWIN, TORCH_TWINS

    if name not in TORCH_TWINS:
        pytest.skip(f"{name} has no torch twin: {NO_TWIN[name]}")
    factory, shape, kwargs = LAYER_CASES[name][i]
    layer = factory()
    multi = isinstance(shape, list)
    layer.build(shape, np.random.default_rng(7), "float64")
    for buf in layer.all_buffers().values():  # running statistics away from their 0/1 start
        buf[...] = rng.uniform(0.5, 1.5, buf.shape)
    # Random-mask layers are compared in inference mode (their twin is the identity).
    training = kwargs.get("training", False) and name not in ("Dropout", "SpatialDropout")
    xs = _each(make_input(shape, kwargs, rng))
    y = layer.forward(xs if multi else xs[0], training=training)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    dxs = dx if multi else [dx]
    with float64_torch():
        forward, grads = TORCH_TWINS[name](layer)
        txs = [tt(x, requires_grad=x.dtype.kind == "f") for x in xs]
        yt = forward(*txs, training=training) if training else forward(*txs)
        (yt * tt(dy)).sum().backward()
        theirs = grads()
    compare(f"{name} forward", y, yt)
    for k, (ours_dx, tx) in enumerate(zip(dxs, txs)):
        if tx.requires_grad:
            compare(f"{name} dx[{k}]", ours_dx, tx.grad)
    ours = layer.all_grads()
    assert set(theirs) == set(ours), f"{name}: twin maps {sorted(theirs)}, layer has {sorted(ours)}"
    for key in ours:
        compare(f"{name} d{key}", ours[key], theirs[key])


def check_onnx_case(name, case, tmp_path):
    """The layer alone in a model, exported: a valid ONNX file (full check) with a dynamic batch
    dimension "N", whose onnxruntime output matches ``model.predict`` on 1, 3 and 17 samples
    (tests/onnx/onnx_cases.measure). ``case`` is a (factory, shape, options) tuple, so that
    tests/onnx also runs its extra settings through this check."""
    pytest.importorskip("onnx.checker")  # a submodule first: "onnx" alone could be a folder
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import scratchnn.onnx as sno
    from scratchnn.onnx.registry import NotExportable
    from tests.onnx.onnx_cases import measure, model_for_layer

    if isinstance(sno.EXPORTERS.get(name), NotExportable):
        pytest.skip(f"{name} is not exportable: {sno.EXPORTERS[name].reason}")
    model = model_for_layer(case)
    path = tmp_path / f"{name}.onnx"
    sno.export(model, path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    n_in = len(model.inputs)
    assert [i.name for i in proto.graph.input] == (["input"] if n_in == 1 else [f"input_{k}" for k in range(n_in)])
    assert [o.name for o in proto.graph.output] == ["output"]
    for inp, t in zip(proto.graph.input, model.inputs):
        dims = inp.type.tensor_type.shape.dim
        assert dims[0].dim_param == "N"
        assert [d.dim_value for d in dims[1:]] == list(t.shape)
    _, shape, kwargs = case
    measure(model, path, shape, kwargs)


def check_onnx(name, i, rng, tmp_path):
    check_onnx_case(name, LAYER_CASES[name][i], tmp_path)


def applies(check: str, name: str) -> bool:
    """Whether ``check`` runs on layer ``name``: all do, except the torch comparison for a layer
    whose twin is replaced by a stated reason (torch_twins.NO_TWIN) and the ONNX comparison for a
    layer marked not exportable (both reasons are required by completeness tests)."""
    if check == "torch":
        from tests.torch_twins import TORCH_TWINS
        return name in TORCH_TWINS
    if check == "onnx":
        import scratchnn.onnx as sno
        from scratchnn.onnx.registry import NotExportable
        return not isinstance(sno.EXPORTERS.get(name), NotExportable)
    return True


#: check name -> function(name, i, rng, tmp_path); every one runs on every case
CHECKS = {
    "gradcheck": check_gradcheck,
    "config": check_config_round_trip,
    "float32": partial(check_output_shape_and_dtype, dtype="float32"),
    "float64": partial(check_output_shape_and_dtype, dtype="float64"),
    "grads-overwrite": check_backward_overwrites_grads,
    "save-load": check_save_load,
    "param-shapes": check_param_shapes,
    "device": check_device_seam,
    "torch": check_torch_twin,
    "onnx": check_onnx,
}
