"""``scratchnn train``: train an image classifier and write the model, its history and plots."""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from . import _distributed
from ._common import (
    UsageError,
    add_force,
    add_parser,
    default_run_dir,
    draw_plots,
    link_latest,
    say,
    stderr,
)
from .options import nonneg_int, positive_float, positive_int
from .run_folder import RunFolder

EXAMPLES = """\
  scratchnn train                                   # MLP on the bundled MNIST subset (no download)
  scratchnn train --dataset mnist --epochs 10 --out runs/mlp
  scratchnn train --dataset fashion-mnist           # found locally, else downloaded once
  scratchnn train --dataset mnist --model cnn --epochs 3
  scratchnn train --resume runs/mlp/model.npz       # finish an interrupted run
  scratchnn train --resume runs/mlp/model.npz --epochs 2   # ... or train 2 more epochs
  scratchnn train --data photos/ --color rgb --size 32      # one subfolder per class (CNN for RGB)
  scratchnn train --data kmnist/                            # any train/test IDX pair
  scratchnn train --data arrays.npz                         # x_train, y_train[, x_test, y_test]
  scratchnn train --data table.csv --target species         # a CSV table (classification)
  scratchnn train --data table.csv --target price --task regression --impute
  mpiexec -n 4 scratchnn train --dataset mnist --model cnn --distributed   # on 4 MPI ranks

Data sets: 'bundled' (10,000 + 2,000 MNIST images inside the package), 'mnist' and
'fashion-mnist' (60,000 + 10,000 images), looked for in --data-dir, $SCRATCHNN_DATA,
~/.cache/scratchnn and /usr/share/datasets, else downloaded (SHA-256 checked).
Writes into --out: model.npz (saved after every epoch), history.json, results.json and
PNG plots (training curves, confusion matrix, misclassified images, first-layer weights,
activations and gradients per layer). The run is written into a hidden folder beside
--out and renamed to it when complete, so --out never mixes two runs; an existing,
non-empty --out is refused unless --force. After Ctrl-C the folder holds the last
epoch's model.npz, and --resume continues it in place.

With --distributed under 'mpiexec -n N' (pip install 'scratchnn[mpi]'), each of the N ranks
trains on its shard of every batch of --batch-size (the global batch) and the gradients are
averaged; rank 0 prints, plots and writes the files. A run resumes with any number of ranks.
"""


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def register(subparsers) -> None:
    from ..applications.zoo import MODELS
    from ..datasets import IMAGE_DATASETS

    p = add_parser(subparsers, "train", help="train a digit recognizer (default: MLP on the bundled MNIST subset)",
                   description="Train an image classifier, print its test accuracy and write the model, "
                   "its training history and plots into an output folder.", examples=EXAMPLES)
    p.add_argument("--dataset", choices=IMAGE_DATASETS, default=None,
                   help="data set (default: bundled, or the resumed model's)")
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="architecture from scratchnn.applications.zoo (default: mlp)")
    p.add_argument("--epochs", type=positive_int, help="epochs (default: 15 on bundled, 10 on the full sets)")
    p.add_argument("--batch-size", type=positive_int, help="mini-batch size (default: 128)")
    p.add_argument("--lr", type=positive_float, help="initial learning rate of Adam, cosine-decayed (default: 1e-3)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of weights, split and shuffling (default: 0)")
    p.add_argument("--val-fraction", type=_fraction, default=0.1,
                   help="fraction of the training images held out for validation, stratified (default: 0.1)")
    p.add_argument("--data-dir", metavar="DIR", help="folder with the IDX files of --dataset (default: "
                   "searched, see below)")
    p.add_argument("--no-download", action="store_true", help="never download data sets")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<date-time>, linked as runs/latest)")
    add_force(p, "the run already in --out")
    p.add_argument("--resume", metavar="MODEL", help="continue training a model.npz written by this command, "
                   "in its folder (default: start a new run)")
    p.add_argument("--progress", choices=("bar", "lines", "none"), default="bar",
                   help="progress display: a bar per epoch, one line per epoch, or nothing (default: bar)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    _register_data_flags(p)
    _distributed.add_argument(p)
    p.add_argument("--device", default="cpu", choices=("cpu", "gpu"),
                   help="where to train: cpu, or gpu through CuPy (pip install 'scratchnn[gpu]') (default: cpu)")
    p.set_defaults(func=run)


def _register_data_flags(p) -> None:
    """The flags of ``--data PATH`` (your own data; see :mod:`scratchnn.cli.train_data`)."""
    from .train_data import parse_size

    g = p.add_argument_group("your own data", "train on --data PATH instead of a named --dataset")
    g.add_argument("--data", metavar="PATH", help="an image folder (one subfolder per class, optional "
                   "train/ and test/), a folder with a train/test IDX pair, an .npz (x_train, y_train"
                   "[, x_test, y_test]) or a .csv table (with --target)")
    g.add_argument("--target", metavar="COL", help="CSV: the column to predict")
    g.add_argument("--task", choices=("classification", "regression"),
                   help="CSV/NPZ: default from the target (text or few integers: classification)")
    g.add_argument("--color", choices=("grayscale", "rgb"), help="image folders: channels (default: grayscale)")
    g.add_argument("--size", type=parse_size, metavar="N|HxW", help="image folders: resize to this (default: 28)")
    g.add_argument("--strict", action="store_true", help="image folders: refuse unreadable files instead of "
                   "skipping them")
    g.add_argument("--impute", action="store_true", help="CSV: fill missing inputs with the training "
                   "median / most frequent value instead of refusing them")
    g.add_argument("--drop", action="append", metavar="COL", help="CSV: leave this column out (repeatable)")
    g.add_argument("--test-fraction", type=_fraction, metavar="F", help="held out for testing where the data has no test "
                   "part, stratified and seeded (default: 0.2)")
    g.add_argument("--stream", action="store_true", help="image folders: read batches from disk instead of "
                   "loading every image (automatic above 2 GiB of inputs)")


def _write_json(path: Path, data) -> None:
    from ..io import atomic_write

    text = json.dumps(data, indent=2, allow_nan=False).encode()
    atomic_write(path, lambda f: f.write(text))


def run(args) -> int:
    return _distributed.run("train", args, lambda dp: _train(args, dp))


def _train(args, dp) -> int:
    """The command; ``dp`` is the DataParallel context with --distributed, else None.
    With --distributed only rank 0 prints and writes."""
    from ..backend import get_device
    from ._common import model_file_path

    get_device(args.device)  # no GPU: one line ("no CUDA device found: ...") before any work

    if args.resume:
        model_file_path(args.resume)  # a missing model fails before any folder is made
    if dp is not None and getattr(args, "data", None) is not None:
        raise UsageError("--distributed trains the named data sets (--dataset); --data runs on one process")
    # 1. The output folder first: an existing run or a non-writable folder fails now, not after training.
    default_out = args.out is None and not args.resume
    if dp is not None and not dp.is_root:
        return _run(args, None, False, dp)
    if args.out is not None:
        run_dir = RunFolder(args.out, force=args.force)
    elif args.resume:  # carry on in the resumed run's folder
        run_dir = RunFolder(Path(args.resume).parent if not Path(args.resume).is_dir() else args.resume,
                            in_place=True)
    else:
        run_dir = RunFolder(default_run_dir())
    try:
        return _run(args, run_dir, default_out, dp)
    except KeyboardInterrupt:
        run_dir.finish_interrupted()
        raise
    except BaseException:
        run_dir.abandon()
        raise


def _run(args, run_dir: RunFolder | None, default_out: bool, dp=None) -> int:
    from .. import losses, optimizers, schedules
    from ..applications.zoo import build_model, default_training, model_input_shape
    from ..callbacks import ModelCheckpoint
    from ..datasets import class_names, images_to_inputs, load_dataset, train_val_split
    from ._common import load_trained_model, trained_with_data
    from .train_data import check_flags, run_with_data

    check_flags(args)
    if args.data is not None:
        return run_with_data(args)

    from ..backend import get_device

    root = dp is None or dp.is_root
    out = run_dir.path if run_dir is not None else None
    device = get_device(getattr(args, "device", "cpu"))

    def say_(*parts):
        say(*parts, quiet=not root)

    # 2. What to train.
    resumed = None
    if args.resume:
        resumed, resume_path = load_trained_model(args.resume)
        if trained_with_data(resumed):  # trained with --data: continue on the same data
            return run_with_data(args, resumed=resumed, resume_path=resume_path, out=out)
        info = resumed.metadata.get("train", {}) if isinstance(resumed.metadata, dict) else {}
        if not isinstance(info, dict):
            info = {}
        dataset = args.dataset or info.get("dataset", "bundled")
        if info.get("dataset") and args.dataset and args.dataset != info["dataset"]:
            raise UsageError(f"{resume_path} was trained on {info['dataset']!r}; resuming it on "
                              f"{args.dataset!r} is not supported (train a new model instead).")
        name = info.get("model", args.model or "mlp")
        if args.model and args.model != name:
            raise UsageError(f"{resume_path} is a {name!r} model; --model {args.model} does not match.")
        seed = int(info.get("seed", args.seed))
        val_fraction = float(info.get("val_fraction", args.val_fraction))
        target = int(info.get("epochs", resumed.epochs_trained))
        epochs = args.epochs or (target - resumed.epochs_trained)
        if epochs <= 0:
            raise UsageError(f"{resume_path} already finished its {target} epochs; pass --epochs N to train "
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
        raise UsageError("--data-dir is for --dataset mnist or fashion-mnist; the bundled subset ships "
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
    model.to(device)
    say_(f"Training {name} ({model.count_params():,} parameters) for {epochs} epoch{'s' * (epochs != 1)} "
         f"(batch {batch_size}, Adam lr {lr:g}" + (", cosine decay)" if resumed is None else ")")
         + (f", resuming after epoch {model.epochs_trained}" if resumed is not None else "")
         + (f", on the {device.name.upper()}" if not device.is_cpu else "")
         + (f", data-parallel on {dp.size} ranks, {batch_size / dp.size:.4g} samples per rank per step"
            if dp is not None else ""))

    # 5. Train, saving a checkpoint after every epoch (rank 0 only with --distributed).
    model_path = out / "model.npz" if root else None
    final_model = run_dir.final / "model.npz" if root else None
    verbose = {"bar": 1, "lines": 2, "none": 0}[args.progress] if root else 0
    start = time.perf_counter()
    try:
        model.fit(x_tr, y_tr, epochs=epochs, batch_size=batch_size, validation_data=(x_val, y_val),
                  callbacks=[ModelCheckpoint(str(model_path))] if root else [], verbose=verbose,
                  distributed=dp if dp is not None else False)
    except KeyboardInterrupt:
        if root and model_path.exists():
            stderr(f"\nscratchnn: interrupted; the model after epoch {model.epochs_trained} is in {final_model}. "
                   f"Continue with: scratchnn train --resume {final_model}")
        raise
    seconds = time.perf_counter() - start

    # 6. Test (each rank predicts its part of the test set with --distributed).
    result = model.evaluate(x_te, y_test, distributed=dp if dp is not None else False)
    if not root:
        return 0
    scores = model.predict(x_te)
    acc = result["accuracy"]
    n_right = round(acc * len(y_test))
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
    out = run_dir.publish()
    if default_out:
        link_latest(out)

    print(f"\nTest accuracy: {acc:.2%} ({n_right:,} of {len(y_test):,} test images, {title}), "
          f"test loss {result['loss']:.4f}; trained in {seconds:.1f} s.")
    print(f"Wrote {', '.join(written)}\n   to {out}/")
    print(f"Next: scratchnn evaluate {final_model}   |   scratchnn predict {final_model} image.png")
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
    return draw_plots(jobs, out)
