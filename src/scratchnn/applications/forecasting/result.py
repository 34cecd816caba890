"""What a forecast run returns: forecasts of the test part, the baselines', scores, the report."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...metrics import rmse

LABELS = {"naive": "naive (last value)", "seasonal_naive": "seasonal naive"}
NETWORK_NAMES = {"mlp": "MLP", "nbeats": "N-BEATS", "lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


@dataclass
class ForecastResult:
    """A trained forecaster and its test-part evaluation (all values in the series' units).

    ``predicted``, ``actual``, ``lower``, ``upper`` and each of ``baselines`` are (M, horizon):
    one row per test origin ``start`` (index of the first forecast value).
    ``scores[key] = {"rmse", "mae"}`` for ``"model"``, ``"naive"``, ``"seasonal_naive"``
    (with a season) and ``"classical"`` (with statsmodels).
    """

    model: object                          # the Ensemble (or, for old scripts, a Sequential)
    name: str
    values: np.ndarray
    time: np.ndarray | None
    window: int
    horizon: int
    season: int | None
    cell: str                              # network kind: "mlp", "lstm", "gru" or "rnn"
    start: np.ndarray
    actual: np.ndarray
    predicted: np.ndarray
    baselines: dict[str, np.ndarray] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    epochs_run: int = 0
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    level: float = 0.8
    coverage: float | None = None
    classical_label: str | None = None
    classical_note: str | None = None
    transform: object = None               # the SeriesTransform of this series
    quantiles: np.ndarray | None = None    # (2, horizon) residual quantiles, in transformed units
    fit_end: int = 0                       # values before this index were available for fitting
    val_start: int = 0
    global_with: list[str] = field(default_factory=list)
    adaptive_interval: bool = True

    @property
    def model_label(self) -> str:
        members = len(getattr(self.model, "members", [])) or 1
        return NETWORK_NAMES.get(self.cell, self.cell.upper()) + (f" x{members} median" if members > 1 else "")

    def label(self, key: str) -> str:
        if key == "model":
            return self.model_label
        if key == "classical":
            return self.classical_label or "classical"
        return LABELS[key] + (f" (m={self.season})" if key == "seasonal_naive" else "")

    def verdict(self) -> str:
        """One honest sentence about this series: the model against the best baseline (by RMSE)."""
        best = min((k for k in self.scores if k != "model"), key=lambda k: self.scores[k]["rmse"])
        ours, theirs = self.scores["model"]["rmse"], self.scores[best]["rmse"]
        change = 100.0 * (theirs - ours) / theirs
        label = self.label(best)
        walk = (f" Naive being the bar to clear means {self.name}'s next change is close to unpredictable "
                "from its past: it behaves like a random walk." if best == "naive" else "")
        if abs(change) < 1.0:
            return (f"On {self.name}, the {self.model_label} is level with the best baseline, {label}: RMSE "
                    f"{abs(change):.2f}% {'lower' if ours < theirs else 'higher'} -- no real gain." + walk)
        if ours < theirs:
            return f"On {self.name}, the {self.model_label} beats the best baseline, {label}: RMSE {change:.1f}% lower."
        return (f"On {self.name}, the {self.model_label} does NOT beat the {label} forecast: "
                f"RMSE {-change:.1f}% higher." + walk)

    def report(self) -> str:
        """A table of RMSE and MAE for the model and each baseline, the interval's coverage, the verdict."""
        n = len(self.values)
        span = ""
        if self.time is not None:
            span = f" ({self.time[self.start[0]]:.2f} to {self.time[self.start[-1] + self.horizon - 1]:.2f})"
        members = len(getattr(self.model, "members", [])) or 1
        how = ""
        if self.transform is not None:
            t = self.transform
            how = (f"; inputs: changes at lag {t.lag} of {'log ' if t.log else ''}values"
                   + (", season position" if t.season else ""))
        lines = [(f"Forecast of {self.name}: {n} values, window {self.window}, horizon {self.horizon}, "
                  f"{NETWORK_NAMES.get(self.cell, self.cell.upper())} x{members} (median), {self.epochs_run} epochs{how}")]
        if self.global_with:
            lines.append(f"One global model trained on {len(self.global_with)} series: {', '.join(self.global_with)}")
        lines += [f"Test part: {len(self.start)} forecasts{span}; errors in the series' units",
                  f"{'forecaster':<34}{'RMSE':>12}{'MAE':>12}"]
        for key, s in self.scores.items():
            lines.append(f"{self.label(key):<34}{s['rmse']:>12.4g}{s['mae']:>12.4g}")
        if self.classical_note:
            lines.append(self.classical_note)
        elif self.classical_label:
            lines.append(f"({self.classical_label}: parameters estimated once on the {self.fit_end} values before "
                         "the test part, then rolled forward without refitting)")
        if self.horizon > 1:
            keys = [k for k in ("model", "naive", "classical") if k in self.scores]
            preds = {k: (self.predicted if k == "model" else self.baselines[k]) for k in keys}
            per = [" / ".join(f"{rmse(self.actual[:, k], preds[key][:, k]):.3g}" for key in keys)
                   for k in range(self.horizon)]
            lines.append(f"RMSE by step ahead ({' / '.join(self.label(k) for k in keys)}): "
                         + ", ".join(f"{k + 1}: {v}" for k, v in enumerate(per)))
        if self.coverage is not None:
            inside = round(self.coverage * self.actual.size)
            lines.append(f"{self.level:.0%} prediction interval: holds {inside} of {self.actual.size} test values "
                         f"({self.coverage:.0%}; calibrated on the validation part)")
        lines.append(self.verdict())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-safe summary (scores, coverage, labels, verdict)."""
        return {"series": self.name, "window": self.window, "horizon": self.horizon, "season": self.season,
                "model": self.cell, "members": len(getattr(self.model, "members", [])) or 1,
                "epochs": self.epochs_run, "scores": self.scores, "classical": self.classical_label,
                "classical_note": self.classical_note, "interval_level": self.level,
                "interval_coverage": self.coverage, "test_forecasts": len(self.start),
                "verdict": self.verdict()}


@dataclass
class MultiForecastResult:
    """One global model, several series: a :class:`ForecastResult` per series."""

    results: list[ForecastResult]

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, name: str) -> ForecastResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no series named {name!r}; the series are {[r.name for r in self.results]}")

    def report(self) -> str:
        """Every series' report, then a summary table (RMSE of the model and the best baseline)."""
        parts = [r.report() for r in self.results]
        rows = [f"{'series':<20}{'model RMSE':>12}{'best baseline':>34}{'its RMSE':>12}{'coverage':>10}"]
        for r in self.results:
            best = min((k for k in r.scores if k != "model"), key=lambda k: r.scores[k]["rmse"])
            cov = f"{r.coverage:.0%}" if r.coverage is not None else "-"
            rows.append(f"{r.name:<20}{r.scores['model']['rmse']:>12.4g}{r.label(best):>34}"
                        f"{r.scores[best]['rmse']:>12.4g}{cov:>10}")
        return "\n\n".join(parts + ["\n".join(rows)])
