"""MNIST-style loaders: search order, offline errors, and downloads from a local HTTP server."""
from __future__ import annotations

import hashlib
import http.server
import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scratchnn.datasets import (
    FASHION_MNIST,
    MNIST,
    DatasetNotFoundError,
    DownloadError,
    download_file,
    load_bundled_mnist,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    write_idx,
)
from scratchnn.datasets.locate import cache_dir, candidate_folders
from scratchnn.datasets.mnist import find_dataset_files, load_idx_dataset
from scratchnn.errors import ConfigError, DataError

TINY = replace(MNIST, name="tiny", title="Tiny", sizes={}, sha256={})


def make_tiny(folder: Path, n_train=6, n_test=4, value=0, gz=True) -> dict[str, bytes]:
    """Write a tiny 4-file IDX data set; returns {file name: bytes}."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train_images": np.full((n_train, 28, 28), value, np.uint8),
              "train_labels": np.arange(n_train, dtype=np.uint8) % 10,
              "test_images": np.full((n_test, 28, 28), value, np.uint8),
              "test_labels": np.arange(n_test, dtype=np.uint8) % 10}
    out = {}
    for role, fname in TINY.files.items():
        target = folder / (fname if gz else fname[:-3])
        write_idx(target, arrays[role], compress=gz)
        out[fname] = target.read_bytes()
    return out


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in ("SCRATCHNN_DATA", "SCRATCHNN_CACHE", "XDG_CACHE_HOME", "SCRATCHNN_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr("scratchnn.datasets.locate.SYSTEM_ROOTS", (str(tmp_path / "system"),))
    return tmp_path


def test_search_order(clean_env, monkeypatch):
    tmp = clean_env
    make_tiny(tmp / "system" / "tiny", value=4)
    assert load_idx_dataset(TINY, download=False)[0][0][0, 0, 0] == 4
    make_tiny(tmp / "home" / ".cache" / "scratchnn" / "tiny", value=3)
    assert load_idx_dataset(TINY, download=False)[0][0][0, 0, 0] == 3
    monkeypatch.setenv("SCRATCHNN_DATA", str(tmp / "env"))
    make_tiny(tmp / "env" / "tiny", value=2)
    assert load_idx_dataset(TINY, download=False)[0][0][0, 0, 0] == 2
    make_tiny(tmp / "explicit", value=1, gz=False)  # raw (uncompressed) files work too
    (x, y), (xt, yt) = load_idx_dataset(TINY, tmp / "explicit", download=False)
    assert x[0, 0, 0] == 1 and x.shape == (6, 28, 28) and y.dtype == np.int64 and xt.shape == (4, 28, 28)


def test_cache_dir_follows_xdg_and_override(clean_env, monkeypatch):
    assert cache_dir() == clean_env / "home" / ".cache" / "scratchnn"
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    assert cache_dir() == clean_env / "xdg" / "scratchnn"
    monkeypatch.setenv("SCRATCHNN_CACHE", str(clean_env / "c"))
    assert cache_dir() == clean_env / "c"


def test_explicit_path_is_strict_and_error_lists_everything(clean_env):
    make_tiny(clean_env / "system" / "tiny")
    with pytest.raises(DatasetNotFoundError) as info:
        load_idx_dataset(TINY, clean_env / "empty", download=False)
    msg = str(info.value)
    assert "explicit path" in msg and str(clean_env / "empty") in msg and "\n" not in msg
    assert "train-images-idx3-ubyte.gz" in msg


def test_offline_error_names_every_folder_and_the_fix(clean_env, monkeypatch):
    monkeypatch.setenv("SCRATCHNN_OFFLINE", "1")
    monkeypatch.setenv("SCRATCHNN_DATA", str(clean_env / "d"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_idx_dataset(FASHION_MNIST)
    msg = str(info.value)
    for _, folder in candidate_folders("fashion-mnist"):
        assert str(folder) in msg
    assert "SCRATCHNN_OFFLINE" in msg and "apt-get install dataset-fashion-mnist" in msg


def test_wrong_label_count_and_range(clean_env):
    folder = clean_env / "bad"
    make_tiny(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2], np.uint8))
    with pytest.raises(DataError, match="4 images but 3 labels"):
        load_idx_dataset(TINY, folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 12], np.uint8))
    with pytest.raises(DataError, match="found label 12"):
        load_idx_dataset(TINY, folder)


# ------------------------------------------------------------- downloading
class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        body = self.files.get(self.path.rsplit("/", 1)[-1])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.files, _Handler.hits = {}, []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/data/", _Handler
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_caches(clean_env, server):
    url, handler = server
    blobs = make_tiny(clean_env / "source", value=7)
    handler.files = blobs
    spec = replace(TINY, sha256={k: hashlib.sha256(v).hexdigest() for k, v in blobs.items()})
    cache = clean_env / "cache"
    (x, _), _ = load_idx_dataset(spec, cache=cache, mirrors=("http://127.0.0.1:9/dead/", url), timeout=5,
                                 verbose=False)
    assert x[0, 0, 0] == 7
    assert sorted(p.name for p in (cache / "tiny").iterdir()) == sorted(blobs)  # no temp files left
    n = len(handler.hits)
    load_idx_dataset(spec, cache=cache, mirrors=(url,), verbose=False)  # second time: from the cache
    assert len(handler.hits) == n


def test_corrupted_download_is_rejected_and_nothing_is_left(clean_env, server):
    url, handler = server
    blobs = make_tiny(clean_env / "source")
    spec = replace(TINY, sha256={k: hashlib.sha256(v).hexdigest() for k, v in blobs.items()})
    first = next(iter(blobs))
    handler.files = {**blobs, first: blobs[first][:-10] + b"0123456789"}  # same size, other bytes
    cache = clean_env / "cache"
    with pytest.raises(DatasetNotFoundError, match="SHA-256 mismatch"):
        load_idx_dataset(spec, cache=cache, mirrors=(url,), verbose=False)
    assert not (cache / "tiny").exists() or list((cache / "tiny").iterdir()) == []


def test_download_file_http_error_and_short_body(tmp_path, server):
    url, handler = server
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(url + "missing", tmp_path / "f", None, timeout=5)
    handler.files = {"f": b"abc"}
    dest = download_file(url + "f", tmp_path / "f", hashlib.sha256(b"abc").hexdigest(), timeout=5)
    assert Path(dest).read_bytes() == b"abc" and oct(os.stat(dest).st_mode)[-3:] == "644"
    assert sorted(os.listdir(tmp_path)) == ["f"]


def test_offline_forbids_download(clean_env, monkeypatch):
    monkeypatch.setenv("SCRATCHNN_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="downloads disabled"):
        find_dataset_files(TINY, cache=clean_env / "c", mirrors=("http://127.0.0.1:9/",))


# ------------------------------------------------------------- real data
def test_bundled_subset():
    (x, y), (xt, yt) = load_bundled_mnist()
    assert x.shape == (10000, 28, 28) and xt.shape == (2000, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10 and np.bincount(yt).tolist() == [200] * 10
    assert 0 < x.mean() < 255 and x.max() == 255
    from scratchnn.datasets.bundled import bundled_path
    credit = (bundled_path() / "CREDIT.txt").read_text()
    assert "CC BY-SA 3.0" in credit and "LeCun" in credit and "Cortes" in credit and "Burges" in credit
    assert sum(p.stat().st_size for p in bundled_path().iterdir()) < 3e6


def test_bundled_subset_matches_full_mnist(data_dir):
    import gzip
    import json

    from scratchnn.datasets.bundled import bundled_path
    (x, y), (xt, yt) = load_mnist(data_dir / "mnist", download=False)
    idx = json.loads(gzip.decompress((bundled_path() / "indices.json.gz").read_bytes()))
    (bx, by), (bxt, byt) = load_bundled_mnist()
    np.testing.assert_array_equal(bx, x[idx["train_indices"]])
    np.testing.assert_array_equal(byt, yt[idx["test_indices"]])
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)


def test_fashion_mnist_debian_location(monkeypatch):
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
    monkeypatch.delenv("SCRATCHNN_DATA", raising=False)
    monkeypatch.setenv("SCRATCHNN_CACHE", "/nonexistent-scratchnn-cache")
    (x, y), (xt, yt) = load_fashion_mnist(download=False)
    assert x.shape == (60000, 28, 28) and np.bincount(yt).tolist() == [1000] * 10


def test_load_dataset_names():
    with pytest.raises(ConfigError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")
    assert load_dataset("bundled")[1][0].shape == (2000, 28, 28)
