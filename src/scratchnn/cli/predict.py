"""``scratchnn predict``: classify image files with a trained model.

Each file is read on its own: a file that cannot be read, is too large (a decompression
bomb) or blank gets one ``scratchnn: error: FILE: why`` line on stderr and the batch
carries on; the exit status is 1 when any file failed. Results go to stdout, as text or,
with ``--json``, as one JSON object per line (JSON Lines).
"""
from __future__ import annotations

import json

import numpy as np

from ._common import add_parser, class_names_for, load_trained_model, softmax, stderr, trained_with_data
from .options import integer

EXAMPLES = """\
  scratchnn predict runs/latest/model.npz digit.png
  scratchnn predict runs/latest a.png b.png c.png --top 3     # a run folder works too
  scratchnn predict runs/latest scan.png --invert no          # already light-on-dark
  scratchnn predict runs/latest *.png --json | head -1        # JSON Lines for scripts
  scratchnn predict runs/latest new/images/                   # a folder: every image in it
  scratchnn predict runs/table new.csv                        # a model trained on a CSV table

Any image Pillow reads works: it is converted to grayscale (a transparent one laid on
a background that contrasts with its ink), inverted when the digit is dark on a light
background, and, unless it is 28x28 already, the digit is scaled into a 20x20 box and
centred in 28x28 as MNIST digits are; each change is reported. Images over 16
megapixels are refused before decoding. Exit status 1 if any image failed.
A model trained with 'train --data' reads images as its training images were read
(resized to its size, grayscale or RGB), CSV rows through its stored preprocessing,
and prints its class names.
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "predict", help="classify PNG images of digits: class + probabilities",
                   description="Predict the class of each image with a model written by 'scratchnn train', "
                   "and print the probabilities.", examples=EXAMPLES)
    p.add_argument("model", help="a model.npz (or the run folder holding it)")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...) or folders of them; CSV files "
                   "for a model trained on a table")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert to light-on-dark: auto inverts when the border is light (default: auto)")
    p.add_argument("--top", type=integer(1, 10_000), default=None,
                   help="show only the K most likely classes (default: all)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per image and line: file, class, probability, probabilities, notes")
    p.set_defaults(func=run)


def _bar(p: float, width: int = 30) -> str:
    return "█" * round(p * width)


def _probabilities(model, x: np.ndarray) -> np.ndarray:
    from ..errors import ConfigError

    try:
        return model.predict_proba(x)[0].astype(np.float64)
    except ConfigError:  # a model saved without its loss: its outputs taken as scores
        return softmax(model.predict(x))[0]


def run(args) -> int:
    from ..datasets.images import load_digit_image
    from ..datasets.utils import images_to_inputs
    from ..errors import ScratchnnError
    from . import one_line

    model, path = load_trained_model(args.model)
    if trained_with_data(model):
        from .predict_data import run as run_data
        return run_data(args, model, path)
    from .predict_data import expand_image_paths
    classes = class_names_for(model)
    width = max(len(c) for c in classes)
    failed = 0
    for path in expand_image_paths(args.images):
        try:
            img, notes = load_digit_image(path, args.invert)
            probs = _probabilities(model, images_to_inputs(img[None], model.input_shape))
        except (ScratchnnError, OSError, ValueError, MemoryError) as exc:
            failed += 1
            text = one_line(exc)
            stderr(f"scratchnn: error: {text if path in text else f'{path}: {text}'}")
            if args.json:
                print(json.dumps({"file": path, "error": text}), flush=True)
            continue
        warnings = [n[len("warning: "):] for n in notes if n.startswith("warning: ")]
        notes = [n for n in notes if not n.startswith("warning: ")]
        for w in warnings:
            stderr(f"scratchnn: warning: {path}: {w}")
        best = int(np.argmax(probs))
        order = np.argsort(-probs, kind="stable")
        if args.top is not None:
            order = order[:args.top]
        if args.json:
            print(json.dumps({"file": path, "class": classes[best], "probability": float(probs[best]),
                              "probabilities": {classes[c]: float(probs[c]) for c in order},
                              "notes": notes, "warnings": warnings}), flush=True)
            continue
        for note in notes:
            print(f"{path}: {note}")
        print(f"{path}: {classes[best]}  (probability {probs[best]:.1%})")
        for c in order:
            print(f"    {classes[c]:>{width}}  {probs[c]:6.1%}  {_bar(float(probs[c]))}", flush=True)
    return 1 if failed else 0
