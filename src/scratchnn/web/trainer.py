"""The playground's training job: ``Sequential.fit`` in a worker thread, steered and streamed.

One :class:`TrainingJob` per browser connection. Its thread runs a single
``model.fit(..., epochs=max_epochs, validation_data=test set, callbacks=[...])``; the callback

- at the start of each epoch waits while the job is paused (Start / Pause / Step only move a
  gate; Step lets exactly one more epoch through),
- after each batch and epoch raises :class:`Cancelled` once :meth:`TrainingJob.cancel` was
  called (Reset, a closed page), so a job stops within one batch,
- at the end of each epoch records the epoch's ``loss``/``val_loss``/``accuracy``/``val_accuracy``
  and, at most ``fps`` times a second (always when pausing, stepping or finishing), emits a
  snapshot: the curve points since the last one, the decision boundary and the hidden units
  (:mod:`scratchnn.web.snapshot`).

Back-pressure: a new snapshot is only computed once the previous one was sent
(:meth:`TrainingJob.snapshot_sent`), so a slow page never makes the server queue up data.
``emit`` is called from the worker thread; the app passes a thread-safe function.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from ..callbacks import Callback
from ..errors import TrainingDivergedError
from . import snapshot
from .settings import PlaygroundSettings, build_model, make_data

CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")


class Cancelled(Exception):
    """Raised inside ``fit`` to stop a cancelled job."""


class _Stream(Callback):
    def __init__(self, job: TrainingJob) -> None:
        self.job = job

    def on_epoch_begin(self, epoch, logs=None):
        self.job._gate()

    def on_batch_end(self, batch, logs=None):
        if self.job._cancelled:
            raise Cancelled

    def on_epoch_end(self, epoch, logs=None):
        self.job._epoch_done(epoch, logs or {})


class TrainingJob:
    """A playground model and its data, trained in a worker thread on demand.

    Args:
        settings: validated settings (:func:`scratchnn.web.settings.parse_settings`).
        emit: called with each message dict (``{"type": "snapshot" | "status" | "error", ...}``).
        fps: most snapshots per second while running.
        on_finish: called once from the worker thread when it ends (for the app's job count).
    """

    def __init__(self, settings: PlaygroundSettings, emit: Callable[[dict], None], fps: float = 12.0,
                 on_finish: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.x_train, self.x_test, self.y_train, self.y_test = make_data(settings)
        self.model = build_model(settings)
        self.domain = snapshot.domain(np.concatenate([self.x_train, self.x_test]))
        self._emit, self._fps, self._on_finish = emit, float(fps), on_finish
        self._cond = threading.Condition()
        self._running = False
        self._steps = 0
        self._cancelled = False
        self._thread: threading.Thread | None = None
        self._sent = threading.Event()
        self._sent.set()
        self._last_emit = 0.0
        self._pending: dict[str, list] = {"epoch": [], **{k: [] for k in CURVES}}
        self.state = "ready"
        self.epoch = 0

    # ------------------------------------------------------------ messages
    def data_message(self) -> dict:
        """The points (train and test) and the plane shown, sent once per reset."""
        return {"domain": list(self.domain), "classes": self.settings.n_classes,
                "train": {"x": self.x_train.round(4).tolist(), "y": self.y_train.tolist()},
                "test": {"x": self.x_test.round(4).tolist(), "y": self.y_test.tolist()}}

    def snapshot(self) -> dict:
        """A snapshot message of the model as it is now, with the curve points not yet sent."""
        pending = self._pending
        self._pending = {k: [] for k in pending}
        return {"type": "snapshot", "epoch": self.epoch, "state": self.state, "curves": pending,
                "boundary": snapshot.boundary(self.model, self.domain),
                "units": snapshot.unit_maps(self.model, self.domain)}

    def snapshot_sent(self) -> None:
        """The app calls this once a snapshot has gone out; the next one may then be computed."""
        self._sent.set()

    def _status(self, state: str, message: str = "") -> None:
        self.state = state
        self._emit({"type": "status", "state": state, "epoch": self.epoch, "message": message})

    # ------------------------------------------------------------ controls
    def start(self) -> None:
        """Run epochs until Pause, the last epoch or cancellation."""
        with self._cond:
            self._running = True
            self._cond.notify_all()
        self._ensure_thread()

    def pause(self) -> None:
        with self._cond:
            self._running, self._steps = False, 0
            self._cond.notify_all()

    def step(self) -> None:
        """Train exactly one more epoch, then pause."""
        with self._cond:
            self._running = False
            self._steps += 1
            self._cond.notify_all()
        self._ensure_thread()

    def cancel(self) -> None:
        """Stop the worker as soon as possible (within one batch); idempotent."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()
        self._sent.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def started(self) -> bool:
        """Whether the worker thread was started (it then releases its slot through ``on_finish``)."""
        return self._thread is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "diverged", "failed")

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._cancelled and not self.finished:
            self._thread = threading.Thread(target=self._work, name="scratchnn-playground", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------ worker side
    def _gate(self) -> None:
        with self._cond:
            if not self._running and self._steps == 0 and not self._cancelled:
                self._status("paused")
            while not self._cancelled and not self._running and self._steps == 0:
                self._cond.wait()
            if self._cancelled:
                raise Cancelled
            if not self._running:
                self._steps -= 1
            if self.state != "running":
                self._status("running")

    def _epoch_done(self, epoch: int, logs: dict) -> None:
        if self._cancelled:
            raise Cancelled
        self.epoch = epoch + 1
        self._pending["epoch"].append(self.epoch)
        for k in CURVES:
            self._pending[k].append(round(float(logs[k]), 6) if k in logs else None)
        forced = not self._running or self.epoch >= self.settings.max_epochs
        now = time.monotonic()
        if forced or (now - self._last_emit >= 1.0 / self._fps and self._sent.is_set()):
            self._send_snapshot()

    def _send_snapshot(self) -> None:
        while not self._sent.wait(0.1):
            if self._cancelled:
                raise Cancelled
        if self._cancelled:
            raise Cancelled
        self._sent.clear()
        self._last_emit = time.monotonic()
        self._emit(self.snapshot())

    def _work(self) -> None:
        s = self.settings
        try:
            self.model.fit(self.x_train, self.y_train, epochs=s.max_epochs, batch_size=s.batch_size,
                           validation_data=(self.x_test, self.y_test), callbacks=[_Stream(self)], verbose=0)
            if any(self._pending["epoch"]):
                self._send_snapshot()
            self._status("done", f"finished its {s.max_epochs} epochs")
        except Cancelled:
            pass
        except TrainingDivergedError as exc:
            self._status("diverged", " ".join(str(exc).split()))
        except Exception as exc:  # noqa: BLE001 - reported to the page, never kills the server
            self._status("failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        finally:
            if self._on_finish is not None:
                self._on_finish()
