"""Playground settings: validated, bounded, turned into data, a model and the code a user would write.

A browser sends settings as a JSON object; :func:`parse_settings` checks every field against
:data:`BOUNDS` (so no request can ask for a model or a data set that exhausts memory or CPU) and
returns a frozen :class:`PlaygroundSettings`. From it, :func:`make_data` draws the data set with
:mod:`scratchnn.datasets` and splits it, :func:`build_model` builds and compiles the
:class:`~scratchnn.Sequential`, and :func:`python_code` writes the same thing as a script: the
script builds the same model, bit for bit (``tests/web/test_settings.py`` runs it and compares).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ConfigError

DATASETS = ("spirals", "moons", "circles", "xor")
ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU", "elu": "ELU"}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD"}
REGULARIZATIONS = ("none", "l1", "l2")

#: (low, high) of every numeric setting, both inclusive.
BOUNDS: dict[str, tuple[float, float]] = {
    "points": (20, 2000),
    "noise": (0.0, 1.0),
    "test_fraction": (0.1, 0.9),
    "classes": (2, 5),
    "layers": (0, 6),
    "units": (1, 64),
    "lr": (1e-5, 10.0),
    "batch_size": (1, 512),
    "reg_rate": (0.0, 1.0),
    "seed": (0, 2**31 - 1),
    "max_epochs": (1, 10000),
}


@dataclass(frozen=True)
class PlaygroundSettings:
    """One playground configuration (the defaults reach >= 95% test accuracy on spirals)."""

    dataset: str = "spirals"
    points: int = 400
    noise: float = 0.1
    test_fraction: float = 0.3
    classes: int = 2
    hidden: tuple[int, ...] = field(default=(16, 16))
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.03
    batch_size: int = 16
    regularization: str = "none"
    reg_rate: float = 0.0
    seed: int = 0
    max_epochs: int = 2000

    @property
    def n_classes(self) -> int:
        """Spirals have ``classes`` arms; the other data sets have two classes."""
        return self.classes if self.dataset == "spirals" else 2

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


def _bad(name: str, expected: str, value) -> ConfigError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ConfigError(f"setting {name!r} must be {expected}. Received: {name}={shown}")


def _int(name: str, value, low=None, high=None) -> int:
    lo, hi = BOUNDS[name] if low is None else (low, high)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(name, f"an integer from {lo:g} to {hi:g}", value)
    return value


def _float(name: str, value) -> float:
    lo, hi = BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise _bad(name, f"a number from {lo:g} to {hi:g}", value)
    return float(value)


def _choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _bad(name, "one of " + ", ".join(choices), value)
    return value


def parse_settings(data) -> PlaygroundSettings:
    """Validate a JSON object of settings (missing keys take the defaults).

    Raises:
        ConfigError: an unknown key, a wrong type or a value out of :data:`BOUNDS`; the message
            names the setting, what was expected and what was received.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"settings must be a JSON object. Received: {type(data).__name__}")
    known = set(PlaygroundSettings.__dataclass_fields__)
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}")
    d = {**PlaygroundSettings().to_dict(), **data}
    hidden = d["hidden"]
    lo, hi = BOUNDS["layers"]
    if not isinstance(hidden, list) or not lo <= len(hidden) <= hi:
        raise _bad("hidden", f"a list of {lo:g} to {hi:g} layer sizes", hidden)
    lo, hi = BOUNDS["units"]
    if any(isinstance(h, bool) or not isinstance(h, int) or not lo <= h <= hi for h in hidden):
        raise _bad("hidden", f"a list of layer sizes, each an integer from {lo:g} to {hi:g}", hidden)
    hidden = tuple(hidden)
    s = PlaygroundSettings(
        dataset=_choice("dataset", d["dataset"], DATASETS),
        points=_int("points", d["points"]),
        noise=_float("noise", d["noise"]),
        test_fraction=_float("test_fraction", d["test_fraction"]),
        classes=_int("classes", d["classes"]),
        hidden=hidden,
        activation=_choice("activation", d["activation"], tuple(ACTIVATIONS)),
        optimizer=_choice("optimizer", d["optimizer"], tuple(OPTIMIZERS)),
        lr=_float("lr", d["lr"]),
        batch_size=_int("batch_size", d["batch_size"]),
        regularization=_choice("regularization", d["regularization"], REGULARIZATIONS),
        reg_rate=_float("reg_rate", d["reg_rate"]),
        seed=_int("seed", d["seed"]),
        max_epochs=_int("max_epochs", d["max_epochs"]),
    )
    return s


# ------------------------------------------------------------------ data, model, code
def _data_args(s: PlaygroundSettings) -> tuple[str, dict]:
    """The generator's name in :mod:`scratchnn.datasets` and its keyword arguments."""
    fn = {"spirals": "make_spirals", "moons": "make_moons", "circles": "make_circles", "xor": "make_xor"}
    kwargs = {"n_samples": s.points}
    if s.dataset == "spirals":
        kwargs["n_classes"] = s.classes
    kwargs.update(noise=s.noise, seed=s.seed)
    return fn[s.dataset], kwargs


def _data_call(s: PlaygroundSettings) -> str:
    name, kwargs = _data_args(s)
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def _optimizer_call(s: PlaygroundSettings) -> str:
    args = [f"lr={s.lr!r}"]
    if s.regularization == "l2" and s.reg_rate > 0:
        args.append(f"weight_decay={s.reg_rate!r}")
    elif s.regularization == "l1" and s.reg_rate > 0:
        args.append(f"l1={s.reg_rate!r}")
    return f"sn.optimizers.{OPTIMIZERS[s.optimizer]}({', '.join(args)})"


def _layer_lines(s: PlaygroundSettings) -> list[str]:
    act = ACTIVATIONS[s.activation]
    lines, d = [], 2
    for h in s.hidden:
        lines.append(f"sn.layers.Dense({d}, {h}), sn.layers.{act}(),")
        d = h
    lines.append(f"sn.layers.Dense({d}, {s.n_classes}),")
    return lines


def python_code(s: PlaygroundSettings, epochs: int | None = None) -> str:
    """The script a user would write for these settings (runs as is; trains ``epochs`` epochs)."""
    fn = _data_call(s).split("(")[0]
    layers = "\n".join("    " + line for line in _layer_lines(s))
    return (
        "import scratchnn as sn\n"
        f"from scratchnn.datasets import {fn}, train_val_split\n\n"
        f"X, y = {_data_call(s)}\n"
        f"X_train, X_test, y_train, y_test = train_val_split(X, y, {s.test_fraction!r}, seed={s.seed})\n\n"
        "model = sn.Sequential([\n"
        f"{layers}\n"
        f"], seed={s.seed})\n"
        "model.compile(loss=sn.losses.SoftmaxCrossEntropy(),\n"
        f"              optimizer={_optimizer_call(s)},\n"
        "              metrics=[\"accuracy\"])\n"
        f"model.fit(X_train, y_train, epochs={epochs if epochs is not None else 100}, "
        f"batch_size={s.batch_size},\n"
        "          validation_data=(X_test, y_test), verbose=0)\n"
        "print(model.evaluate(X_test, y_test))\n"
    )


def make_data(s: PlaygroundSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, X_test, y_train, y_test`` exactly as :func:`python_code`'s script draws them."""
    from .. import datasets

    name, kwargs = _data_args(s)
    X, y = getattr(datasets, name)(**kwargs)
    return datasets.train_val_split(X, y, s.test_fraction, seed=s.seed)


def build_model(s: PlaygroundSettings):
    """The compiled :class:`~scratchnn.Sequential` of :func:`python_code`, built for 2 inputs."""
    from .. import layers, losses, optimizers
    from ..sequential import Sequential

    act = getattr(layers, ACTIVATIONS[s.activation])
    stack, d = [], 2
    for h in s.hidden:
        stack += [layers.Dense(d, h), act()]
        d = h
    stack.append(layers.Dense(d, s.n_classes))
    model = Sequential(stack, seed=s.seed)
    kwargs = {}
    if s.regularization == "l2" and s.reg_rate > 0:
        kwargs["weight_decay"] = s.reg_rate
    elif s.regularization == "l1" and s.reg_rate > 0:
        kwargs["l1"] = s.reg_rate
    optimizer = getattr(optimizers, OPTIMIZERS[s.optimizer])(lr=s.lr, **kwargs)
    model.compile(loss=losses.SoftmaxCrossEntropy(), optimizer=optimizer, metrics=["accuracy"])
    model.build((2,))
    return model
