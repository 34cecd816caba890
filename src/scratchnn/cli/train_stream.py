"""``scratchnn train --data FOLDER`` for image folders larger than memory: a loop over
:class:`~scratchnn.datasets.ImageFolderStream` batches and ``model.train_step``.

Used when the folder's float32 inputs would exceed
:data:`~scratchnn.datasets.image_folder.MAX_IN_MEMORY_BYTES` (or with ``--stream``).
Memory then holds one batch of images, the file list, and the scores of the
validation and test images (N x C floats). Each epoch reads every training file once;
unreadable files are skipped (named in one warning line after the first epoch) or
refused with ``--strict``. The misclassified-images plot is not drawn (the test images
are not kept). The training files are shuffled by the model's own generator, which the
checkpoint saves, so ``--resume`` continues exactly where an interrupted run stopped.
"""
from __future__ import annotations

import time

import numpy as np

from ._common import say, stderr


def _scores(model, stream) -> tuple[np.ndarray, np.ndarray]:
    """Scores (N, C) and labels (N,) of every readable file of ``stream`` (inference mode)."""
    outs, labels = [], []
    for xb, yb in stream:
        outs.append(model.predict(xb))
        labels.append(yb)
    if not outs:
        return np.zeros((0, model.output_shape[0]), np.float32), np.zeros(0, np.int64)
    return np.concatenate(outs), np.concatenate(labels)


def run_streaming(args, layout, kw: dict, data_meta: dict, out, default_out: bool, *, resumed=None,
                  plan: dict | None = None) -> int:
    from .. import losses, optimizers, schedules
    from ..applications.zoo import build_model, default_training
    from ..datasets import ImageFolderStream
    from ..datasets.image_folder import skipped_note, split_layout
    from ..datasets.labeled import LabeledData, split_test
    from ..errors import DataError
    from .train_data import _input_shape, data_metadata, finish, interrupted

    if resumed is not None:
        seed, val_fraction = int(plan["info"].get("seed", 0)), float(plan["info"].get("val_fraction", 0.1))
    else:
        seed, val_fraction = args.seed, args.val_fraction
    size, color, strict = tuple(kw["size"]), kw["color"], kw["strict"]
    f_tr, y_tr, f_te, y_te, _ = split_layout(layout, kw["test_fraction"], seed)
    tr, va = split_test(len(f_tr), y_tr, val_fraction, seed)
    classes = list(layout.classes)
    sample = (size if color == "grayscale" else (3, *size))
    if resumed is not None:
        if list(resumed.metadata.get("classes", [])) != classes:
            raise DataError(f"{data_meta['path']} now has the classes {', '.join(classes)}; the model was trained "
                            f"on {', '.join(resumed.metadata.get('classes', []))}.")
        model, name, input_shape = resumed, plan["info"].get("model", "mlp"), tuple(resumed.input_shape)
        epochs = plan["epochs"]
        batch_size = int(plan["info"].get("batch_size", 128))
    else:
        name = args.model or ("cnn" if color == "rgb" else "mlp")
        input_shape = _input_shape(name, tuple(sample))
        defaults = default_training(name, None)
        epochs = args.epochs or int(defaults["epochs"])
        batch_size = args.batch_size or int(defaults["batch_size"])
        lr = args.lr or float(defaults["lr"])
        model = build_model(name, input_shape, n_classes=len(classes), seed=seed)
    common = {"size": size, "color": color, "input_shape": input_shape, "strict": strict}
    # The model's own generator shuffles, so a resumed run draws the orders an uninterrupted one would.
    train = ImageFolderStream([f_tr[i] for i in tr], y_tr[tr], batch_size=batch_size, shuffle=True, seed=model.rng,
                              **common)
    val = ImageFolderStream([f_tr[i] for i in va], y_tr[va], batch_size=1024, shuffle=False, **common)
    test = ImageFolderStream(f_te, y_te, batch_size=1024, shuffle=False, **common)
    say(f"Streaming {data_meta['path']} from disk (image folder, {len(train.files):,} training, "
        f"{len(val.files):,} validation and {len(test.files):,} test images; {len(classes)} classes)")

    if resumed is None:
        schedule = schedules.CosineDecay(lr, len(train) * epochs, min_lr=lr * 0.01)
        model.compile(losses.SoftmaxCrossEntropy(), optimizers.Adam(lr=schedule), ["accuracy"])
        probe = LabeledData(np.zeros((1, *sample), np.uint8), np.zeros(1, np.int64),
                            np.zeros((1, *sample), np.uint8), np.zeros(1, np.int64), classes)
        model.metadata = data_metadata(probe, {**data_meta, "streamed": True}, input_shape, None)
        model.metadata["train"] = {"data": data_meta["path"], "model": name, "epochs": epochs,
                                   "batch_size": batch_size, "lr": lr, "seed": seed, "val_fraction": val_fraction,
                                   "input_shape": list(input_shape)}
        say(f"Training {name} ({model.count_params():,} parameters) for {epochs} epoch{'s' * (epochs != 1)} "
            f"(batch {batch_size}, Adam lr {lr:g}, cosine decay), one batch in memory at a time")
    else:
        say(f"Resuming {name} after epoch {model.epochs_trained}: {epochs} more epoch{'s' * (epochs != 1)} "
            f"(batch {batch_size}), one batch in memory at a time")
    epochs_total = model.epochs_trained + epochs

    model_path = out / "model.npz"
    start = time.perf_counter()
    try:
        _train_epochs(model, train, val, epochs, epochs_total, model_path, args.progress, layout.root)
    except KeyboardInterrupt:
        interrupted(model, model_path)
        raise
    seconds = time.perf_counter() - start
    scores, labels = _scores(model, test)
    if test.skipped:
        stderr("scratchnn: warning: " + skipped_note(test.skipped, layout.root))
    if len(labels) == 0:
        raise DataError(f"{data_meta['path']}: no test image could be read.")
    return finish(args, model, out, default_out, scores, labels, classes, "classification", None, seconds,
                  images=None, x_in=None)


def _train_epochs(model, train, val, epochs: int, epochs_total: int, model_path, progress: str, root: str) -> None:
    """``epochs`` epochs of ``model.fit`` on the ``train`` stream, validated on the ``val`` stream, with a
    checkpoint after each (the one training loop: callbacks, history and resume as for arrays)."""
    from ..callbacks import Callback, ModelCheckpoint
    from ..datasets.image_folder import skipped_note
    from ..errors import ConfigError, DataError

    class _SkippedFiles(Callback):
        """One warning line, after the first epoch that skipped unreadable files."""

        warned = False

        def on_epoch_end(self, epoch, logs=None):
            bad = train.skipped + val.skipped
            if bad and not self.warned:
                stderr("scratchnn: warning: " + skipped_note(bad, root))
                self.warned = True

    try:
        model.fit(train, epochs=epochs, validation_data=val, verbose={"bar": 1, "lines": 2, "none": 0}[progress],
                  callbacks=[ModelCheckpoint(str(model_path)), _SkippedFiles()])
    except ConfigError as exc:
        if "gave no batches" in str(exc):
            raise DataError(f"{root}: no training image could be read.") from None
        raise
