"""``scratchnn forecast [CSV or folder]``: train a neural forecaster and compare it with the baselines.

Without a CSV it uses the monthly sunspot numbers bundled with the package (offline).
The report always prints the model's RMSE and MAE next to the naive forecast
("next value = last value"), with ``--season`` the seasonal naive one, and, when
statsmodels is installed (``pip install "scratchnn[forecast]"``), Holt-Winters (with a
season) or ARIMA (without) -- also when the model loses, as it does on stock prices.
Several columns (``--column a,b`` or ``--all-columns``) or a folder of CSVs train one
global model across the series, with a report per series.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
from pathlib import Path

from ..errors import ConfigError, DataError
from ._common import add_force, add_parser, prepare_out_dir, say
from .options import fraction, integer, nonneg_float, nonneg_int, number, positive_float, positive_int
from .run_folder import RunFolder, UsageError, check_new_file

EXAMPLES = """\
  scratchnn forecast                                       # bundled monthly sunspots
  scratchnn forecast ../shared/data/timeseries/airpassengers_monthly.csv --season 12 --future 24 --out runs/air --plot
  scratchnn forecast ../shared/data/timeseries/eustockmarkets.csv --column DAX
  scratchnn forecast ../shared/data/timeseries/eustockmarkets.csv --all-columns   # one global model
  scratchnn forecast air.csv --season 12 --horizon 6 --model gru --members 3

CSV files: a header row is optional, the delimiter (, ; tab |) and a UTF-8 byte-order
mark are handled, time, date and index columns are never taken as the value, and the
column used is printed first. A constant series, or one too short for --window +
--horizon in each part, is refused before training.

The split is chronological (train, validation, test = the last --test-fraction); every
transform is fitted on the training part only, the classical model's parameters on the
values before the test part; errors are in the series' own units. The default network is
a median ensemble of --members MLPs on windows of changes at lag --season (or 1), with
early stopping on the validation part. --future K also forecasts K steps past the end of
the data (future.csv, with the --interval prediction interval)."""


def register(subparsers) -> argparse.ArgumentParser:
    p = add_parser(subparsers, "forecast", "forecast time series (CSV columns) against classical baselines",
                   "Train a neural forecaster on one or several CSV columns and report its test RMSE/MAE "
                   "next to naive, seasonal naive and Holt-Winters/ARIMA, with an 80% prediction interval.",
                   EXAMPLES)
    p.add_argument("csv", nargs="?", help="CSV file with a header, or a folder of CSV files "
                   "(default: bundled monthly sunspots)")
    p.add_argument("--column", help="value column(s), comma-separated (default: the first value column)")
    p.add_argument("--all-columns", action="store_true", help="every value column: one global model")
    p.add_argument("--window", type=integer(1, 100_000), default=None,
                   help="past changes the network sees (default: 2 seasons, or 24 without --season)")
    p.add_argument("--horizon", type=integer(1, 10_000), default=1, help="values forecast at once (default: 1)")
    p.add_argument("--season", type=integer(1, 1_000_000), default=None,
                   help="season length (12 for monthly data): lag-m differences, season-position inputs, "
                        "seasonal naive and Holt-Winters baselines (default: none)")
    p.add_argument("--model", "--cell", dest="model", choices=["mlp", "nbeats", "lstm", "gru", "rnn"],
                   default="mlp", help="network (default: mlp; nbeats: an N-BEATS-style stack; --cell is the older name)")
    p.add_argument("--members", type=integer(1, 100), default=5, help="networks in the median ensemble (default: 5)")
    p.add_argument("--hidden", type=integer(1, 4096), default=None,
                   help="hidden size (default: 64 for mlp, 32 otherwise)")
    p.add_argument("--layers", type=integer(1, 16), default=None,
                   help="hidden layers (mlp, default 2) or stacked cells (default 1)")
    p.add_argument("--epochs", type=integer(1, 100_000), default=200,
                   help="at most this many epochs, early stopping (default: 200)")
    p.add_argument("--patience", type=integer(1, 100_000), default=20,
                   help="early-stopping patience in epochs (default: 20)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="mini-batch size (default: 32)")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate of Adam (default: 0.001)")
    p.add_argument("--clip-norm", type=nonneg_float, default=1.0, help="gradient clipping norm, 0: off (default: 1.0)")
    p.add_argument("--log", choices=["auto", "yes", "no"], default="auto",
                   help="model log values (auto: when the training part is positive; default: auto)")
    p.add_argument("--interval", type=number(0, 1, lo_open=True, hi_open=True), default=0.8,
                   help="prediction interval level (default: 0.8)")
    p.add_argument("--no-classical", action="store_true", help="skip the statsmodels baseline")
    p.add_argument("--future", type=integer(1, 100_000), default=None, metavar="K",
                   help="also forecast K steps past the end of the data (future.csv with intervals; default: none)")
    p.add_argument("--test-fraction", type=fraction, default=0.15,
                   help="last fraction of the series for testing (default: 0.15)")
    p.add_argument("--val-fraction", type=fraction, default=0.15,
                   help="fraction before the test part for validation (default: 0.15)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the weights and shuffling (default: 0)")
    p.add_argument("--out", help="new folder for report.txt, report.json, model/, future.csv (and forecast.png) "
                   "(default: write no files)")
    add_force(p, "an existing --out folder or forecast.png")
    p.add_argument("--plot", action="store_true", help="save forecast.png in --out (or the current folder)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)
    return p


def value_columns(path: str | os.PathLike, time_column: str = "time") -> list[str]:
    """Names in the header of ``path`` other than ``time_column`` (for ``--all-columns``).

    Only the header is read here; :func:`~scratchnn.datasets.timeseries.load_csv_column`
    reads and checks each column's values.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = f.readline()
    except FileNotFoundError:
        raise DataError(f"CSV file not found: {os.fspath(path)}") from None
    delimiter = max(",;\t", key=first.count)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]
    return [h for h in header if h and h.lower() != time_column]


def _load(args) -> list:
    from ..datasets.timeseries import bundled_series_path, load_csv_column

    path = Path(args.csv) if args.csv else Path(bundled_series_path())
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
        if not files:
            raise DataError(f"folder {os.fspath(path)} holds no .csv files")
        if args.all_columns:
            raise ConfigError("--all-columns takes one CSV file; a folder uses one column of each file")
        out = []
        for f in files:
            s = load_csv_column(f, args.column)
            s.name = f.stem if len(files) > 1 else s.name
            out.append((s, f))
        return out
    if args.all_columns and args.column:
        raise ConfigError("give either --column or --all-columns, not both")
    columns = value_columns(path) if args.all_columns else (
        [c.strip() for c in args.column.split(",") if c.strip()] if args.column else [None])
    return [(load_csv_column(path, c), path) for c in columns]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "series"


def run(args: argparse.Namespace) -> int:
    from ..applications.forecasting.workflow import default_window
    from ..datasets.timeseries import check_forecastable

    if args.val_fraction + args.test_fraction >= 0.9:
        raise UsageError(f"--val-fraction + --test-fraction must leave at least 10% for training. "
                         f"Received: {args.val_fraction} + {args.test_fraction}")
    # Every check before work starts: the output first, then each series.
    run_dir = RunFolder(args.out, force=args.force) if args.out else None
    try:
        if args.plot and run_dir is None:  # into the current folder: existing and writable, checked now
            check_new_file("forecast.png", "--plot", args.force)
            prepare_out_dir(".")
        loaded = _load(args)
        window = default_window(args.season) if args.window is None else args.window
        for s, path in loaded:
            try:
                check_forecastable(s.values, window=window, horizon=args.horizon,
                                   val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                                   season=args.season, name=f"{os.fspath(path)} column {s.name!r}")
            except ConfigError as exc:  # window, horizon or season do not fit this series
                raise UsageError(f"{exc} (with --window {window}, --horizon {args.horizon}"
                                 f"{f', --season {args.season}' if args.season else ''})") from None
            notes = "; ".join(getattr(s, "notes", None) or [])
            say(f"series {s.name!r} from {os.fspath(path)}: {len(s)} values" + (f"; {notes}" if notes else ""),
                quiet=args.quiet)
        code = _run(args, loaded, run_dir)
    except BaseException:
        if run_dir is not None:
            run_dir.abandon()
        raise
    return code


def _run(args, loaded, run_dir) -> int:
    from ..applications.forecasting import fit_many, forecast_future, save_forecaster

    out = run_dir.path if run_dir is not None else None
    log = {"auto": "auto", "yes": True, "no": False}[args.log]
    multi = fit_many([(s.name, s.values, s.time) for s, _ in loaded], window=args.window, horizon=args.horizon,
                     season=args.season, model=args.model, hidden_size=args.hidden, num_layers=args.layers,
                     members=args.members, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                     clip_norm=args.clip_norm if args.clip_norm > 0 else None, log=log,
                     val_fraction=args.val_fraction, test_fraction=args.test_fraction, patience=args.patience,
                     seed=args.seed, level=args.interval, classical=not args.no_classical,
                     verbose=0 if args.quiet else 2)
    report = multi.report() if len(multi) > 1 else multi.results[0].report()
    print(report)
    single = len(multi) == 1
    futures = {}
    if args.future:
        for res in multi:
            fut = forecast_future(res, args.future)
            futures[res.name] = fut
            print(f"{res.name}: next {args.future} values " + ", ".join(f"{v:.4g}" for v in fut.forecast[:6])
                  + (" ..." if args.future > 6 else "")
                  + f" ({fut.level:.0%} interval in the CSV)")
    folder = out if out is not None else Path(".")
    pngs = []
    if args.plot:
        from ..plots.forecast import plot_forecast

        for res in multi:
            png = folder / ("forecast.png" if single else f"forecast-{_safe(res.name)}.png")
            plot_forecast(res, future=futures.get(res.name), path=png)
            pngs.append(png.name)
    if out is not None:
        first = multi.results[0]
        save_forecaster(multi, out / "model", futures=futures)
        (out / "report.txt").write_text(report + "\n")
        summary = {"csv": [os.fspath(p) for _, p in loaded], "results": [r.to_dict() for r in multi]}
        if single:
            summary.update(first.to_dict())
        (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
        for name, fut in futures.items():
            fut.to_csv(out / ("future.csv" if single else f"future-{_safe(name)}.csv"))
        final = run_dir.publish()
        say(f"saved {final / 'model'}/ (ensemble), report.txt, report.json"
            + (", future CSV" if futures else "") + "".join(f", {p}" for p in pngs), quiet=args.quiet)
    elif pngs:
        say("saved " + ", ".join(pngs), quiet=args.quiet)
    return 0
