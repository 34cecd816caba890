"""Any train/test pair of IDX files in a folder (KMNIST, EMNIST, your own), read as MNIST is.

:func:`load_idx_pair` finds four files in a folder by their names: the images and labels
(``images``/``idx3`` vs ``labels``/``idx1`` in the name) of the training part (``train``)
and of the test part (``test`` or ``t10k``), ``.gz`` or raw, e.g.::

    train-images-idx3-ubyte.gz   train-labels-idx1-ubyte.gz         (MNIST, KMNIST)
    t10k-images-idx3-ubyte.gz    t10k-labels-idx1-ubyte.gz
    emnist-letters-train-images-idx3-ubyte.gz ...  emnist-letters-test-labels-idx1-ubyte.gz

Each file goes through the same checks as MNIST's (:func:`scratchnn.datasets.idx.read_idx`:
header, type, exact length; images uint8 (N, H, W), labels uint8 (N,), as many labels as
images, labels below the number of classes) but of any N, H and W: the exact-size check
stays with the named data sets. Class names come from a ``classes.txt`` (one name per line,
line k naming label k) or an EMNIST ``*mapping.txt`` (``label character-code`` per line)
when the folder has one, else they are the label numbers.

Note that EMNIST stores its images transposed (as Fortran order); they train just as well,
but look mirrored in the plots.
"""
from __future__ import annotations

import gzip
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import read_idx
from .labeled import LabeledData, check_labels
from .mnist import IDXDataset, read_split_files

ROLES = ("train_images", "train_labels", "test_images", "test_labels")


def _role(name: str) -> str | None:
    low = name.lower()
    if "idx" not in low and not re.search(r"(images|labels)", low):
        return None
    kind = ("images" if ("images" in low or "idx3" in low) else
            "labels" if ("labels" in low or "idx1" in low) else None)
    part = "test" if ("t10k" in low or "test" in low) else "train" if "train" in low else None
    return f"{part}_{kind}" if kind and part else None


def find_idx_pair(folder: str | os.PathLike) -> dict[str, Path]:
    """``{role: path}`` for the four roles of :data:`ROLES` in ``folder``.

    Raises:
        FileNotFoundError: no such folder. DataError: a role has no file, or several files
            (the message lists them).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(2, "IDX folder not found", str(folder))
    found: dict[str, list[Path]] = {r: [] for r in ROLES}
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith("."):
            role = _role(p.name)
            if role is not None:
                found[role].append(p)
    missing = [r.replace("_", " ") for r, ps in found.items() if not ps]
    if missing:
        raise DataError(f"{folder}: no IDX file for {', '.join(missing)}; expected four files named like "
                        "train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                        "and t10k-labels-idx1-ubyte (or with 'test').")
    many = {r: ps for r, ps in found.items() if len(ps) > 1}
    if many:
        r, ps = next(iter(many.items()))
        raise DataError(f"{folder}: several files could be the {r.replace('_', ' ')}: "
                        f"{', '.join(p.name for p in ps)}; keep one pair per folder.")
    return {r: ps[0] for r, ps in found.items()}


def read_class_names(folder: str | os.PathLike, n_classes: int) -> list[str] | None:
    """Class names from ``classes.txt`` or an EMNIST-style ``*mapping.txt`` in ``folder`` (None if neither).

    Raises:
        DataError: the file does not name exactly labels 0..n_classes-1 (``classes.txt`` may name more).
    """
    folder = Path(folder)
    path = folder / "classes.txt"
    if path.is_file():
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(names) < n_classes:
            raise DataError(f"{path}: names {len(names)} classes but the labels go up to {n_classes - 1}.")
        return names
    mappings = sorted(folder.glob("*mapping.txt"))
    if len(mappings) == 1:
        table = {}
        for i, line in enumerate(mappings[0].read_text(encoding="utf-8").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                label, code = int(parts[0]), int(parts[1])
                table[label] = chr(code)
            except (ValueError, IndexError, OverflowError):
                raise DataError(f"{mappings[0]}, line {i}: expected 'label character-code'. "
                                f"Received: {line.strip()!r}") from None
        if sorted(table) != list(range(len(table))) or len(table) < n_classes:
            raise DataError(f"{mappings[0]}: maps labels {sorted(table)[:3]}...; expected 0..{n_classes - 1}.")
        return [table[k] for k in range(len(table))]
    return None


def _header_dims(path: Path) -> tuple[int, ...]:
    """The sizes an IDX header declares (read without the data; fully checked later by read_idx)."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        try:
            head = f.read(4)
            ndim = head[3] if len(head) == 4 and head[:2] == b"\0\0" else 0
            sizes = f.read(4 * ndim)
        except (OSError, EOFError, zlib.error):
            return ()
    return struct.unpack(f">{ndim}I", sizes) if len(sizes) == 4 * ndim and ndim else ()


def load_idx_pair(folder: str | os.PathLike) -> LabeledData:
    """Read a folder's train/test IDX pair: images uint8 (N, H, W), labels int64 (N,), class names.

    Returns:
        :class:`~scratchnn.datasets.labeled.LabeledData` (``kind="idx"``).

    Raises:
        FileNotFoundError: the folder does not exist.
        DataError: files missing or ambiguous, or any check of
            :func:`~scratchnn.datasets.mnist.read_split_files` failing (the message names the file).
    """
    paths = find_idx_pair(folder)
    dims = _header_dims(paths["train_images"])
    if not dims:  # a broken header: let read_idx say precisely what is wrong
        read_idx(paths["train_images"], expect_dtype=np.uint8)
    if len(dims) != 3:
        raise DataError(f"{paths['train_images']}: expected IDX images of shape (N, H, W), found {dims}.")
    labels = read_idx(paths["train_labels"], expect_dtype=np.uint8, expect_shape=(None,))
    n_classes = int(labels.max()) + 1 if len(labels) else 0
    names = read_class_names(folder, n_classes)
    classes = names if names is not None else [str(k) for k in range(n_classes)]
    spec = IDXDataset(name="idx", title=str(folder), files={}, sha256={}, mirrors=(), classes=tuple(classes),
                      image_shape=tuple(dims[1:]))
    (x_tr, y_tr), (x_te, y_te) = read_split_files(paths, spec)
    if n_classes < 2:
        raise DataError(f"{paths['train_labels']}: the training labels hold {n_classes} class; a classifier needs two or more.")
    check_labels(y_tr, y_te, len(classes), str(folder))
    return LabeledData(x_tr, y_tr, x_te, y_te, list(classes), "classification", "idx",
                       split={"test": "IDX test files"})
