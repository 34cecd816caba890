"""One entry point for "your own data": :func:`load_data` picks the loader from the path.

============================  =============================================  ==========================
path                          loader                                         kind
============================  =============================================  ==========================
a folder with IDX files       :func:`~scratchnn.datasets.load_idx_pair`      ``"idx"``
any other folder              :func:`~scratchnn.datasets.load_image_folder`  ``"image-folder"``
``*.npz``                     :func:`~scratchnn.datasets.load_npz_arrays`    ``"npz"``
``*.csv``, ``*.tsv``          :func:`~scratchnn.datasets.load_csv_table`     ``"csv"``
============================  =============================================  ==========================

``scratchnn train --data PATH`` calls it, and stores the arguments in the model file so
that ``scratchnn evaluate`` can rebuild the same test part.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from ..errors import ConfigError
from .labeled import LabeledData

KINDS = ("image-folder", "idx", "npz", "csv")


def data_kind(path: str | os.PathLike) -> str:
    """The kind of data at ``path`` (see the table above), from what it is, not what it holds.

    Raises:
        FileNotFoundError: nothing there; ConfigError: a file of another type.
    """
    from .idx_pair import _role

    path = os.fspath(path)
    if os.path.isdir(path):
        names = [e.name for e in os.scandir(path) if e.is_file()]
        return "idx" if any(_role(n) and "idx" in n.lower() for n in names) else "image-folder"
    if not os.path.exists(path):
        raise FileNotFoundError(2, "data not found", path)
    low = path.lower()
    if low.endswith(".npz"):
        return "npz"
    if low.endswith((".csv", ".tsv", ".csv.txt")):
        return "csv"
    raise ConfigError(f"cannot tell what {path} holds: --data takes a folder (images, one subfolder per "
                      "class, or a train/test IDX pair), an .npz file or a .csv table.")


def load_data(path: str | os.PathLike, *, target: str | None = None, task: str | None = None,
              size=(28, 28), color: str = "grayscale", test_fraction: float = 0.2, seed: int | None = 0,
              strict: bool = False, impute: bool = False, drop: Sequence[str] = (),
              preprocessor=None) -> LabeledData:
    """Load ``path`` with the loader its kind calls for (see the module); arguments that do not
    apply to that kind must keep their defaults (``preprocessor``: a fitted
    :class:`~scratchnn.datasets.tabular.TablePreprocessor` to apply to a CSV table instead of fitting one).

    Raises:
        ConfigError: ``target`` missing for a CSV table, or given for another kind; besides,
            whatever the chosen loader raises.
    """
    from .arrays import load_npz_arrays
    from .idx_pair import load_idx_pair
    from .image_folder import load_image_folder
    from .tabular import load_csv_table

    kind = data_kind(path)
    if kind == "csv":
        if target is None:
            from .tabular import read_csv
            header = read_csv(path)[0]
            raise ConfigError(f"{os.fspath(path)} is a table: say which column to predict with --target "
                              f"(target=); its columns are {', '.join(header)}.")
        return load_csv_table(path, target, task=task, impute=impute, drop=drop, test_fraction=test_fraction,
                              seed=seed, preprocessor=preprocessor)
    if target is not None or impute or drop or preprocessor is not None:
        raise ConfigError(f"--target, --impute and --drop are for CSV tables; {os.fspath(path)} is "
                          f"{'an image folder' if kind == 'image-folder' else 'an ' + kind.upper() + ' source'}.")
    if kind == "npz":
        return load_npz_arrays(path, task=task, test_fraction=test_fraction, seed=seed)
    if task == "regression":
        raise ConfigError(f"{os.fspath(path)} holds labelled images; --task regression is for tables and arrays.")
    if kind == "idx":
        return load_idx_pair(path)
    return load_image_folder(path, size=size, color=color, test_fraction=test_fraction, seed=seed, strict=strict)
