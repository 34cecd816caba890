"""Time series for forecasting: CSV columns, sliding windows, honest splits and baselines.

The rules that keep a forecast honest, all enforced here:

- the split is **chronological** -- train, then validation, then test -- and never
  shuffled across time; every target of a window lies inside its own part;
- the scaler is fitted on the **training part only** (the future's mean and spread
  are not known when forecasting);
- errors are reported in the series' own units (RMSE, MAE), next to the naive
  forecast "next value = last observed value" and, for seasonal series, the seasonal
  naive one "next value = the value one season earlier". On stock prices the naive
  forecast is famously hard to beat; a model that loses to it is reported as losing.

Example:
    >>> import numpy as np
    >>> from scratchnn.datasets.timeseries import sliding_windows
    >>> X, Y = sliding_windows(np.arange(6.0), window=3, horizon=2)
    >>> X[:, :, 0].tolist(), Y.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]])
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, DataError
from ..metrics import mae, rmse  # noqa: F401  (re-exported: errors in the series' units)


@dataclass
class Series:
    """One column of a CSV: ``values`` (float64), ``time`` (float64 or None), ``name``.

    ``notes`` says how the file was read (which column, delimiter, header or not, ...),
    so a command can tell the user which numbers it is about to model.
    """

    values: np.ndarray
    time: np.ndarray | None
    name: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)


#: Larger CSV files are refused before reading (about a million rows: more than a NumPy LSTM
#: trains on, and parsing costs ~10x the file's size in memory).
MAX_CSV_BYTES = 32 * 2**20
#: Column names (lower case) that hold time stamps or row numbers, never the value to forecast.
TIME_NAMES = {"time", "date", "datetime", "timestamp", "index", "idx", "year", "month", "day", "t",
              "period", "ds", "week", "quarter", "unnamed: 0", ""}
_DELIMITERS = ",;\t|"


def _read_text(path: str) -> tuple[str, list[str]]:
    """The file's text (a UTF-8 byte-order mark removed, Latin-1 if not UTF-8) and notes."""
    try:
        size = os.path.getsize(path)
        if size > MAX_CSV_BYTES:
            raise DataError(f"{path} is {size / 2**20:,.0f} MiB; CSV files up to "
                            f"{MAX_CSV_BYTES // 2**20} MiB are read")
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"CSV file not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a CSV file") from None
    notes = []
    if b"\0" in data[:65536]:
        raise DataError(f"{path} is not a CSV text file (it holds binary data)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("skipped the UTF-8 byte-order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notes.append("read as Latin-1 (the file is not UTF-8)")
    return text, notes


def _number(text: str, decimal_comma: bool) -> float:
    text = text.strip()
    if decimal_comma:
        text = text.replace(",", ".")
    return float(text)


def _is_number(text: str, decimal_comma: bool) -> bool:
    try:
        _number(text, decimal_comma)
        return True
    except ValueError:
        return False


def _evenly_increasing(values: np.ndarray) -> bool:
    """A row number or a regular time stamp: strictly increasing with a (nearly) constant step."""
    if len(values) < 3 or not np.isfinite(values).all():
        return False
    step = np.diff(values)
    return bool(step.min() > 0 and step.max() - step.min() <= 0.02 * step.mean())


def load_csv_column(path: str | os.PathLike, column: str | None = None, time_column: str = "time") -> Series:
    """Read one numeric column (and the time column, if any) from a CSV file.

    Tolerant of what spreadsheets write: a UTF-8 byte-order mark, CRLF line ends, blank
    lines, ``;``, tab or ``|`` delimiters (``;`` with decimal commas too), and no header row
    (columns are then named ``"1"``, ``"2"``, ...). ``column`` is a header name or, failing
    that, a 1-based column number.

    ``column=None`` takes the first numeric column that is not a time or index column:
    one named ``time_column`` or as in :data:`TIME_NAMES` (``date``, ``year``, ``index``,
    ...), one that is not numeric (dates), or a first column that increases in even steps
    (row numbers, regular time stamps). The first such numeric column is returned as
    ``time``. ``Series.notes`` says what was chosen.

    Raises:
        DataError: missing, binary or oversized file; no numeric value column; a missing
            column; non-numeric or missing values (naming the line); fewer than 3 values.
    """
    where = os.fspath(path)
    text, notes = _read_text(where)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{where} is empty")
    sample = "\n".join(lines[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    rows = [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter)]
    if delimiter != ",":
        notes.append(f"delimiter {delimiter!r}")
    decimal_comma = delimiter != "," and any("," in c and _is_number(c, True) and not _is_number(c, False)
                                            for row in rows[1:20] for c in row)
    if decimal_comma:
        notes.append("decimal commas")
    width = len(rows[0])
    has_header = not all(_is_number(c, decimal_comma) for c in rows[0] if c)
    if has_header:
        header = [h.strip().strip('"') for h in rows[0]]
        body = rows[1:]
    else:
        header = [str(j + 1) for j in range(width)]
        body = rows
        notes.append(f"no header row: the columns are numbered 1 to {width}")
    if not body:
        raise DataError(f"{where} has no data rows")

    def cell(row, j):
        return row[j] if j < len(row) else ""

    def mostly_numbers(j: int) -> bool:  # a few gaps ('NA') are reported later, naming the line
        cells = [cell(r, j) for r in body[:200]]
        return sum(_is_number(c, decimal_comma) for c in cells) > len(cells) / 2

    numeric = [mostly_numbers(j) for j in range(width)]

    def numbers(j: int) -> np.ndarray:
        name = header[j]
        out = np.empty(len(body))
        for i, row in enumerate(body):
            line = i + 1 + has_header
            got = cell(row, j)
            try:
                out[i] = _number(got, decimal_comma)
            except ValueError:
                raise DataError(f"{where} line {line}, column {name!r}: {got or '<missing>'!r} is not a "
                                "number. Fill or drop missing values first.") from None
        if not np.isfinite(out).all():
            raise DataError(f"{where} column {name!r} holds NaN or infinite values")
        return out

    def time_like(j: int) -> bool:
        name = header[j].lower()
        if name == time_column.lower() or (has_header and name in TIME_NAMES):
            return True
        if not numeric[j]:
            return True
        if j == 0 and (not has_header or name.startswith("unnamed")) and width > 1:
            try:
                return _evenly_increasing(numbers(0))
            except DataError:
                return False
        return False

    skipped = [j for j in range(width) if time_like(j)]
    candidates = [header[j] for j in range(width) if j not in skipped]
    if column is None:
        if not candidates:
            raise DataError(f"{where} has no numeric value column besides time or index columns "
                            f"(columns {header}); pick one with --column")
        j = header.index(candidates[0])
    elif column in header:
        j = header.index(column)
    elif column.isdigit() and 1 <= int(column) <= width:
        j = int(column) - 1
    else:
        raise DataError(f"column {column!r} not in {where}; its columns are {candidates or header}")
    values = numbers(j)
    if len(values) < 3:
        raise DataError(f"{where} column {header[j]!r} has {len(values)} values; a series needs more")
    time_j = next((k for k in skipped if k != j and numeric[k]), None)
    time = None
    if time_j is not None:
        try:
            time = numbers(time_j)
        except DataError:
            time = None
    chose = f"column {header[j]!r} ({j + 1} of {width})"
    if column is None and skipped:
        chose += "; skipped the time/index column" + "s" * (len(skipped) > 1) + " " + ", ".join(
            repr(header[k]) for k in skipped)
    notes.insert(0, chose)
    return Series(values, time, header[j], notes)


def check_forecastable(values: np.ndarray, *, window: int, horizon: int = 1, val_fraction: float = 0.15,
                       test_fraction: float = 0.15, season: int | None = None, name: str = "the series") -> None:
    """Refuse, before any training, a series no forecaster can be honestly scored on.

    Raises:
        DataError: a constant series or training part (every error ratio would divide by zero).
        ConfigError: a series too short for ``window + horizon`` in each of train, validation
            and test, or a ``season`` longer than the history before the test part.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    val_start, test_start = split_points(len(values), val_fraction, test_fraction)
    if np.ptp(values) == 0:
        raise DataError(f"{name} is constant ({values[0]:g} throughout); there is nothing to forecast")
    if np.ptp(values[:val_start]) == 0:
        raise DataError(f"the training part of {name} (its first {val_start} values) is constant; "
                        "a forecaster cannot learn from it")
    try:
        windowed_splits(values, window, horizon, val_fraction, test_fraction)
    except DataError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if season is not None and season > test_start:
        raise ConfigError(f"season {season} is longer than the {test_start} values before the test part "
                        f"of {name} ({len(values)} values); the seasonal naive forecast needs one season of history")


def sliding_windows(series: np.ndarray, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs X (M, window, 1) = s[i : i+window] and targets Y (M, horizon) = s[i+window : i+window+horizon].

    M = len(series) - window - horizon + 1. The arrays are copies.
    """
    series = np.asarray(series, dtype=np.float64).reshape(-1)
    for name, v in (("window", window), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a positive integer. Received: {name}={v!r}")
    m = len(series) - window - horizon + 1
    if m < 1:
        raise DataError(f"a series of {len(series)} values is too short for window={window} + horizon={horizon}")
    idx = np.arange(m)[:, None]
    X = series[idx + np.arange(window)]
    Y = series[idx + window + np.arange(horizon)]
    return X[:, :, None], Y


def split_points(n: int, val_fraction: float = 0.15, test_fraction: float = 0.15) -> tuple[int, int]:
    """Indices (val_start, test_start) cutting a series of n values chronologically."""
    for name, v in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(v, (int, float)) and 0.0 < v < 1.0):
            raise ConfigError(f"{name} must be in (0, 1). Received: {name}={v!r}")
    if val_fraction + test_fraction >= 0.9:
        raise ConfigError(f"val_fraction + test_fraction must leave at least 10% for training. "
                          f"Received: val_fraction={val_fraction}, test_fraction={test_fraction}")
    test_start = round(n * (1.0 - test_fraction))
    val_start = round(n * (1.0 - test_fraction - val_fraction))
    return val_start, test_start


@dataclass
class Scaler:
    """z = (s - mean) / std, fitted on the training part; ``inverse`` maps back to the series' units."""

    mean: float
    std: float

    @classmethod
    def fit(cls, train_values: np.ndarray) -> Scaler:
        train_values = np.asarray(train_values, dtype=np.float64)
        std = float(train_values.std())
        return cls(float(train_values.mean()), std if std > 0 else 1.0)

    def transform(self, s):
        return (np.asarray(s, dtype=np.float64) - self.mean) / self.std

    def inverse(self, z):
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std}


@dataclass
class WindowedSplit:
    """Windows whose targets all lie in one part: X (M, window, 1), Y (M, horizon), ``start`` (M,) =
    index in the series of each window's first target."""

    X: np.ndarray
    Y: np.ndarray
    start: np.ndarray


def windowed_splits(series: np.ndarray, window: int, horizon: int = 1, val_fraction: float = 0.15,
                    test_fraction: float = 0.15) -> dict[str, WindowedSplit]:
    """``{"train", "val", "test"}`` windows of the raw series, cut chronologically.

    A window belongs to the part holding all of its targets; its inputs may reach back
    into the previous part (that is past data, known at forecast time). Windows whose
    targets straddle a boundary are dropped, so no target is used in two parts.
    """
    series = np.asarray(series, dtype=np.float64).reshape(-1)
    val_start, test_start = split_points(len(series), val_fraction, test_fraction)
    X, Y = sliding_windows(series, window, horizon)
    first = np.arange(len(X)) + window
    last = first + horizon - 1
    parts = {"train": (0, val_start), "val": (val_start, test_start), "test": (test_start, len(series))}
    out = {}
    for name, (a, b) in parts.items():
        keep = (first >= a) & (last < b)
        if not keep.any():
            raise DataError(f"the {name} part ({b - a} values) holds no complete window of {window} + {horizon}; "
                            "use a longer series, a smaller window or larger fractions.")
        out[name] = WindowedSplit(X[keep], Y[keep], first[keep])
    return out


def naive_forecast(series: np.ndarray, start: np.ndarray, horizon: int) -> np.ndarray:
    """"Tomorrow = today": every step of the forecast made at ``start`` is s[start - 1]. Shape (M, horizon)."""
    series = np.asarray(series, dtype=np.float64)
    return np.repeat(series[np.asarray(start) - 1][:, None], horizon, axis=1)


def seasonal_naive_forecast(series: np.ndarray, start: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Each step k takes the value one season before it: s[start + k - season * ceil((k + 1) / season)].

    Only values before ``start`` are used. Shape (M, horizon).
    """
    if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
        raise ConfigError(f"season must be a positive integer. Received: season={season!r}")
    series = np.asarray(series, dtype=np.float64)
    k = np.arange(horizon)
    lag = season * ((k // season) + 1)
    idx = np.asarray(start)[:, None] + k - lag
    if idx.min() < 0:
        raise DataError(f"the seasonal naive forecast needs {season} values before the first target")
    return series[idx]


def bundled_series_path(name: str = "sunspots_monthly.csv") -> str:
    """Path of a series shipped inside the package (``scratchnn/data/timeseries/``).

    The monthly sunspot numbers (R ``datasets``, credit in ``CREDIT.txt`` beside it)
    are the offline default of ``scratchnn forecast``.
    """
    from importlib import resources

    path = resources.files("scratchnn").joinpath("data", "timeseries", name)
    if not path.is_file():
        raise DataError(f"no bundled series named {name!r}")
    return str(path)
