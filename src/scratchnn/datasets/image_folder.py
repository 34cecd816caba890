"""A folder of images, one subfolder per class, as a data set (Keras ``image_dataset_from_directory``,
torchvision ``ImageFolder``).

Accepted layouts::

    photos/                         photos/
        cat/  a.png b.jpg ...           train/  cat/ ...  dog/ ...
        dog/  ...                       test/   cat/ ...  dog/ ...

Class names are the subfolder names in sorted order (label k is ``classes[k]``); images in
nested folders below a class folder belong to that class. Without a ``test/`` folder a test
part is held out by :func:`~scratchnn.datasets.labeled.split_test` (stratified, seeded).
Files are taken by their extension (:data:`IMAGE_EXTENSIONS`); hidden files and folders
are ignored. A file that has an image extension but cannot be decoded (truncated,
corrupt, over :data:`MAX_PIXELS` pixels) is skipped and named in
``LabeledData.notes``, or refused with ``strict=True``.

Each image becomes ``uint8`` pixels: grayscale (H, W) or RGB channels-first (3, H, W);
transparency is laid on white, and images of another size are resized to ``size``
(bilinear, as Keras' default), so ``x`` is (N, H, W) or (N, 3, H, W).

**Memory.** :func:`load_image_folder` holds every image in memory: N * C * H * W bytes as uint8,
four times that once turned into float32 model inputs. ``scratchnn train --data`` streams a
folder whose float32 inputs would exceed :data:`MAX_IN_MEMORY_BYTES` (2 GiB) through
:class:`ImageFolderStream`, which holds one batch at a time.

Example:
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> import scratchnn as sn
    >>> root = tempfile.mkdtemp()
    >>> for name, value in [("dark", 20), ("light", 230)]:
    ...     os.makedirs(os.path.join(root, name))
    ...     for i in range(5):
    ...         Image.new("L", (8, 8), value + i).save(os.path.join(root, name, f"{i}.png"))
    >>> (x_train, y_train), (x_test, y_test), classes = sn.datasets.load_image_folder(root, size=(8, 8))
    >>> x_train.shape, x_test.shape, classes
    ((8, 8, 8), (2, 8, 8), ['dark', 'light'])
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, DataError
from .labeled import LabeledData, check_fraction, split_test

#: File name endings taken as images (compared in lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")
#: Images with more pixels than this are refused before they are decoded (a decompression bomb).
MAX_PIXELS = 64 * 2**20
#: ``scratchnn train`` streams image folders whose float32 inputs would need more bytes than this.
MAX_IN_MEMORY_BYTES = 2 * 2**30
COLORS = ("grayscale", "rgb")


def check_size(size) -> tuple[int, int]:
    """``(height, width)`` from an int or a pair of positive ints (each at most 4096)."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = (int(v) for v in size)
        ok = all(not isinstance(v, bool) and float(v) == int(v) for v in size) and 1 <= h <= 4096 and 1 <= w <= 4096
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"size must be (height, width) of positive integers up to 4096. Received: size={size!r}")
    return h, w


def check_color(color: str) -> str:
    if color not in COLORS:
        raise ConfigError(f"color must be 'grayscale' or 'rgb'. Received: color={color!r}")
    return color


def _pil():
    from .images import _pil as pil
    return pil()


def read_image(path: str | os.PathLike, size=(28, 28), color: str = "grayscale") -> np.ndarray:
    """One image file -> ``uint8`` (H, W) (grayscale) or (3, H, W) (RGB), resized to ``size``.

    Raises:
        DataError: not an image Pillow can read, truncated or corrupt, or larger than
            :data:`MAX_PIXELS` pixels. FileNotFoundError: no such file.
    """
    from .images import to_grayscale

    Image, Unidentified = _pil()
    h, w = check_size(size)
    check_color(color)
    path = os.fspath(path)
    try:
        with Image.open(path) as img:
            if img.size[0] * img.size[1] > MAX_PIXELS:
                raise DataError(f"{path}: {img.size[0]}x{img.size[1]} pixels, over the limit of "
                                f"{MAX_PIXELS:,} pixels per image")
            img.load()
            if color == "grayscale":
                gray, _ = to_grayscale(img)
                if gray.ndim == 3:
                    gray = gray.mean(axis=2)
                out = Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8), mode="L")
            else:
                if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                    rgba = img.convert("RGBA")
                    img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
                out = img.convert("RGB")
    except Unidentified:
        raise DataError(f"{path}: not an image that Pillow can read") from None
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: could not be read as an image ({' '.join(str(exc).split())})") from None
    if out.size != (w, h):
        out = out.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(out, dtype=np.uint8)
    return arr if color == "grayscale" else np.ascontiguousarray(arr.transpose(2, 0, 1))


@dataclass
class ImageFolderLayout:
    """The files of an image folder: class names, and (file, label) lists per part.

    ``test_files`` is ``None`` when the folder has no ``test/`` part. ``ignored`` lists files
    without an image extension (not read).
    """

    root: str
    classes: list[str]
    train_files: list[str]
    train_labels: np.ndarray
    test_files: list[str] | None = None
    test_labels: np.ndarray | None = None
    ignored: list[str] = field(default_factory=list)


def _image_files(folder: str, ignored: list[str]) -> list[str]:
    found = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = os.path.join(here, name)
            (found if name.lower().endswith(IMAGE_EXTENSIONS) else ignored).append(full)
    return found


def _class_dirs(folder: str) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _read_part(folder: str, classes: list[str] | None, ignored: list[str]) -> tuple[list[str], list[str], np.ndarray]:
    names = _class_dirs(folder)
    defines_classes = classes is None
    if classes is None:
        if len(names) < 2:
            raise DataError(f"{folder}: an image folder needs one subfolder per class (at least two); "
                            f"found {len(names)} subfolder{'s' * (len(names) != 1)}"
                            + (f" ({names[0]})" if names else "") + ".")
        classes = names
    else:
        extra = [n for n in names if n not in classes]
        if extra:
            raise DataError(f"{folder}: class folders {', '.join(extra)} are not among the training "
                            f"classes ({', '.join(classes)}).")
    files, labels = [], []
    for k, name in enumerate(classes):
        sub = os.path.join(folder, name)
        if not os.path.isdir(sub):
            continue
        members = _image_files(sub, ignored)
        if not members and defines_classes:
            raise DataError(f"{sub}: the class folder {name!r} holds no image files "
                            f"({', '.join(IMAGE_EXTENSIONS)}).")
        files += members
        labels += [k] * len(members)
    return classes, files, np.asarray(labels, dtype=np.int64)


def scan_image_folder(path: str | os.PathLike) -> ImageFolderLayout:
    """List the image files of ``path`` and their classes, without decoding any image.

    Raises:
        FileNotFoundError: no such folder; DataError: fewer than two class folders, an empty
            class folder, or test classes that the training part lacks.
    """
    root = os.fspath(path)
    if not os.path.isdir(root):
        raise FileNotFoundError(2, "image folder not found", root)
    ignored: list[str] = []
    train_dir, test_dir = os.path.join(root, "train"), os.path.join(root, "test")
    if os.path.isdir(train_dir):
        classes, files, labels = _read_part(train_dir, None, ignored)
        layout = ImageFolderLayout(root, classes, files, labels, ignored=ignored)
        if os.path.isdir(test_dir):
            _, layout.test_files, layout.test_labels = _read_part(test_dir, classes, ignored)
            if not layout.test_files:
                raise DataError(f"{test_dir}: the test folder holds no image files.")
        return layout
    classes, files, labels = _read_part(root, None, ignored)
    return ImageFolderLayout(root, classes, files, labels, ignored=ignored)


def split_layout(layout: ImageFolderLayout, test_fraction: float = 0.2, seed: int | None = 0
                 ) -> tuple[list[str], np.ndarray, list[str], np.ndarray, dict]:
    """``train_files, train_labels, test_files, test_labels, split`` (held out when there is no ``test/``)."""
    if layout.test_files is not None:
        return (layout.train_files, layout.train_labels, layout.test_files, layout.test_labels,
                {"test": "test/ folder"})
    tr, te = split_test(len(layout.train_files), layout.train_labels, test_fraction, seed)
    files = layout.train_files
    return ([files[i] for i in tr], layout.train_labels[tr], [files[i] for i in te], layout.train_labels[te],
            {"test_fraction": float(test_fraction), "seed": seed})


def read_images(files: list[str], size, color: str, *, strict: bool = False
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode ``files``: ``(images, kept, failures)``; ``kept`` indexes the files that were read.

    Raises:
        DataError: with ``strict``, at the first file that cannot be read.
    """
    h, w = check_size(size)
    shape = (h, w) if check_color(color) == "grayscale" else (3, h, w)
    out = np.empty((len(files), *shape), dtype=np.uint8)
    kept, failures = [], []
    for i, f in enumerate(files):
        try:
            out[len(kept)] = read_image(f, (h, w), color)
        except DataError as exc:
            if strict:
                raise DataError(f"{exc} (--strict/strict=True refuses unreadable files)") from None
            failures.append(f)
            continue
        kept.append(i)
    return out[:len(kept)], np.asarray(kept, dtype=np.int64), failures


def skipped_note(failures: list[str], root: str) -> str:
    """One line naming every unreadable file (relative to ``root``)."""
    names = ", ".join(os.path.relpath(f, root) for f in failures)
    return f"skipped {len(failures)} unreadable image file{'s' * (len(failures) != 1)}: {names}"


def load_image_folder(path: str | os.PathLike, size=(28, 28), color: str = "grayscale", *,
                 test_fraction: float = 0.2, seed: int | None = 0, strict: bool = False) -> LabeledData:
    """Read an image folder (one subfolder per class) into memory.

    Args:
        path: the folder; ``path/<class>/...`` or ``path/train/<class>/...`` (+ ``path/test/<class>/...``).
        size: ``(height, width)`` (or one int) every image is resized to.
        color: ``"grayscale"`` -> ``x`` (N, H, W); ``"rgb"`` -> ``x`` (N, 3, H, W); uint8 0..255.
        test_fraction: share of each class held out for testing when there is no ``test/`` folder.
        seed: seed of that split.
        strict: refuse (:class:`DataError`) a file that cannot be decoded instead of skipping it.

    Returns:
        :class:`~scratchnn.datasets.labeled.LabeledData`; ``classes`` are the folder names.
        ``notes`` names skipped files in one line.

    Raises:
        FileNotFoundError: the folder does not exist.
        DataError: layout problems, unreadable files with ``strict``, a class left without
            readable images.
        ConfigError: bad ``size``, ``color`` or ``test_fraction``.
    """
    size, color = check_size(size), check_color(color)
    check_fraction(test_fraction)
    layout = scan_image_folder(path)
    f_tr, y_tr, f_te, y_te, split = split_layout(layout, test_fraction, seed)
    x_tr, k_tr, bad_tr = read_images(f_tr, size, color, strict=strict)
    x_te, k_te, bad_te = read_images(f_te, size, color, strict=strict)
    y_tr, y_te = y_tr[k_tr], y_te[k_te]
    notes = []
    if bad_tr or bad_te:
        notes.append(skipped_note(bad_tr + bad_te, layout.root))
    if layout.ignored:
        notes.append(f"ignored {len(layout.ignored)} file{'s' * (len(layout.ignored) != 1)} without an image "
                     f"extension (e.g. {os.path.relpath(layout.ignored[0], layout.root)})")
    missing = [layout.classes[c] for c in range(len(layout.classes)) if not np.any(y_tr == c)]
    if missing:
        raise DataError(f"{layout.root}: no readable training image left for class{'es' * (len(missing) > 1)} "
                        f"{', '.join(missing)}.")
    if len(x_te) == 0:
        raise DataError(f"{layout.root}: no readable test image.")
    return LabeledData(x_tr, y_tr, x_te, y_te, list(layout.classes), "classification", "image-folder",
                       notes, split=split)


class ImageFolderStream:
    """Mini-batches ``(x, y)`` decoded from image files on demand: a folder larger than memory.

    Each iteration is one epoch: the files in a fresh seeded order (``shuffle``), read
    ``batch_size`` at a time with :func:`read_image`. ``len(stream)`` is the number of
    batches. ``x`` is ``uint8`` images (B, H, W) / (B, 3, H, W), or, with ``input_shape``,
    float32 model inputs in [0, 1] of shape (B, *input_shape) (see
    :func:`~scratchnn.datasets.utils.images_to_inputs`); ``y`` is int64 labels (B,).
    Unreadable files are left out of their batch and recorded in ``skipped`` (or refused with
    ``strict``). Memory: one batch of images and the file list.

    Example:
        >>> stream = ImageFolderStream(["a.png"], [0], batch_size=32)
        >>> len(stream)
        1
    """

    def __init__(self, files, labels, size=(28, 28), color: str = "grayscale", *, batch_size: int = 128,
                 shuffle: bool = True, seed: int | None = 0, input_shape=None, strict: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ConfigError(f"ImageFolderStream: batch_size must be a positive integer. Received: batch_size={batch_size!r}")
        self.files = [os.fspath(f) for f in files]
        self.labels = np.asarray(labels, dtype=np.int64)
        if len(self.files) != len(self.labels):
            raise DataError(f"ImageFolderStream: {len(self.files)} files but {len(self.labels)} labels.")
        self.size, self.color = check_size(size), check_color(color)
        self.batch_size, self.shuffle, self.strict = int(batch_size), bool(shuffle), bool(strict)
        self.rng = np.random.default_rng(seed)
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.skipped: list[str] = []

    def __len__(self) -> int:
        return math.ceil(len(self.files) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        from .utils import images_to_inputs

        n = len(self.files)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for lo in range(0, n, self.batch_size):
            idx = order[lo:lo + self.batch_size]
            images, kept, bad = read_images([self.files[i] for i in idx], self.size, self.color, strict=self.strict)
            self.skipped += [f for f in bad if f not in self.skipped]
            if len(kept) == 0:
                continue
            x = images_to_inputs(images, self.input_shape) if self.input_shape is not None else images
            yield x, self.labels[idx[kept]]

    def __repr__(self) -> str:
        return (f"ImageFolderStream({len(self.files)} files, size={self.size}, color={self.color!r}, "
                f"batch_size={self.batch_size})")


def inputs_bytes(n: int, size, color: str) -> int:
    """Bytes of float32 model inputs for ``n`` images (what :data:`MAX_IN_MEMORY_BYTES` bounds)."""
    h, w = check_size(size)
    return int(n) * h * w * (3 if color == "rgb" else 1) * 4
