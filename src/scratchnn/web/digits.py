"""The digit pad's model: a drawn PNG -> the same 28x28 input as ``scratchnn predict`` -> probabilities.

The model file is read only through :func:`scratchnn.load_model` (no pickle, checked contents),
lazily and again whenever the file changes, so ``scratchnn serve`` can be started before
``scratchnn train`` has written ``runs/latest/model.npz``.

A prediction runs the model's layers one by one (inference mode) and keeps the output of the
first weight layer after its activation: the first Dense layer's units (MLP) or the first
convolution's feature maps (CNN). They are scaled to 0..255 (by the largest value over all
units or maps) and sent with the probabilities and the preprocessed 28x28 input.
"""
from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..layers.activations import Activation
from .snapshot import b64

#: Largest drawn image accepted, in pixels per side (a 1 MB PNG can hold a huge blank image).
MAX_SIDE = 2048


class NoModelError(LookupError):
    """No usable model file (yet): the page says how to get one."""


def decode_drawing(data: bytes) -> np.ndarray:
    """PNG/JPEG bytes of a drawing -> uint8 (28, 28), light digit on dark, as ``scratchnn predict`` does.

    Raises:
        DataError: not an image, larger than :data:`MAX_SIDE`, or blank.
    """
    from PIL import Image, UnidentifiedImageError

    from ..datasets.images import mnist_normalize, to_grayscale

    try:
        with Image.open(io.BytesIO(data)) as img:
            if max(img.size) > MAX_SIDE:
                raise DataError(f"the drawing is {img.size[0]}x{img.size[1]} pixels; at most "
                                f"{MAX_SIDE}x{MAX_SIDE} are accepted")
            img.load()
            if img.mode == "RGBA" and img.getchannel("A").getextrema() == (255, 255):
                img = img.convert("L")  # an opaque canvas: the same grey levels, without compositing
            gray, _ = to_grayscale(img)
    except UnidentifiedImageError:
        raise DataError("the body is not an image (send the canvas as PNG)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"the image could not be decoded ({' '.join(str(exc).split())})") from None
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    digit, _ = mnist_normalize(gray, "auto")
    return digit


def _first_layer_index(model) -> int:
    """Index of the layer whose output is shown: the first weight layer, or the activation after it."""
    for i, layer in enumerate(model.layers):
        if layer.params:
            nxt = i + 1
            if nxt < len(model.layers) - 1 and isinstance(model.layers[nxt], Activation):
                return nxt
            return i
    return 0


class DigitModel:
    """The model behind the digit pad, (re)loaded from ``path`` when the file changes.

    Predictions are serialised by a lock: layers keep per-call caches, so one model must not
    run two forward passes at once.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._model = None
        self._stamp = None
        self._info: dict = {}

    def _load(self):
        from ..cli._common import class_names_for, load_image_classifier

        try:
            st = self.path.stat()
        except OSError:
            self._model = None
            raise NoModelError(f"no model at {self.path}: run 'scratchnn train' first, or start the "
                               "server with 'scratchnn serve --model PATH'") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if self._model is not None and stamp == self._stamp:
            return self._model
        model, _ = load_image_classifier(self.path)  # sn.load_model: the safe loader
        idx = _first_layer_index(model)
        conv = len(model.input_shape) == 3
        kinds = [type(layer).__name__ for layer in model.layers]
        self._model, self._stamp = model, stamp
        self._info = {"available": True, "name": self.path.name, "classes": class_names_for(model),
                      "kind": "cnn" if conv else "mlp", "layers": kinds, "shown_layer": idx,
                      "shown_name": f"{kinds[idx]} (layer {idx + 1} of {len(kinds)})",
                      "params": model.count_params(), "input_shape": list(model.input_shape)}
        return model

    @property
    def busy(self) -> bool:
        """Whether a prediction (or a reload) is running now."""
        return self._lock.locked()

    def info(self) -> dict:
        """What the page shows about the model, or ``{"available": False, "message": ...}``."""
        with self._lock:
            try:
                self._load()
            except NoModelError as exc:
                return {"available": False, "message": str(exc)}
            return dict(self._info)

    def predict_drawing(self, data: bytes) -> dict:
        """Probabilities, the 28x28 input and the first layer's activations for a drawn image.

        Raises:
            NoModelError: no model file (yet).
            DataError: the drawing is not usable (see :func:`decode_drawing`).
            ModelFileError: the file is not a scratchnn model.
        """
        from ..cli._common import softmax
        from ..datasets.utils import images_to_inputs

        t0 = time.perf_counter()
        digit = decode_drawing(data)
        with self._lock:
            model = self._load()
            info = self._info
            x = images_to_inputs(digit[None], model.input_shape).astype(model.dtype)
            shown = None
            for i, layer in enumerate(model.layers):
                x = layer(x, False)
                if i == info["shown_layer"]:
                    shown = np.asarray(x[0], dtype=np.float64)
        probs = softmax(x)[0]
        if shown.ndim == 3:  # (C, H, W) feature maps
            act = {"kind": "maps", "count": shown.shape[0], "height": shown.shape[1], "width": shown.shape[2]}
        else:
            act = {"kind": "units", "count": int(shown.size), "height": 1, "width": 1}
        peak = float(np.abs(shown).max())
        act["data"] = b64(np.clip(np.rint(np.abs(shown) / peak * 255), 0, 255) if peak > 0 else np.zeros(shown.shape))
        act["layer"] = info["shown_name"]
        best = int(np.argmax(probs))
        return {"prediction": info["classes"][best], "index": best,
                "probabilities": [round(float(p), 6) for p in probs], "classes": info["classes"],
                "input": b64(digit), "activations": act, "ms": round((time.perf_counter() - t0) * 1e3, 2)}
