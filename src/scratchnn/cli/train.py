"""``scratchnn train``: train an image classifier and write the model, its history and plots."""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from . import _distributed
from ._common import add_parser, default_run_dir, link_latest, prepare_out_dir, say, stderr

EXAMPLES = """\
  scratchnn train                                   # MLP on the bundled MNIST subset (no download)
  scratchnn train --dataset mnist --epochs 10 --out runs/mlp
  scratchnn train --dataset fashion-mnist --data-dir /usr/share/datasets/fashion-mnist
  scratchnn train --dataset mnist --model cnn --epochs 3
  scratchnn train --resume runs/mlp/model.npz       # finish an interrupted run
  scratchnn train --resume runs/mlp/model.npz --epochs 2   # ... or train 2 more epochs
  mpiexec -n 4 scratchnn train --dataset mnist --model cnn --distributed   # on 4 MPI ranks

Data sets: 'bundled' (10,000 + 2,000 MNIST images inside the package), 'mnist' and
'fashion-mnist' (60,000 + 10,000 images), looked for in --data-dir, $SCRATCHNN_DATA,
~/.cache/scratchnn and /usr/share/datasets, else downloaded (SHA-256 checked).
Writes into --out: model.npz (saved after every epoch), history.json, results.json and
PNG plots (training curves, confusion matrix, misclassified images, first-layer weights,
activations and gradients per layer).

With --distributed under 'mpiexec -n N' (pip install 'scratchnn[mpi]'), each of the N ranks
trains on its shard of every batch of --batch-size (the global batch) and the gradients are
averaged; rank 0 prints, plots and writes the files. A run resumes with any number of ranks.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def register(subparsers) -> None:
    from ..datasets import IMAGE_DATASETS
    from ..zoo import MODELS

    p = add_parser(subparsers, "train", help="train a digit recognizer (default: MLP on the bundled MNIST subset)",
                   description="Train an image classifier, print its test accuracy and write the model, "
                   "its training history and plots into an output folder.", examples=EXAMPLES)
    p.add_argument("--dataset", choices=IMAGE_DATASETS, default=None,
                   help="data set (default: bundled, or the resumed model's)")
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="architecture from scratchnn.zoo (default: mlp)")
    p.add_argument("--epochs", type=_positive_int, help="epochs (default: 15 on bundled, 10 on the full sets)")
    p.add_argument("--batch-size", type=_positive_int, help="mini-batch size (default: 128)")
    p.add_argument("--lr", type=_positive_float, help="initial learning rate of Adam, cosine-decayed (default: 1e-3)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of weights, split and shuffling (default: 0)")
    p.add_argument("--val-fraction", type=_fraction, default=0.1,
                   help="fraction of the training images held out for validation, stratified (default: 0.1)")
    p.add_argument("--data-dir", metavar="DIR", help="folder with the IDX files of --dataset")
    p.add_argument("--no-download", action="store_true", help="never download data sets")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<date-time>, linked as runs/latest)")
    p.add_argument("--resume", metavar="MODEL", help="continue training a model.npz written by this command")
    p.add_argument("--progress", choices=("bar", "lines", "none"), default="bar",
                   help="progress display: a bar per epoch, one line per epoch, or nothing (default: bar)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    _distributed.add_argument(p)
    p.set_defaults(func=run)


def _write_json(path: Path, data) -> None:
    from ..io import atomic_write

    text = json.dumps(data, indent=2, allow_nan=False).encode()
    atomic_write(path, lambda f: f.write(text))


def run(args) -> int:
    return _distributed.run("train", args, lambda dp: _train(args, dp))


def _train(args, dp) -> int:
    """The command; ``dp`` is the DataParallel context with --distributed, else None."""
    from .. import losses, optimizers, schedules
    from ..callbacks import ModelCheckpoint
    from ..datasets import class_names, images_to_inputs, load_dataset, train_val_split
    from ..zoo import build_model, default_training, model_input_shape
    from ._common import load_image_classifier

    # 1. The output folder first: a non-writable one fails now, not after training.
    # With --distributed only rank 0 prints and writes.
    root = dp is None or dp.is_root

    def say_(*parts):
        say(*parts, quiet=not root)

    default_out = args.out is None and not args.resume
    if not root:
        out = None
    elif args.out is not None:
        out = prepare_out_dir(args.out)
    elif args.resume:  # carry on in the resumed run's folder
        out = prepare_out_dir(Path(args.resume).parent if not Path(args.resume).is_dir() else args.resume)
    else:
        out = prepare_out_dir(default_run_dir())

    # 2. What to train.
    resumed = None
    if args.resume:
        resumed, resume_path = load_image_classifier(args.resume)
        info = resumed.metadata.get("train", {}) if isinstance(resumed.metadata, dict) else {}
        if not isinstance(info, dict):
            info = {}
        dataset = args.dataset or info.get("dataset", "bundled")
        if info.get("dataset") and args.dataset and args.dataset != info["dataset"]:
            raise ConfigError(f"{resume_path} was trained on {info['dataset']!r}; resuming it on "
                              f"{args.dataset!r} is not supported (train a new model instead).")
        name = info.get("model", args.model or "mlp")
        if args.model and args.model != name:
            raise ConfigError(f"{resume_path} is a {name!r} model; --model {args.model} does not match.")
        seed = int(info.get("seed", args.seed))
        val_fraction = float(info.get("val_fraction", args.val_fraction))
        target = int(info.get("epochs", resumed.epochs_trained))
        epochs = args.epochs or (target - resumed.epochs_trained)
        if epochs <= 0:
            raise ConfigError(f"{resume_path} already finished its {target} epochs; pass --epochs N to train "
                              "N more (at its final learning rate).")
        defaults = {"batch_size": info.get("batch_size", 128), "lr": info.get("lr", 1e-3)}
    else:
        dataset = args.dataset or "bundled"
        name = args.model or "mlp"
        seed, val_fraction = args.seed, args.val_fraction
        defaults = default_training(name, dataset)
        epochs = args.epochs or defaults["epochs"]
    batch_size = args.batch_size or int(defaults["batch_size"])
    lr = args.lr or float(defaults["lr"])
    if dataset == "bundled" and args.data_dir:
        raise ConfigError("--data-dir is for --dataset mnist or fashion-mnist; the bundled subset ships "
                          "inside the package.")

    # 3. Data.
    title = {"bundled": "the bundled MNIST subset", "mnist": "MNIST",
             "fashion-mnist": "Fashion-MNIST"}[dataset]
    say_(f"Loading {title}..." + (f" (on {dp.size} MPI ranks)" if dp is not None else ""))
    if not root:  # rank 0 downloads first, if needed; the others then read its copy
        dp.comm.barrier("the wait for rank 0's data set")
    (x_train, y_train), (x_test, y_test) = load_dataset(dataset, args.data_dir, download=not args.no_download)
    if dp is not None and root:
        dp.comm.barrier("the wait for rank 0's data set")
    classes = list(class_names(dataset))
    input_shape = tuple(resumed.input_shape) if resumed is not None else model_input_shape(name, x_train.shape[1:])
    x = images_to_inputs(x_train, input_shape)
    x_te = images_to_inputs(x_test, input_shape)
    x_tr, x_val, y_tr, y_val = train_val_split(x, y_train, val_fraction, seed=seed)
    say_(f"  {len(x_tr):,} training, {len(x_val):,} validation (stratified) and {len(x_te):,} test images")

    # 4. Model.
    steps_per_epoch = math.ceil(len(x_tr) / batch_size)
    if resumed is None:
        model = build_model(name, input_shape, n_classes=len(classes), seed=seed)
        schedule = schedules.CosineDecay(lr, steps_per_epoch * epochs, min_lr=lr * 0.01)
        model.compile(losses.SoftmaxCrossEntropy(), optimizers.Adam(lr=schedule), ["accuracy"])
        model.metadata = {"classes": classes, "train": {
            "dataset": dataset, "model": name, "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "seed": seed, "val_fraction": val_fraction, "input": "pixels / 255",
            "input_shape": list(input_shape)}}
    else:
        model = resumed
        if model.loss is None or model.optimizer is None:
            model.compile(losses.SoftmaxCrossEntropy(), optimizers.Adam(lr=lr), ["accuracy"])
        if args.epochs:
            model.metadata.setdefault("train", {})["epochs"] = model.epochs_trained + epochs
    say_(f"Training {name} ({model.count_params():,} parameters) for {epochs} epoch{'s' * (epochs != 1)} "
        f"(batch {batch_size}, Adam lr {lr:g}" + (", cosine decay)" if resumed is None else ")")
        + (f", resuming after epoch {model.epochs_trained}" if resumed is not None else "")
        + (f", data-parallel on {dp.size} ranks, {batch_size / dp.size:.4g} samples per rank per step"
           if dp is not None else ""))

    # 5. Train, saving a checkpoint after every epoch.
    model_path = out / "model.npz" if root else None
    verbose = {"bar": 1, "lines": 2, "none": 0}[args.progress]
    start = time.perf_counter()
    try:
        model.fit(x_tr, y_tr, epochs=epochs, batch_size=batch_size, validation_data=(x_val, y_val),
                  callbacks=[ModelCheckpoint(str(model_path))] if root else [], verbose=verbose,
                  distributed=dp if dp is not None else False)
    except KeyboardInterrupt:
        if root and model_path.exists():
            stderr(f"\nscratchnn: interrupted; the model after epoch {model.epochs_trained} is in {model_path}. "
                   f"Continue with: scratchnn train --resume {model_path}")
        raise
    seconds = time.perf_counter() - start

    # 6. Test (each rank predicts its part of the test set with --distributed).
    result = model.evaluate(x_te, y_test, distributed=dp if dp is not None else False)
    if not root:
        return 0
    scores = None if args.no_plots else model.predict(x_te)
    acc = result["accuracy"]
    n_right = int(round(acc * len(y_test)))
    model.metadata["test"] = {"dataset": dataset, "accuracy": acc, "loss": result["loss"], "n": len(y_test)}
    model.save(model_path)
    history = model.history.to_dict()
    _write_json(out / "history.json", history)
    _write_json(out / "results.json", {
        "dataset": dataset, "model": name, "epochs_trained": model.epochs_trained, "train_seconds": seconds,
        "test_accuracy": acc, "test_loss": result["loss"], "n_test": len(y_test),
        "val_accuracy": history.get("val_accuracy", [None])[-1], "mpi_ranks": 1 if dp is None else dp.size})
    written = ["model.npz", "history.json", "results.json"]
    if not args.no_plots:
        written += _plots(out, model, history, x_te, x_test, y_test, scores, classes, title)
    if default_out:
        link_latest(out)

    print(f"\nTest accuracy: {acc:.2%} ({n_right:,} of {len(y_test):,} test images, {title}), "
          f"test loss {result['loss']:.4f}; trained in {seconds:.1f} s.")
    print(f"Wrote {', '.join(written)}\n   to {out}/")
    print(f"Next: scratchnn evaluate {model_path}   |   scratchnn predict {model_path} image.png")
    return 0


def _plots(out: Path, model, history, x_in, images, labels, scores, classes, title) -> list[str]:
    from .. import plots

    rng = np.random.default_rng(0)
    sample = rng.choice(len(x_in), size=min(256, len(x_in)), replace=False)
    jobs = [
        ("training_curves.png", lambda p: plots.plot_history(history, title=f"Training on {title}", path=p)),
        ("confusion_matrix.png", lambda p: plots.plot_confusion_matrix(
            labels, scores, classes, title=f"Confusion matrix ({title} test set)", path=p)),
        ("misclassified.png", lambda p: plots.plot_misclassified(images, labels, scores, classes, path=p)),
        ("first_layer_weights.png", lambda p: plots.plot_first_layer_weights(
            model, image_shape=images.shape[1:], path=p)),
        ("layer_statistics.png", lambda p: plots.plot_layer_statistics(
            model, x_in[sample], labels[sample], title="Activations and gradients per layer "
            f"({len(sample)} test images)", path=p)),
    ]
    import matplotlib.figure  # noqa: F401  (fail early and clearly if Matplotlib is broken)

    written = []
    for filename, draw in jobs:
        try:
            draw(out / filename)
            written.append(filename)
        except (ValueError, TypeError, OSError, RuntimeError) as exc:
            stderr(f"scratchnn: warning: could not draw {filename}: {' '.join(str(exc).split())}")
    return written
