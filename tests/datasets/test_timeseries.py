"""Time-series utilities and the textgen commands (forecasting: test_forecasting.py)."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.datasets import timeseries as ts
from tests.cli.commands import run_command


def test_load_csv_column(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text('"time","a","b"\n2000,1,10\n2000.5,2,20\n2001,3,30\n')
    s = ts.load_csv_column(path, "b")
    np.testing.assert_array_equal(s.values, [10, 20, 30])
    np.testing.assert_array_equal(s.time, [2000, 2000.5, 2001])
    assert ts.load_csv_column(path).name == "a"
    with pytest.raises(sn.DataError, match="column 'c' not in .*columns are \\['a', 'b'\\]"):
        ts.load_csv_column(path, "c")
    path.write_text("time,a\n1,1\n2,NA\n3,3\n")
    with pytest.raises(sn.DataError, match="line 3, column 'a': 'NA' is not a number"):
        ts.load_csv_column(path)
    with pytest.raises(sn.DataError, match="not found"):
        ts.load_csv_column(tmp_path / "missing.csv")


def test_bundled_series_loads():
    s = ts.load_csv_column(ts.bundled_series_path())
    assert s.name == "sunspots" and len(s) == 3177 and s.time[0] == 1749


def test_sliding_windows_and_chronological_splits():
    s = np.arange(100.0)
    X, Y = ts.sliding_windows(s, window=5, horizon=3)
    assert X.shape == (93, 5, 1) and Y.shape == (93, 3)
    np.testing.assert_array_equal(Y[:, 0], X[:, -1, 0] + 1)
    parts = ts.windowed_splits(s, 5, 3, val_fraction=0.2, test_fraction=0.2)
    val_start, test_start = ts.split_points(100, 0.2, 0.2)
    assert (val_start, test_start) == (60, 80)
    for name, (a, b) in {"train": (0, 60), "val": (60, 80), "test": (80, 100)}.items():
        p = parts[name]
        assert p.Y.min() >= a and p.Y.max() < b, name          # every target inside its part
        np.testing.assert_array_equal(p.Y[:, 0], p.start)     # start = index of the first target
        assert np.all(np.diff(p.start) == 1), "windows stay in time order, never shuffled"
    assert parts["test"].start[0] == 80 and parts["test"].start[-1] == 97
    with pytest.raises(sn.ConfigError, match="leave at least 10%"):
        ts.split_points(100, 0.5, 0.45)
    with pytest.raises(sn.DataError, match="too short"):
        ts.sliding_windows(np.arange(4.0), 4, 1)


def test_baselines_and_errors():
    s = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    start = np.array([4, 5])
    np.testing.assert_array_equal(ts.naive_forecast(s, start, 2), [[4, 4], [5, 5]])
    # season 3: the value 3 steps earlier, and 6 steps earlier once k reaches the season
    np.testing.assert_array_equal(ts.seasonal_naive_forecast(s, start, 4, 3), [[2, 3, 4, 2], [3, 4, 5, 3]])
    assert ts.rmse([1, 2], [1, 4]) == pytest.approx(np.sqrt(2)) and ts.mae([1, 2], [1, 4]) == 1.0
    scaler = ts.Scaler.fit(np.array([1.0, 3.0]))
    assert (scaler.mean, scaler.std) == (2.0, 1.0)
    np.testing.assert_allclose(scaler.inverse(scaler.transform([5.0, -1.0])), [5.0, -1.0])


def _cli(argv):
    from scratchnn.cli import textgen as command

    return run_command(command, argv)


def test_textgen_commands(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("abcd efgh. " * 200)
    out = tmp_path / "lm"
    assert _cli(["textgen", "train", str(text), "--out", str(out), "--steps", "30", "--seq-len", "20",
                 "--batch-size", "8", "--hidden", "16", "--embedding", "8", "--eval-every", "15",
                 "--sample-length", "20", "--quiet"]) == 0
    first = capsys.readouterr().out
    assert "bits/char" in first and "sample" in first
    assert _cli(["textgen", "sample", str(out / "model.npz"), "--length", "30", "--prompt", "abc",
                 "--seed", "1"]) == 0
    sampled = capsys.readouterr().out.rstrip("\n")
    assert sampled.startswith("abc") and len(sampled) == 33
