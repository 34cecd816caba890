"""The IDX reader: round trips, and a clear DataError for every kind of damage."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from scratchnn.datasets import read_idx, write_idx
from scratchnn.errors import DataError


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, rng, dtype, suffix):
    a = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_header_bytes_are_the_documented_layout(tmp_path):
    write_idx(tmp_path / "x", np.arange(6, dtype=np.uint8).reshape(2, 3))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 2]) and struct.unpack(">2I", raw[4:12]) == (2, 3)
    assert raw[12:] == bytes(range(6))


def _idx(dims, code=0x08, payload=None):
    n = int(np.prod(dims))
    head = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return head + (payload if payload is not None else bytes(n))


@pytest.mark.parametrize("data, match", [
    (b"<html>404</html>", "not an IDX file"),
    (_idx((2, 2), code=0x07), "unknown IDX type code 0x07"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (bytes([0, 0, 8, 9]) + bytes(36), "9 dimensions"),
    (_idx((10, 28, 28))[:-5], "truncated IDX file"),
    (_idx((4,)) + b"extra", "trailing bytes"),
    (bytes([0, 0, 8]), "truncated"),
    (_idx((3,))[:6], "truncated IDX file.*dimension sizes"),
    (bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 65535, 65535, 65535), "over the"),
])
@pytest.mark.parametrize("compress", [False, True])
def test_damaged_files_raise_clear_errors(tmp_path, data, match, compress):
    path = tmp_path / "bad"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DataError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupted_and_truncated_gzip(tmp_path):
    good = gzip.compress(_idx((50, 28, 28), payload=bytes(range(256)) * 153 + bytes(50 * 784 - 256 * 153)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="gzip stream is corrupt or truncated|truncated"):
        read_idx(cut)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    bad = tmp_path / "flipped.gz"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(DataError, match="corrupt|truncated"):
        read_idx(bad)


def test_expected_dtype_and_shape(tmp_path):
    write_idx(tmp_path / "labels", np.zeros(5, dtype=np.int32))
    with pytest.raises(DataError, match="expected IDX data of type uint8, found int32"):
        read_idx(tmp_path / "labels", expect_dtype=np.uint8)
    write_idx(tmp_path / "img", np.zeros((2, 27, 28), dtype=np.uint8))
    with pytest.raises(DataError, match=r"expected an IDX array of shape \('N', 28, 28\), found \(2, 27, 28\)"):
        read_idx(tmp_path / "img", expect_shape=(None, 28, 28))
    assert read_idx(tmp_path / "img", expect_shape=(None, 27, 28)).shape == (2, 27, 28)


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_write_rejects_unsupported(tmp_path):
    with pytest.raises(DataError, match="no IDX type code"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.complex64))
