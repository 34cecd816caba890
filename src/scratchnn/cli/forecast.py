"""``scratchnn forecast [CSV]``: train a recurrent forecaster and compare it with the naive baselines.

Without a CSV it uses the monthly sunspot numbers bundled with the package (offline).
The report always prints the model's RMSE and MAE next to the naive forecast
("next value = last value") and, with ``--season``, the seasonal naive one -- also
when the model loses, as it usually does on stock prices.
"""
from __future__ import annotations

import argparse
import json
import os

from ._common import add_parser, prepare_out_dir, say

EXAMPLES = """\
  scratchnn forecast                                       # bundled monthly sunspots, LSTM
  scratchnn forecast ../shared/data/timeseries/eustockmarkets.csv --column DAX --window 30 --horizon 1
  scratchnn forecast air.csv --season 12 --horizon 6 --cell gru --out runs/air --plot
  scratchnn forecast --epochs 60 --clip-norm 1.0 --hidden 64

The split is chronological (train, validation, test = the last --test-fraction), the
scaler is fitted on the training part only, and errors are in the series' own units.
Gradients are clipped to a global norm of --clip-norm (default 1.0; 0 turns it off)."""


def register(subparsers) -> argparse.ArgumentParser:
    p = add_parser(subparsers, "forecast", "forecast a time series (CSV column) with an LSTM/GRU",
                   "Train a recurrent forecaster on one column of a CSV file and report its test "
                   "RMSE/MAE next to the naive baselines.", EXAMPLES)
    p.add_argument("csv", nargs="?", help="CSV file with a header (default: bundled monthly sunspots)")
    p.add_argument("--column", help="value column (default: the first column that is not 'time')")
    p.add_argument("--window", type=int, default=30, help="past values the model sees (default 30)")
    p.add_argument("--horizon", type=int, default=1, help="values forecast at once (default 1)")
    p.add_argument("--season", type=int, default=None,
                   help="season length for the seasonal naive baseline (12 for monthly data)")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    p.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    p.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default 1)")
    p.add_argument("--epochs", type=int, default=40, help="at most this many epochs (early stopping)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip-norm", type=float, default=1.0, help="gradient clipping norm (0: off)")
    p.add_argument("--level", action="store_true",
                   help="model scaled levels instead of changes relative to the last value")
    p.add_argument("--test-fraction", type=float, default=0.15)
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="folder for model.npz, report.txt, report.json (and forecast.png)")
    p.add_argument("--plot", action="store_true", help="save forecast.png in --out (or the current folder)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..datasets.timeseries import bundled_series_path, load_csv_column
    from ..forecast import fit_forecaster

    path = args.csv or bundled_series_path()
    out = prepare_out_dir(args.out) if args.out else None
    series = load_csv_column(path, args.column)
    say(f"series {series.name!r} from {path}: {len(series)} values", quiet=args.quiet)
    result = fit_forecaster(series.values, time=series.time, name=series.name, window=args.window,
                            horizon=args.horizon, season=args.season, hidden_size=args.hidden,
                            cell=args.cell, num_layers=args.layers, epochs=args.epochs,
                            batch_size=args.batch_size, lr=args.lr,
                            clip_norm=args.clip_norm if args.clip_norm > 0 else None,
                            relative=not args.level, val_fraction=args.val_fraction,
                            test_fraction=args.test_fraction, seed=args.seed,
                            verbose=0 if args.quiet else 2)
    report = result.report()
    print(report)
    if out is not None:
        result.model.save(out / "model.npz")
        (out / "report.txt").write_text(report + "\n")
        (out / "report.json").write_text(json.dumps({
            "series": series.name, "csv": os.fspath(path), "window": args.window, "horizon": args.horizon,
            "season": args.season, "cell": args.cell, "scores": result.scores,
            "epochs": result.epochs_run, "verdict": result.verdict()}, indent=2) + "\n")
        say(f"saved {out / 'model.npz'}, report.txt, report.json", quiet=args.quiet)
    if args.plot:
        from ..plots.forecast import plot_forecast

        png = (out if out is not None else prepare_out_dir(".")) / "forecast.png"
        plot_forecast(result, path=png)
        say(f"saved {png}", quiet=args.quiet)
    return 0
