"""What every "your own data" loader returns: :class:`LabeledData`, and the held-out test split.

:func:`scratchnn.datasets.load_image_folder`, :func:`~scratchnn.datasets.load_idx_pair`,
:func:`~scratchnn.datasets.load_npz_arrays` and :func:`~scratchnn.datasets.load_csv_table`
all return a :class:`LabeledData`. It unpacks like the named data sets, plus the class names::

    (x_train, y_train), (x_test, y_test), classes = sn.datasets.load_image_folder("photos/")

and its attributes say the rest (``task``, ``notes``, ``preprocessor`` for tables).

When a source has no test part of its own, :func:`split_test` holds one out: for
classification each class c with n_c samples gives ``round(n_c * test_fraction)`` of
them (at least one when n_c >= 2), for regression a plain random fraction; the
permutation comes from ``numpy.random.default_rng(seed)``, so the same seed always
holds out the same samples.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError

TASKS = ("classification", "regression")


@dataclass
class LabeledData:
    """Training and test arrays with what they mean.

    Attributes:
        x_train, y_train, x_test, y_test: inputs (N, ...) and targets: int64 labels (N,)
            for classification, float32 values (N,) for regression.
        classes: class names, ``classes[k]`` for label k (``None`` for regression).
        task: ``"classification"`` or ``"regression"``.
        kind: the source, ``"image-folder"``, ``"idx"``, ``"npz"`` or ``"csv"``.
        notes: what the loader did that a user should hear about (skipped files, imputed values).
        preprocessor: for CSV tables, the fitted
            :class:`~scratchnn.datasets.tabular.TablePreprocessor` (``None`` otherwise).
        split: how the test part was obtained, e.g. ``{"test": "test/ folder"}`` or
            ``{"test_fraction": 0.2, "seed": 0}``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str] | None
    task: str = "classification"
    kind: str = ""
    notes: list[str] = field(default_factory=list)
    preprocessor: Any = None
    split: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        """``(x_train, y_train), (x_test, y_test), classes``."""
        yield (self.x_train, self.y_train)
        yield (self.x_test, self.y_test)
        yield self.classes


def check_task(task: str | None) -> str | None:
    """``None`` or one of :data:`TASKS` (else :class:`ConfigError`)."""
    if task is not None and task not in TASKS:
        raise ConfigError(f"task must be 'classification' or 'regression'. Received: task={task!r}")
    return task


def check_fraction(test_fraction: float) -> float:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must be a number in (0, 1). Received: test_fraction={test_fraction!r}")
    return float(test_fraction)


def split_test(n: int, y: np.ndarray | None, test_fraction: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of ``n`` samples; stratified by the labels ``y`` unless ``y`` is None.

    Both index arrays are sorted (the order of the source is kept).

    Raises:
        DataError: one side would be empty.
    """
    check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    if y is not None:
        test = []
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            k = round(len(members) * test_fraction)
            if len(members) >= 2:
                k = min(max(k, 1), len(members) - 1)
            test.append(members[:k])
        test_idx = np.concatenate(test) if test else np.zeros(0, np.int64)
    else:
        test_idx = rng.permutation(n)[:round(n * test_fraction)]
    if len(test_idx) == 0 or len(test_idx) == n:
        raise DataError(f"holding out test_fraction={test_fraction} of {n} samples leaves "
                        f"{'no test' if len(test_idx) == 0 else 'no training'} samples; give more data "
                        "or a test part of its own.")
    mask = np.zeros(n, dtype=bool)
    mask[test_idx] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def check_labels(y_train: np.ndarray, y_test: np.ndarray, n_classes: int, where: str) -> None:
    """Labels of both parts must be integers in [0, n_classes) (else :class:`DataError` naming ``where``)."""
    for name, y in (("training", y_train), ("test", y_test)):
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_classes):
            raise DataError(f"{where}: {name} labels must lie in 0..{n_classes - 1} "
                            f"({n_classes} classes). Received: labels {int(y.min())}..{int(y.max())}")
