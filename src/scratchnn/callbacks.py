"""Callbacks: hooks into :meth:`Sequential.fit`.

A callback gets ``set_model(model)`` once, then ``on_train_begin(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_batch_end(batch, logs)``,
``on_epoch_end(epoch, logs)`` and ``on_train_end(logs)``. ``logs`` at the end
of an epoch holds ``loss``, the training metrics, ``val_loss``/``val_<metric>``
when there is validation data, and ``lr``. Setting ``model.stop_training = True``
ends training after the current epoch. Epochs are counted from 0 here and shown
from 1 to people.

In data-parallel training (``fit(..., distributed=True)``) every rank runs the callbacks
with the same logs, except those with ``rank_zero_only = True`` (the progress bar and
:class:`ModelCheckpoint`), which run on rank 0 only. ``stop_training`` set on any rank
stops all of them after the epoch.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable

from . import checks
from .errors import ConfigError


class Callback:
    """Base class with no-op hooks."""

    model = None
    #: In data-parallel training, run on rank 0 only (output, files) instead of on every rank.
    rank_zero_only: bool = False

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...


class History(Callback):
    """Records every epoch's logs: ``history.history["val_loss"]`` is a list, one value per epoch.

    ``fit`` returns the model's History. It survives across ``fit`` calls on the same
    model, so a resumed run keeps the earlier epochs.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def to_dict(self) -> dict:
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        h = cls()
        h.epoch = [int(e) for e in data.get("epoch", [])]
        h.history = {k: [float(x) for x in v] for k, v in data.items() if k != "epoch"}
        return h

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class _Monitor(Callback):
    """Shared logic: watch ``monitor`` in the epoch logs, lower or higher being better."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"{type(self).__name__}: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        if mode == "auto":
            mode = "max" if any(w in monitor for w in ("acc", "f1", "precision", "recall")) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(float(min_delta))
        self.best = math.inf if mode == "min" else -math.inf

    def _value(self, logs):
        if not logs or self.monitor not in logs:
            raise ConfigError(f"{type(self).__name__}: the monitored value {self.monitor!r} is not in the logs "
                              f"(available: {sorted(logs or {})}). Pass validation data to monitor 'val_*'.")
        return float(logs[self.monitor])

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


def _check_patience(cls: str, patience) -> int:
    return checks.integer(cls, "patience", patience, low=0, what="an int >= 0")


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    As in Keras: training stops at the end of the ``patience``-th consecutive epoch
    without improvement (``patience=0`` behaves as 1: stop at the first such epoch).
    ``mode="auto"`` maximises accuracy/precision/recall/F1 and minimises anything else.
    With ``restore_best_weights=True`` the model ends training with the weights (and
    buffers, such as BatchNorm's running statistics) of its best epoch, whether it
    stopped early or ran all its epochs.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = _check_patience("EarlyStopping", patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.wait, self.best_weights, self.best_epoch, self.stopped_epoch = 0, None, None, None
        self.best_buffers: list[dict] = []

    def on_train_begin(self, logs=None):
        self.wait, self.best_weights, self.stopped_epoch = 0, None, None
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                # includes buffers (BatchNorm running statistics), so the restored weights
                # do not run with the statistics of a later epoch
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= max(self.patience, 1):
                self.model.stop_training = True
                self.stopped_epoch = epoch

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model (atomically) at the end of each epoch, or only when ``monitor`` improves.

    ``path`` may contain ``{epoch}`` (1-based) and any log key, e.g.
    ``"ckpt/model-{epoch:03d}-{val_loss:.3f}.npz"``. The file holds the optimizer state
    and the random generator state too, so training can resume from it exactly: after a
    crash, ``model = sn.load_model(path)`` then ``model.fit(x, y, epochs=total -
    model.epochs_trained, ...)`` ends with the same weights, bit for bit, as a run that
    was never interrupted (same machine, data and settings; see docs/reproducibility.md).
    A kill during the save leaves the previous checkpoint intact (:func:`scratchnn.io.atomic_write`).
    In data-parallel training only rank 0 saves.
    """

    rank_zero_only = True

    def __init__(self, path: str, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto") -> None:
        super().__init__(monitor, mode, 0.0)
        self.path, self.save_best_only = str(path), save_best_only
        self.last_saved: str | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = self._value(logs)
            if not self._improved(value):
                return
            self.best = value
        path = self.path.format(epoch=epoch + 1, **logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.model.save(path)
        self.last_saved = path


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch: ``lr = schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable[[int, float], float]) -> None:
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        opt.set_lr(float(self.schedule(epoch, opt.current_lr)))


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    As Keras: lr <- max(lr * factor, min_lr) at the end of the ``patience``-th consecutive
    epoch without an improvement larger than ``min_delta`` (``patience=0``: at every
    such epoch); the count then restarts. A schedule passed as the optimizer's ``lr`` is
    replaced by the constant reduced rate.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 3,
                 min_delta: float = 1e-4, min_lr: float = 0.0, mode: str = "auto") -> None:
        super().__init__(monitor, mode, min_delta)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0.0 < factor < 1.0:
            raise ConfigError(f"ReduceLROnPlateau: factor must be in (0, 1). Received: factor={factor!r}")
        if isinstance(min_lr, bool) or not isinstance(min_lr, (int, float)) or not 0.0 <= min_lr < math.inf:
            raise ConfigError(f"ReduceLROnPlateau: min_lr must be a finite number >= 0. Received: min_lr={min_lr!r}")
        self.patience = _check_patience("ReduceLROnPlateau", patience)
        self.factor, self.min_lr, self.wait = float(factor), float(min_lr), 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if self._improved(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            opt = self.model.optimizer
            new_lr = max(opt.current_lr * self.factor, self.min_lr)
            if new_lr < opt.current_lr:
                opt.set_lr(new_lr)
            self.wait = 0


class ProgressBar(Callback):
    """A tqdm bar per epoch (``verbose=1``) or one line per epoch (``verbose=2``, on stdout).

    The bar is drawn on stderr only when stderr is a terminal: redirected into a file or
    a pipe, carriage-return frames would fill a log, so ``verbose=1`` then writes one
    plain line per epoch to stderr instead.
    """

    rank_zero_only = True

    def __init__(self, epochs: int, steps: int, verbose: int = 1, first_epoch: int = 0) -> None:
        self.epochs, self.steps, self.verbose, self.first_epoch = epochs, steps, verbose, first_epoch
        self.bar = None

    @staticmethod
    def _terminal() -> bool:
        import sys
        try:
            return bool(sys.stderr.isatty())
        except (AttributeError, ValueError):
            return False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose == 1 and self._terminal():
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}/{self.first_epoch + self.epochs}",
                            unit="batch", leave=True, dynamic_ncols=True)

    def on_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0 or batch == self.steps - 1:
                self.bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()}, refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        text = " - ".join(f"{k}: {_fmt(v)}" for k, v in (logs or {}).items())
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            print(f"Epoch {epoch + 1}/{self.first_epoch + self.epochs} - {text}", flush=True)
        elif self.verbose == 1:  # not a terminal: a plain line where the bar would have been
            import sys
            print(f"Epoch {epoch + 1}/{self.first_epoch + self.epochs} - {text}", file=sys.stderr, flush=True)


def _fmt(v) -> str:
    v = float(v)
    return f"{v:.3g}" if (v != 0 and (abs(v) < 1e-3)) else f"{v:.4f}"
