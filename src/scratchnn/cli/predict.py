"""``scratchnn predict``: classify image files with a trained model."""
from __future__ import annotations

import numpy as np

from ._common import add_parser, class_names_for, load_trained_model, softmax, trained_with_data

EXAMPLES = """\
  scratchnn predict runs/latest/model.npz digit.png
  scratchnn predict runs/mlp/model.npz a.png b.png c.png --top 3
  scratchnn predict runs/mlp/model.npz scan.png --invert no   # already light-on-dark
  scratchnn predict runs/latest new/images/                  # a folder: every image in it
  scratchnn predict runs/table new.csv                        # a model trained on a CSV table

Any image Pillow reads works: it is converted to grayscale, inverted when the digit is
dark on a light background, and, unless it is 28x28 already, the digit is scaled into a
20x20 box and centred in 28x28 as MNIST digits are; each change is reported.
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
                   help="invert to light-on-dark: auto (default) inverts when the border is light")
    p.add_argument("--top", type=int, default=None, help="show only the K most likely classes")
    p.set_defaults(func=run)


def _bar(p: float, width: int = 30) -> str:
    return "█" * int(round(p * width))


def run(args) -> int:
    from ..datasets.images import load_digit_image
    from ..datasets.utils import images_to_inputs

    model, path = load_trained_model(args.model)
    if trained_with_data(model):
        from .predict_data import run as run_data
        return run_data(args, model, path)
    from .predict_data import expand_image_paths
    classes = class_names_for(model)
    width = max(len(c) for c in classes)
    for path in expand_image_paths(args.images):
        img, notes = load_digit_image(path, args.invert)
        for note in notes:
            print(f"{path}: {note}")
        probs = softmax(model.predict(images_to_inputs(img[None], model.input_shape)))[0]
        best = int(np.argmax(probs))
        print(f"{path}: {classes[best]}  (probability {probs[best]:.1%})")
        order = np.argsort(-probs, kind="stable")
        if args.top is not None:
            order = order[:max(1, args.top)]
        for c in order:
            print(f"    {classes[c]:>{width}}  {probs[c]:6.1%}  {_bar(float(probs[c]))}")
    return 0
