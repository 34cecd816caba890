"""Data sets: MNIST-style IDX files, the bundled MNIST subset, toy 2-D data and utilities.

- :func:`load_mnist`, :func:`load_fashion_mnist`: the full sets, found locally or downloaded
  (search order in :mod:`scratchnn.datasets.locate`); :func:`load_bundled_mnist`: the
  10,000 + 2,000 image subset shipped with the package; :func:`load_dataset` by name.
- :func:`read_idx` / :func:`write_idx`: the IDX format, validated.
- :func:`make_xor`, :func:`make_spirals`, :func:`make_moons`, :func:`make_circles`,
  :func:`make_blobs`, :func:`xor`: toy data with a seed.
- Your own data (:class:`LabeledData`: ``(x_train, y_train), (x_test, y_test), classes``):
  :func:`load_image_folder` (one subfolder per class; :class:`ImageFolderStream` for folders
  larger than memory), :func:`load_idx_pair` (any train/test IDX pair),
  :func:`load_npz_arrays` (``x_train``, ``y_train``[, ``x_test``, ``y_test``]) and
  :func:`load_csv_table` (a CSV table with a ``target`` column); :func:`load_data` picks
  one of them from the path.
- :func:`one_hot`, :func:`standardize`, :func:`train_val_split`, :func:`minibatches`,
  :func:`images_to_inputs`.
"""
from __future__ import annotations

from .arrays import load_npz_arrays
from .bundled import load_bundled_mnist
from .download import DownloadError, download_file
from .idx import read_idx, write_idx
from .idx_pair import load_idx_pair
from .image_folder import ImageFolderStream, load_image_folder
from .labeled import LabeledData
from .locate import DatasetNotFoundError, cache_dir
from .mnist import DATASETS, FASHION_MNIST, MNIST, IDXDataset, load_fashion_mnist, load_mnist
from .sources import data_kind, load_data
from .tabular import TablePreprocessor, load_csv_table
from .toy import TOY, make_blobs, make_circles, make_moons, make_spirals, make_xor, xor
from .utils import images_to_inputs, minibatches, one_hot, standardize, train_val_split

#: Names accepted by :func:`load_dataset` and ``scratchnn train --dataset``.
IMAGE_DATASETS = ("bundled", "mnist", "fashion-mnist")


def load_dataset(name: str, path=None, *, download: bool = True):
    """Load an image data set by name: ``"bundled"``, ``"mnist"`` or ``"fashion-mnist"``.

    Returns ``(x_train, y_train), (x_test, y_test)``. The bundled subset is used only
    when asked for by name: asking for ``"mnist"`` never falls back to it silently.
    """
    from ..errors import ConfigError

    if name == "bundled":
        return load_bundled_mnist()
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(IMAGE_DATASETS)}.")
    loader = load_mnist if name == "mnist" else load_fashion_mnist
    return loader(path, download=download)


def class_names(name: str) -> tuple[str, ...]:
    """Class names of an image data set (``"bundled"`` has MNIST's)."""
    return FASHION_MNIST.classes if name == "fashion-mnist" else MNIST.classes


__all__ = [
    "load_mnist", "load_fashion_mnist", "load_bundled_mnist", "load_dataset", "class_names",
    "IMAGE_DATASETS", "DATASETS", "MNIST", "FASHION_MNIST", "IDXDataset", "read_idx", "write_idx",
    "download_file", "DownloadError", "DatasetNotFoundError", "cache_dir", "TOY", "xor", "make_xor",
    "make_spirals", "make_moons", "make_circles", "make_blobs", "one_hot", "standardize",
    "train_val_split", "minibatches", "images_to_inputs",
    "LabeledData", "load_image_folder", "ImageFolderStream", "load_idx_pair", "load_npz_arrays", "load_csv_table",
    "TablePreprocessor", "load_data", "data_kind",
]
# Other data modules (time series, text) register below with one import line each.
from . import text, timeseries  # noqa: E402,F401  (issue 5: scratchnn.datasets.text / .timeseries)
