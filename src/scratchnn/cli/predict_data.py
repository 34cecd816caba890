"""``scratchnn predict`` for models trained with ``--data``: images read as in training, CSV rows
through the stored preprocessing, class names from the model file.

- image models: each path is an image file or a folder (searched recursively for
  :data:`~scratchnn.datasets.image_folder.IMAGE_EXTENSIONS`); every image is read as the
  training images were (``--size``, ``--color`` of the run: resized, not centred like MNIST
  digits); unreadable files are named in one warning line and skipped;
- table models (CSV): each path is a CSV file with the training columns (the target column
  may be there: then the accuracy or the error on those rows is printed too); one line per row;
- feature models (NPZ of (N, D) features): an ``.npz`` holding ``x`` (or ``x_test``).
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import ConfigError, DataError
from ._common import class_names_for, softmax, stderr


def expand_image_paths(paths) -> list[str]:
    """Files as given; folders replaced by their image files (recursive, sorted, hidden ones skipped)."""
    from ..datasets.image_folder import _image_files

    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = _image_files(p, [])
            if not found:
                raise DataError(f"{p}: the folder holds no image files.")
            out += found
        else:
            out.append(p)
    return out


def _bar(p: float, width: int = 30) -> str:
    return "█" * round(p * width)


def _print_probs(label: str, probs: np.ndarray, classes: list[str], top: int | None) -> None:
    best = int(np.argmax(probs))
    width = max(len(c) for c in classes)
    print(f"{label}: {classes[best]}  (probability {probs[best]:.1%})")
    order = np.argsort(-probs, kind="stable")
    if top is not None:
        order = order[:max(1, top)]
    for c in order:
        print(f"    {classes[c]:>{width}}  {probs[c]:6.1%}  {_bar(float(probs[c]))}")


def run(args, model, path) -> int:
    meta = model.metadata
    kind = meta["data"].get("kind")
    if kind == "csv":
        return _run_table(args, model)
    if meta.get("input", {}).get("kind") == "features":
        return _run_features(args, model)
    return _run_images(args, model)


def _run_images(args, model) -> int:
    from ..datasets.image_folder import read_image
    from ..datasets.utils import images_to_inputs

    meta = model.metadata
    c, h, w = meta["input"]["image_shape"]
    color = "rgb" if c == 3 else "grayscale"
    classes = class_names_for(model)
    files = expand_image_paths(args.images)
    top = args.top if args.top is not None else (3 if len(files) > len(args.images) else None)
    bad = []
    for f in files:
        try:
            img = read_image(f, (h, w), color)
        except DataError:
            if len(files) == 1:
                raise
            bad.append(f)
            continue
        if args.invert == "yes":
            img = 255 - img
        probs = softmax(model.predict(images_to_inputs(img[None], model.input_shape)))[0]
        _print_probs(f, probs, classes, top)
    if bad:
        stderr(f"scratchnn: warning: skipped {len(bad)} unreadable image file{'s' * (len(bad) != 1)}: "
               f"{', '.join(bad)}")
    return 0


def _run_table(args, model) -> int:
    from ..datasets.tabular import TablePreprocessor, read_table_for_prediction

    meta = model.metadata
    pre = TablePreprocessor.from_config(meta.get("preprocessing"))
    target = pre.target["name"]
    for path in args.images:
        if not str(path).lower().endswith((".csv", ".tsv", ".txt")):
            raise ConfigError(f"{path}: this model was trained on a CSV table; give CSV files with the columns "
                              f"{', '.join(c['name'] for c in pre.columns)}.")
        x, notes, lines, table = read_table_for_prediction(path, pre)
        for note in notes:
            print(f"{path}: note: {note}")
        scores = model.predict(x)
        truth = table.get(target)
        if pre.target["task"] == "classification":
            classes = list(pre.target["classes"])
            probs = softmax(scores)
            best = probs.argmax(axis=1)
            right = 0
            for i, line in enumerate(lines):
                extra = ""
                if truth is not None:
                    ok = truth[i] == classes[best[i]] or _same_number(truth[i], classes[best[i]])
                    right += ok
                    extra = f"   (true: {truth[i]}{'' if ok else ', wrong'})"
                print(f"{path} line {line}: {classes[best[i]]}  (probability {probs[i, best[i]]:.1%}){extra}")
            if truth is not None:
                print(f"{path}: {right} of {len(lines)} rows right ({right / len(lines):.2%}), against its "
                      f"{target!r} column")
        else:
            scale = meta.get("target_scale") or {"mean": pre.target["mean"], "std": pre.target["std"]}
            pred = scores[:, 0].astype(np.float64) * scale["std"] + scale["mean"]
            errs = []
            for i, line in enumerate(lines):
                extra = ""
                if truth is not None:
                    try:
                        errs.append(pred[i] - float(truth[i]))
                        extra = f"   (true: {truth[i]})"
                    except ValueError:
                        pass
                print(f"{path} line {line}: {target} = {pred[i]:.6g}{extra}")
            if errs:
                e = np.asarray(errs)
                print(f"{path}: RMSE {np.sqrt(np.mean(e ** 2)):.4g}, MAE {np.mean(np.abs(e)):.4g} on the "
                      f"{len(e)} rows with a {target!r} value")
    return 0


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def _run_features(args, model) -> int:
    meta = model.metadata
    classes = class_names_for(model) if meta.get("task") == "classification" else None
    for path in args.images:
        if not str(path).lower().endswith(".npz"):
            raise ConfigError(f"{path}: this model takes feature vectors; give an .npz holding 'x' (N, "
                              f"{meta['input']['n']}).")
        with np.load(path, allow_pickle=False) as f:
            key = "x" if "x" in f.files else "x_test" if "x_test" in f.files else None
            if key is None:
                raise DataError(f"{path}: no array 'x' (or 'x_test'); found {', '.join(f.files) or 'none'}.")
            x = f[key]
        if x.ndim != 2 or x.shape[1] != meta["input"]["n"] or x.dtype.kind not in "biuf":
            raise DataError(f"{path}: {key} must be numbers of shape (N, {meta['input']['n']}). "
                            f"Received: {x.dtype} {x.shape}")
        scores = model.predict(x.astype(np.float32))
        for i in range(len(x)):
            if classes is not None:
                p = softmax(scores[i:i + 1])[0]
                print(f"{path} [{i}]: {classes[int(p.argmax())]}  (probability {p.max():.1%})")
            else:
                s = meta["target_scale"]
                print(f"{path} [{i}]: {scores[i, 0] * s['std'] + s['mean']:.6g}")
    return 0
