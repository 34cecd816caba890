"""Unit tests of the convolutional layers: shapes, errors, dtypes, ties, BatchNorm state,
spatial dropout, save/load. (Gradients: the registry gradcheck; values: tests/reference.)"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn as sn
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.functional import conv as F

L = sn.layers


def built(layer, shape, dtype="float32"):
    layer.build(shape, np.random.default_rng(0), dtype)
    return layer


# ------------------------------------------------------------------ shapes
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2))
def test_conv_output_size_formula_matches_the_computed_output(size, k, s, p, d):
    if size + 2 * p < d * (k - 1) + 1:
        with pytest.raises(ShapeError, match="kernel spans"):
            built(L.Conv2D(1, 2, k, stride=s, padding=p, dilation=d), (1, size, size))
        return
    layer = built(L.Conv2D(1, 2, k, stride=s, padding=p, dilation=d), (1, size, size))
    y = layer(np.zeros((1, 1, size, size), np.float32))
    expected = (size + 2 * p - d * (k - 1) - 1) // s + 1
    assert y.shape == (1, 2, expected, expected) == (1,) + layer.output_shape


@pytest.mark.parametrize("k,d", [(3, 1), (4, 1), (3, 2), (2, 3)])
def test_same_padding_keeps_the_size(k, d):
    layer = built(L.Conv2D(2, 3, k, padding="same", dilation=d), (2, 7, 6))
    assert layer(np.ones((2, 2, 7, 6), np.float32)).shape == (2, 3, 7, 6)


def test_conv_weight_layout_is_pytorchs_and_he_init():
    layer = built(L.Conv2D(3, 8, (2, 5)), (3, 9, 9))
    assert layer.params["W"].shape == (8, 3, 2, 5) and layer.params["b"].shape == (8,)
    limit = np.sqrt(6 / (3 * 2 * 5))
    assert np.abs(layer.params["W"]).max() <= limit and np.abs(layer.params["W"]).max() > 0.8 * limit
    assert "b" not in built(L.Conv1D(2, 4, 3, use_bias=False), (2, 9)).params


def test_float32_end_to_end():
    model = sn.Sequential([L.Conv2D(1, 4, 3, padding="same"), L.BatchNorm(4), L.ReLU(), L.MaxPool2D(2),
                           L.SpatialDropout(0.2), L.Conv2D(4, 4, 3), L.AvgPool2D(2), L.GlobalAvgPool2D(),
                           L.Dense(4, 3)], seed=0)
    x = np.random.default_rng(0).random((5, 1, 12, 12)).astype(np.float32)
    model.build(x.shape[1:])
    h = x
    for layer in model.layers:
        h = layer(h, training=True)
        assert h.dtype == np.float32, f"{type(layer).__name__} returned {h.dtype}"
    d = np.ones_like(h)
    for layer in reversed(model.layers):
        d = layer.backward(d)
        assert d is None or d.dtype == np.float32, f"{type(layer).__name__} backward returned {d.dtype}"
        assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_conv_result_does_not_depend_on_the_input_memory_layout():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 6, 5)).astype(np.float32)
    layer = built(L.Conv2D(4, 2, 3, padding=1, stride=2), (4, 6, 5))
    y1 = np.array(layer(x))
    dx1 = np.array(layer.backward(np.ones_like(y1)))
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(layer(channels_last), y1)
    np.testing.assert_array_equal(layer.backward(np.ones(y1.shape, np.float32)), dx1)


# ------------------------------------------------------------------ errors
def test_nhwc_input_gets_an_error_with_the_fix():
    model = sn.Sequential([L.Conv2D(1, 8, 3), L.ReLU(), L.Flatten(), L.Dense(8 * 26 * 26, 2)], seed=0)
    with pytest.raises(ShapeError, match=r"Conv2D \(layer 1 of 4\) expected per-sample input \(1, H, W\), "
                                         r"got \(28, 28, 1\).*NCHW.*x.transpose\(0, 3, 1, 2\)"):
        model.predict(np.zeros((2, 28, 28, 1), np.float32))
    layer = built(L.Conv2D(3, 4, 3), (3, 8, 8))
    with pytest.raises(ShapeError, match=r"expected input \(N, 3, H, W\), got \(2, 8, 8, 3\)\. Images are NCHW"):
        layer(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ShapeError, match=r"x\[:, None\]"):
        built(L.Conv2D(1, 4, 3), (1, 8, 8))(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ShapeError, match=r"transpose\(0, 2, 1\)"):
        built(L.Conv1D(4, 2, 3), (4, 10))(np.zeros((2, 10, 4), np.float32))


def test_kernel_larger_than_the_padded_input_is_a_clear_error():
    with pytest.raises(ShapeError, match=r"Conv2D.*kernel spans 5 along H.*padded input has only 4"):
        built(L.Conv2D(1, 2, 5, padding=1), (1, 2, 9))
    model = sn.Sequential([L.Conv2D(1, 2, 3), L.MaxPool2D(2), L.Conv2D(2, 2, 5)], seed=0)
    with pytest.raises(ShapeError, match=r"Conv2D \(layer 3 of 3\).*kernel spans 5"):
        model.build((1, 10, 10))
    with pytest.raises(ShapeError, match="MaxPool2D.*kernel spans 3"):
        built(L.MaxPool2D(3), (1, 2, 2))


@pytest.mark.parametrize("make,match", [
    (lambda: L.Conv2D(0, 2, 3), "in_channels must be a positive integer. Received: in_channels=0"),
    (lambda: L.Conv2D(1, 2, (3, 3, 3)), "kernel_size must be"),
    (lambda: L.Conv2D(1, 2, 3, padding="full"), "padding must be 'valid', 'same'"),
    (lambda: L.Conv2D(1, 2, 3, stride=2, padding="same"), "padding='same' needs stride 1"),
    (lambda: L.Conv2D(1, 2, 3, padding=-1), "padding must be an integer >= 0"),
    (lambda: L.Conv2D(1, 2, 3, dilation=0), "dilation must be a positive integer"),
    (lambda: L.Conv2D(1, 2, 3, kernel_initializer="nope"), "unknown initializer"),
    (lambda: L.MaxPool2D(2, padding=2), "padding must be at most half the kernel size"),
    (lambda: L.BatchNorm(3, momentum=0), "momentum must be in \\(0, 1\\]"),
    (lambda: L.BatchNorm(3, eps=-1), "eps must be > 0"),
    (lambda: L.Reshape((2, -1, -1)), "at most one -1"),
    (lambda: L.SpatialDropout(1.0), "rate must be"),
])
def test_config_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_reshape_size_mismatch():
    with pytest.raises(ShapeError, match=r"cannot reshape a sample of shape \(2, 3\) \(6 values\) to \(4,\)"):
        built(L.Reshape((4,)), (2, 3))
    assert built(L.Reshape((3, -1)), (2, 3, 2)).output_shape == (3, 4)


def test_dense_after_conv_without_flatten_hints_flatten():
    model = sn.Sequential([L.Conv2D(1, 2, 3), L.Dense(2 * 4 * 4, 3)], seed=0)
    with pytest.raises(ShapeError, match="Add a Flatten"):
        model.build((1, 6, 6))


# -------------------------------------------------------------- max pooling
def test_maxpool_tie_gradient_goes_to_the_first_maximum_only():
    x = np.zeros((1, 1, 4, 6), np.float32)  # blank background: every window is a tie
    x[0, 0, 1, 1] = 2.0
    x[0, 0, 0, 2] = x[0, 0, 1, 3] = 1.0  # a tie between two non-zero values
    for layer in (built(L.MaxPool2D(2), (1, 4, 6)), built(L.MaxPool2D(2, stride=2, padding=1), (1, 4, 6))):
        y = layer(x)
        dx = layer.backward(np.ones_like(y))
        assert dx.sum() == y.size, "each window's gradient is counted exactly once"
        # a general-path (padded) window and the fast path both pick the first maximum
    fast = built(L.MaxPool2D(2), (1, 4, 6))
    fast(x)
    dx = fast.backward(np.ones((1, 1, 2, 3), np.float32))
    expected = np.zeros((4, 6), np.float32)
    expected[1, 1] = expected[0, 2] = expected[2, 0] = expected[2, 2] = expected[2, 4] = expected[0, 4] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_maxpool_fast_and_general_paths_agree(rng, monkeypatch):
    """The 2x2 reshape fast path and the general window path: same outputs and gradients."""
    x = rng.integers(0, 3, (9, 2, 6, 8)).astype(np.float32)  # many ties
    dy = rng.standard_normal((9, 2, 3, 4)).astype(np.float32)
    y_fast, cache = F.maxpool2d_forward(x, (2, 2), (2, 2))
    dx_fast = F.maxpool2d_backward(dy, cache)
    assert cache[0] == "fast"
    monkeypatch.setattr(F, "_fast_2x2", lambda *args: False)
    y_gen, cache = F.maxpool2d_forward(x, (2, 2), (2, 2))
    assert cache[0] == "general"
    np.testing.assert_array_equal(y_fast, y_gen)
    np.testing.assert_array_equal(dx_fast, F.maxpool2d_backward(dy, cache))


# ---------------------------------------------------------------- BatchNorm
def test_batchnorm_training_normalises_and_updates_running_stats(rng):
    layer = built(L.BatchNorm(3, momentum=0.1), (3, 4, 4), "float64")
    x = rng.standard_normal((8, 3, 4, 4)) * 3 + 5
    y = layer(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    m = 8 * 16
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(layer.buffers["running_var"], 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * m / (m - 1))
    before = layer.buffers["running_mean"].copy()
    y_eval = layer(x, training=False)
    np.testing.assert_array_equal(layer.buffers["running_mean"], before)  # evaluation leaves them alone
    expected = (x - before[None, :, None, None]) / np.sqrt(layer.buffers["running_var"][None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-12)


def test_batchnorm_running_stats_are_saved(tmp_path, rng):
    model = sn.Sequential([L.Conv2D(1, 2, 3), L.BatchNorm(2), L.Flatten(), L.Dense(2 * 4 * 4, 3)], seed=0)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer="adam")
    x = rng.standard_normal((16, 1, 6, 6)).astype(np.float32)
    model.fit(x, rng.integers(0, 3, 16), epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(model.layers[1].buffers["running_var"], 1)
    model.save(tmp_path / "bn.npz")
    loaded = sn.load_model(tmp_path / "bn.npz")
    for k in ("running_mean", "running_var"):
        np.testing.assert_array_equal(loaded.layers[1].buffers[k], model.layers[1].buffers[k])
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# ------------------------------------------------------------ SpatialDropout
def test_spatial_dropout_drops_whole_channels(rng):
    layer = built(L.SpatialDropout(0.5), (16, 5, 5))
    x = np.ones((4, 16, 5, 5), np.float32)
    y = layer(x, training=True)
    per_channel = y.reshape(4, 16, 25)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2)), "a channel is kept or dropped whole"
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert L.Dropout2D is L.SpatialDropout


# --------------------------------------------------------------- whole CNN
def test_cnn_learns_a_toy_image_task_and_saves(tmp_path, rng):
    """Bright top half vs bright bottom half: the issue's architecture, scaled down."""
    n = 96
    x = rng.uniform(0, 0.2, (n, 1, 12, 12)).astype(np.float32)
    y = rng.integers(0, 2, n)
    x[y == 0, :, :6] += 0.8
    x[y == 1, :, 6:] += 0.8
    model = sn.Sequential([L.Conv2D(1, 4, 3, padding="same"), L.ReLU(), L.MaxPool2D(2),
                           L.Conv2D(4, 8, 3, padding="same"), L.ReLU(), L.MaxPool2D(2),
                           L.Flatten(), L.Dense(8 * 3 * 3, 16), L.ReLU(), L.Dense(16, 2)], seed=0)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=1e-2),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert model.evaluate(x, y)["accuracy"] > 0.95
    model.save(tmp_path / "cnn.npz")
    np.testing.assert_array_equal(sn.load_model(tmp_path / "cnn.npz").predict(x), model.predict(x))
    assert "Conv2D" in model.summary(print_fn=None)


# ----------------------------------------------------------------- threads
def test_threaded_element_wise_steps_give_identical_results(rng, monkeypatch):
    """The batch is split over threads for convolutions, ReLU and pooling; results must not change."""
    from scratchnn.layers import activations

    monkeypatch.setattr(activations, "PARALLEL_MIN_SIZE", 1)  # split the ReLU too, small as it is
    monkeypatch.setattr(F, "CHUNK_BYTES", 4096)  # convolution slices of a few samples
    x = rng.standard_normal((37, 3, 8, 8)).astype(np.float32)
    x[:, :, :4] = 0.0  # pooling ties
    layers = [built(L.Conv2D(3, 5, 3, padding="same"), (3, 8, 8)), built(L.ReLU(), (5, 8, 8)),
              built(L.MaxPool2D(2), (5, 8, 8)),
              built(L.Conv2D(5, 4, 3, stride=2, padding=1, dilation=1), (5, 4, 4))]
    outputs = []
    try:
        for threads in (1, 3):
            F.set_num_threads(threads)
            h = x
            for layer in layers:
                h = layer(h)
            d = np.ones_like(h)
            for layer in reversed(layers):
                d = layer.backward(d)
            outputs.append((np.array(h), np.array(d), layers[0].grads["W"].copy(), layers[0].grads["b"].copy()))
    finally:
        F.set_num_threads(None)
    for a, b in zip(*outputs):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        F.set_num_threads(0)


@pytest.mark.parametrize("kwargs", [{"padding": "same"}, {"stride": 2, "padding": 1},
                                    {"dilation": 2, "padding": (2, 1)}, {"use_bias": False}])
@pytest.mark.parametrize("training", [True, False])
def test_convolution_in_batch_slices_equals_one_slice(kwargs, training, rng, monkeypatch):
    """Slicing the batch (CHUNK_BYTES) changes only the order of the dW sums; an inference
    forward pass keeps no unfolded input and backward unfolds again."""
    x = rng.standard_normal((9, 3, 7, 6))
    results = []
    for chunk in (1 << 30, 64):
        monkeypatch.setattr(F, "CHUNK_BYTES", chunk)
        layer = built(L.Conv2D(3, 4, 3, **kwargs), (3, 7, 6), "float64")
        y = layer(x, training=training)
        assert (layer.cache[0] is None) == (not training)
        dx = layer.backward(np.cos(y))
        results.append((y, dx, layer.grads["W"].copy()) + ((layer.grads["b"].copy(),) if "b" in layer.grads else ()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_first_conv_layer_skips_the_input_gradient(rng):
    model = sn.Sequential([L.Conv2D(1, 2, 3), L.ReLU(), L.Flatten(),
                           L.Dense(2 * 4 * 4, 2)], seed=0)
    model.build((1, 6, 6))
    x = rng.standard_normal((3, 1, 6, 6)).astype(np.float32)
    model.forward(x)
    assert model.backward(np.ones((3, 2), np.float32)) is None
    assert np.abs(model.layers[0].grads["W"]).sum() > 0
    conv1d = sn.Sequential([L.Conv1D(2, 3, 2), L.Flatten()], seed=0)
    conv1d.build((2, 5))
    conv1d.forward(rng.standard_normal((2, 2, 5)).astype(np.float32))
    assert conv1d.backward(np.ones((2, 12), np.float32)) is None
    assert sn.gradcheck(model, x.astype(np.float64)).ok  # the check still gets dx from its own copies


def test_zoo_cnn_builds_for_any_image_size():
    from scratchnn.applications.zoo import build_model, default_training

    model = build_model("cnn", (1, 12, 16), n_classes=3, seed=0)
    assert [type(layer).__name__ for layer in model.layers][:3] == ["Conv2D", "ReLU", "MaxPool2D"]
    assert model.output_shape == (3,) and model.layers[7].in_features == 64 * 3 * 4
    assert model.predict(np.zeros((2, 1, 12, 16), np.float32)).shape == (2, 3)
    assert default_training("cnn")["epochs"] == 5
    with pytest.raises(ConfigError, match="input_shape must be"):
        build_model("cnn", (784,))


def test_zoo_resnet_is_a_residual_graph_that_trains_and_round_trips(tmp_path, rng):
    from scratchnn.applications.zoo import build_model, default_training

    model = build_model("resnet", (3, 8, 8), n_classes=4, seed=0, channels=(4, 8))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert isinstance(model, sn.Model) and "Add" in kinds and kinds.count("ResidualBlock") == 3
    assert model.output_shape == (4,) and default_training("resnet")["epochs"] == 4
    x, y = rng.standard_normal((16, 3, 8, 8)).astype(np.float32), rng.integers(0, 4, 16)
    model.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=0.01))
    before = model.evaluate(x, y)["loss"]
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert model.evaluate(x, y)["loss"] < before
    model.save(tmp_path / "r.npz")
    np.testing.assert_array_equal(sn.load_model(tmp_path / "r.npz").predict(x), model.predict(x))
