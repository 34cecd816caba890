"""Image folders (one subfolder per class): layout, colour, resizing, split, unreadable files, streaming."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

import scratchnn as sn
from scratchnn.datasets import ImageFolderStream, load_image_folder
from scratchnn.datasets import image_folder as imf
from scratchnn.errors import ConfigError, DataError
from tests.datasets.own_data import pattern, png_folder


def test_classes_shapes_and_a_stratified_seeded_split(tmp_path):
    root = png_folder(tmp_path / "imgs", n=10)
    data = load_image_folder(root, size=(12, 12), test_fraction=0.2, seed=3)
    (x_tr, y_tr), (x_te, y_te), classes = data
    assert classes == ["ant", "bee", "cat"] and data.task == "classification" and data.kind == "image-folder"
    assert x_tr.shape == (24, 12, 12) and x_te.shape == (6, 12, 12) and x_tr.dtype == np.uint8
    assert np.bincount(y_te).tolist() == [2, 2, 2] and np.bincount(y_tr).tolist() == [8, 8, 8]
    # Pixels are the files' own (no resize at the same size): every test image is one of its class's.
    for img, k in zip(x_te, y_te):
        assert any(np.array_equal(img, pattern(int(k), i)) for i in range(10))
    again = load_image_folder(root, size=12, test_fraction=0.2, seed=3)
    other = load_image_folder(root, size=12, test_fraction=0.2, seed=4)
    assert np.array_equal(again.x_test, x_te)
    assert not np.array_equal(other.x_test, x_te)


def test_rgb_is_channels_first_and_resized(tmp_path):
    root = png_folder(tmp_path / "rgb", n=4, color="RGB", size=(12, 12))
    data = load_image_folder(root, size=(6, 8), color="rgb", test_fraction=0.25)
    assert data.x_train.shape[1:] == (3, 6, 8)
    # Class k's pattern lives in channel k % 3 only.
    for img, k in zip(data.x_train, data.y_train):
        others = [c for c in range(3) if c != k % 3]
        assert img[k % 3].max() > 100 and img[others].max() == 0
    gray = load_image_folder(root, size=(6, 8), test_fraction=0.25)
    assert gray.x_train.shape[1:] == (6, 8)


def test_transparency_is_laid_on_white(tmp_path):
    png_folder(tmp_path / "t", n=3)
    Image.new("RGBA", (12, 12), (0, 0, 0, 0)).save(tmp_path / "t" / "ant" / "clear.png")
    img = imf.read_image(tmp_path / "t" / "ant" / "clear.png", (12, 12), "grayscale")
    assert img.min() == 255
    rgb = imf.read_image(tmp_path / "t" / "ant" / "clear.png", (4, 4), "rgb")
    assert rgb.shape == (3, 4, 4) and rgb.min() == 255


def test_train_and_test_folders(tmp_path):
    root = png_folder(tmp_path / "s", n=6, split=True)
    data = load_image_folder(root, size=12)
    assert data.split == {"test": "test/ folder"}
    assert len(data.x_train) == 18 and len(data.x_test) == 6 and data.classes == ["ant", "bee", "cat"]
    os.makedirs(tmp_path / "s" / "test" / "dog")
    with pytest.raises(DataError, match="dog are not among the training classes"):
        load_image_folder(root, size=12)


def test_unreadable_files_are_named_and_skipped_or_refused(tmp_path):
    root = png_folder(tmp_path / "b", n=6)
    (tmp_path / "b" / "bee" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "b" / "cat" / "cut.png").write_bytes((tmp_path / "b" / "cat" / "000.png").read_bytes()[:40])
    (tmp_path / "b" / "cat" / "notes.txt").write_text("hello")
    data = load_image_folder(root, size=12, test_fraction=0.3)
    skipped = [n for n in data.notes if n.startswith("skipped")]
    assert len(skipped) == 1 and "2 unreadable" in skipped[0]
    assert os.path.join("bee", "broken.png") in skipped[0] and os.path.join("cat", "cut.png") in skipped[0]
    assert any("notes.txt" in n for n in data.notes)
    assert len(data.x_train) + len(data.x_test) == 18
    with pytest.raises(DataError, match=r"broken\.png|cut\.png"):
        load_image_folder(root, size=12, strict=True)


def test_oversized_images_are_refused_before_decoding(tmp_path, monkeypatch):
    root = png_folder(tmp_path / "o", n=3)
    monkeypatch.setattr(imf, "MAX_PIXELS", 100)
    with pytest.raises(DataError, match="over the limit of 100 pixels"):
        imf.read_image(os.path.join(root, "ant", "000.png"), 12)


@pytest.mark.parametrize("make, match, error", [
    (lambda p: None, "image folder not found", FileNotFoundError),
    (lambda p: os.makedirs(p / "only"), "at least two", DataError),
    (lambda p: (os.makedirs(p / "a"), os.makedirs(p / "b")), "holds no image files", DataError),
])
def test_layout_errors(tmp_path, make, match, error):
    target = tmp_path / "x"
    make(target)
    with pytest.raises(error, match=match):
        load_image_folder(target)


@pytest.mark.parametrize("kwargs, match", [
    ({"size": (0, 5)}, "size must be"), ({"size": "big"}, "size must be"),
    ({"color": "cmyk"}, "color must be"), ({"test_fraction": 1.5}, "test_fraction"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    root = png_folder(tmp_path / "a", n=3)
    with pytest.raises(ConfigError, match=match):
        load_image_folder(root, **kwargs)


def test_stream_yields_every_file_once_per_epoch(tmp_path):
    root = png_folder(tmp_path / "st", n=7)
    layout = imf.scan_image_folder(root)
    (tmp_path / "st" / "ant" / "zz.png").write_bytes(b"junk")
    files, labels = layout.train_files + [str(tmp_path / "st" / "ant" / "zz.png")], \
        np.concatenate([layout.train_labels, [0]])
    stream = ImageFolderStream(files, labels, size=12, batch_size=5, seed=1, input_shape=(144,))
    assert len(stream) == 5
    seen = []
    for x, y in stream:
        assert x.dtype == np.float32 and x.shape[1:] == (144,) and 0 <= x.min() and x.max() <= 1
        seen += y.tolist()
    assert sorted(seen) == sorted(layout.train_labels.tolist())
    assert stream.skipped == [str(tmp_path / "st" / "ant" / "zz.png")]
    order1 = [y.tolist() for _, y in stream]
    order2 = [y.tolist() for _, y in stream]
    assert order1 != order2  # reshuffled each epoch
    plain = ImageFolderStream(layout.train_files, layout.train_labels, size=12, batch_size=8, shuffle=False)
    x, y = next(iter(plain))
    assert x.dtype == np.uint8 and x.shape == (8, 12, 12) and y.tolist() == layout.train_labels[:8].tolist()
    strict = ImageFolderStream(files, labels, size=12, batch_size=30, strict=True)
    with pytest.raises(DataError, match="zz.png"):
        list(strict)
    with pytest.raises(ConfigError, match="batch_size"):
        ImageFolderStream(files, labels, batch_size=0)


def test_exported_from_the_package():
    assert sn.datasets.load_image_folder is load_image_folder
    assert imf.inputs_bytes(10, 28, "rgb") == 10 * 28 * 28 * 3 * 4
