"""Shared test fixtures and helpers.

Tests are laid out like the source (tests/README.md says where a new test goes).
Data sets are looked up in ``SCRATCHNN_TEST_DATA`` or ``../shared/data`` beside the
checkout; tests that need them skip with a reason where absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    env = os.environ.get("SCRATCHNN_TEST_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def data_dir() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("shared data directory not found (set SCRATCHNN_TEST_DATA)")
    return d
