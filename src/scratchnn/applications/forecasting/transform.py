"""What the network sees: a series made stationary, scaled, cut into windows, and mapped back.

For a series y (n,), a differencing lag ``lag`` (the season length m, or 1 without a season)
and an optional logarithm:

    u_t = log y_t (or y_t),   d_t = u_t - u_{t-lag},   z_t = (d_t - mean) / std

with mean and std of d over the **fitting part only**. A forecast of z is mapped back by

    u_hat_{o+k} = u_{o+k-lag} + d_hat_{o+k}   (k < lag; beyond, u_hat_{o+k-lag} instead of u)

so a network that outputs z = 0 forecasts "last season's value plus the average yearly
change" (seasonal naive with drift), or "last value plus the average change" without a season:
the network only has to learn what the naive forecasts miss. The logarithm turns a season
whose amplitude grows with the level (airline passengers) into an additive one.

Inputs of the window starting its forecast at origin o: z_{o-L} .. z_{o-1} (L = ``window``),
and, with a season, the season position of o as (sin, cos)(2 pi (o mod m) / m).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ...errors import ConfigError, DataError


@dataclass
class SeriesTransform:
    """y -> z and back for one series (see the module docstring). JSON-safe via ``to_dict``."""

    lag: int
    log: bool
    mean: float
    std: float
    season: int | None = None

    @classmethod
    def fit(cls, values, fit_end: int, season: int | None = None, log: bool | str = "auto",
            difference: str = "first", season_inputs: bool = True) -> SeriesTransform:
        """Choose the log (``"auto"``: when every fitting value is > 0) and fit mean/std on ``values[:fit_end]``.

        ``difference="first"`` differences at lag 1, ``"season"`` at lag ``season`` (at lag 1
        without a season); ``season_inputs`` adds the season position to the inputs.
        """
        if difference not in ("season", "first"):
            raise ConfigError(f"difference must be 'season' or 'first'. Received: difference={difference!r}")
        y = np.asarray(values, dtype=np.float64).reshape(-1)
        if log == "auto":
            log = bool(y[:fit_end].min() > 0)
        if log and y.min() <= 0:
            raise DataError(f"log=True needs a positive series. Received: a minimum of {y.min():.4g}")
        lag = int(season) if season and difference == "season" else 1
        if fit_end <= lag + 1:
            raise DataError(f"the fitting part ({fit_end} values) is too short for differencing at lag {lag}")
        u = np.log(y[:fit_end]) if log else y[:fit_end]
        d = u[lag:] - u[:-lag]
        std = float(d.std())
        return cls(lag, bool(log), float(d.mean()), std if std > 0 else 1.0,
                   int(season) if season and season_inputs else None)

    def to_dict(self) -> dict:
        return asdict(self)

    def unit(self, values) -> np.ndarray:
        """u = log y (or y)."""
        y = np.asarray(values, dtype=np.float64)
        return np.log(y) if self.log else y

    def from_unit(self, u) -> np.ndarray:
        return np.exp(u) if self.log else np.asarray(u, dtype=np.float64)

    def scaled_changes(self, values) -> np.ndarray:
        """z (n,), NaN for the first ``lag`` values."""
        u = self.unit(values)
        z = np.full(len(u), np.nan)
        z[self.lag:] = (u[self.lag:] - u[:-self.lag] - self.mean) / self.std
        return z

    def first_origin(self, window: int) -> int:
        """The earliest origin whose window of z values is complete."""
        return self.lag + window

    def tails(self, values, origins, window: int) -> np.ndarray:
        """u_{o-lag-window} .. u_{o-1} for each origin (M, lag + window): all a forecast from o may use."""
        origins = np.asarray(origins, dtype=np.int64)
        if origins.size and origins.min() < self.first_origin(window):
            raise DataError(f"origin {int(origins.min())} has no complete window of {window} changes at lag "
                            f"{self.lag}; the first usable origin is {self.first_origin(window)}")
        u = self.unit(values)
        span = self.lag + window
        return u[origins[:, None] - span + np.arange(span)]

    def features(self, tails: np.ndarray, origins, window: int) -> np.ndarray:
        """Network inputs (M, window [+ 2]) from ``tails`` (M, >= lag + window): the last ``window``
        scaled changes and, with a season, (sin, cos) of the origin's season position."""
        t = tails[:, -(self.lag + window):]
        x = (t[:, self.lag:] - t[:, :-self.lag] - self.mean) / self.std
        if self.season:
            angle = 2 * np.pi * (np.asarray(origins) % self.season) / self.season
            x = np.concatenate([x, np.sin(angle)[:, None], np.cos(angle)[:, None]], axis=1)
        return x

    def local_scale(self, tails: np.ndarray, window: int) -> np.ndarray:
        """(M,): root mean square of the last ``window`` scaled changes before each origin (floored
        at 0.05): how turbulent the series has just been, in units of the training part's spread."""
        x = self.features(tails, np.zeros(len(tails), dtype=np.int64), window)[:, :window]
        return np.maximum(np.sqrt(np.mean(x * x, axis=1)), 0.05)

    def inputs(self, values, origins, window: int) -> np.ndarray:
        """Network inputs (M, window [+ 2]) for forecasts starting at ``origins``."""
        return self.features(self.tails(values, origins, window), origins, window)

    def targets(self, values, origins, horizon: int) -> np.ndarray:
        """Scaled changes (M, horizon) of the values the forecasts from ``origins`` aim at."""
        z = self.scaled_changes(values)
        return z[np.asarray(origins, dtype=np.int64)[:, None] + np.arange(horizon)]

    def to_units(self, tails: np.ndarray, z_hat: np.ndarray) -> np.ndarray:
        """Map forecasts of z (M, h) back to u = log y (or y), (M, h), from the ``tails`` before
        each origin (M, >= lag): u_hat_{o+k} = u_{o+k-lag} (or u_hat_{o+k-lag}) + d_hat_{o+k}.
        ``from_unit`` then gives the series' units."""
        d_hat = np.asarray(z_hat, dtype=np.float64) * self.std + self.mean
        u_hat = np.empty_like(d_hat)
        width = tails.shape[1]
        for k in range(d_hat.shape[1]):
            base = tails[:, width - self.lag + k] if k < self.lag else u_hat[:, k - self.lag]
            u_hat[:, k] = base + d_hat[:, k]
        return u_hat

    def input_size(self, window: int) -> int:
        return window + (2 if self.season else 0)


def usable_origins(n: int, first: int, lo: int, hi: int, horizon: int) -> np.ndarray:
    """Origins o in [max(lo, first), hi) whose targets o .. o+horizon-1 all lie before ``hi``."""
    return np.arange(max(lo, first), hi - horizon + 1)


def check_window(window, name: str = "window") -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError(f"{name} must be a positive integer. Received: {name}={window!r}")
    return int(window)
