"""Turning an image file (a PNG of a digit) into an MNIST-like 28x28 array, saying what was changed.

MNIST digits are white on black, centred by their centre of mass in a 28x28 field,
with the digit itself scaled into a 20x20 box. :func:`load_digit_image` applies the
same normalisation to any picture Pillow can read and returns the notes of what it
did ("converted RGBA to grayscale", "inverted", "resized 200x200 to 28x28 ..."), so a
command line can tell the user.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import DataError


def _pil():
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - pillow is a dependency
        raise ImportError("reading images needs Pillow: pip install pillow") from None
    return Image, UnidentifiedImageError


def to_grayscale(img) -> tuple[np.ndarray, list[str]]:
    """A Pillow image -> float array (H, W) in [0, 255] and notes; transparency is laid on white."""
    Image, _ = _pil()
    notes = []
    mode = img.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max()
        arr = arr * (255.0 / hi) if hi > 0 else arr
        notes.append(f"scaled {mode} pixels to 0..255")
        return arr, notes
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
        notes.append(f"laid the transparent {mode} image on white")
    if img.mode != "L":
        notes.append(f"converted {mode} to grayscale")
        img = img.convert("L")
    return np.asarray(img, dtype=np.float64), notes


def mnist_normalize(gray: np.ndarray, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """Grayscale (H, W) in [0, 255] -> uint8 (28, 28) white-on-black digit, MNIST-style, plus notes.

    Args:
        invert: ``"auto"`` (invert when the border is lighter than the middle: a dark digit on
            light paper), ``"yes"`` or ``"no"``.
    """
    if gray.ndim != 2 or min(gray.shape) < 2:
        raise DataError(f"the image is {gray.shape[::-1]} pixels; a digit needs at least 2x2")
    notes = []
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if invert == "yes" or (invert == "auto" and border.mean() > 127):
        gray = 255.0 - gray
        notes.append("inverted it (dark digit on a light background; MNIST digits are light on dark)")
    h, w = gray.shape
    if (h, w) == (28, 28):
        return np.clip(np.rint(gray), 0, 255).astype(np.uint8), notes
    Image, _ = _pil()
    ink = gray > 0.25 * gray.max() if gray.max() > 0 else np.zeros_like(gray, dtype=bool)
    if not ink.any():
        raise DataError("the image is blank (no digit found)")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    ch, cw = crop.shape
    scale = 20.0 / max(ch, cw)
    nh, nw = max(1, int(round(ch * scale))), max(1, int(round(cw * scale)))
    small = Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8)).resize((nw, nh), Image.Resampling.LANCZOS)
    small = np.asarray(small, dtype=np.float64)
    canvas = np.zeros((28, 28))
    total = small.sum()
    cy, cx = ((np.arange(nh)[:, None] * small).sum() / total, (np.arange(nw)[None, :] * small).sum() / total)
    top = int(np.clip(round(14 - cy), 0, 28 - nh))
    left = int(np.clip(round(14 - cx), 0, 28 - nw))
    canvas[top:top + nh, left:left + nw] = small
    notes.append(f"resized it from {w}x{h} to 28x28 (digit scaled into a 20x20 box and centred, as in MNIST)")
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8), notes


def load_digit_image(path: str | os.PathLike, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """Read an image file and return ``(uint8 array (28, 28), notes)``.

    Raises:
        FileNotFoundError: no such file; DataError: not an image Pillow can read, or blank.
    """
    Image, Unidentified = _pil()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "image file not found", path)
    try:
        with Image.open(path) as img:
            img.load()
            gray, notes = to_grayscale(img)
    except Unidentified:
        raise DataError(f"{path} is not an image that Pillow can read (PNG, JPEG, BMP, ...)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataError(f"{path} could not be read as an image ({' '.join(str(exc).split())})") from None
    if gray.ndim == 3:  # e.g. a multi-band mode that converted oddly
        gray = gray.mean(axis=2)
    arr, more = mnist_normalize(gray, invert)
    return arr, notes + more
