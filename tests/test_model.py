"""Sequential end to end: fit/evaluate/predict/summary/History, validation, callbacks in a
real fit, dtypes (no silent float64), determinism, and save -> load -> identical continuation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn as sn

L = sn.layers


def blobs(rng, n=120, classes=3, dim=4):
    centers = 3 * rng.standard_normal((classes, dim))
    labels = rng.integers(0, classes, n)
    x = centers[labels] + 0.5 * rng.standard_normal((n, dim))
    return x.astype(np.float32), labels


def mlp(seed=0, dtype="float32", dropout=0.0, classes=3):
    layers = [L.Dense(4, 16), L.ReLU()]
    if dropout:
        layers.append(L.Dropout(dropout))
    layers += [L.Dense(16, classes)]
    return sn.Sequential(layers, seed=seed, dtype=dtype)


# ------------------------------------------------------------- the basics
def test_fit_evaluate_predict_history(rng):
    x, y = blobs(rng)
    model = mlp()
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=0.01),
                  metrics=["accuracy", "top2_accuracy", "f1"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history is model.history
    h = history.history
    assert set(h) == {"loss", "accuracy", "top2_accuracy", "f1", "lr"}
    assert len(h["loss"]) == 15 and history.epoch == list(range(15))
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    result = model.evaluate(x, y)
    assert set(result) == {"loss", "accuracy", "top2_accuracy", "f1"}
    assert result["accuracy"] > 0.9 and result["top2_accuracy"] >= result["accuracy"]
    probs = model.predict(x)
    assert probs.shape == (120, 3) and probs.dtype == np.float32
    assert result["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == y))
    assert result["loss"] == pytest.approx(sn.losses.SoftmaxCrossEntropy()(probs, y), rel=1e-6)
    # predict in small batches gives the same numbers as one big batch
    np.testing.assert_allclose(model.predict(x, batch_size=7), probs, rtol=1e-6, atol=1e-6)
    # fit continues: epochs are numbered on
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert model.epochs_trained == 17 and len(model.history.history["loss"]) == 17


def test_evaluate_verbose_and_one_hot_targets(rng, capsys):
    x, y = blobs(rng, n=30)
    model = mlp()
    model.compile(loss="crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, np.eye(3, dtype=np.float32)[y], epochs=2, verbose=0)
    a = model.evaluate(x, y)
    b = model.evaluate(x, np.eye(3)[y], verbose=1)
    assert a["accuracy"] == b["accuracy"] and a["loss"] == pytest.approx(b["loss"], rel=1e-6)
    assert capsys.readouterr().out.startswith("loss: ")


def test_regression_with_mse_and_mae_metric(rng):
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    model = sn.Sequential([L.Dense(3, 1)], seed=0)
    model.compile(loss="mse", optimizer=sn.optimizers.SGD(lr=0.1), metrics=["mae"])
    model.fit(x, y, epochs=60, batch_size=16, verbose=0)
    assert model.evaluate(x, y)["mae"] < 1e-2
    np.testing.assert_allclose(model.layers[0].params["W"].ravel(), [1, -2, 0.5], atol=1e-2)


def test_summary_table(capsys):
    model = sn.Sequential([L.Dense(784, 256), L.ReLU(), L.Dense(256, 10, name="logits")], seed=0)
    text = model.summary()  # builds from Dense.in_features
    assert capsys.readouterr().out.strip() == text.strip()
    assert "(N, 256)" in text and "(N, 10)" in text and "200,960" in text and "2,570" in text
    assert "Total params: 203,530" in text and "dtype float32" in text and "(logits)" in text
    assert model.count_params() == 203_530
    assert "Dense(in_features=784" in repr(model)


def test_summary_needs_a_shape_for_layers_without_one():
    model = sn.Sequential([L.ReLU()])
    with pytest.raises(sn.NotBuiltError, match="summary needs the input shape"):
        model.summary(print_fn=None)
    model.build((3,))
    assert "(N, 3)" in model.summary(print_fn=None)


# ------------------------------------------------------------ validation
def test_validation_split_takes_the_last_samples(rng):
    x, y = blobs(rng, n=50)
    a, b = mlp(seed=5), mlp(seed=5)
    for m in (a, b):
        m.compile(loss="crossentropy", optimizer=sn.optimizers.SGD(lr=0.05), metrics=["accuracy"])
    ha = a.fit(x, y, epochs=3, batch_size=8, validation_split=0.2, verbose=0)
    hb = b.fit(x[:40], y[:40], epochs=3, batch_size=8, validation_data=(x[40:], y[40:]), verbose=0)
    assert set(ha.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert ha.history == hb.history
    np.testing.assert_array_equal(a.layers[0].params["W"], b.layers[0].params["W"])
    assert ha.history["val_loss"][-1] == pytest.approx(a.evaluate(x[40:], y[40:])["loss"], rel=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": -1}, r"fit: epochs must be an integer >= 0\. Received: epochs=-1"),
    ({"epochs": 1.5}, r"Received: epochs=1\.5"),
    ({"batch_size": 0}, r"fit: batch_size must be a positive integer\. Received: batch_size=0"),
    ({"validation_split": 1.0}, r"fit: validation_split must be in \[0, 1\)\. Received: validation_split=1\.0"),
    ({"validation_split": 0.01}, r"validation_split=0\.01 leaves 0 of 10 samples"),
    ({"validation_data": ([1, 2],)}, r"validation_data must be a pair"),
])
def test_fit_argument_errors(kwargs, match, rng):
    model = mlp()
    model.compile(loss="crossentropy", optimizer="sgd")
    with pytest.raises(sn.ConfigError, match=match):
        model.fit(rng.standard_normal((10, 4)), rng.integers(0, 3, 10), verbose=0, **kwargs)


def test_errors_before_compile_and_bad_layers(rng):
    model = mlp()
    with pytest.raises(sn.NotBuiltError, match=r"fit needs a loss and an optimizer: call model\.compile"):
        model.fit(rng.standard_normal((4, 4)), np.zeros(4, dtype=int), verbose=0)
    with pytest.raises(sn.NotBuiltError, match="evaluate needs a loss"):
        model.evaluate(rng.standard_normal((4, 4)), np.zeros(4, dtype=int))
    with pytest.raises(sn.ConfigError, match=r"expects a Layer; got type\. Did you forget the parentheses"):
        sn.Sequential([L.ReLU])
    with pytest.raises(sn.ConfigError, match="the model has no layers"):
        sn.Sequential([]).build((3,))
    with pytest.raises(sn.ConfigError, match=r"seed must be a non-negative integer or None\. Received: seed=-1"):
        sn.Sequential([L.ReLU()], seed=-1)
    model.build((4,))
    with pytest.raises(sn.ConfigError, match="already built"):
        model.add(L.ReLU())
    with pytest.raises(sn.ConfigError, match="unknown metric"):
        model.compile(metrics=["auc"])


def test_wrong_input_shape_names_the_layer(rng):
    model = mlp()
    model.compile(loss="crossentropy", optimizer="sgd")
    model.build((4,))
    with pytest.raises(sn.ShapeError, match=r"Dense \(layer 1 of 3\) expected input \(N, \.\.\., 4\), got \(2, 5\)\. "
                                            r"The last axis must hold the 4 input features"):
        model.predict(rng.standard_normal((2, 5)))


# ------------------------------------------------- callbacks in a real fit
def test_early_stopping_restores_best_weights_in_fit(rng):
    """Validation targets are the negation of the training targets, so val_loss gets worse
    after the first epoch: training must stop after `patience` epochs and end with epoch 0's weights."""
    x = rng.standard_normal((32, 3)).astype(np.float32)
    w = np.array([[1.0], [2.0], [-1.0]], dtype=np.float32)
    model = sn.Sequential([L.Dense(3, 1)], seed=0)
    model.compile(loss="mse", optimizer=sn.optimizers.SGD(lr=0.1))
    snapshots = []

    class Snapshot(sn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(model.get_weights())

    stopper = sn.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, x @ w, epochs=20, batch_size=8, verbose=0, validation_data=(x, -(x @ w)),
                        callbacks=[Snapshot(), stopper])
    val = history.history["val_loss"]
    assert len(val) == 3 and val[0] < val[1] < val[2]
    assert stopper.best_epoch == 0 and stopper.stopped_epoch == 2 and model.epochs_trained == 3
    np.testing.assert_array_equal(model.layers[0].params["W"], snapshots[0][0]["W"])
    assert model.evaluate(x, -(x @ w))["loss"] == pytest.approx(val[0], rel=1e-6)


# ------------------------------------------------------------------ dtypes
OPTIMIZERS = [lambda: sn.optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
              lambda: sn.optimizers.AdaGrad(lr=0.01), lambda: sn.optimizers.RMSProp(lr=0.01, momentum=0.5),
              lambda: sn.optimizers.Adam(lr=0.01, weight_decay=1e-4, clip_norm=1.0),
              lambda: sn.optimizers.AdamW(lr=sn.schedules.CosineDecay(0.01, 10), l1=1e-5)]


def every_layer_model(seed, dtype):
    return sn.Sequential([L.Dense(4, 8), L.ReLU(), L.Dense(8, 8), L.Tanh(), L.Dropout(0.2), L.Dense(8, 8),
                          L.GELU(), L.Dense(8, 8), L.ELU(), L.Dense(8, 8), L.LeakyReLU(), L.Dense(8, 8),
                          L.Softplus(), L.Dense(8, 8), L.Sigmoid(), L.Dense(8, 8, use_bias=False), L.GELU("none"),
                          L.Identity(), L.Dense(8, 3)], seed=seed, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make_opt", OPTIMIZERS, ids=["sgd", "adagrad", "rmsprop", "adam", "adamw"])
@pytest.mark.parametrize("loss", ["crossentropy", "mse"])
def test_dtype_is_kept_everywhere(dtype, make_opt, loss, rng):
    """No silent promotion: every layer output, gradient, parameter and optimizer state keeps the model dtype."""
    x = rng.standard_normal((10, 4))  # float64 input on purpose: the model converts it
    y = rng.integers(0, 3, 10) if loss == "crossentropy" else rng.standard_normal((10, 3))  # float64 targets
    model = every_layer_model(0, dtype)
    model.compile(loss=loss, optimizer=make_opt())
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    want = np.dtype(dtype)
    xb = x[:4].astype(dtype)
    for layer in model.layers:
        out = layer(xb, training=True)
        assert out.dtype == want, f"{layer.describe()} output {out.dtype}"
        xb = out
    loss_obj = model.loss
    loss_obj.forward(xb, model.loss.prepare_targets(y[:4], want))
    dy = loss_obj.backward()
    assert dy.dtype == want, f"loss gradient {dy.dtype}"
    for layer in reversed(model.layers):
        dy = layer.backward(dy)
        if dy is not None:
            assert dy.dtype == want, f"{layer.describe()} dx {dy.dtype}"
        for k, g in layer.grads.items():
            assert g.dtype == want, f"{layer.describe()} grad {k} {g.dtype}"
    for key, p, _ in model.parameters():
        assert p.dtype == want, f"param {key} {p.dtype}"
        for slot, value in model.optimizer.state.get(key, {}).items():
            assert value.dtype == want, f"optimizer state {key}/{slot} {value.dtype}"
    assert model.predict(x).dtype == want


def test_float32_is_the_default_and_float64_on_request(rng):
    assert mlp().dtype == np.float32
    model = mlp(dtype="float64")
    model.build((4,))
    assert all(p.dtype == np.float64 for _, p, _ in model.parameters())
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'float64'\. Received: dtype='float16'"):
        sn.Sequential([L.ReLU()], dtype="float16")


# ------------------------------------------------------------ determinism
def train(seed, x, y, epochs=3, dtype="float32"):
    model = mlp(seed=seed, dtype=dtype, dropout=0.3)
    model.compile(loss="crossentropy", optimizer=sn.optimizers.Adam(lr=0.01), metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, validation_split=0.25)
    return model


def test_same_seed_gives_bit_identical_weights(rng):
    x, y = blobs(rng)
    a, b, c = train(7, x, y), train(7, x, y), train(8, x, y)
    for (ka, pa, _), (_, pb, _), (_, pc, _) in zip(a.parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(pa, pb, err_msg=ka)
        assert not np.array_equal(pa, pc), f"seed 8 gave the same {ka} as seed 7"
    assert a.history.history == b.history.history


def test_fresh_seed_is_recorded():
    model = sn.Sequential([L.Dense(2, 2)])
    assert isinstance(model.seed, int) and model.seed >= 0
    twin = sn.Sequential([L.Dense(2, 2)], seed=model.seed)
    model.build((2,))
    twin.build((2,))
    np.testing.assert_array_equal(model.layers[0].params["W"], twin.layers[0].params["W"])


# ------------------------------------------------------------- save / load
@pytest.mark.parametrize("make_opt", OPTIMIZERS, ids=["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_save_load_then_continue_equals_uninterrupted(make_opt, rng, tmp_path):
    """Optimizer state, iteration count, epoch count and the random generator (shuffling,
    dropout) are saved: 2 epochs + save + load + 2 epochs == 4 epochs, bit for bit."""
    x, y = blobs(rng, n=48)

    def fresh():
        model = mlp(seed=11, dropout=0.25)
        model.compile(loss="crossentropy", optimizer=make_opt(), metrics=["accuracy"])
        return model

    straight = fresh()
    straight.fit(x, y, epochs=4, batch_size=8, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "half.npz"
    first.save(path)
    resumed = sn.load_model(path)
    np.testing.assert_array_equal(resumed.predict(x), first.predict(x))
    assert resumed.epochs_trained == 2 and resumed.optimizer.iterations == first.optimizer.iterations
    assert type(resumed.optimizer) is type(first.optimizer)
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for (k, p, _), (_, q, _) in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(p, q, err_msg=k)
    assert resumed.history.history == straight.history.history
    np.testing.assert_array_equal(resumed.predict(x), straight.predict(x))


def test_save_load_float64_and_metadata(rng, tmp_path):
    x, y = blobs(rng, n=20)
    model = train(3, x.astype(np.float64), y, epochs=1, dtype="float64")
    model.metadata["classes"] = ["a", "b", "c"]
    sn.save_model(model, tmp_path / "m.npz")
    loaded = sn.load_model(tmp_path / "m.npz")
    assert loaded.dtype == np.float64 and loaded.metadata == {"classes": ["a", "b", "c"]}
    assert loaded.predict(x).dtype == np.float64
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    uncompiled = sn.load_model(tmp_path / "m.npz", compile=False)
    assert uncompiled.optimizer is None
    np.testing.assert_array_equal(uncompiled.predict(x), model.predict(x))


def test_set_weights_checks_shapes():
    model = mlp()
    model.build((4,))
    weights = model.get_weights()
    weights[0]["W"] = np.zeros((3, 3))
    with pytest.raises(sn.ShapeError, match=r"weight 'W' has shape \(4, 16\); got \(3, 3\)"):
        model.set_weights(weights)
    with pytest.raises(sn.ShapeError, match="the model has 3 layers; got weights for 1"):
        model.set_weights(weights[:1])


def test_get_weights_includes_buffers_and_restores_them():
    model = sn.Sequential([sn.layers.Dense(4, 3), sn.layers.BatchNorm(3)], seed=0)
    model.build((4,))
    saved = model.get_weights()
    assert set(saved[1]) == set(model.layers[1].params) | set(model.layers[1].buffers)
    model.forward(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32), training=True)
    name = sorted(model.layers[1].buffers)[0]
    assert not np.array_equal(model.layers[1].buffers[name], saved[1][name])  # training moved it
    model.set_weights(saved)
    assert np.array_equal(model.layers[1].buffers[name], saved[1][name])


# ------------------------------------------------------------ doc examples
CORE_MODULES = ["scratchnn.model", "scratchnn.article", "scratchnn.gradcheck", "scratchnn.losses",
                "scratchnn.optimizers", "scratchnn.schedules", "scratchnn.metrics", "scratchnn.layers.dense",
                "scratchnn.layers.dropout", "scratchnn.layers.activations", "scratchnn.functional.activations",
                "scratchnn.initializers", "scratchnn.callbacks"]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module} failed"


def test_early_stopping_restores_batchnorm_statistics_too(rng):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    w = np.array([[1.0], [2.0], [-1.0]], dtype=np.float32)
    model = sn.Sequential([L.Dense(3, 4), L.BatchNorm(4), L.Dense(4, 1)], seed=0)
    model.compile(loss="mse", optimizer=sn.optimizers.SGD(lr=0.05))
    snapshots = []

    class Snapshot(sn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append({k: v.copy() for k, v in model.layers[1].buffers.items()})

    stopper = sn.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(x, x @ w, epochs=20, batch_size=8, verbose=0, validation_data=(x, -(x @ w)),
              callbacks=[Snapshot(), stopper])
    best = snapshots[stopper.best_epoch]
    assert stopper.best_epoch < len(snapshots) - 1
    assert not np.array_equal(best["running_mean"], snapshots[-1]["running_mean"])
    for k, v in best.items():
        np.testing.assert_array_equal(model.layers[1].buffers[k], v, err_msg=k)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.sampled_from(["float32", "float64"]), st.integers(0, 2**32 - 1),
       st.sampled_from(["relu", "tanh", "gelu", "softmax", "elu"]))
def test_save_load_is_the_identity(d_in, d_hidden, dtype, seed, activation):
    import tempfile
    from pathlib import Path

    model = sn.Sequential([L.Dense(d_in, d_hidden), L.get_activation(activation), L.Dense(d_hidden, 2)],
                          seed=seed, dtype=dtype)
    model.build((d_in,))
    x = np.random.default_rng(seed).standard_normal((3, d_in))
    with tempfile.TemporaryDirectory() as tmp:
        sn.save_model(model, Path(tmp) / "m.npz")
        loaded = sn.load_model(Path(tmp) / "m.npz")
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_integer_one_hot_targets_train_like_float_one_hot(rng):
    x, y = blobs(rng, n=24)
    results = []
    for targets in (np.eye(3, dtype=np.int64)[y], np.eye(3, dtype=np.float32)[y], y):
        model = mlp(seed=1)
        model.compile(loss="crossentropy", optimizer="adam", metrics=["accuracy"])
        history = model.fit(x, targets, epochs=2, batch_size=8, verbose=0)
        results.append((history.history["loss"], model.evaluate(x, targets)))
    assert results[0] == results[1]
    np.testing.assert_allclose(results[0][0], results[2][0], rtol=1e-6)


def test_binary_metrics_threshold_logits_at_zero(rng):
    x = rng.standard_normal((200, 2))
    y = (x[:, :1] + 0.3 * rng.standard_normal((200, 1)) > 0).astype(np.float32)
    for loss, to_class in (("bce_with_logits", lambda out: out > 0), ("bce", lambda out: out > 0.5)):
        layers = [L.Dense(2, 1)] + ([L.Sigmoid()] if loss == "bce" else [])
        model = sn.Sequential(layers, seed=0)
        model.compile(loss=loss, optimizer=sn.optimizers.Adam(lr=0.05), metrics=["accuracy", "f1"])
        history = model.fit(x, y, epochs=5, batch_size=50, verbose=0, validation_data=(x, y))
        out = model.predict(x)
        assert history.history["val_accuracy"][-1] == pytest.approx(np.mean(to_class(out) == y)), loss
        assert model.evaluate(x, y)["accuracy"] == pytest.approx(np.mean(to_class(out) == y)), loss
