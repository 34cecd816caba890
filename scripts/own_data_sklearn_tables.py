"""Figure for the "Your own data" guide: scikit-learn's bundled wine and breast-cancer tables written
to CSV, trained with ``scratchnn train --data x.csv --target ...`` (the default table MLP), next to
scikit-learn's ``MLPClassifier`` and ``LogisticRegression`` on the same split.

The same split and inputs: the script loads each CSV with
:func:`scratchnn.datasets.load_csv_table` (test_fraction 0.2, seed 0, stratified; standardised
with the training rows' statistics), which is what ``scratchnn train --data`` does, and fits the
scikit-learn models on those arrays. scikit-learn is needed only here (``pip install
scikit-learn``); it is not a dependency of scratchnn.

Usage::

    OMP_NUM_THREADS=1 python scripts/own_data_sklearn_tables.py [--out /tmp/own-data-tables]

Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings


def write_csv(name: str, folder: str) -> tuple[str, str]:
    import sklearn.datasets as skd

    bunch = {"wine": skd.load_wine, "breast-cancer": skd.load_breast_cancer}[name]()
    features = [f.replace(",", " ") for f in bunch.feature_names]
    path = os.path.join(folder, f"{name}.csv")
    with open(path, "w") as f:
        f.write(",".join(features + ["class"]) + "\n")
        f.writelines(",".join(repr(float(v)) for v in row) + f",{bunch.target_names[label]}\n"
                     for row, label in zip(bunch.data, bunch.target))
    return path, "class"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="/tmp/own-data-tables")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from scratchnn.datasets import load_csv_table

    rows = []
    for name in ("wine", "breast-cancer"):
        path, target = write_csv(name, a.out)
        run = os.path.join(a.out, f"{name}-run")
        subprocess.run([sys.executable, "-m", "scratchnn", "train", "--data", path, "--target", target,
                        "--seed", str(a.seed), "--out", run, "--progress", "none", "--no-plots"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(run, "results.json")) as f:
            ours = json.load(f)
        data = load_csv_table(path, target, seed=a.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = MLPClassifier(random_state=a.seed, max_iter=2000).fit(data.x_train, data.y_train)
            lr = LogisticRegression(max_iter=5000).fit(data.x_train, data.y_train)
        rows.append({"table": name, "n_train": len(data.y_train), "n_test": len(data.y_test),
                     "features": data.x_train.shape[1], "scratchnn": ours["test_accuracy"],
                     "sklearn_mlp": float(mlp.score(data.x_test, data.y_test)),
                     "sklearn_logreg": float(lr.score(data.x_test, data.y_test)),
                     "scratchnn_epochs": ours["epochs_trained"]})
    print(f"{'table':<14} {'train/test':>10} {'scratchnn MLP':>14} {'sklearn MLP':>12} {'sklearn LogReg':>15}")
    for r in rows:
        print(f"{r['table']:<14} {r['n_train']:>5}/{r['n_test']:<4} {r['scratchnn']:>14.2%} "
              f"{r['sklearn_mlp']:>12.2%} {r['sklearn_logreg']:>15.2%}")
    print(json.dumps({"figure": "own-data-tables", "seed": a.seed, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
