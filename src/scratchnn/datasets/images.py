"""Turning an image file (a PNG of a digit) into an MNIST-like 28x28 array, saying what was changed.

MNIST digits are white on black, centred by their centre of mass in a 28x28 field,
with the digit itself scaled into a 20x20 box. :func:`load_digit_image` applies the
same normalisation to any picture Pillow can read and returns the notes of what it
did ("converted RGBA to grayscale", "inverted", "resized 200x200 to 28x28 ..."), so a
command line can tell the user.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from ..errors import DataError

#: Images with more pixels are refused before they are decoded (a decompression bomb -- a small
#: file that decodes to gigabytes -- is refused from its header alone). 16 megapixels is more
#: than a phone photo; a digit needs a few hundred.
MAX_PIXELS = 16_000_000
#: Larger images are shrunk (box filter) to at most this side before any array is made.
WORK_SIDE = 1024
#: Images smaller than this on a side are read, with a warning: too few pixels for a digit.
TINY_SIDE = 8


def _pil():
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - pillow is a dependency
        raise ImportError("reading images needs Pillow: pip install pillow") from None
    return Image, UnidentifiedImageError


def to_grayscale(img) -> tuple[np.ndarray, list[str]]:
    """A Pillow image -> float array (H, W) in [0, 255] and notes.

    A transparent image is laid on a background that contrasts with its ink: the ink is
    what is opaque, so light ink (a white digit drawn on a transparent, dark-mode canvas)
    goes on black and dark ink on white. Laying everything on white would make a white
    digit vanish.
    """
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
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64)
        luma = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float64)
        opaque = alpha >= 128
        light_ink = bool(opaque.any() and luma[opaque].mean() > 127 and not opaque.all())
        shade = 0 if light_ink else 255
        background = Image.new("RGBA", rgba.size, (shade, shade, shade, 255))
        img = Image.alpha_composite(background, rgba)
        notes.append(f"laid the transparent {mode} image on {'black (light ink)' if light_ink else 'white'}")
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
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
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

    Images over :data:`MAX_PIXELS` are refused from their header, before decoding (and
    Pillow's own decompression-bomb warning is not shown); large ones are shrunk to
    :data:`WORK_SIDE` first. Notes starting with ``"warning: "`` flag doubtful inputs
    (fewer than :data:`TINY_SIDE` pixels on a side).

    Raises:
        FileNotFoundError: no such file; DataError: not an image Pillow can read, too many
            pixels, or blank -- every message starts with the file's name.
    """
    Image, Unidentified = _pil()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "image file not found", path)
    if os.path.isdir(path):
        raise DataError(f"{path} is a folder, not an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise DataError(f"{path} is {w}x{h} pixels ({w * h / 1e6:,.0f} megapixels); images "
                                    f"up to {MAX_PIXELS / 1e6:g} megapixels are read (a guard against "
                                    "decompression bombs). Shrink it first.")
                img.load()
                img, shrunk = _shrink(img)
                gray, notes = to_grayscale(img)
    except Image.DecompressionBombError:
        raise DataError(f"{path} declares too many pixels to decode safely (a decompression bomb?)") from None
    except Unidentified:
        raise DataError(f"{path} is not an image that Pillow can read (PNG, JPEG, BMP, ...)") from None
    except DataError:
        raise
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataError(f"{path} could not be read as an image ({' '.join(str(exc).split())})") from None
    if shrunk:
        notes.insert(0, f"shrank it from {w}x{h} to {img.size[0]}x{img.size[1]} first")
    if gray.ndim == 3:  # e.g. a multi-band mode that converted oddly
        gray = gray.mean(axis=2)
    if min(gray.shape) < TINY_SIDE:
        notes.append(f"warning: the image is only {w}x{h} pixels; a prediction from so few pixels "
                     "is unreliable")
    try:
        arr, more = mnist_normalize(gray, invert)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    return arr, notes + more


def _shrink(img, side: int = WORK_SIDE):
    """Reduce ``img`` by an integer factor so that no side exceeds ``side``; returns (image, shrunk?)."""
    factor = math.ceil(max(img.size) / side)
    if factor <= 1:
        return img, False
    if img.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        img = img.convert("RGBA" if "A" in img.mode or "transparency" in img.info else "RGB")
    return img.reduce(factor), True
