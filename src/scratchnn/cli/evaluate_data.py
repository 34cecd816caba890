"""``scratchnn evaluate`` for models trained with ``--data``: the same test part, rebuilt from the
model file, or another source given with ``--data``.

The model's ``metadata["data"]`` holds what loaded its training data (path, size, colour,
target, split fraction and seed), so the held-out test part is rebuilt exactly. Tables
go through the model's stored preprocessing (never refitted); image folders are read in
batches (:class:`~scratchnn.datasets.ImageFolderStream`), so a folder larger than memory
can be evaluated, and their class folders are matched to the model's classes by name.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from ._common import class_names_for, prepare_out_dir, print_classification_report, say, stderr

#: At most this many misclassified images are kept for the plot.
MAX_WRONG_KEPT = 500


def _image_folder_scores(model, src: str, d: dict, split: str):
    """Scores, labels and (a bounded number of) misclassified images of an image folder's ``split``."""
    from ..datasets import ImageFolderStream, images_to_inputs
    from ..datasets.image_folder import scan_image_folder, skipped_note, split_layout

    classes = class_names_for(model)
    layout = scan_image_folder(src)
    unknown = [c for c in layout.classes if c not in classes]
    if unknown:
        raise DataError(f"{src}: class folders {', '.join(unknown)} are not among the model's classes "
                        f"({', '.join(classes)}).")
    remap = np.array([classes.index(c) for c in layout.classes], dtype=np.int64)
    f_tr, y_tr, f_te, y_te, _ = split_layout(layout, d.get("test_fraction", 0.2), d.get("seed", 0))
    parts = {"train": [(f_tr, y_tr)], "test": [(f_te, y_te)], "all": [(f_tr, y_tr), (f_te, y_te)]}[split]
    scores, labels, wrong, wrong_labels, wrong_scores, skipped = [], [], [], [], [], []
    for files, y in parts:
        stream = ImageFolderStream(files, remap[y], tuple(d["size"]), d["color"], batch_size=512, shuffle=False)
        for images, yb in stream:
            s = model.predict(images_to_inputs(images, model.input_shape))
            scores.append(s)
            labels.append(yb)
            bad = np.flatnonzero(s.argmax(axis=1) != yb)
            if sum(len(w) for w in wrong) < MAX_WRONG_KEPT and len(bad):
                wrong.append(images[bad])
                wrong_labels.append(yb[bad])
                wrong_scores.append(s[bad])
        skipped += stream.skipped
    if skipped:
        stderr("scratchnn: warning: " + skipped_note(skipped, layout.root))
    if not scores:
        raise DataError(f"{src}: no readable image in the {split} part.")
    kept = None
    if wrong:
        kept = (np.concatenate(wrong), np.concatenate(wrong_labels), np.concatenate(wrong_scores))
    return np.concatenate(scores), np.concatenate(labels), kept


def _arrays(model, src: str, d: dict, split: str):
    """Inputs, targets (and raw images for plots) of an IDX, NPZ or CSV source's ``split``."""
    from ..datasets import (
        images_to_inputs,
        load_csv_table,
        load_idx_pair,
        load_npz_arrays,
    )
    from ..datasets.tabular import TablePreprocessor

    meta = model.metadata
    kind = d["kind"]
    common = {"test_fraction": d.get("test_fraction", 0.2), "seed": d.get("seed", 0)}
    if kind == "csv":
        pre = TablePreprocessor.from_config(meta.get("preprocessing"))
        data = load_csv_table(src, pre.target["name"], preprocessor=pre, **common)
    elif kind == "npz":
        data = load_npz_arrays(src, task=meta.get("task"), **common)
    else:
        data = load_idx_pair(src)
    pick = {"train": [(data.x_train, data.y_train)], "test": [(data.x_test, data.y_test)],
            "all": [(data.x_train, data.y_train), (data.x_test, data.y_test)]}[split]
    raw = np.concatenate([p[0] for p in pick])
    y = np.concatenate([p[1] for p in pick])
    expected = int(np.prod(model.input_shape))
    if int(np.prod(raw.shape[1:])) != expected:
        raise DataError(f"{src}: samples of shape {raw.shape[1:]} ({int(np.prod(raw.shape[1:]))} values) but the "
                        f"model takes {expected} inputs.")
    x = images_to_inputs(raw, model.input_shape) if raw.ndim >= 3 else raw.astype(np.float32)
    for note in data.notes:
        say(f"  note: {note}")
    return x, y, (raw if raw.ndim >= 3 else None)


def run(args, model, path) -> int:
    from .train_data import regression_scores

    d = model.metadata["data"]
    if args.dataset or args.data_dir:
        raise ConfigError(f"{path} was trained with --data; evaluate it with --data PATH (default: "
                          f"{d.get('path')}), not --dataset/--data-dir.")
    src = args.data or d.get("path")
    out = prepare_out_dir(args.plots) if args.plots else None
    task = model.metadata.get("task", "classification")
    say(f"Loading {src} ({args.split} part)...")
    if d["kind"] == "image-folder":
        scores, labels, wrong = _image_folder_scores(model, src, d, args.split)
        images = None
    else:
        x, labels, images = _arrays(model, src, d, args.split)
        scores = model.predict(x)
        wrong = None
    n = len(labels)
    if task == "regression":
        s = model.metadata["target_scale"]
        pred = scores[:, 0].astype(np.float64) * s["std"] + s["mean"]
        reg = regression_scores(labels, pred)
        print(f"{path} on {src} {args.split} ({n:,} rows): RMSE {reg['rmse']:.4g}, MAE {reg['mae']:.4g}, "
              f"R^2 {reg['r2']:.4f}")
        if out is not None:
            from .. import plots
            plots.plot_regression(labels, pred, path=out / "regression.png", title=f"{src} {args.split}")
            say(f"Wrote regression.png to {out}/")
        return 0
    classes = class_names_for(model)
    if n and int(labels.max()) >= scores.shape[1]:
        raise DataError(f"{src} has labels up to {int(labels.max())} but {path} has {scores.shape[1]} classes.")
    print_classification_report(f"{path} on {src} {args.split}", labels, scores, classes)
    if out is not None:
        from .. import plots
        plots.plot_confusion_matrix(labels, scores, classes, path=out / "confusion_matrix.png",
                                    title=f"Confusion matrix ({src} {args.split})")
        written = ["confusion_matrix.png"]
        shown = wrong if wrong is not None else ((images, labels, scores) if images is not None else None)
        if shown is not None:
            plots.plot_misclassified(*shown, classes, path=out / "misclassified.png")
            written.append("misclassified.png")
        say(f"Wrote {' and '.join(written)} to {out}/")
    return 0
