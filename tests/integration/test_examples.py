"""Every example in examples/ runs with its --quick (tiny) settings, so none rots.

Convention: an example that supports ``--quick`` is run here; one without it is
skipped with a reason (add the flag to have it tested).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_quick(script, tmp_path):
    if "--quick" not in script.read_text():
        pytest.skip(f"{script.name} has no --quick flag")
    env = {**os.environ, "MPLBACKEND": "Agg", "SCRATCHNN_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(script), "--quick"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    pngs = list(tmp_path.rglob("*.png"))
    if "path=" in script.read_text():
        assert pngs, f"{script.name} wrote no picture"
        assert all(p.stat().st_size > 5000 for p in pngs)
