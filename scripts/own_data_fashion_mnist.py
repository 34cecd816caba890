"""Figure for the "Your own data" guide: Fashion-MNIST written out as PNG files, one folder per
class, trained with ``scratchnn train --data`` and, for comparison, with ``--dataset fashion-mnist``.

Both runs use the same model, epochs, seed and test images (the PNG folder keeps the official
split as ``train/`` and ``test/``); the test accuracies should agree within a few tenths of a
percentage point (the training images arrive in another order, so the runs are not bit-identical).

Usage::

    OMP_NUM_THREADS=1 python scripts/own_data_fashion_mnist.py [--epochs 3] [--out /tmp/fmnist-png]

Needs the Fashion-MNIST IDX files (``apt-get install dataset-fashion-mnist`` puts them in
/usr/share/datasets/fashion-mnist; or they are downloaded). Writes 70,000 PNGs under ``--out``
and two run folders next to it; prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def write_png_folder(out: str) -> tuple[int, float]:
    from PIL import Image

    from scratchnn.datasets import FASHION_MNIST, load_fashion_mnist

    (x_tr, y_tr), (x_te, y_te) = load_fashion_mnist()
    names = [c.replace("/", "_") for c in FASHION_MNIST.classes]
    start = time.perf_counter()
    for part, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        for name in names:
            os.makedirs(os.path.join(out, part, name), exist_ok=True)
        for i, (img, label) in enumerate(zip(x, y)):
            Image.fromarray(img).save(os.path.join(out, part, names[label], f"{i:05d}.png"))
    return len(x_tr) + len(x_te), time.perf_counter() - start


def train(args: list[str], out: str) -> dict:
    cmd = [sys.executable, "-m", "scratchnn", "train", *args, "--out", out, "--progress", "none", "--no-plots"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    res["wall_seconds"] = wall
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="/tmp/fmnist-png")
    a = p.parse_args()
    if not os.path.isdir(os.path.join(a.out, "test")):
        n, sec = write_png_folder(a.out)
        print(f"wrote {n:,} PNG files to {a.out} in {sec:.1f} s")
    common = ["--epochs", str(a.epochs), "--seed", str(a.seed), "--model", "mlp"]
    folder = train(["--data", a.out, *common], a.out + "-run-data")
    named = train(["--dataset", "fashion-mnist", *common], a.out + "-run-dataset")
    diff = 100 * (folder["test_accuracy"] - named["test_accuracy"])
    print(f"\n{'source':<32} {'test accuracy':>14} {'train s':>8} {'wall s':>8}")
    for label, r in ((f"--data {a.out} (PNG)", folder), ("--dataset fashion-mnist (IDX)", named)):
        print(f"{label:<32} {r['test_accuracy']:>13.2%} {r['train_seconds']:>8.1f} {r['wall_seconds']:>8.1f}")
    print(f"difference: {diff:+.2f} percentage points (MLP, {a.epochs} epochs, seed {a.seed})")
    print(json.dumps({"figure": "own-data-fashion-mnist", "epochs": a.epochs, "seed": a.seed,
                      "acc_data_folder": folder["test_accuracy"], "acc_dataset": named["test_accuracy"],
                      "difference_pp": diff, "n_test": folder["n_test"]}))
    return 0 if np.isfinite(diff) else 1


if __name__ == "__main__":
    raise SystemExit(main())
