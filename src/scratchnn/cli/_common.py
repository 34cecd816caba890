"""Helpers shared by the commands: output folders, loading image classifiers, messages."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ShapeError
from .options import HelpFormatter
from .run_folder import UsageError  # noqa: F401  (re-exported: commands raise it for bad combinations)

IMAGE_SHAPE = (28, 28)


def say(*parts, quiet: bool = False) -> None:
    """Print a progress message on stdout (unless ``quiet``)."""
    if not quiet:
        print(*parts, flush=True)


def add_parser(subparsers, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand parser with its examples in the epilog."""
    return subparsers.add_parser(name, help=help, description=description,
                                 epilog="examples:\n" + examples,
                                 formatter_class=HelpFormatter)


def add_force(parser: argparse.ArgumentParser, what: str = "an existing output folder") -> None:
    """The ``--force`` flag: allow replacing ``what`` (otherwise refused before any work)."""
    parser.add_argument("--force", action="store_true", help=f"replace {what} (default: refuse)")


def default_run_dir(root: str = "runs") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>`` (with a ``-2``, ``-3``... suffix if it exists)."""
    base = Path(root) / time.strftime("%Y%m%d-%H%M%S")
    path, k = base, 1
    while path.exists():
        k += 1
        path = Path(f"{base}-{k}")
    return path


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` and check that files can be written in it (fail before any long work).

    Raises:
        OSError: with a message naming the folder.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write to the output folder {path} ({exc.strerror or exc})") from None
    return path


def link_latest(out: Path) -> None:
    """Point ``<parent>/latest`` at ``out`` (a symlink; skipped silently where unsupported)."""
    latest = out.parent / "latest"
    try:
        if latest.is_symlink():
            latest.unlink()
        elif latest.exists():
            return
        latest.symlink_to(out.name, target_is_directory=True)
    except OSError:
        pass


def model_file_path(path: str | os.PathLike) -> str:
    """The model file a user means: ``path`` itself, or ``model.npz`` inside a run folder.

    Raises:
        FileNotFoundError: neither exists.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "model file not found", path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.npz")
        if not os.path.isfile(candidate):
            raise FileNotFoundError(2, "no model.npz in the folder", path)
        path = candidate
    return path


def load_image_classifier(path: str | os.PathLike):
    """Load a scratchnn model and check that it classifies 28x28 images.

    Raises:
        FileNotFoundError, ModelFileError (not a scratchnn model), ShapeError (another kind of model).
    """
    from ..io import load_model

    path = model_file_path(path)
    model = load_model(path)
    pixels = int(np.prod(IMAGE_SHAPE))
    if int(np.prod(model.input_shape)) != pixels:
        raise ShapeError(f"{path} takes inputs of shape {tuple(model.input_shape)}, not 28x28 images "
                         "(this command needs an image classifier such as one from 'scratchnn train').")
    if len(model.output_shape) != 1 or model.output_shape[0] < 2:
        raise ShapeError(f"{path} outputs shape {tuple(model.output_shape)}; a classifier outputs (C,) scores.")
    return model, path


def class_names_for(model) -> list[str]:
    names = model.metadata.get("classes") if isinstance(model.metadata, dict) else None
    n = int(model.output_shape[0])
    if isinstance(names, list) and len(names) == n and all(isinstance(c, str) for c in names):
        return names
    return [str(i) for i in range(n)]


def softmax(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if np.all(s >= 0) and np.allclose(s.sum(axis=-1), 1.0, atol=1e-4):
        return s
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def check_choice(value: str, choices, what: str) -> str:
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}.")
    return value


def stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def trained_with_data(model) -> bool:
    """True for a model written by ``scratchnn train --data`` (its metadata says how to read its inputs)."""
    return isinstance(model.metadata, dict) and isinstance(model.metadata.get("data"), dict)


def load_trained_model(path: str | os.PathLike):
    """A model from ``scratchnn train``: one trained with ``--data`` (any input), else an image
    classifier as :func:`load_image_classifier` checks it.

    Raises:
        FileNotFoundError, ModelFileError, ShapeError (as :func:`load_image_classifier`).
    """
    from ..io import load_model

    file = model_file_path(path)
    model = load_model(file)
    if trained_with_data(model):
        return model, file
    return load_image_classifier(file)


def print_classification_report(what: str, labels: np.ndarray, scores: np.ndarray, classes: list[str],
                                unit: str = "samples") -> None:
    """Print ``what``'s accuracy and cross-entropy loss, then the accuracy per class.

    ``labels`` (N,) are class indices, ``scores`` (N, C) the model's logits; a class with no
    sample is left out of the per-class lines.
    """
    from ..losses import SoftmaxCrossEntropy

    pred = scores.argmax(axis=1)
    acc = float(np.mean(pred == labels)) if len(labels) else float("nan")
    loss = SoftmaxCrossEntropy().forward(scores.astype(np.float64), labels)
    print(f"{what} ({len(labels):,} {unit}): accuracy {acc:.2%}, loss {loss:.4f}")
    print("per class:")
    width = max(len(c) for c in classes)
    for c, name in enumerate(classes):
        m = labels == c
        if m.any():
            print(f"  {name:>{width}}  {np.mean(pred[m] == c):7.2%}  ({int(m.sum()):,} {unit})")


def draw_plots(jobs, out: Path) -> list[str]:
    """Draw each ``(filename, draw)`` of ``jobs`` as ``draw(out / filename)``; returns the
    files written. A plot that fails gets a one-line warning and the others are still drawn."""
    import matplotlib.figure  # noqa: F401  (fail early and clearly if Matplotlib is broken)

    written = []
    for filename, draw in jobs:
        try:
            draw(out / filename)
            written.append(filename)
        except (ValueError, TypeError, OSError, RuntimeError) as exc:
            stderr(f"scratchnn: warning: could not draw {filename}: {' '.join(str(exc).split())}")
    return written
