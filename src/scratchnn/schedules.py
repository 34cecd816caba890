"""Learning-rate schedules: objects called with the optimizer's step count.

A schedule maps ``step`` (the number of updates already made, starting at 0) to
a learning rate. Pass one as ``lr`` to any optimizer::

    opt = sn.optimizers.Adam(lr=sn.schedules.CosineDecay(1e-3, decay_steps=4000))

For epoch-based rules and reduce-on-plateau, see the callbacks
:class:`~scratchnn.callbacks.LearningRateScheduler` and
:class:`~scratchnn.callbacks.ReduceLROnPlateau`.
"""
from __future__ import annotations

import math
import numbers

from . import checks
from .errors import ConfigError
from .registry import SCHEDULES, register_schedule


def _positive(cls: str, name: str, value, allow_zero: bool = False) -> float:
    return checks.number(cls, name, value, low=0.0, low_open=not allow_zero,
                         what=f"a finite number {'>= 0' if allow_zero else '> 0'}")


def _steps(cls: str, name: str, value) -> int:
    """A positive whole number of steps (2 or 2.0, not 0.5: floor(step / 0) would divide by zero)."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Integral)) or (
        isinstance(value, float) and value.is_integer())
    if not ok or value < 1:
        raise ConfigError(f"{cls}: {name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


class Schedule:
    """Base class: ``schedule(step) -> learning rate``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register_schedule
class StepDecay(Schedule):
    """lr(step) = initial_lr * gamma ^ floor(step / step_size) (PyTorch's ``StepLR``).

    Example:
        >>> from scratchnn.schedules import StepDecay
        >>> [StepDecay(0.1, step_size=2, gamma=0.5)(s) for s in range(5)]
        [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    def __init__(self, initial_lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.initial_lr = _positive("StepDecay", "initial_lr", initial_lr)
        self.step_size = _steps("StepDecay", "step_size", step_size)
        self.gamma = _positive("StepDecay", "gamma", gamma)

    def __call__(self, step):
        return self.initial_lr * self.gamma ** (step // self.step_size)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "step_size": self.step_size, "gamma": self.gamma}


@register_schedule
class ExponentialDecay(Schedule):
    """lr(step) = initial_lr * decay_rate ^ (step / decay_steps)."""

    def __init__(self, initial_lr: float, decay_steps: int, decay_rate: float) -> None:
        self.initial_lr = _positive("ExponentialDecay", "initial_lr", initial_lr)
        self.decay_steps = _steps("ExponentialDecay", "decay_steps", decay_steps)
        self.decay_rate = _positive("ExponentialDecay", "decay_rate", decay_rate)

    def __call__(self, step):
        return self.initial_lr * self.decay_rate ** (step / self.decay_steps)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate}


@register_schedule
class CosineDecay(Schedule):
    """lr(step) = min_lr + (initial_lr - min_lr) (1 + cos(pi min(step, T) / T)) / 2, T = decay_steps."""

    def __init__(self, initial_lr: float, decay_steps: int, min_lr: float = 0.0) -> None:
        self.initial_lr = _positive("CosineDecay", "initial_lr", initial_lr)
        self.decay_steps = _steps("CosineDecay", "decay_steps", decay_steps)
        self.min_lr = _positive("CosineDecay", "min_lr", min_lr, allow_zero=True)
        if self.min_lr > self.initial_lr:
            raise ConfigError(f"CosineDecay: min_lr must be <= initial_lr ({self.initial_lr}). Received: min_lr={min_lr!r}")

    def __call__(self, step):
        t = min(step, self.decay_steps) / self.decay_steps
        return self.min_lr + (self.initial_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps, "min_lr": self.min_lr}


@register_schedule
class WarmUp(Schedule):
    """Linear warm-up to ``after`` over ``warmup_steps``, then ``after`` (shifted by the warm-up).

    lr(step) = after(0) * (step + 1) / warmup_steps   for step < warmup_steps,
    lr(step) = after(step - warmup_steps)             afterwards.
    ``after`` is a schedule or a constant learning rate.
    """

    def __init__(self, after: Schedule | float, warmup_steps: int) -> None:
        if not isinstance(after, Schedule):
            after = ConstantLR(after)
        self.after = after
        self.warmup_steps = _steps("WarmUp", "warmup_steps", warmup_steps)

    def __call__(self, step):
        if step < self.warmup_steps:
            return self.after(0) * (step + 1) / self.warmup_steps
        return self.after(step - self.warmup_steps)

    def get_config(self):
        return {"after": schedule_to_config(self.after), "warmup_steps": self.warmup_steps}

    @classmethod
    def from_config(cls, config):
        return cls(schedule_from_config(config["after"]), config["warmup_steps"])


@register_schedule
class ConstantLR(Schedule):
    """lr(step) = lr."""

    def __init__(self, lr: float) -> None:
        self.lr = _positive("ConstantLR", "lr", lr)

    def __call__(self, step):
        return self.lr

    def get_config(self):
        return {"lr": self.lr}


def schedule_to_config(schedule: Schedule) -> dict:
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def schedule_from_config(data: dict) -> Schedule:
    """Rebuild a schedule from :func:`schedule_to_config`'s output; only registered classes."""
    if not isinstance(data, dict) or data.get("class_name") not in SCHEDULES:
        raise ConfigError(f"unknown schedule: {data!r}")
    cls = SCHEDULES[data["class_name"]]
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"schedule config must be a dict: {config!r}")
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)
