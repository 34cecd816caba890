"""Any train/test IDX pair in a folder: found by name, checked as MNIST is, of any size."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from scratchnn.datasets import load_idx_pair, read_idx, write_idx
from scratchnn.datasets.idx_pair import find_idx_pair
from scratchnn.errors import DataError
from tests.datasets.own_data import idx_pair


def test_any_size_pair_with_numbered_classes(tmp_path):
    folder = idx_pair(tmp_path / "k", n_train=60, n_test=20, shape=(10, 12), n_classes=4)
    data = load_idx_pair(folder)
    (x, y), (xt, _), classes = data
    assert x.shape == (60, 10, 12) and xt.shape == (20, 10, 12) and x.dtype == np.uint8
    assert y.dtype == np.int64 and classes == ["0", "1", "2", "3"] and data.kind == "idx"
    assert np.array_equal(x, read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz")))


def test_emnist_names_and_mapping_file(tmp_path):
    folder = idx_pair(tmp_path / "e", prefix="emnist-letters-", test_word="test", n_classes=3)
    (tmp_path / "e" / "emnist-letters-mapping.txt").write_text("0 65 97\n1 66 98\n2 67 99\n")
    assert load_idx_pair(folder).classes == ["A", "B", "C"]
    (tmp_path / "e" / "classes.txt").write_text("alpha\nbeta\ngamma\n")
    assert load_idx_pair(folder).classes == ["alpha", "beta", "gamma"]
    (tmp_path / "e" / "classes.txt").write_text("alpha\nbeta\n")
    with pytest.raises(DataError, match="names 2 classes but the labels go up to 2"):
        load_idx_pair(folder)


def test_missing_and_ambiguous_files(tmp_path):
    folder = idx_pair(tmp_path / "m")
    os.remove(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    with pytest.raises(DataError, match="no IDX file for test labels"):
        load_idx_pair(folder)
    folder = idx_pair(tmp_path / "a")
    write_idx(os.path.join(folder, "train-images-idx3-ubyte"), np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(DataError, match="several files could be the train images"):
        find_idx_pair(folder)
    with pytest.raises(FileNotFoundError):
        load_idx_pair(tmp_path / "nowhere")


def test_the_mnist_checks_apply(tmp_path):
    folder = idx_pair(tmp_path / "c", n_classes=4)
    write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), np.full(19, 1, np.uint8))
    with pytest.raises(DataError, match="20 images but 19 labels"):
        load_idx_pair(folder)
    write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), np.full(20, 7, np.uint8))
    with pytest.raises(DataError, match="found label 7, expected 0..3"):
        load_idx_pair(folder)
    path = os.path.join(folder, "train-images-idx3-ubyte.gz")
    raw = gzip.decompress(Path(path).read_bytes())
    with open(path, "wb") as f:
        f.write(gzip.compress(raw[:-10]))
    with pytest.raises(DataError, match="truncated IDX file"):
        load_idx_pair(folder)
    with open(path, "wb") as f:
        f.write(b"<html>not idx</html>")
    with pytest.raises(DataError, match="not an IDX file"):
        load_idx_pair(folder)
    write_idx(path, np.zeros((60, 10), np.uint8))
    with pytest.raises(DataError, match=r"shape \(N, H, W\)"):
        load_idx_pair(folder)
