"""Playground settings: bounds, clear errors, and the code shown is the model trained (bit for bit)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from scratchnn.errors import ConfigError
from scratchnn.web import snapshot
from scratchnn.web.settings import (
    BOUNDS,
    PlaygroundSettings,
    build_model,
    make_data,
    parse_settings,
    python_code,
)
from scratchnn.web.trainer import TrainingJob


def test_defaults_and_partial_settings():
    assert parse_settings({}) == PlaygroundSettings()
    s = parse_settings({"dataset": "moons", "hidden": [4, 3], "activation": "relu"})
    assert (s.dataset, s.hidden, s.activation, s.n_classes) == ("moons", (4, 3), "relu", 2)


@pytest.mark.parametrize("settings, words", [
    ({"points": 10**9}, ["points", "20 to 2000", "1000000000"]),
    ({"points": 2.5}, ["points", "integer"]),
    ({"points": True}, ["points", "integer"]),
    ({"noise": float("nan")}, ["noise", "number"]),
    ({"lr": 0}, ["lr", "1e-05 to 10"]),
    ({"batch_size": 0}, ["batch_size"]),
    ({"hidden": [8] * 7}, ["hidden", "0 to 6"]),
    ({"hidden": [65]}, ["hidden", "1 to 64"]),
    ({"hidden": "16,16"}, ["hidden", "list"]),
    ({"dataset": "../etc/passwd"}, ["dataset", "spirals, moons, circles, xor"]),
    ({"activation": "softmax"}, ["activation", "tanh"]),
    ({"max_epochs": 10**6}, ["max_epochs", "10000"]),
    ({"path": "/etc"}, ["unknown setting 'path'"]),
    ([1, 2], ["JSON object"]),
])
def test_out_of_range_settings_are_refused_with_a_clear_message(settings, words):
    with pytest.raises(ConfigError) as info:
        parse_settings(settings)
    for w in words:
        assert w in str(info.value)


def test_every_bound_is_enforced_at_both_ends():
    for name in ("points", "noise", "test_fraction", "classes", "lr", "batch_size", "reg_rate", "seed", "max_epochs"):
        lo, hi = BOUNDS[name]
        parse_settings({name: lo})
        parse_settings({name: hi})
        step = 1 if isinstance(lo, int) and isinstance(hi, int) else 1e-3 * max(hi - lo, 1e-5)
        for bad in (lo - step, hi + step):
            with pytest.raises(ConfigError):
                parse_settings({name: bad})


@pytest.mark.parametrize("settings", [
    {},
    {"dataset": "xor", "hidden": [], "optimizer": "sgd", "lr": 0.3, "regularization": "l2", "reg_rate": 0.001},
    {"dataset": "circles", "hidden": [5, 4, 3], "activation": "elu", "regularization": "l1", "reg_rate": 0.0001},
    {"dataset": "spirals", "classes": 3, "activation": "leaky_relu", "batch_size": 7, "seed": 5},
])
def test_the_code_shown_trains_the_same_model_as_the_server(settings):
    """Run the generated script for 3 epochs and compare with a TrainingJob after 3 epochs."""
    s = parse_settings({**settings, "max_epochs": 3, "points": 120})
    namespace: dict = {}
    script = python_code(s, epochs=3).replace("print(", "_ = (")
    exec(compile(script, "<playground>", "exec"), namespace)  # noqa: S102 - the code the page shows, run as a user would
    script_model = namespace["model"]
    done = threading.Event()
    job = TrainingJob(s, emit=lambda m: done.set() if m.get("state") in ("done", "failed", "diverged") else
                      (job.snapshot_sent() if m["type"] == "snapshot" else None))
    job.start()
    assert done.wait(60) and job.state == "done"
    job.join(10)
    for a, b in zip(script_model.get_weights(), job.model.get_weights()):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert job.epoch == 3 == script_model.epochs_trained


def test_data_and_model_follow_the_settings():
    s = parse_settings({"dataset": "spirals", "classes": 3, "points": 200, "test_fraction": 0.25, "hidden": [7]})
    x_tr, x_te, y_tr, _ = make_data(s)
    assert len(x_tr) + len(x_te) == 200 and len(x_te) == 50 and set(np.unique(y_tr)) == {0, 1, 2}
    model = build_model(s)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Tanh", "Dense"]
    assert model.output_shape == (3,)


def test_snapshot_grids():
    s = parse_settings({"hidden": [3, 2]})
    model = build_model(s)
    dom = snapshot.domain(np.array([[0, 0], [2, 1]], dtype=np.float32))
    assert dom[1] - dom[0] == pytest.approx(dom[3] - dom[2]) and dom[0] < 0 and dom[1] > 2
    b = snapshot.boundary(model, dom, n=8)
    import base64
    cls = np.frombuffer(base64.b64decode(b["cls"]), np.uint8)
    assert cls.shape == (64,) and cls.max() < 2
    maps = snapshot.unit_maps(model, dom, n=5)
    assert [m["units"] for m in maps] == [3, 2]
    data = np.frombuffer(base64.b64decode(maps[0]["data"]), np.uint8).reshape(3, 5, 5)
    # each unit is scaled by its own largest |activation|: some cell reaches an end of 0..255
    assert all(u.min() <= 1 or u.max() >= 254 for u in data)
