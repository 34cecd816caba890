"""Learning-rate schedules: formulas, composition, validation, config round trip, use in optimizers."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.registry import SCHEDULES
from scratchnn.schedules import schedule_from_config, schedule_to_config

S = sn.schedules


def test_step_decay():
    s = S.StepDecay(0.1, step_size=3, gamma=0.5)
    assert [s(i) for i in range(7)] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_exponential_decay():
    s = S.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5)
    assert s(0) == 1.0 and s(10) == pytest.approx(0.5) and s(5) == pytest.approx(math.sqrt(0.5))


def test_cosine_decay_reaches_min_and_stays():
    s = S.CosineDecay(1.0, decay_steps=4, min_lr=0.1)
    values = [s(i) for i in range(7)]
    assert values[0] == 1.0 and values[2] == pytest.approx(0.55)
    assert values[4:] == pytest.approx([0.1, 0.1, 0.1])
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_warmup_then_schedule():
    s = S.WarmUp(S.StepDecay(0.4, step_size=2, gamma=0.5), warmup_steps=4)
    assert [s(i) for i in range(8)] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.2, 0.2])
    const = S.WarmUp(0.01, warmup_steps=2)
    assert [const(i) for i in range(4)] == pytest.approx([0.005, 0.01, 0.01, 0.01])
    assert isinstance(const.after, S.ConstantLR)


@pytest.mark.parametrize("make", [
    lambda: S.StepDecay(0.1, 3, 0.5), lambda: S.ExponentialDecay(0.1, 10, 0.9),
    lambda: S.CosineDecay(0.1, 100, 0.001), lambda: S.ConstantLR(0.3),
    lambda: S.WarmUp(S.CosineDecay(0.1, 100), 10), lambda: S.WarmUp(S.WarmUp(0.2, 3), 2),
])
def test_config_round_trip(make):
    s = make()
    data = schedule_to_config(s)
    twin = schedule_from_config(data)
    assert type(twin) is type(s) and twin.get_config() == s.get_config()
    assert [twin(i) for i in range(0, 120, 7)] == [s(i) for i in range(0, 120, 7)]
    assert repr(s).startswith(type(s).__name__ + "(")


def test_every_registered_schedule_is_covered_by_the_round_trip():
    assert set(SCHEDULES) == {"StepDecay", "ExponentialDecay", "CosineDecay", "WarmUp", "ConstantLR"}


@pytest.mark.parametrize("data", [{"class_name": "Evil", "config": {}}, "StepDecay", None,
                                  {"class_name": "StepDecay", "config": [1, 2]}])
def test_schedule_from_config_rejects_unknown(data):
    with pytest.raises(sn.ConfigError):
        schedule_from_config(data)


@pytest.mark.parametrize("make,match", [
    (lambda: S.StepDecay(0.1, 0.5), r"StepDecay: step_size must be a positive integer\. Received: step_size=0\.5"),
    (lambda: S.StepDecay(0.1, 0), r"step_size must be a positive integer"),
    (lambda: S.StepDecay(0.0, 2), r"StepDecay: initial_lr must be a finite number > 0\. Received: initial_lr=0\.0"),
    (lambda: S.StepDecay(0.1, 2, gamma=-1), r"gamma must be"),
    (lambda: S.ExponentialDecay(0.1, 0.3, 0.5), r"decay_steps must be a positive integer"),
    (lambda: S.ExponentialDecay(0.1, 3, float("nan")), r"decay_rate must be"),
    (lambda: S.CosineDecay(0.1, True), r"decay_steps must be a positive integer\. Received: decay_steps=True"),
    (lambda: S.CosineDecay(0.1, 10, min_lr=-1), r"min_lr must be a finite number >= 0"),
    (lambda: S.CosineDecay(0.1, 10, min_lr=0.2), r"min_lr must be <= initial_lr"),
    (lambda: S.WarmUp(0.1, 0), r"warmup_steps must be a positive integer"),
    (lambda: S.ConstantLR("0.1"), r"ConstantLR: lr must be"),
])
def test_validation_messages(make, match):
    with pytest.raises(sn.ConfigError, match=match):
        make()


def test_numpy_integer_steps_accepted():
    assert S.StepDecay(0.1, np.int64(2))(2) == pytest.approx(0.01)
    assert S.CosineDecay(0.1, 10.0).decay_steps == 10


def test_optimizer_uses_schedule_per_step_and_saves_it():
    opt = sn.optimizers.SGD(lr=S.StepDecay(1.0, step_size=1, gamma=0.5))
    p = np.zeros(1)
    seen = []
    for _ in range(3):
        seen.append(opt.current_lr)
        opt.step([("0/w", p, np.ones(1))])
    assert seen == [1.0, 0.5, 0.25]
    np.testing.assert_allclose(p, [-1.75])
    twin = sn.optimizers.SGD.from_config(opt.get_config())
    assert isinstance(twin.lr, S.StepDecay) and twin.lr.get_config() == opt.lr.get_config()
