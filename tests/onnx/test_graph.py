"""ONNX export of graph models (Add, Concat, Mul, a shared layer, several inputs and outputs),
checked against model.predict with onnxruntime."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from scratchnn.onnx import run_onnx  # noqa: E402

L = sn.layers


def _residual_cnn():
    x = sn.Input((1, 8, 8))
    h = L.ReLU()(L.Conv2D(1, 4, 3, padding="same")(x))
    r = L.ReLU()(L.BatchNorm(4)(L.Conv2D(4, 4, 3, padding="same")(h)))
    h = L.ResidualBlock(4)(L.Add()([h, r]))
    y = L.Dense(4, 3)(L.GlobalAvgPool2D()(h))
    return sn.Model(x, y, seed=0)


def _two_in_two_out():
    a, b = sn.Input((5,)), sn.Input((2, 3))
    shared = L.Dense(6, 6)
    fb = L.Flatten()(b)
    ha = L.Tanh()(L.Dense(5, 6)(a))
    joined = L.Concatenate()([shared(ha), shared(fb)])
    gate = L.Multiply()([ha, L.Sigmoid()(fb), shared(fb)])
    return sn.Model([a, b], [L.Dense(12, 2)(joined), gate], seed=1)


@pytest.mark.parametrize("make", [_residual_cnn, _two_in_two_out], ids=["residual-cnn", "two-in-two-out"])
def test_graph_model_matches_onnxruntime(make, tmp_path, rng):
    model = make()
    for layer in model.layers:  # non-trivial running statistics
        for buf in layer.all_buffers().values():
            buf[...] = rng.uniform(0.5, 1.5, buf.shape)
    path = tmp_path / "g.onnx"
    proto = model.export_onnx(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    n_in, n_out = len(model.inputs), len(model.outputs)
    assert [i.name for i in proto.graph.input] == (["input"] if n_in == 1 else [f"input_{k}" for k in range(n_in)])
    assert [o.name for o in proto.graph.output] == (["output"] if n_out == 1 else [f"output_{k}" for k in range(n_out)])
    for batch in (1, 7):
        xs = [rng.standard_normal((batch,) + t.shape).astype(np.float32) for t in model.inputs]
        x = xs[0] if n_in == 1 else xs
        expected = model.predict(x)
        got = run_onnx(path, x)
        for e, g in zip(expected if n_out > 1 else [expected], got if n_out > 1 else [got]):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
