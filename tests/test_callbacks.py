"""Callbacks: History, EarlyStopping (with restore_best_weights), LearningRateScheduler,
ReduceLROnPlateau and the progress output. ModelCheckpoint is tested with the robustness tests."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.callbacks import (
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ProgressBar,
    ReduceLROnPlateau,
)


class FakeOptimizer:
    def __init__(self, lr):
        self.current_lr = lr

    def set_lr(self, lr):
        self.current_lr = lr


class FakeModel:
    """Just what the monitor callbacks touch."""

    def __init__(self, lr=1.0):
        self.optimizer = FakeOptimizer(lr)
        self.stop_training = False
        self.weights = 0

    def get_weights(self):
        return self.weights

    def set_weights(self, w):
        self.weights = w


def drive(cb, values, key="val_loss", model=None):
    """Feed ``values`` as successive epoch logs; return the epochs at which training would stop."""
    model = model or FakeModel()
    cb.set_model(model)
    cb.on_train_begin({})
    for epoch, v in enumerate(values):
        model.weights = epoch
        cb.on_epoch_begin(epoch, {})
        cb.on_epoch_end(epoch, {key: v})
        if model.stop_training:
            cb.on_train_end({})
            return epoch, model
    cb.on_train_end({})
    return None, model


def test_early_stopping_patience_counts_epochs_without_improvement():
    # best at epoch 1; epochs 2, 3 do not improve -> with patience 2, stop at epoch 3
    stopped, _ = drive(EarlyStopping(patience=2), [1.0, 0.5, 0.6, 0.7, 0.1])
    assert stopped == 3
    stopped, _ = drive(EarlyStopping(patience=1), [1.0, 0.5, 0.6, 0.1])
    assert stopped == 2
    stopped, _ = drive(EarlyStopping(patience=0), [1.0, 0.5, 0.6, 0.1])
    assert stopped == 2
    stopped, _ = drive(EarlyStopping(patience=3), [1.0, 0.9, 0.8, 0.7])
    assert stopped is None


def test_early_stopping_min_delta_and_mode():
    stopped, _ = drive(EarlyStopping(patience=2, min_delta=0.1), [1.0, 0.95, 0.92, 0.5])
    assert stopped == 2  # 0.95 and 0.92 are not better than 1.0 by more than 0.1
    stopped, _ = drive(EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.55], key="val_accuracy")
    assert stopped == 2  # auto mode maximises accuracy
    stopped, _ = drive(EarlyStopping(monitor="val_accuracy", patience=1, mode="min"), [0.5, 0.6],
                       key="val_accuracy")
    assert stopped == 1


def test_early_stopping_restores_best_weights():
    cb = EarlyStopping(patience=2, restore_best_weights=True)
    stopped, model = drive(cb, [1.0, 0.5, 0.6, 0.7])
    assert stopped == 3 and cb.best_epoch == 1 and model.weights == 1 and cb.stopped_epoch == 3
    cb = EarlyStopping(patience=5, restore_best_weights=True)
    stopped, model = drive(cb, [1.0, 0.5, 0.6])
    assert stopped is None and model.weights == 1, "best weights are restored at the end of training too"
    _, model = drive(EarlyStopping(patience=2), [1.0, 0.5, 0.6, 0.7])
    assert model.weights == 3, "without restore_best_weights the last weights stay"


def test_early_stopping_resets_between_fits():
    cb = EarlyStopping(patience=1)
    assert drive(cb, [1.0, 2.0])[0] == 1
    assert drive(cb, [5.0, 4.0, 3.0])[0] is None


def test_monitor_missing_key_message():
    cb = EarlyStopping(monitor="val_loss")
    cb.set_model(FakeModel())
    cb.on_train_begin({})
    with pytest.raises(sn.ConfigError, match=r"'val_loss' is not in the logs \(available: \['loss'\]\)\. "
                                              r"Pass validation data"):
        cb.on_epoch_end(0, {"loss": 1.0})


@pytest.mark.parametrize("make,match", [
    (lambda: EarlyStopping(patience=-1), r"EarlyStopping: patience must be an int >= 0\. Received: patience=-1"),
    (lambda: EarlyStopping(patience=1.5), r"Received: patience=1\.5"),
    (lambda: EarlyStopping(mode="best"), r"EarlyStopping: mode must be 'auto', 'min' or 'max'\. Received: mode='best'"),
    (lambda: ReduceLROnPlateau(factor=1.0), r"ReduceLROnPlateau: factor must be in \(0, 1\)\. Received: factor=1\.0"),
    (lambda: ReduceLROnPlateau(factor="0.5"), r"Received: factor='0\.5'"),
    (lambda: ReduceLROnPlateau(patience=True), r"ReduceLROnPlateau: patience must be an int >= 0"),
    (lambda: ReduceLROnPlateau(min_lr=-1), r"ReduceLROnPlateau: min_lr must be a finite number >= 0"),
])
def test_validation_messages(make, match):
    with pytest.raises(sn.ConfigError, match=match):
        make()


def test_reduce_lr_on_plateau():
    cb = ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.2)
    model = FakeModel(lr=1.0)
    lrs = []
    cb.set_model(model)
    cb.on_train_begin({})
    for epoch, v in enumerate([1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]):
        cb.on_epoch_end(epoch, {"val_loss": v})
        lrs.append(model.optimizer.current_lr)
    # bad epochs 2, 3 -> reduce at 3; bad 4, 5 -> reduce at 5; then min_lr holds
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]


def test_reduce_lr_in_fit_changes_the_optimizer(rng):
    model = sn.Sequential([sn.layers.Dense(2, 1)], seed=0)
    model.compile(loss="mse", optimizer=sn.optimizers.SGD(lr=0.1))
    x = rng.standard_normal((8, 2))
    y = np.zeros((8, 1))

    class Flat(Callback):  # a plateau on demand: overwrite the monitored value
        def on_epoch_end(self, epoch, logs=None):
            logs["flat"] = 1.0

    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0,
                        callbacks=[Flat(), ReduceLROnPlateau(monitor="flat", factor=0.1, patience=1)])
    assert model.optimizer.current_lr == pytest.approx(0.1 * 0.1 ** 3)
    # logs hold the rate the epoch trained with (the reduction at its end shows from the next one)
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.001])


def test_learning_rate_scheduler_sets_lr_each_epoch(rng):
    model = sn.Sequential([sn.layers.Dense(2, 1)], seed=0)
    model.compile(loss="mse", optimizer=sn.optimizers.SGD(lr=1.0))
    x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.1 * 0.5 ** epoch

    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[LearningRateScheduler(schedule)])
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert seen == [(0, 1.0), (1, 0.1), (2, 0.05)]
    # the steps really used those rates: same as three fits with fixed learning rates
    twin = sn.Sequential([sn.layers.Dense(2, 1)], seed=0)
    twin.compile(loss="mse", optimizer=sn.optimizers.SGD(lr=0.1))
    for lr in (0.1, 0.05, 0.025):
        twin.optimizer.set_lr(lr)
        twin.fit(x, y, epochs=1, batch_size=4, verbose=0)
    np.testing.assert_array_equal(twin.layers[0].params["W"], model.layers[0].params["W"])


def test_learning_rate_scheduler_rejects_bad_rate(rng):
    model = sn.Sequential([sn.layers.Dense(2, 1)], seed=0)
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(sn.ConfigError, match="lr must be"):
        model.fit(rng.standard_normal((4, 2)), np.zeros((4, 1)), verbose=0,
                  callbacks=[LearningRateScheduler(lambda e, lr: -1.0)])


def test_history_records_and_round_trips():
    h = History()
    h.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    h.on_epoch_end(1, {"loss": 0.5, "val_loss": 1.5})
    assert h.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.5]} and h.epoch == [0, 1]
    twin = History.from_dict(h.to_dict())
    assert twin.history == h.history and twin.epoch == h.epoch
    assert "epochs=2" in repr(h)


def test_callback_hook_order(rng):
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"epoch_begin {epoch}")

        def on_batch_end(self, batch, logs=None):
            events.append(f"batch {batch} {sorted(logs)}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            events.append("train_end")

    model = sn.Sequential([sn.layers.Dense(2, 3)], seed=0)
    model.compile(loss="crossentropy", optimizer="sgd", metrics=["accuracy"])
    recorder = Recorder()
    model.fit(rng.standard_normal((6, 2)), rng.integers(0, 3, 6), epochs=2, batch_size=4, verbose=0,
              validation_data=(rng.standard_normal((3, 2)), rng.integers(0, 3, 3)), callbacks=[recorder])
    assert recorder.model is model
    logs = "['accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss']"
    assert events == ["train_begin", "epoch_begin 0", "batch 0 ['accuracy', 'loss']", "batch 1 ['accuracy', 'loss']",
                      f"epoch_end 0 {logs}", "epoch_begin 1", "batch 0 ['accuracy', 'loss']",
                      "batch 1 ['accuracy', 'loss']", f"epoch_end 1 {logs}", "train_end"]


def test_progress_output(rng, capsys):
    model = sn.Sequential([sn.layers.Dense(2, 1)], seed=0)
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    model.fit(x, y, epochs=2, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == "", "verbose=0 must be silent"
    model.fit(x, y, epochs=2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 3/4 - loss: ") and " - mae: " in lines[0]
    model.fit(x, y, epochs=1, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 5/5" in err and "loss" in err  # the tqdm bar, on stderr


def test_progress_bar_formats_small_numbers():
    from scratchnn.callbacks import _fmt
    assert _fmt(0.5) == "0.5000" and _fmt(1.5e-5) == "1.5e-05" and _fmt(0) == "0.0000"
    assert ProgressBar(3, 10).steps == 10
