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
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError


@dataclass
class Series:
    """One column of a CSV: ``values`` (float64), ``time`` (float64 or None), ``name``."""

    values: np.ndarray
    time: np.ndarray | None
    name: str

    def __len__(self) -> int:
        return len(self.values)


def load_csv_column(path: str | os.PathLike, column: str | None = None, time_column: str = "time") -> Series:
    """Read one numeric column (and the ``time`` column, if present) from a CSV with a header.

    ``column=None`` takes the first column that is not ``time_column``.

    Raises:
        DataError: missing file or column, non-numeric or missing values, < 3 rows.
    """
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataError(f"CSV file not found: {os.fspath(path)}") from None
    if len(rows) < 2:
        raise DataError(f"{os.fspath(path)} has no data rows")
    header = [h.strip() for h in rows[0]]
    candidates = [h for h in header if h != time_column]
    if column is None:
        if not candidates:
            raise DataError(f"{os.fspath(path)} has no value column (header {header})")
        column = candidates[0]
    if column not in header:
        raise DataError(f"column {column!r} not in {os.fspath(path)}; its columns are {candidates}")

    def numbers(name: str) -> np.ndarray:
        j = header.index(name)
        out = np.empty(len(rows) - 1)
        for i, row in enumerate(rows[1:], start=2):
            try:
                out[i - 2] = float(row[j])
            except (ValueError, IndexError):
                got = row[j] if j < len(row) else "<missing>"
                raise DataError(f"{os.fspath(path)} line {i}, column {name!r}: {got!r} is not a number. "
                                "Fill or drop missing values first.") from None
        if not np.isfinite(out).all():
            raise DataError(f"{os.fspath(path)} column {name!r} holds NaN or infinite values")
        return out

    values = numbers(column)
    if len(values) < 3:
        raise DataError(f"{os.fspath(path)} column {column!r} has {len(values)} values; a series needs more")
    time = numbers(time_column) if time_column in header else None
    return Series(values, time, column)


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
    def fit(cls, train_values: np.ndarray) -> "Scaler":
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


def rmse(y_true, y_pred) -> float:
    """sqrt(mean((y - y_hat)^2)), in the units of y."""
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d)))


def mae(y_true, y_pred) -> float:
    """mean(|y - y_hat|), in the units of y."""
    return float(np.mean(np.abs(np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64))))


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
