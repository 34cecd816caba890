"""Load test of ``scratchnn serve``'s digit pad: N clients send drawings for S seconds; latency and errors.

Each client is a thread with one keep-alive HTTP connection that POSTs a drawn digit (a PNG of
random strokes, 140x140 as the page sends its canvas) to ``/api/digits/predict``, waits for the answer
and sends the next one at once -- as the page does while someone draws (it chains requests).
Every answer must be 200 with probabilities; anything else (a 4xx/5xx, a refused or broken
connection, a timeout) counts as an error.

By default the script starts its own server on 127.0.0.1 (``python -m scratchnn serve --port 0``)
with a model it trains first (1 epoch of the MLP on the bundled MNIST subset, a few seconds), and
stops it at the end. Only addresses on this machine are ever contacted.

    python scripts/web_load.py                          # 20 clients, 30 s
    python scripts/web_load.py --clients 20 --seconds 5 --model runs/latest/model.npz

Prints a table and ends with one JSON line (requests, errors, requests/s, p50/p90/p99/max in ms).
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def drawings(n: int, seed: int = 0) -> list[bytes]:
    """``n`` PNGs of 140x140 white canvases with one to three dark random strokes (what the page sends:
    its 280x280 pad at half size)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = Image.new("RGBA", (140, 140), (255, 255, 255, 255))
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 4))):
            pts = [tuple(p) for p in rng.uniform(20, 120, (int(rng.integers(2, 6)), 2)).tolist()]
            draw.line(pts, fill=(17, 17, 17, 255), width=10, joint="curve")
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def _client(host: str, port: int, images: list[bytes], stop_at: float, latencies: list, errors: list) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    k = 0
    while time.monotonic() < stop_at:
        body = images[k % len(images)]
        k += 1
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/api/digits/predict", body=body, headers={"Content-Type": "image/png"})
            resp = conn.getresponse()
            data = resp.read()
            ms = (time.perf_counter() - t0) * 1e3
            if resp.status != 200 or "probabilities" not in json.loads(data):
                errors.append(f"HTTP {resp.status}: {data[:200]!r}")
            else:
                latencies.append(ms)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.close()


def run_load(url: str, clients: int = 20, seconds: float = 30.0, seed: int = 0) -> dict:
    """Run the load against ``url`` (an address on this machine) and return the figures."""
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load {parts.hostname}: only this machine (127.0.0.1) is a target")
    images = drawings(16, seed)
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(parts.hostname, parts.port, images[i % 16:] + images[:i % 16],
                                                      stop_at, latencies, errors)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {"clients": clients, "seconds": round(elapsed, 2), "requests": len(latencies) + len(errors),
            "errors": len(errors), "first_errors": errors[:3], "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 2), "p90_ms": round(float(np.percentile(lat, 90)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2), "max_ms": round(float(lat.max()), 2)}


def train_model(folder: Path) -> Path:
    """A quick model for the digit pad: 1 epoch of the MLP on the bundled subset, no plots."""
    out = folder / "run"
    subprocess.run([sys.executable, "-m", "scratchnn", "train", "--epochs", "1", "--no-plots", "--progress", "none",
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL, env=_env())
    return out / "model.npz"


def _env() -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    src = Path(__file__).resolve().parents[1] / "src"
    if src.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
    return env


def start_server(model: Path, runs: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "scratchnn", "serve", "--port", "0", "--model", str(model),
                             "--runs", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line or "")
        if m:
            return proc, m.group(1)
        if not line:
            break
    proc.kill()
    raise SystemExit(f"the server did not start: {proc.stderr.read()[-2000:]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--url", help="a running server on this machine (default: start one)")
    ap.add_argument("--model", help="model for the started server (default: train a quick one)")
    args = ap.parse_args(argv)
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url
        if url is None:
            model = Path(args.model) if args.model else train_model(Path(tmp))
            proc, url = start_server(model, Path(tmp))
        try:
            r = run_load(url, args.clients, args.seconds)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(15)
    print(f"{r['clients']} clients for {r['seconds']} s against {url}api/digits/predict")
    print(f"  requests {r['requests']:,}  errors {r['errors']}  throughput {r['rps']} req/s")
    print(f"  latency  p50 {r['p50_ms']} ms  p90 {r['p90_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms")
    for e in r["first_errors"]:
        print("  error:", e)
    print(json.dumps(r))
    return 0 if r["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
