"""Save a trained forecaster and use it again later, without training.

:func:`save_forecaster` writes the ensemble (``member-<k>.npz``, ordinary model files) and
``ensemble.json``, which also holds, per series, the transform and the interval's calibrated
offsets; ``scratchnn forecast --out DIR`` writes it to ``DIR/model``.
:func:`load_forecaster` reads it back; :meth:`SavedForecaster.forecast` continues a series
(the one it was trained on, with newer values appended, or one like it) past its end.

Example:
    >>> import numpy as np, tempfile
    >>> from scratchnn.applications.forecasting import fit_forecaster, forecast_future, load_forecaster, save_forecaster
    >>> y = 10 + np.sin(np.arange(200) / 3)
    >>> res = fit_forecaster(y, name="wave", members=1, epochs=5, classical=False)
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_forecaster(res, folder, futures={"wave": forecast_future(res, 4)})
    >>> again = load_forecaster(folder).forecast(y, 4, name="wave")
    >>> bool(np.allclose(again.forecast, forecast_future(res, 4).forecast))
    True
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import ConfigError, ModelFileError
from .ensemble import Ensemble
from .result import ForecastResult, MultiForecastResult
from .transform import SeriesTransform, check_window
from .workflow import FutureForecast, forecast_paths, interval_scale


def save_forecaster(results: ForecastResult | MultiForecastResult, folder: str | os.PathLike,
                    futures: dict[str, FutureForecast] | None = None) -> Path:
    """Write the ensemble of ``results`` and, per series, its transform and interval offsets
    (and those of ``futures[name]``, calibrated for more steps) to ``folder``."""
    results = results.results if isinstance(results, MultiForecastResult) else [results]
    first = results[0]
    meta = {"horizon": first.horizon, "season": first.season, "interval_level": first.level,
            "adaptive_interval": first.adaptive_interval, "series": {}}
    for r in results:
        fut = (futures or {}).get(r.name)
        meta["series"][r.name] = {
            "transform": r.transform.to_dict(), "interval_offsets": np.asarray(r.quantiles).tolist(),
            "future_offsets": None if fut is None else np.asarray(fut.offsets).tolist()}
    first.model.save(folder, metadata=meta)
    return Path(folder)


@dataclass
class SavedForecaster:
    """A loaded forecaster: the ensemble and, per series, its transform and interval offsets."""

    ensemble: Ensemble
    horizon: int
    level: float
    adaptive: bool
    transforms: dict[str, SeriesTransform] = field(default_factory=dict)
    offsets: dict[str, np.ndarray] = field(default_factory=dict)

    def forecast(self, values, steps: int | None = None, name: str | None = None) -> FutureForecast:
        """``steps`` values (default: the horizon) past the end of ``values``, with the interval.

        ``name`` picks the series whose transform to use (default: the only one). The interval
        covers at most as many steps as were calibrated: the horizon, or the ``--future`` steps.
        """
        if name is None:
            if len(self.transforms) != 1:
                raise ConfigError(f"this forecaster holds several series; pass name=. Its series: {list(self.transforms)}")
            name = next(iter(self.transforms))
        if name not in self.transforms:
            raise ConfigError(f"no series named {name!r} in this forecaster. Its series: {list(self.transforms)}")
        steps = check_window(self.horizon if steps is None else steps, "steps")
        q = self.offsets[name]
        if steps > q.shape[1]:
            raise ConfigError(f"the saved interval is calibrated for {q.shape[1]} steps; forecast at most that many, "
                              f"or train again with --future {steps}. Received: steps={steps}")
        tr = self.transforms[name]
        y = np.asarray(values, dtype=np.float64).reshape(-1)
        end = np.array([len(y)])
        path = forecast_paths(self.ensemble, tr, y, end, steps, self.horizon)[0]
        w = q[:, :steps] * interval_scale(tr, y, end, self.ensemble.window, self.adaptive)[0]
        return FutureForecast(name, None, np.arange(len(y), len(y) + steps), tr.from_unit(path),
                              tr.from_unit(path + w[0]), tr.from_unit(path + w[1]), self.level, q[:, :steps])


def load_forecaster(folder: str | os.PathLike) -> SavedForecaster:
    """The forecaster :func:`save_forecaster` (or ``scratchnn forecast --out DIR``, in ``DIR/model``) wrote."""
    ens, info = Ensemble.load(folder)
    try:
        transforms, offsets = {}, {}
        for name, s in info["series"].items():
            transforms[name] = SeriesTransform(**s["transform"])
            q = s["future_offsets"] if s.get("future_offsets") is not None else s["interval_offsets"]
            offsets[name] = np.asarray(q, dtype=np.float64).reshape(2, -1)
        return SavedForecaster(ens, int(info["horizon"]), float(info["interval_level"]),
                               bool(info.get("adaptive_interval", True)), transforms, offsets)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{folder}/ensemble.json does not describe a forecaster ({exc!r})") from None
