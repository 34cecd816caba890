"""The default neural forecaster against naive, seasonal naive and statsmodels' classical model.

Two modes:

- ``python benchmarks/forecast_baselines.py`` (the figures): for every series in
  ``../shared/data/timeseries/`` (monthly ones with season 12, the four stock indexes one by
  one and as one global model), the RMSE and MAE of the default forecaster, naive, seasonal
  naive and the statsmodels baseline (Holt-Winters with a season, ARIMA without) on the same
  test points, and the coverage of the 80% interval. A readable table, then one JSON line.
- ``--select``: how the defaults were chosen. Every series (the shared ones and statsmodels'
  bundled co2, nile, sunspots, elnino, macrodata) is cut **before its test part**, and the
  variants are scored on the last 15% of what remains (that is, the validation region), so
  the choice never looks at the test part. Each variant changes one thing from the default.

Needs statsmodels (``pip install "scratchnn[forecast]"``). Single-threaded BLAS, as the
library is on a shared machine: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, print_table

from scratchnn.applications.forecasting import fit_forecaster, fit_many
from scratchnn.datasets.timeseries import load_csv_column, split_points
from scratchnn.errors import DataError


def data_dir() -> Path:
    return Path(os.environ.get("SCRATCHNN_TEST_DATA", REPO.parent / "shared" / "data")) / "timeseries"


def shared_series() -> list[tuple[str, np.ndarray, np.ndarray | None, int | None]]:
    """(name, values, time, season) for every column of every CSV in the shared folder."""
    out = []
    folder = data_dir()
    for csv in sorted(folder.glob("*.csv")):
        header = csv.read_text().splitlines()[0].replace('"', "").split(",")
        season = 12 if "monthly" in csv.stem else None
        for col in header[1:]:
            s = load_csv_column(csv, col)
            out.append((col, s.values, s.time, season))
    return out


def statsmodels_series() -> list[tuple[str, np.ndarray, None, int | None]]:
    """statsmodels' bundled series: co2 (weekly -> monthly means), nile, yearly sunspots,
    elnino (monthly sea temperature), quarterly macro data (real GDP, CPI)."""
    import statsmodels.api as sm

    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    elnino = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").to_numpy().ravel()
    macro = sm.datasets.macrodata.load_pandas().data
    return [("sm-co2", co2.to_numpy(), None, 12),
            ("sm-nile", sm.datasets.nile.load_pandas().data["volume"].to_numpy(), None, None),
            ("sm-sunspots", sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(), None, None),
            ("sm-elnino", elnino.astype(float), None, 12),
            ("sm-realgdp", macro["realgdp"].to_numpy(), None, 4),
            ("sm-cpi", macro["cpi"].to_numpy(), None, 4)]


def row(res) -> dict:
    s = res.scores
    best_classical = min((k for k in s if k not in ("model",)), key=lambda k: s[k]["rmse"])
    return {"series": res.name, "season": res.season, "test_points": int(res.actual.size),
            "model": s["model"], "naive": s["naive"], "seasonal_naive": s.get("seasonal_naive"),
            "classical": s.get("classical"), "classical_label": res.classical_label,
            "best_baseline": best_classical, "coverage": res.coverage}


def figures(members: int | None) -> None:
    rows, table = [], []
    series = shared_series()
    started = time.perf_counter()
    for name, values, t, season in series:
        t0 = time.perf_counter()
        res = fit_forecaster(values, time=t, name=name, season=season, members=members)
        rows.append({**row(res), "seconds": round(time.perf_counter() - t0, 1)})
    stocks = [(n, v, t) for n, v, t, s in series if s is None]
    if len(stocks) > 1:
        t0 = time.perf_counter()
        multi = fit_many(stocks, members=members)
        for res in multi:
            rows.append({**row(res), "series": res.name + " (global)",
                         "seconds": round((time.perf_counter() - t0) / len(stocks), 1)})
    def cell(r, key):
        return "-" if r[key] is None else f"{r[key]['rmse']:.4g} / {r[key]['mae']:.4g}"

    for r in rows:
        table.append((r["series"], r["season"] or "-", r["test_points"], cell(r, "model"), cell(r, "naive"),
                      cell(r, "seasonal_naive"), cell(r, "classical"), r["classical_label"] or "-",
                      f"{r['coverage']:.0%}", r["seconds"]))
    print_table("Test part, RMSE / MAE in the series' units (default forecaster vs baselines)", table,
                ("series", "m", "points", "default (MLP x5)", "naive", "seasonal naive", "statsmodels",
                 "statsmodels model", "80% cover", "s"))
    print(json.dumps({"benchmark": "forecast_baselines", "rows": rows,
                      "seconds": round(time.perf_counter() - started, 1)}))


VARIANTS = {
    "default": {},
    "1 member": {"members": 1},
    "no log": {"log": False},
    "lag-m changes": {"difference": "season"},
    "no season inputs": {"season_inputs": False},
    "window 3m / 36": {"window": "3m"},
    "GRU x3": {"model": "gru", "members": 3},
    "N-BEATS x5": {"model": "nbeats"},
    "constant interval": {"adaptive_interval": False},
}


def select() -> None:
    series = [s for s in shared_series() if s[0] in ("passengers", "co2", "sunspots", "DAX")]
    series += statsmodels_series()
    results: dict[str, dict[str, float]] = {}
    for name, values, _, season in series:
        _, test_start = split_points(len(values))
        inner = values[:test_start]                        # the test part is never seen
        results[name] = {}
        for label, over in VARIANTS.items():
            kwargs = dict(over)
            if kwargs.get("window") == "3m":
                kwargs["window"] = 3 * season if season else 36
            try:
                res = fit_forecaster(inner, name=name, season=season, classical=label == "default", **kwargs)
            except DataError as exc:                      # too short for this variant's window
                print(f"  {name:<12} {label:<20} skipped: {exc}", flush=True)
                results[name][label] = float("nan")
                continue
            results[name][label] = res.scores["model"]["rmse"]
            results[name][f"coverage, {label}"] = res.coverage
            if label == "default":
                base = min((k for k in res.scores if k != "model"), key=lambda k: res.scores[k]["rmse"])
                results[name]["best baseline"] = res.scores[base]["rmse"]
                results[name]["best baseline name"] = res.label(base)
                results[name]["coverage"] = res.coverage
            print(f"  {name:<12} {label:<20} RMSE {res.scores['model']['rmse']:.4g}  coverage {res.coverage:.0%}",
                  flush=True)
    labels = [lab for lab in VARIANTS if lab != "constant interval"] + ["best baseline"]
    table = []
    for name, r in results.items():
        ref = r[labels[0]]
        table.append((name, f"{ref:.4g}", *(f"{r[lab] / ref:.3f}" for lab in labels[1:]), r["best baseline name"],
                      f"{r['coverage, default']:.0%}", f"{r.get('coverage, constant interval', float('nan')):.0%}"))
    print_table("Validation region (test part cut off): RMSE of the default, others relative to it (lower is "
                "better); 80% interval coverage adaptive / constant", table,
                ("series", "default RMSE", *labels[1:], "best baseline", "cover", "cover const"))
    geo = {lab: float(np.exp(np.nanmean([np.log(r[lab] / r[labels[0]]) for r in results.values()])))
           for lab in labels}
    print(json.dumps({"benchmark": "forecast_baselines", "mode": "select", "geomean_relative_rmse": geo,
                      "per_series": results}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--select", action="store_true", help="compare the variants on the validation region")
    ap.add_argument("--members", type=int, default=None, help="ensemble size (default: the library's)")
    args = ap.parse_args()
    if args.select:
        select()
    else:
        figures(args.members)


if __name__ == "__main__":
    main()
