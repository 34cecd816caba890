"""Starting and stopping ``scratchnn serve`` in a subprocess for the tests (imported by conftest.py)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path


def start_server(runs: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start ``scratchnn serve --port 0`` and return the process and its URL (read from stdout)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    src = Path(__file__).resolve().parents[2] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.Popen([sys.executable, "-m", "scratchnn", "serve", "--port", "0", "--runs", str(runs),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"(http://[0-9.]+:\d+/)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError(f"the server did not start: {proc.stderr.read()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err
