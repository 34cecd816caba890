"""``scratchnn evaluate``: accuracy of a trained image classifier on a test set."""
from __future__ import annotations

from pathlib import Path

from ._common import (
    UsageError,
    add_force,
    add_parser,
    class_names_for,
    load_trained_model,
    prepare_out_dir,
    print_classification_report,
    say,
    trained_with_data,
)
from .run_folder import check_new_file

EXAMPLES = """\
  scratchnn evaluate runs/latest/model.npz                  # on the data set it was trained on
  scratchnn evaluate runs/mlp/model.npz --dataset mnist
  scratchnn evaluate runs/mlp --dataset mnist --plots runs/mlp/eval   # also the PNGs
  scratchnn evaluate runs/photos                            # a 'train --data' model: its own test part
  scratchnn evaluate runs/photos --data more-photos/ --split all
"""


def register(subparsers) -> None:
    from ..datasets import IMAGE_DATASETS

    p = add_parser(subparsers, "evaluate", help="test accuracy of a trained model, per class too",
                   description="Evaluate a model written by 'scratchnn train' on a test set: loss, "
                   "accuracy and accuracy per class; optionally the confusion matrix and misclassified "
                   "images as PNGs.", examples=EXAMPLES)
    p.add_argument("model", help="a model.npz (or the run folder holding it)")
    p.add_argument("--dataset", choices=IMAGE_DATASETS, help="default: the data set the model was trained on")
    p.add_argument("--data-dir", metavar="DIR", help="folder with the IDX files of --dataset (default: "
                   "searched as by 'scratchnn train')")
    p.add_argument("--data", metavar="PATH", help="models trained with --data: evaluate on this image folder, "
                   "IDX folder, .npz or .csv (default: the data the model was trained on)")
    p.add_argument("--split", choices=("test", "train", "all"), default="test",
                   help="which split (default: test; 'all' only with models trained with --data)")
    p.add_argument("--no-download", action="store_true", help="never download data sets")
    p.add_argument("--plots", metavar="DIR", help="also write confusion_matrix.png and misclassified.png there "
                   "(default: no plots)")
    add_force(p, "existing plots in --plots")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..datasets import images_to_inputs, load_dataset
    from ..errors import ConfigError

    model, path = load_trained_model(args.model)
    if trained_with_data(model):
        from .evaluate_data import run as run_data
        return run_data(args, model, path)
    if args.data or args.split == "all":
        raise ConfigError("--data and --split all are for models trained with 'scratchnn train --data'; "
                          "use --dataset for this one.")
    info = model.metadata.get("train", {}) if isinstance(model.metadata, dict) else {}
    dataset = args.dataset or (info.get("dataset") if isinstance(info, dict) else None) or "bundled"
    if dataset == "bundled" and args.data_dir:
        raise UsageError("--data-dir is for --dataset mnist or fashion-mnist")
    out = None
    if args.plots:
        for name in ("confusion_matrix.png", "misclassified.png"):
            check_new_file(Path(args.plots) / name, "--plots", args.force)
        out = prepare_out_dir(args.plots)
    say(f"Loading {dataset} ({args.split} split)...")
    train, test = load_dataset(dataset, args.data_dir, download=not args.no_download)
    images, labels = test if args.split == "test" else train
    x = images_to_inputs(images, model.input_shape)
    scores = model.predict(x)
    classes = class_names_for(model)
    if len(classes) != scores.shape[1]:
        classes = [str(i) for i in range(scores.shape[1])]
    if labels.max() >= scores.shape[1]:
        raise ConfigError(f"{path} has {scores.shape[1]} outputs but {dataset} has labels up to {labels.max()}")
    print_classification_report(f"{path} on {dataset} {args.split}", labels, scores, classes, unit="images")
    if out is not None:
        from .. import plots
        plots.plot_confusion_matrix(labels, scores, classes, path=out / "confusion_matrix.png",
                                    title=f"Confusion matrix ({dataset} {args.split})")
        plots.plot_misclassified(images, labels, scores, classes, path=out / "misclassified.png")
        say(f"Wrote confusion_matrix.png and misclassified.png to {out}/")
    return 0
