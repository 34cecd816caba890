"""The forecasting package: transform, classical baseline, ensemble, intervals, many series,
future forecasts, the report, the plot and the ``forecast`` command."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.applications.forecasting import (
    Ensemble,
    SeriesTransform,
    classical,
    fit_forecaster,
    fit_many,
    forecast_future,
    forecast_paths,
    load_forecaster,
)
from scratchnn.datasets import timeseries as ts
from scratchnn.gradcheck import numerical_gradient
from tests.cli.commands import run_command

FAST = {"members": 2, "epochs": 30, "patience": 5, "hidden_size": 16}


def seasonal(n=240, m=12, seed=0, level=100.0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return level + 0.2 * t + 10 * np.sin(2 * np.pi * t / m) + rng.standard_normal(n)


# --------------------------------------------------------------------------- transform
@pytest.mark.parametrize("difference,log,horizon", [("first", False, 3), ("season", True, 15), ("season", False, 2)])
def test_transform_round_trip_and_uses_only_the_past(difference, log, horizon):
    y = seasonal()
    tr = SeriesTransform.fit(y, 150, season=12, log=log, difference=difference)
    assert tr.lag == (12 if difference == "season" else 1) and tr.log == log
    origins = np.arange(tr.first_origin(24), len(y) - horizon + 1)
    tails = tr.tails(y, origins, 24)
    # the true changes, mapped back, give the true values (also beyond one season, recursively)
    u = tr.to_units(tails, tr.targets(y, origins, horizon))
    np.testing.assert_allclose(tr.from_unit(u), y[origins[:, None] + np.arange(horizon)], rtol=1e-10)
    # inputs of origin o do not change when y[o:] changes
    o = int(origins[10])
    changed = y.copy()
    changed[o:] += 1000.0
    np.testing.assert_array_equal(tr.inputs(y, origins[:11], 24), tr.inputs(changed, origins[:11], 24))
    x = tr.inputs(y, origins, 24)
    assert x.shape == (len(origins), 26)                                   # 24 changes + sin, cos
    np.testing.assert_allclose(x[:, -2] ** 2 + x[:, -1] ** 2, 1.0)


def test_transform_statistics_come_from_the_training_part_only():
    y = np.concatenate([np.linspace(1, 2, 70), 1000 + np.arange(30.0)])   # the future jumps far away
    tr = SeriesTransform.fit(y, 70, log=False)
    d = np.diff(y[:70])
    assert tr.mean == pytest.approx(d.mean()) and tr.std == pytest.approx(d.std())
    res = fit_forecaster(y, window=5, log=False, classical=False, **FAST)
    assert res.transform.mean == pytest.approx(np.diff(y[:res.val_start]).mean())
    with pytest.raises(sn.DataError, match="log=True needs a positive series"):
        SeriesTransform.fit(np.array([1.0, -1, 2, 3, 4]), 4, log=True)


# --------------------------------------------------------------------------- classical baseline
def test_classical_state_forecasts_match_statsmodels_and_never_peek():
    pytest.importorskip("statsmodels")
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    y = seasonal(120) - 150.0            # not positive: no log candidates, two Holt-Winters fits
    for cls, options, kwargs in ((ExponentialSmoothing, {"trend": True, "seasonal": 12}, {"disp": False}),
                                 (ARIMA, {"order": (1, 1, 1)}, {})):
        res = classical._fit_quietly(cls, y[:90], options, **kwargs)
        origins = np.array([90, 97, 110])
        ours = classical._state_forecasts(res, y, origins, 3)
        for row, o in zip(ours, origins):
            np.testing.assert_allclose(row, np.asarray(res.apply(y[:o]).forecast(3)), rtol=1e-8)
    origins = np.arange(90, 118)
    hw = classical.classical_forecast(y, 90, origins, horizon=2, season=12)
    assert hw.predicted.shape == (28, 2) and hw.label.startswith("Holt-Winters")
    changed = y.copy()
    changed[100:] += 50.0                                 # later values change; earlier forecasts do not
    again = classical.classical_forecast(changed, 90, origins, horizon=2, season=12)
    np.testing.assert_allclose(again.predicted[origins + 1 < 100], hw.predicted[origins + 1 < 100], rtol=1e-9)
    assert not np.allclose(again.predicted[-1], hw.predicted[-1])
    with pytest.raises(sn.DataError, match="no Holt-Winters model could be fitted to the 20 values"):
        classical.classical_forecast(y, 20, np.arange(20, 30), season=12)
    walk = np.cumsum(np.random.default_rng(1).standard_normal(150)) + 50
    arima = classical.classical_forecast(walk, 120, np.arange(120, 150))
    assert arima.label.startswith("ARIMA(") and arima.predicted.shape == (30, 1)


def test_report_says_how_to_get_the_classical_baseline_without_statsmodels(monkeypatch):
    for name in [m for m in sys.modules if m == "statsmodels" or m.startswith("statsmodels.")] + ["statsmodels"]:
        monkeypatch.setitem(sys.modules, name, None)      # "import statsmodels..." now fails
    assert not classical.statsmodels_available()
    res = fit_forecaster(seasonal(150), season=12, **FAST)
    assert "classical" not in res.scores and res.classical_note == classical.SKIPPED_NOTE
    assert 'classical baseline skipped: statsmodels is not installed (pip install "scratchnn[forecast]"' in res.report()


# --------------------------------------------------------------------------- the forecaster
def test_forecaster_beats_the_naive_baselines_on_a_seasonal_series_with_intervals():
    y = seasonal(300)
    res = fit_forecaster(y, season=12, horizon=3, name="cycle", time=2000 + np.arange(300) / 12,
                         classical=False, members=3, epochs=60, patience=10)
    assert res.predicted.shape == res.actual.shape == res.lower.shape == (len(res.start), 3)
    assert res.scores["model"]["rmse"] < min(res.scores["naive"]["rmse"], res.scores["seasonal_naive"]["rmse"])
    assert np.all(res.lower <= res.predicted) and np.all(res.predicted <= res.upper)
    inside = np.mean((res.actual >= res.lower) & (res.actual <= res.upper))
    assert res.coverage == pytest.approx(inside) and 0.5 < res.coverage <= 1.0
    text = res.report()
    for needle in ("MLP x3 median", "naive (last value)", "seasonal naive (m=12)", "RMSE by step ahead",
                   "80% prediction interval: holds", "On cycle, the MLP x3 median beats"):
        assert needle in text, needle
    assert len(res.model.members) == 3 and res.start[0] >= res.fit_end


def test_verdict_speaks_of_the_series_not_of_prices():
    walk = 100 + np.cumsum(np.random.default_rng(3).standard_normal(300))
    res = fit_forecaster(walk, name="road deaths", classical=False, **FAST)
    verdict = res.verdict()
    assert verdict.startswith("On road deaths, ") and "price" not in verdict
    if res.scores["model"]["rmse"] >= res.scores["naive"]["rmse"]:
        assert "NOT beat" in verdict or "level with" in verdict
        assert "random walk" in verdict


def test_ensemble_is_the_median_of_its_members_and_survives_save_and_load(tmp_path):
    res = fit_forecaster(seasonal(200), season=12, classical=False, **FAST)
    ens = res.model
    x = res.transform.inputs(res.values, res.start, res.window)
    outs = ens.member_outputs(x)
    assert outs.shape == (2, len(x), 1)
    np.testing.assert_allclose(ens.predict(x), np.median(outs, axis=0))
    ens.save(tmp_path / "m", metadata={"transform": res.transform.to_dict()})
    loaded, info = Ensemble.load(tmp_path / "m")
    assert SeriesTransform(**info["transform"]) == res.transform
    np.testing.assert_allclose(loaded.predict(x), ens.predict(x), rtol=1e-6)
    (tmp_path / "m" / "ensemble.json").write_text("{not json")
    with pytest.raises(sn.ModelFileError, match="no valid ensemble.json"):
        Ensemble.load(tmp_path / "m")


def test_nbeats_residual_stack_gradients_match_finite_differences():
    from scratchnn.applications.forecasting.nbeats import NBeats

    rng = np.random.default_rng(0)
    net = NBeats(6, 2, 3, blocks=3, hidden_size=5, num_layers=2, seed=1, dtype="float64")
    for key, p, _ in net.parameters():
        if key.endswith("/b"):
            p[...] = 0.5 * rng.standard_normal(p.shape)   # no ReLU sits exactly on its kink
    x, w = rng.standard_normal((4, 8)), rng.standard_normal((4, 3))

    def loss():
        return float(np.sum(net.forward(x, training=True) * w))

    loss()
    net.backward(w)
    grads = {k: g.copy() for k, _, g in net.parameters()}
    assert len(grads) == 3 * 6                             # 3 blocks of 3 Dense layers (W, b)
    for key, p, _ in net.parameters():
        assert np.abs(numerical_gradient(loss, p) - grads[key]).max() < 1e-6, key


def test_nbeats_forecaster_trains_saves_and_loads(tmp_path):
    res = fit_forecaster(seasonal(200), season=12, model="nbeats", classical=False, **FAST)
    assert res.scores["model"]["rmse"] < res.scores["naive"]["rmse"] and res.model_label == "N-BEATS x2 median"
    res.model.save(tmp_path / "nb")
    loaded, _ = Ensemble.load(tmp_path / "nb")
    x = res.transform.inputs(res.values, res.start, res.window)
    np.testing.assert_allclose(loaded.predict(x), res.model.predict(x), rtol=1e-6)


def test_one_global_model_for_several_series_scaled_per_series():
    a, b = seasonal(200, seed=1), 1000 * seasonal(180, seed=2)
    multi = fit_many({"small": a, "large": b}, season=12, log=False, classical=False, **FAST)
    assert [r.name for r in multi] == ["small", "large"] and multi["large"].model is multi["small"].model
    assert multi["large"].transform.std > 100 * multi["small"].transform.std
    for r in multi:
        assert r.global_with == ["small", "large"]
        assert r.scores["model"]["rmse"] < r.scores["naive"]["rmse"]
    text = multi.report()
    assert "One global model trained on 2 series: small, large" in text and "best baseline" in text
    with pytest.raises(KeyError, match="no series named 'x'"):
        multi["x"]
    with pytest.raises(sn.ConfigError, match="unique"):
        fit_many([("a", a), ("a", a)], **FAST)


def test_future_forecast_continues_the_series_with_intervals(tmp_path):
    y = seasonal(240)
    res = fit_forecaster(y, season=12, time=2000 + np.arange(240) / 12, classical=False, **FAST)
    fut = forecast_future(res, 18)
    assert fut.forecast.shape == fut.lower.shape == (18,) and np.all(fut.lower <= fut.forecast)
    assert np.all(fut.forecast <= fut.upper)
    np.testing.assert_allclose(fut.time, 2020 + np.arange(18) / 12, atol=1e-9)
    # the first step is the ensemble's one-step forecast from the end of the data
    np.testing.assert_allclose(fut.forecast[0], res.transform.from_unit(
        forecast_paths(res.model, res.transform, y, np.array([240]), 1, 1))[0, 0])
    fut.to_csv(tmp_path / "f.csv")
    lines = (tmp_path / "f.csv").read_text().splitlines()
    assert lines[0] == "step,time,forecast,lower_80,upper_80" and len(lines) == 19
    with pytest.raises(sn.DataError, match="too many"):
        forecast_future(res, 200)


def test_plot_forecast_shows_the_interval_and_the_future(tmp_path):
    from matplotlib.figure import Figure

    from scratchnn.plots.forecast import plot_forecast

    res = fit_forecaster(seasonal(200), season=12, horizon=2, model="gru", classical=False, **FAST)
    fig = plot_forecast(res, step=2, future=forecast_future(res, 6), path=tmp_path / "f.png")
    assert isinstance(fig, Figure) and (tmp_path / "f.png").stat().st_size > 1000
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "actual" and labels[1].startswith("GRU x2 median (RMSE")
    assert any(lab.startswith("80% interval (holds ") for lab in labels)
    assert any(lab.startswith("future (6 steps)") for lab in labels)
    with pytest.raises(ValueError, match="step must be in"):
        plot_forecast(res, step=3)


def test_old_names_still_import():
    from scratchnn.forecast import (
        CELLS,
        ForecastResult,
        build_forecaster,
        fit_forecaster,
        predict_windows,
    )

    assert set(CELLS) == {"lstm", "gru", "rnn"} and ForecastResult and fit_forecaster
    net = build_forecaster(horizon=2, hidden_size=4, cell="gru")
    X, _ = ts.sliding_windows(np.arange(20.0), 5, 2)
    assert predict_windows(net, X, ts.Scaler(0.0, 1.0)).shape == (len(X), 2)


# --------------------------------------------------------------------------- the command
def _cli(argv):
    from scratchnn.cli import forecast as command

    return run_command(command, argv)


def _csv(path, columns: dict[str, np.ndarray]):
    n = len(next(iter(columns.values())))
    rows = ["time," + ",".join(columns)]
    rows += [f"{2000 + i / 12:.4f}," + ",".join(f"{v[i]:.4f}" for v in columns.values()) for i in range(n)]
    path.write_text("\n".join(rows) + "\n")


def test_forecast_command_future_and_outputs(tmp_path, capsys):
    csv = tmp_path / "m.csv"
    _csv(csv, {"value": seasonal(200)})
    out = tmp_path / "run"
    assert _cli(["forecast", str(csv), "--season", "12", "--horizon", "2", "--members", "2", "--epochs", "20",
                 "--hidden", "8", "--future", "6", "--no-classical", "--out", str(out), "--plot", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "seasonal naive (m=12)" in text and "80% prediction interval" in text and "next 6 values" in text
    report = json.loads((out / "report.json").read_text())
    assert set(report["scores"]) == {"model", "naive", "seasonal_naive"} and 0 <= report["interval_coverage"] <= 1
    assert len((out / "future.csv").read_text().splitlines()) == 7 and (out / "forecast.png").exists()
    loaded, info = Ensemble.load(out / "model")
    assert len(loaded.members) == 2 and info["series"]["value"]["transform"]["lag"] == 1
    # the saved forecaster continues the series as the run did, with the same interval
    saved = load_forecaster(out / "model")
    again = saved.forecast(seasonal(200), 6)
    rows = np.loadtxt(out / "future.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(np.c_[again.forecast, again.lower, again.upper], rows[:, 2:], rtol=1e-5)
    with pytest.raises(sn.ConfigError, match="calibrated for 6 steps"):
        saved.forecast(seasonal(200), 7)
    with pytest.raises(sn.ConfigError, match="no series named 'x'"):
        saved.forecast(seasonal(200), 2, name="x")


def test_forecast_command_many_series(tmp_path, capsys):
    csv = tmp_path / "two.csv"
    _csv(csv, {"a": seasonal(160, seed=1), "b": 50 * seasonal(160, seed=2)})
    out = tmp_path / "run"
    assert _cli(["forecast", str(csv), "--all-columns", "--season", "12", "--members", "2", "--epochs", "10",
                 "--no-classical", "--future", "3", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "One global model trained on 2 series: a, b" in text and "Forecast of b" in text
    report = json.loads((out / "report.json").read_text())
    assert [r["series"] for r in report["results"]] == ["a", "b"]
    assert (out / "future-a.csv").exists() and (out / "future-b.csv").exists()
    folder = tmp_path / "many"
    folder.mkdir()
    _csv(folder / "north.csv", {"v": seasonal(150, seed=3)})
    _csv(folder / "south.csv", {"v": seasonal(150, seed=4)})
    assert _cli(["forecast", str(folder), "--members", "1", "--epochs", "5", "--no-classical", "--quiet"]) == 0
    assert "One global model trained on 2 series: north, south" in capsys.readouterr().out
    with pytest.raises(sn.ConfigError, match="not both"):
        _cli(["forecast", str(csv), "--all-columns", "--column", "a"])
    with pytest.raises(SystemExit) as refused:          # refused at parse time: a usage error
        _cli(["forecast", str(csv), "--future", "0"])
    assert refused.value.code == 2
