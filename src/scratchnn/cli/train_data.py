"""``scratchnn train --data PATH``: train on your own data (an image folder, an IDX pair, an .npz, a CSV).

The data is loaded by :func:`scratchnn.datasets.load_data`; what it takes to load it again
(path, size, colour, target, task, split seed, ...) and, for tables, the fitted
preprocessing are stored in ``model.metadata`` so that ``scratchnn evaluate`` rebuilds the
same test part, ``scratchnn predict`` transforms new rows or images the same way, and
``scratchnn train --resume`` continues on the same data, split and transform.

Model metadata written here::

    classes        class names (classification)
    task           "classification" or "regression"
    data           the arguments of load_data (kind, path, size, color, target, ...)
    input          {"kind": "images", "image_shape": [C, H, W]} or {"kind": "features", "n": D}
    preprocessing  TablePreprocessor.to_config() (CSV tables)
    target_scale   {"mean", "std"} of the training targets (regression: the network learns
                   (y - mean) / std)
    train          model name, epochs, batch size, learning rate, seed, validation fraction
    test           test metrics
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ._common import default_run_dir, draw_plots, link_latest, prepare_out_dir, say, stderr

#: Hidden sizes of the default MLP for tables and feature vectors (no dropout).
TABLE_HIDDEN = (64, 32)
#: Tables train for about this many optimizer steps by default (10 to 200 epochs).
TABLE_STEPS = 3000


def check_flags(args) -> None:
    """Flags that only make sense with --data, and --data with flags it excludes."""
    data_only = [flag for flag, value in (("--target", args.target), ("--task", args.task), ("--color", args.color),
                                          ("--size", args.size), ("--strict", args.strict),
                                          ("--impute", args.impute), ("--drop", args.drop),
                                          ("--test-fraction", args.test_fraction), ("--stream", args.stream))
                 if value not in (None, False, [])]
    if args.data is None:
        if data_only:
            raise ConfigError(f"{', '.join(data_only)} go{'es' * (len(data_only) == 1)} with --data PATH "
                              "(your own data).")
        return
    for flag, value in (("--dataset", args.dataset), ("--data-dir", args.data_dir), ("--resume", args.resume)):
        if value:
            extra = (" (a resumed model reads the data it was trained on)" if flag == "--resume" else "")
            raise ConfigError(f"--data and {flag} exclude each other{extra}.")


def parse_size(text: str) -> tuple[int, int]:
    """``"28"`` or ``"32x48"`` (height x width) -> (h, w)."""
    import argparse

    parts = text.lower().split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size N or HxW, got {text!r}") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or not all(1 <= d <= 4096 for d in dims):
        raise argparse.ArgumentTypeError(f"expected a size N or HxW with sides 1..4096, got {text!r}")
    return dims


def _load_kwargs(args, kind: str) -> dict:
    kw = {"test_fraction": args.test_fraction or 0.2, "seed": args.seed}
    if kind == "csv":
        kw.update(target=args.target, task=args.task, impute=bool(args.impute), drop=list(args.drop or []))
    elif kind == "npz":
        kw.update(task=args.task)
    elif kind == "image-folder":
        kw.update(size=list(args.size or (28, 28)), color=args.color or "grayscale", strict=bool(args.strict))
    if kind != "image-folder":
        given = [f for f, v in (("--size", args.size), ("--color", args.color), ("--strict", args.strict),
                                ("--stream", args.stream)) if v]
        if given:
            raise ConfigError(f"{', '.join(given)} apply to image folders; {args.data} is "
                              f"{'a CSV table' if kind == 'csv' else 'an ' + kind.upper() + ' source'}.")
    if kind != "csv" and (args.target or args.impute or args.drop):
        raise ConfigError(f"--target, --impute and --drop are for CSV tables; {args.data} is not one.")
    if kind == "csv" and not args.target:
        from ..datasets.tabular import read_csv
        header = read_csv(args.data)[0]
        raise ConfigError(f"{args.data} is a table: say which column to predict with --target COL; its columns "
                          f"are {', '.join(header)}.")
    if kind in ("idx", "image-folder") and args.task == "regression":
        raise ConfigError(f"{args.data} holds labelled images; --task regression is for tables and arrays.")
    return kw


def _input_shape(name: str, sample_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample model input: flat for an MLP, (C, H, W) for a CNN."""
    if len(sample_shape) == 1:
        if name != "mlp":
            raise ConfigError(f"--model {name} needs images; this data is {sample_shape[0]} features per "
                              "sample (use --model mlp).")
        return sample_shape
    if name == "mlp":
        return (int(np.prod(sample_shape)),)
    return sample_shape if len(sample_shape) == 3 else (1, *sample_shape)


def _resume_plan(args, model, resume_path) -> dict:
    """What a resumed ``--data`` run continues with: its stored data arguments and settings."""
    meta = model.metadata
    info = meta.get("train") if isinstance(meta.get("train"), dict) else {}
    d = dict(meta["data"])
    if d.get("kind") not in ("image-folder", "idx", "npz", "csv") or not isinstance(d.get("path"), str):
        raise ConfigError(f"{resume_path}: its metadata does not say which data it was trained on.")
    given = [f for f, v in (("--dataset", args.dataset), ("--data-dir", args.data_dir)) if v]
    if given:
        raise ConfigError(f"{resume_path} was trained with --data {d['path']}; {given[0]} does not apply.")
    if args.model and args.model != info.get("model"):
        raise ConfigError(f"{resume_path} is a {info.get('model')!r} model; --model {args.model} does not match.")
    target = int(info.get("epochs", model.epochs_trained))
    epochs = args.epochs or (target - model.epochs_trained)
    if epochs <= 0:
        raise ConfigError(f"{resume_path} already finished its {target} epochs; pass --epochs N to train "
                          "N more (at its final learning rate).")
    if args.epochs:
        info["epochs"] = model.epochs_trained + epochs
    if model.loss is None or model.optimizer is None:
        raise ConfigError(f"{resume_path} has no optimizer state to resume from.")
    kw = {k: v for k, v in d.items() if k not in ("kind", "path", "streamed")}
    return {"data_meta": d, "kw": kw, "epochs": epochs, "info": info}


def run_with_data(args, resumed=None, resume_path=None, out: Path | None = None) -> int:
    """Train on ``--data`` (or continue ``resumed``, a model trained so, in ``out``)."""
    from .. import losses, optimizers, schedules
    from ..applications.zoo import build_model, default_training
    from ..callbacks import ModelCheckpoint
    from ..datasets import images_to_inputs, train_val_split
    from ..datasets.image_folder import (
        MAX_IN_MEMORY_BYTES,
        inputs_bytes,
        scan_image_folder,
    )
    from ..datasets.sources import data_kind, load_data

    if resumed is None:
        check_flags(args)
        path = args.data
        kind = data_kind(path)
        kw = _load_kwargs(args, kind)
        default_out = args.out is None
        out = prepare_out_dir(args.out if args.out is not None else default_run_dir())
        seed, val_fraction = args.seed, args.val_fraction
        data_meta = {"kind": kind, "path": os.path.abspath(path), **kw}
        plan = None
    else:
        plan = _resume_plan(args, resumed, resume_path)
        data_meta, kw = plan["data_meta"], plan["kw"]
        path, kind, default_out = data_meta["path"], data_meta["kind"], False
        seed, val_fraction = int(plan["info"].get("seed", 0)), float(plan["info"].get("val_fraction", 0.1))

    # 1. Data (image folders too large for memory are streamed from disk).
    if kind == "image-folder":
        layout = scan_image_folder(path)
        n_files = len(layout.train_files) + len(layout.test_files or [])
        need = inputs_bytes(n_files, kw["size"], kw["color"])
        streamed = data_meta.get("streamed") if resumed is not None else (args.stream or need > MAX_IN_MEMORY_BYTES)
        if streamed:
            from .train_stream import run_streaming
            return run_streaming(args, layout, kw, data_meta, out, default_out, resumed=resumed, plan=plan)
    say(f"Loading {path} ({kind.replace('-', ' ')})...")
    if kind == "csv" and resumed is not None:  # the model's own transform, never refitted
        from ..datasets.tabular import TablePreprocessor
        kw = {**kw, "preprocessor": TablePreprocessor.from_config(resumed.metadata.get("preprocessing"))}
    data = load_data(path, **kw)
    if resumed is None and args.test_fraction and "test" in data.split:
        data.notes.append(f"--test-fraction not used: the data has its own test part ({data.split['test']})")
    for note in data.notes:
        (stderr if note.startswith("skipped") else say)(("scratchnn: warning: " if note.startswith("skipped")
                                                         else "  note: ") + note)
    task = data.task
    classification = task == "classification"
    images = data.x_train.ndim >= 3
    if resumed is not None:
        name = plan["info"].get("model", "mlp")
        input_shape = tuple(resumed.input_shape)
    else:
        name = args.model or ("cnn" if images and data.x_train.ndim == 4 and data.x_train.shape[1] == 3 else "mlp")
        input_shape = _input_shape(name, tuple(data.x_train.shape[1:]))
    to_inputs = (lambda a: images_to_inputs(a, input_shape)) if images else (lambda a: a.astype(np.float32))
    x, x_te = to_inputs(data.x_train), to_inputs(data.x_test)
    y, y_te = data.y_train, data.y_test
    scale = None
    if not classification:
        scale = (resumed.metadata["target_scale"] if resumed is not None
                 else {"mean": float(np.mean(y)), "std": float(np.std(y)) or 1.0})
        y = ((y - scale["mean"]) / scale["std"]).astype(np.float32)[:, None]
    x_tr, x_val, y_tr, y_val = train_val_split(x, y, val_fraction, stratify=classification, seed=seed)
    what = "images" if images else "rows"
    say(f"  {len(x_tr):,} training, {len(x_val):,} validation{' (stratified)' * classification} and "
        f"{len(x_te):,} test {what}; " + (f"{len(data.classes)} classes: {_few(data.classes)}" if classification
                                          else f"target {kw.get('target', 'y')} (regression)"))

    # 2. Model and settings.
    if resumed is not None:
        model, epochs = resumed, plan["epochs"]
        batch_size, lr = int(plan["info"].get("batch_size", 32)), float(plan["info"].get("lr", 1e-3))
        say(f"Resuming {name} after epoch {model.epochs_trained}: {epochs} more epoch{'s' * (epochs != 1)} "
            f"(batch {batch_size})")
    else:
        if images:
            defaults = default_training(name, None)
        else:
            steps = math.ceil(len(x_tr) / (args.batch_size or 32))
            defaults = {"epochs": max(10, min(200, math.ceil(TABLE_STEPS / steps))), "batch_size": 32, "lr": 1e-3}
        epochs = args.epochs or int(defaults["epochs"])
        batch_size = args.batch_size or int(defaults["batch_size"])
        lr = args.lr or float(defaults["lr"])
        n_out = len(data.classes) if classification else 1
        extra = {} if images else {"hidden": TABLE_HIDDEN, "dropout": 0.0}
        model = build_model(name, input_shape, n_classes=n_out, seed=seed, **extra)
        steps_per_epoch = math.ceil(len(x_tr) / batch_size)
        schedule = schedules.CosineDecay(lr, steps_per_epoch * epochs, min_lr=lr * 0.01)
        loss = losses.SoftmaxCrossEntropy() if classification else losses.MeanSquaredError()
        model.compile(loss, optimizers.Adam(lr=schedule), ["accuracy"] if classification else ["mae"])
        model.metadata = data_metadata(data, data_meta, input_shape, scale)
        model.metadata["train"] = {"data": data_meta["path"], "model": name, "epochs": epochs,
                                   "batch_size": batch_size, "lr": lr, "seed": seed, "val_fraction": val_fraction,
                                   "input_shape": list(input_shape)}
        arch = f"{name}" + (f" {'-'.join(map(str, TABLE_HIDDEN))}" if not images else "")
        say(f"Training {arch} ({model.count_params():,} parameters) for {epochs} epoch{'s' * (epochs != 1)} "
            f"(batch {batch_size}, Adam lr {lr:g}, cosine decay)")

    # 3. Train, saving a checkpoint after every epoch.
    model_path = out / "model.npz"
    verbose = {"bar": 1, "lines": 2, "none": 0}[args.progress]
    model.to(getattr(args, "device", "cpu"))
    start = time.perf_counter()
    try:
        model.fit(x_tr, y_tr, epochs=epochs, batch_size=batch_size, validation_data=(x_val, y_val),
                  callbacks=[ModelCheckpoint(str(model_path))], verbose=verbose)
    except KeyboardInterrupt:
        interrupted(model, model_path)
        raise
    seconds = time.perf_counter() - start

    # 4. Test, save, plot.
    scores = model.predict(x_te)
    return finish(args, model, out, default_out, scores, y_te, data.classes, task, scale, seconds,
                  images=data.x_test if images else None, x_in=x_te)


def interrupted(model, model_path: Path) -> None:
    """Say where the last checkpoint is and how to continue (after Ctrl-C)."""
    if model_path.exists():
        stderr(f"\nscratchnn: interrupted; the model after epoch {model.epochs_trained} is in {model_path}. "
               f"Continue with: scratchnn train --resume {model_path}")


def data_metadata(data, data_meta: dict, input_shape, scale) -> dict:
    """The JSON-safe metadata that predict/evaluate need (see the module docstring)."""
    meta = {"task": data.task, "data": data_meta}
    if data.classes is not None:
        meta["classes"] = list(data.classes)
    sample = tuple(int(d) for d in data.x_train.shape[1:])
    if len(sample) == 1:
        meta["input"] = {"kind": "features", "n": sample[0]}
    else:
        meta["input"] = {"kind": "images", "image_shape": list(sample if len(sample) == 3 else (1, *sample)),
                         "scale": "pixels / 255" if data.x_train.dtype == np.uint8 else "as stored"}
    if data.preprocessor is not None:
        meta["preprocessing"] = data.preprocessor.to_config()
    if scale is not None:
        meta["target_scale"] = scale
    return meta


def _few(names, k: int = 6) -> str:
    return ", ".join(names[:k]) + (", ..." if len(names) > k else "")


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """RMSE, MAE and R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2, in the target's units."""
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    err = y_pred - y_true
    ss = float(np.sum((y_true - y_true.mean()) ** 2))
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
            "r2": (1.0 - float(np.sum(err ** 2)) / ss) if ss > 0 else float("nan")}


def finish(args, model, out: Path, default_out: bool, scores, y_test, classes, task, scale, seconds,
           *, images=None, x_in=None) -> int:
    """Test metrics, model.npz, history.json, results.json, plots and the closing lines (both paths)."""
    from .. import losses
    from .train import _write_json

    data_path = model.metadata["data"]["path"]
    model_path = out / "model.npz"
    results = {"data": data_path, "kind": model.metadata["data"]["kind"], "task": task,
               "model": model.metadata["train"]["model"], "epochs_trained": model.epochs_trained,
               "train_seconds": seconds, "n_test": len(y_test)}
    history = model.history.to_dict()
    if task == "classification":
        acc = float(np.mean(scores.argmax(axis=1) == y_test))
        loss = float(losses.SoftmaxCrossEntropy().forward(scores.astype(np.float64), y_test))
        results.update(test_accuracy=acc, test_loss=loss, classes=list(classes),
                       val_accuracy=history.get("val_accuracy", [None])[-1])
        model.metadata["test"] = {"accuracy": acc, "loss": loss, "n": len(y_test)}
        line = (f"Test accuracy: {acc:.2%} ({round(acc * len(y_test)):,} of {len(y_test):,}), "
                f"test loss {loss:.4f}")
    else:
        pred = scores[:, 0] * scale["std"] + scale["mean"]
        reg = regression_scores(y_test, pred)
        results.update({f"test_{k}": (None if not math.isfinite(v) else v) for k, v in reg.items()})
        model.metadata["test"] = {k: (None if not math.isfinite(v) else v) for k, v in reg.items()}
        model.metadata["test"]["n"] = len(y_test)
        line = (f"Test RMSE {reg['rmse']:.4g}, MAE {reg['mae']:.4g}, R^2 {reg['r2']:.4f} "
                f"({len(y_test):,} test rows)")
    model.save(model_path)
    _write_json(out / "history.json", history)
    _write_json(out / "results.json", results)
    written = ["model.npz", "history.json", "results.json"]
    if not args.no_plots:
        written += _plots(out, model, history, scores, y_test, classes, task, scale, images, x_in)
    if default_out:
        link_latest(out)
    print(f"\n{line}; trained in {seconds:.1f} s.")
    print(f"Wrote {', '.join(written)}\n   to {out}/")
    what = "new.csv" if model.metadata["data"]["kind"] == "csv" else "image.png folder/"
    print(f"Next: scratchnn evaluate {model_path}   |   scratchnn predict {model_path} {what}")
    return 0


def _plots(out: Path, model, history, scores, y_test, classes, task, scale, images, x_in) -> list[str]:
    from .. import plots

    title = os.path.basename(model.metadata["data"]["path"].rstrip(os.sep)) or "data"
    jobs = [("training_curves.png", lambda p: plots.plot_history(history, title=f"Training on {title}", path=p))]
    if task == "classification":
        jobs.append(("confusion_matrix.png", lambda p: plots.plot_confusion_matrix(
            y_test, scores, classes, title=f"Confusion matrix ({title} test set)", path=p)))
        if images is not None:
            jobs.append(("misclassified.png", lambda p: plots.plot_misclassified(
                images, y_test, scores, classes, path=p)))
            if images.ndim == 3:
                jobs.append(("first_layer_weights.png", lambda p: plots.plot_first_layer_weights(
                    model, image_shape=images.shape[1:], path=p)))
        if x_in is not None:
            sample = np.random.default_rng(0).choice(len(x_in), size=min(256, len(x_in)), replace=False)
            jobs.append(("layer_statistics.png", lambda p: plots.plot_layer_statistics(
                model, x_in[sample], y_test[sample], title="Activations and gradients per layer "
                f"({len(sample)} test samples)", path=p)))
    else:
        pred = scores[:, 0] * scale["std"] + scale["mean"]
        target = model.metadata["data"].get("target") or "y"
        jobs.append(("regression.png", lambda p: plots.plot_regression(
            y_test, pred, title=f"{target}: predicted vs true ({title} test set)", path=p)))
    return draw_plots(jobs, out)
