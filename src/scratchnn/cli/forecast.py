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
from pathlib import Path

from ._common import add_force, add_parser, prepare_out_dir, say
from .options import (
    fraction,
    integer,
    nonneg_float,
    nonneg_int,
    positive_float,
    positive_int,
)
from .run_folder import RunFolder, UsageError, check_new_file

EXAMPLES = """\
  scratchnn forecast                                       # bundled monthly sunspots, LSTM
  scratchnn forecast --season 132 --horizon 6 --cell gru --out runs/sunspots --plot
  scratchnn forecast --epochs 60 --clip-norm 1.0 --hidden 64
  scratchnn forecast prices.csv --column Close --window 30   # your own CSV file

CSV files: a header row is optional, the delimiter (, ; tab |) and a UTF-8 byte-order
mark are handled, time, date and index columns are never taken as the value, and the
column used is printed first. A constant series, or one too short for --window +
--horizon in each part, is refused before training.

The split is chronological (train, validation, test = the last --test-fraction), the
scaler is fitted on the training part only, and errors are in the series' own units.
Gradients are clipped to a global norm of --clip-norm (default 1.0; 0 turns it off)."""


def register(subparsers) -> argparse.ArgumentParser:
    p = add_parser(subparsers, "forecast", "forecast a time series (CSV column) with an LSTM/GRU",
                   "Train a recurrent forecaster on one column of a CSV file and report its test "
                   "RMSE/MAE next to the naive baselines.", EXAMPLES)
    p.add_argument("csv", nargs="?", help="CSV file (default: bundled monthly sunspots)")
    p.add_argument("--column", help="value column, by name or number from 1 (default: the first numeric "
                   "column that is not a time, date or index column)")
    p.add_argument("--window", type=integer(1, 100_000), default=30, help="past values the model sees")
    p.add_argument("--horizon", type=integer(1, 10_000), default=1, help="values forecast at once")
    p.add_argument("--season", type=integer(1, 1_000_000), default=None,
                   help="season length for the seasonal naive baseline, e.g. 12 for monthly data "
                   "(default: no seasonal baseline)")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm", help="recurrent cell")
    p.add_argument("--hidden", type=integer(1, 4096), default=32, help="hidden size")
    p.add_argument("--layers", type=integer(1, 16), default=1, help="stacked recurrent layers")
    p.add_argument("--epochs", type=integer(1, 100_000), default=40,
                   help="at most this many epochs (early stopping)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="mini-batch size")
    p.add_argument("--lr", type=positive_float, default=2e-3, help="learning rate of Adam")
    p.add_argument("--clip-norm", type=nonneg_float, default=1.0, help="gradient clipping norm (0: off)")
    p.add_argument("--level", action="store_true",
                   help="model scaled levels instead of changes relative to the last value")
    p.add_argument("--test-fraction", type=fraction, default=0.15, help="last fraction of the series for testing")
    p.add_argument("--val-fraction", type=fraction, default=0.15,
                   help="fraction before the test part for validation")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the weights and shuffling")
    p.add_argument("--out", help="new folder for model.npz, report.txt, report.json (and forecast.png) "
                   "(default: write no files)")
    add_force(p, "an existing --out folder or forecast.png")
    p.add_argument("--plot", action="store_true", help="save forecast.png in --out (or the current folder)")
    p.add_argument("--quiet", action="store_true", help="print only the report")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..datasets.timeseries import (
        bundled_series_path,
        check_forecastable,
        load_csv_column,
    )
    from ..errors import ConfigError

    if args.val_fraction + args.test_fraction >= 0.9:
        raise UsageError(f"--val-fraction + --test-fraction must leave at least 10% for training. "
                         f"Received: {args.val_fraction} + {args.test_fraction}")
    path = args.csv or bundled_series_path()
    # Every check before work starts: the output first, then the series.
    run_dir = RunFolder(args.out, force=args.force) if args.out else None
    try:
        if args.plot and run_dir is None:  # into the current folder: existing and writable, checked now
            check_new_file("forecast.png", "--plot", args.force)
            prepare_out_dir(".")
        series = load_csv_column(path, args.column)
        try:
            check_forecastable(series.values, window=args.window, horizon=args.horizon,
                               val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                               season=args.season, name=f"{path} column {series.name!r}")
        except ConfigError as exc:  # window, horizon or season do not fit this series
            raise UsageError(f"{exc} (with --window {args.window}, --horizon {args.horizon}"
                             f"{f', --season {args.season}' if args.season else ''})") from None
        say(f"series {series.name!r} from {path}: {len(series)} values; " + "; ".join(series.notes),
            quiet=args.quiet)
        code = _run(args, path, series, run_dir)
    except BaseException:
        if run_dir is not None:
            run_dir.abandon()
        raise
    return code


def _run(args, path, series, run_dir) -> int:
    from ..forecast import fit_forecaster

    out = run_dir.path if run_dir is not None else None
    result = fit_forecaster(series.values, time=series.time, name=series.name, window=args.window,
                            horizon=args.horizon, season=args.season, hidden_size=args.hidden,
                            cell=args.cell, num_layers=args.layers, epochs=args.epochs,
                            batch_size=args.batch_size, lr=args.lr,
                            clip_norm=args.clip_norm if args.clip_norm > 0 else None,
                            relative=not args.level, val_fraction=args.val_fraction,
                            test_fraction=args.test_fraction, seed=args.seed,
                            verbose=0 if args.quiet else 2)
    report = result.report()
    if args.plot:
        from ..plots.forecast import plot_forecast

        png = (out if out is not None else Path(".")) / "forecast.png"
        plot_forecast(result, path=png)
    print(report)
    if out is not None:
        result.model.save(out / "model.npz")
        (out / "report.txt").write_text(report + "\n")
        (out / "report.json").write_text(json.dumps({
            "series": series.name, "csv": os.fspath(path), "window": args.window, "horizon": args.horizon,
            "season": args.season, "cell": args.cell, "scores": result.scores,
            "epochs": result.epochs_run, "verdict": result.verdict()}, indent=2) + "\n")
        out = run_dir.publish()
        say(f"saved {out / 'model.npz'}, report.txt, report.json" + (", forecast.png" * args.plot),
            quiet=args.quiet)
    elif args.plot:
        say("saved forecast.png", quiet=args.quiet)
    return 0
