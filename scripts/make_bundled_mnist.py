"""Create the MNIST subset bundled in ``src/scratchnn/data/mnist-subset`` (reproducible).

Takes, from the official MNIST splits, ``--per-class-train`` images of each digit from
the training set and ``--per-class-test`` of each digit from the test set (a stratified
random choice with ``--seed``), keeps them in their original order, and writes them as
gzip-compressed IDX files (gzip timestamp 0, so the bytes repeat) with the indices
chosen (``indices.json``) and the credit and licence (``CREDIT.txt``).

Usage::

    python scripts/make_bundled_mnist.py --source ../shared/data/mnist
"""
from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np

from scratchnn.datasets.idx import write_idx
from scratchnn.datasets.locate import folder_has
from scratchnn.datasets.mnist import MNIST, read_split_files

OUT = Path(__file__).resolve().parents[1] / "src" / "scratchnn" / "data" / "mnist-subset"

CREDIT = """\
MNIST subset bundled with scratchnn
===================================

The files in this folder are a subset of the MNIST database of handwritten digits
by Yann LeCun, Corinna Cortes and Christopher J.C. Burges
(http://yann.lecun.com/exdb/mnist/), licensed under the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/).

Changes: {n_train} training images ({per_train} of each digit) and {n_test} test images
({per_test} of each digit) were chosen at random (seed {seed}) from the official
training and test splits, kept in their original order, and re-encoded as
gzip-compressed IDX files. indices.json lists the original index of every image.
The script that makes them is scripts/make_bundled_mnist.py in the scratchnn
source. This subset is shared under the same licence, CC BY-SA 3.0.
"""


def stratified_indices(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [rng.choice(np.flatnonzero(y == c), size=per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(chosen))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True, help="folder with the four official MNIST IDX files")
    ap.add_argument("--per-class-train", type=int, default=1000)
    ap.add_argument("--per-class-test", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    files = folder_has(Path(args.source), list(MNIST.files.values()))
    if files is None:
        raise SystemExit(f"MNIST files not found in {args.source}")
    (x_tr, y_tr), (x_te, y_te) = read_split_files({r: files[f] for r, f in MNIST.files.items()}, MNIST)
    rng = np.random.default_rng(args.seed)
    i_tr = stratified_indices(y_tr, args.per_class_train, rng)
    i_te = stratified_indices(y_te, args.per_class_test, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    write_idx(args.out / MNIST.files["train_images"], x_tr[i_tr])
    write_idx(args.out / MNIST.files["train_labels"], y_tr[i_tr].astype(np.uint8))
    write_idx(args.out / MNIST.files["test_images"], x_te[i_te])
    write_idx(args.out / MNIST.files["test_labels"], y_te[i_te].astype(np.uint8))
    meta = {"seed": args.seed, "train_indices": i_tr.tolist(), "test_indices": i_te.tolist()}
    (args.out / "indices.json.gz").write_bytes(gzip.compress(json.dumps(meta).encode(), mtime=0))
    (args.out / "CREDIT.txt").write_text(CREDIT.format(
        n_train=len(i_tr), n_test=len(i_te), per_train=args.per_class_train,
        per_test=args.per_class_test, seed=args.seed))
    total = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {len(i_tr)} train + {len(i_te)} test images to {args.out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
