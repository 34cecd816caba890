"""NPZ arrays: x_train, y_train[, x_test, y_test, class_names], each checked with a clear error."""
from __future__ import annotations

import numpy as np
import pytest

from scratchnn.datasets import load_npz_arrays
from scratchnn.errors import DataError, ShapeError


def save(tmp_path, **arrays):
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    return path


def test_features_with_a_test_part_and_class_names(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    path = save(tmp_path, x_train=x, y_train=y, x_test=x[:6], y_test=y[:6], class_names=np.array(["a", "b", "c"]))
    data = load_npz_arrays(path)
    assert data.classes == ["a", "b", "c"] and data.task == "classification" and data.y_train.dtype == np.int64
    assert np.array_equal(data.x_train, x) and data.split == {"test": "x_test, y_test"}


def test_held_out_split_regression_and_channels_last(tmp_path):
    rng = np.random.default_rng(1)
    path = save(tmp_path, x_train=rng.normal(size=(50, 3)), y_train=rng.normal(size=50))
    data = load_npz_arrays(path, test_fraction=0.2, seed=0)
    assert data.task == "regression" and data.classes is None and len(data.x_test) == 10
    assert data.y_train.dtype == np.float32
    imgs = rng.integers(0, 255, size=(20, 8, 8, 3), dtype=np.uint8)
    path = save(tmp_path, x_train=imgs, y_train=np.arange(20) % 2)
    data = load_npz_arrays(path)
    assert data.x_train.shape[1:] == (3, 8, 8) and any("channels-last" in n for n in data.notes)
    assert np.bincount(data.y_test).tolist() == [2, 2]


@pytest.mark.parametrize("arrays, error, match", [
    ({"x": np.zeros((3, 2))}, DataError, "unexpected arrays x"),
    ({"x_train": np.zeros((3, 2))}, DataError, "no array 'y_train'"),
    ({"x_train": np.zeros((3, 2)), "y_train": np.zeros(3), "x_test": np.zeros((1, 2))}, DataError,
     "x_test and y_test go together"),
    ({"x_train": np.array([["a", "b"]] * 3), "y_train": np.zeros(3)}, DataError, "must hold real numbers"),
    ({"x_train": np.zeros(3), "y_train": np.zeros(3)}, ShapeError, r"must have shape \(N, D\)"),
    ({"x_train": np.zeros((3, 2)), "y_train": np.zeros(4)}, ShapeError, "4 entries but the inputs have 3"),
    ({"x_train": np.array([[0.0, np.nan]] * 3), "y_train": np.zeros(3)}, DataError, "3 NaN or infinite values"),
    ({"x_train": np.zeros((4, 2)), "y_train": np.array([0, 1, -1, 0])}, DataError, "labels must be >= 0"),
    ({"x_train": np.zeros((4, 2)), "y_train": np.zeros(4, int)}, DataError, "one class only"),
    ({"x_train": np.zeros((4, 2)), "y_train": np.array([0, 1, 0, 1]), "x_test": np.zeros((2, 2)),
      "y_test": np.array([0, 2])}, DataError, r"test labels must lie in 0..1"),
    ({"x_train": np.zeros((4, 2)), "y_train": np.array([0, 1, 0, 1]), "x_test": np.zeros((2, 3)),
      "y_test": np.array([0, 1])}, ShapeError, "x_test samples have shape"),
    ({"x_train": np.zeros((4, 2)), "y_train": np.array([0, 2, 0, 1]), "class_names": np.array(["a", "b"])},
     DataError, "class_names names 2 classes"),
    ({"x_train": np.zeros((4, 2, 2, 2)), "y_train": np.array([0, 1, 0, 1])}, ShapeError, "1 or 3 channels"),
])
def test_broken_files(tmp_path, arrays, error, match):
    with pytest.raises(error, match=match):
        load_npz_arrays(save(tmp_path, **arrays))


def test_fractional_labels_for_classification_and_object_arrays(tmp_path):
    path = save(tmp_path, x_train=np.zeros((4, 2)), y_train=np.array([0.5, 1, 0, 1]))
    with pytest.raises(DataError, match="fractional values"):
        load_npz_arrays(path, task="classification")
    path = tmp_path / "o.npz"
    np.savez(path, x_train=np.array([{"a": 1}] * 3, dtype=object), y_train=np.zeros(3))
    with pytest.raises(DataError, match="object arrays are refused"):
        load_npz_arrays(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz_arrays(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError):
        load_npz_arrays(tmp_path / "none.npz")
