"""MNIST and Fashion-MNIST: find the IDX files (or download them), read and check them.

Each loader returns ``(x_train, y_train), (x_test, y_test)`` as Keras does:
images ``uint8`` of shape (N, 28, 28) with values 0..255, labels ``int64`` in 0..9.
Turn images into model inputs with :func:`scratchnn.datasets.utils.images_to_inputs`.

The search order is described in :mod:`scratchnn.datasets.locate`. Local files are
checked by their IDX header, sizes and label range (not by checksum: re-compressed
copies, as Debian ships, are fine); downloaded files must match the SHA-256 below.

Example:
    >>> from scratchnn.datasets import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()   # doctest: +SKIP
    >>> x_train.shape, y_train[:5]                            # doctest: +SKIP
    ((60000, 28, 28), array([5, 0, 4, 1, 9]))
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .download import DownloadError, download_from_mirrors, offline
from .idx import read_idx
from .locate import DatasetNotFoundError, cache_dir, candidate_folders, locate


@dataclass(frozen=True)
class IDXDataset:
    """What a data set made of four IDX files is: names, checksums, mirrors, sizes, classes."""

    name: str
    title: str
    files: dict[str, str]           # role -> file name, roles train_images/train_labels/test_images/test_labels
    sha256: dict[str, str]          # file name -> hex digest of the canonical download
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]
    image_shape: tuple[int, int] = (28, 28)
    sizes: dict[str, int] = field(default_factory=dict)  # split -> expected count (checked if given)
    licence: str = ""
    apt_package: str | None = None


_FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
          "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}

MNIST = IDXDataset(
    name="mnist", title="MNIST", files=dict(_FILES),
    sha256={"train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/",
             "http://yann.lecun.com/exdb/mnist/"),
    classes=tuple(str(d) for d in range(10)), sizes={"train": 60000, "test": 10000},
    licence="CC BY-SA 3.0, Yann LeCun, Corinna Cortes, Christopher J.C. Burges")

FASHION_MNIST = IDXDataset(
    name="fashion-mnist", title="Fashion-MNIST", files=dict(_FILES),
    sha256={"train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"},
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot"),
    sizes={"train": 60000, "test": 10000}, licence="MIT, Zalando SE",
    apt_package="dataset-fashion-mnist")

DATASETS: dict[str, IDXDataset] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
Split = tuple[np.ndarray, np.ndarray]


def _log(msg: str) -> None:
    print(f"scratchnn: {msg}", file=sys.stderr, flush=True)


def find_dataset_files(spec: IDXDataset, path: str | os.PathLike | None = None, *, download: bool = True,
                       cache: str | os.PathLike | None = None, mirrors: tuple[str, ...] | None = None,
                       timeout: float = 30.0, verbose: bool = True) -> dict[str, Path]:
    """Return ``{file name: path}`` for the four files of ``spec``, downloading them if needed.

    Raises:
        DatasetNotFoundError: nothing found (and no download possible); the message lists
            every folder tried and how to provide the files.
    """
    names = list(spec.files.values())
    found, tried = locate(spec.name, names, path, cache)
    if found is not None:
        return found
    problems = []
    if path is None and download and not offline():
        target = (Path(cache) if cache is not None else cache_dir()) / spec.name
        try:
            for fname in names:
                if (target / fname).is_file():
                    continue
                download_from_mirrors(mirrors or spec.mirrors, fname, target / fname, spec.sha256.get(fname),
                                      timeout=timeout, log=_log if verbose else None)
            return locate(spec.name, names, target)[0] or {}
        except DownloadError as exc:
            problems.append(f"download failed ({exc})")
        except OSError as exc:
            problems.append(f"cannot write to the cache {target} ({exc.strerror or exc})")
    elif path is None:
        problems.append("downloads disabled" + (" (SCRATCHNN_OFFLINE is set)" if offline() else ""))
    raise DatasetNotFoundError(_not_found_message(spec, path, tried, problems))


def _not_found_message(spec: IDXDataset, path, tried, problems) -> str:
    where = ", ".join(str(p) for p in tried)
    files = ", ".join(spec.files.values())
    how = (f"Put the files ({files}; .gz or uncompressed) in one of those folders, pass "
           f"--data-dir/path=, or set SCRATCHNN_DATA to a folder holding a '{spec.name}' folder")
    if spec.apt_package:
        how += f", or run 'apt-get install {spec.apt_package}'"
    how += "."
    head = (f"{spec.title} files not found at the explicit path {path}" if path is not None
            else f"{spec.title} files not found")
    extra = (" " + "; ".join(problems) + ".") if problems else ""
    return f"{head}. Tried: {where}.{extra} {how}"


def load_idx_dataset(spec: IDXDataset, path: str | os.PathLike | None = None, *, download: bool = True,
                     cache: str | os.PathLike | None = None, mirrors: tuple[str, ...] | None = None,
                     timeout: float = 30.0, verbose: bool = True) -> tuple[Split, Split]:
    """Find, read and check the four IDX files of ``spec``. See :func:`load_mnist`."""
    files = find_dataset_files(spec, path, download=download, cache=cache, mirrors=mirrors,
                               timeout=timeout, verbose=verbose)
    return read_split_files({role: files[fname] for role, fname in spec.files.items()}, spec)


def read_split_files(paths: dict[str, Path], spec: IDXDataset) -> tuple[Split, Split]:
    """Read ``train_images``.. ``test_labels`` from ``paths`` and check that they fit together."""
    out = []
    for split in ("train", "test"):
        x = read_idx(paths[f"{split}_images"], expect_dtype=np.uint8, expect_shape=(None, *spec.image_shape))
        y = read_idx(paths[f"{split}_labels"], expect_dtype=np.uint8, expect_shape=(None,))
        if len(x) != len(y):
            raise DataError(f"{spec.title} {split} split: {len(x)} images but {len(y)} labels "
                            f"({paths[f'{split}_images']}, {paths[f'{split}_labels']}).")
        expected = spec.sizes.get(split)
        if expected is not None and len(x) != expected:
            raise DataError(f"{spec.title} {split} split: expected {expected} images, found {len(x)} "
                            f"in {paths[f'{split}_images']}.")
        if len(y) and int(y.max()) >= len(spec.classes):
            raise DataError(f"{spec.title} {split} labels: found label {int(y.max())}, expected 0.."
                            f"{len(spec.classes) - 1} in {paths[f'{split}_labels']}.")
        out.append((x, y.astype(np.int64)))
    return out[0], out[1]


def load_mnist(path: str | os.PathLike | None = None, *, download: bool = True,
               cache: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """MNIST digits: ``(x_train, y_train), (x_test, y_test)``; 60,000 + 10,000 images of 28x28 uint8.

    Args:
        path: a folder holding the four files (or a ``mnist`` folder); if given, only it is searched.
        download: allow downloading into the user cache when the files are nowhere else.
        cache: override the cache folder (tests).

    Raises:
        DatasetNotFoundError: the files are nowhere and cannot be downloaded (the message
            lists the folders tried); DataError: a file is corrupt or truncated.
    """
    return load_idx_dataset(MNIST, path, download=download, cache=cache)


def load_fashion_mnist(path: str | os.PathLike | None = None, *, download: bool = True,
                       cache: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """Fashion-MNIST (Zalando): same layout as :func:`load_mnist`; classes in ``FASHION_MNIST.classes``."""
    return load_idx_dataset(FASHION_MNIST, path, download=download, cache=cache)


def candidate_paths(name: str, path=None) -> list[Path]:
    """The folders that would be searched for ``name`` (for messages and ``--help``)."""
    return [p for _, p in candidate_folders(name, path)]
