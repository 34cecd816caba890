"""``scratchnn summary``: the layers, parameter counts and training record of a model file."""
from __future__ import annotations

from ._common import add_parser, model_file_path

EXAMPLES = """\
  scratchnn summary runs/latest/model.npz
  scratchnn summary runs/mlp              # a run folder works too
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "summary", help="layers, parameters and training record of a model file",
                   description="Print a model's layers with their output shapes and parameter counts, "
                   "its optimizer, and how it was trained.", examples=EXAMPLES)
    p.add_argument("model", help="a .npz model file written by scratchnn (or a folder holding model.npz)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..io import load_model

    path = model_file_path(args.model)
    model = load_model(path)
    print(f"{path}")
    model.summary()
    if model.optimizer is not None:
        print(f"Optimizer: {type(model.optimizer).__name__} (learning rate now {model.optimizer.current_lr:.3g}, "
              f"{model.optimizer.iterations:,} steps); loss: {type(model.loss).__name__}")
    print(f"Epochs trained: {model.epochs_trained}")
    meta = model.metadata if isinstance(model.metadata, dict) else {}
    train = meta.get("train")
    if isinstance(train, dict):
        keys = ("dataset", "model", "epochs", "batch_size", "lr", "seed")
        print("Trained with: " + ", ".join(f"{k}={train[k]}" for k in keys if k in train))
    test = meta.get("test")
    if isinstance(test, dict) and isinstance(test.get("accuracy"), (int, float)):
        n = test.get("n")
        where = f" on {n:,} {test.get('dataset', '')} test images" if isinstance(n, int) else ""
        print(f"Test accuracy: {test['accuracy']:.2%}{where}")
    h = model.history.history
    if h.get("val_accuracy"):
        print(f"Last validation accuracy: {h['val_accuracy'][-1]:.2%}")
    return 0
