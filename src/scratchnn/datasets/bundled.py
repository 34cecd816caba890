"""The MNIST subset that ships inside the package: 10,000 training and 2,000 test images.

It lets ``scratchnn train`` work on a fresh machine without internet. The images
were taken from the official MNIST splits, 1,000 per digit from the training set
and 200 per digit from the test set, chosen at random with a fixed seed by
``scripts/make_bundled_mnist.py``; they keep their original order. The files are
gzip-compressed IDX (about 2 MB in all) in ``scratchnn/data/mnist-subset/``, with
``CREDIT.txt`` beside them: MNIST is by Yann LeCun, Corinna Cortes and Christopher
J.C. Burges, licensed CC BY-SA 3.0.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .locate import folder_has
from .mnist import MNIST, IDXDataset, Split, read_split_files

BUNDLED_DIR = "mnist-subset"
BUNDLED = IDXDataset(
    name="bundled", title="bundled MNIST subset", files=dict(MNIST.files), sha256={}, mirrors=(),
    classes=MNIST.classes, sizes={"train": 10000, "test": 2000}, licence=MNIST.licence)


def bundled_path() -> Path:
    """The folder of the bundled subset inside the installed package."""
    return Path(str(resources.files("scratchnn") / "data" / BUNDLED_DIR))


def load_bundled_mnist() -> tuple[Split, Split]:
    """The bundled subset: ``(x_train, y_train), (x_test, y_test)``, 10,000 + 2,000 uint8 28x28 images.

    Raises:
        DatasetNotFoundError: the package was installed without its data files.
    """
    from .locate import DatasetNotFoundError

    folder = bundled_path()
    files = folder_has(folder, list(BUNDLED.files.values()))
    if files is None:
        raise DatasetNotFoundError(f"the bundled MNIST subset is missing from {folder}; reinstall scratchnn "
                                   "(pip install --force-reinstall scratchnn) or use --dataset mnist.")
    return read_split_files({role: files[f] for role, f in BUNDLED.files.items()}, BUNDLED)
