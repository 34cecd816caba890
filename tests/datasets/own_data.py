"""Small data made on the fly for the "your own data" tests: PNG folders, IDX pairs, NPZ, CSV."""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

from scratchnn.datasets import write_idx


def pattern(k: int, i: int, h: int = 12, w: int = 12) -> np.ndarray:
    """A grayscale image of class k (a bright bar at row/column k, plus noise seeded by i)."""
    rng = np.random.default_rng(1000 * k + i)
    img = rng.integers(0, 40, size=(h, w)).astype(np.uint8)
    if k % 2 == 0:
        img[:, (3 * k) % w] = 250
    else:
        img[(3 * k) % h, :] = 250
    return img


def png_folder(root, classes=("ant", "bee", "cat"), n: int = 10, size=(12, 12), color: str = "L",
               split: bool = False) -> str:
    """``root/<class>/<i>.png`` (or ``root/train|test/<class>/``) with ``n`` images per class."""
    root = str(root)
    parts = [("train", n), ("test", max(2, n // 3))] if split else [("", n)]
    for part, count in parts:
        for k, name in enumerate(classes):
            folder = os.path.join(root, part, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                img = pattern(k, i, *size)
                pil = Image.fromarray(img)
                if color == "RGB":
                    rgb = np.zeros((*size, 3), np.uint8)
                    rgb[..., k % 3] = img
                    pil = Image.fromarray(rgb)
                pil.save(os.path.join(folder, f"{i:03d}.png"))
    return root


def idx_pair(folder, n_train: int = 60, n_test: int = 20, shape=(10, 12), n_classes: int = 4,
             prefix: str = "", test_word: str = "t10k") -> str:
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for part, n in (("train", n_train), (test_word, n_test)):
        y = (np.arange(n) % n_classes).astype(np.uint8)
        x = np.stack([pattern(int(k), i, *shape) for i, k in enumerate(y)]) if n else \
            np.zeros((0, *shape), np.uint8)
        x = np.clip(x.astype(int) + rng.integers(0, 3, x.shape), 0, 255).astype(np.uint8)
        write_idx(os.path.join(folder, f"{prefix}{part}-images-idx3-ubyte.gz"), x)
        write_idx(os.path.join(folder, f"{prefix}{part}-labels-idx1-ubyte.gz"), y)
    return str(folder)


def table_csv(path, n: int = 120, missing: bool = False, seed: int = 0) -> str:
    """Columns size (numeric), colour (categorical), weight (numeric), kind (target: 'big'/'small'),
    price (numeric target). ``missing`` blanks one size and one colour."""
    rng = np.random.default_rng(seed)
    lines = ["size,colour,weight,kind,price"]
    for i in range(n):
        size = rng.normal(10, 3)
        colour = ["red", "green", "blue"][i % 3]
        weight = rng.normal(50, 10)
        kind = "big" if size + (colour == "red") * 3 > 11 else "small"
        price = 2.0 * size + (colour == "red") * 5 + 0.1 * weight + rng.normal(0, 0.2)
        s = "" if (missing and i == 4) else f"{size:.3f}"
        c = "NA" if (missing and i == 7) else colour
        lines.append(f"{s},{c},{weight:.3f},{kind},{price:.3f}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)
