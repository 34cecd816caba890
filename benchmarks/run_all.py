"""Run every benchmark and regenerate ``docs/_data/benchmarks.json``, the figures of the
performance page (``docs/guide/10-performance.md``).

Each benchmark runs as its own command (scratchnn and PyTorch or onnxruntime in separate,
interleaved processes, see ``_common.py``); its final JSON line is recorded unchanged with
the command that printed it, the machine and the date. The file is replaced atomically,
and only when every benchmark finished.

    python benchmarks/run_all.py --machine "2-core laptop, quiet"     # the full set (about 30 min)
    python benchmarks/run_all.py --quick --output /tmp/bench.json     # a smoke run (minutes)
    python benchmarks/run_all.py --set "lstm_chars.py=--steps 60 --repeats 3"   # other settings for one
    python benchmarks/run_all.py --only cnn_mnist.py   # rerun one, keep the others' recorded runs
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: (name shown on the page, script, arguments of the full run, arguments of --quick); the
#: page shows each run's command, so the names leave the settings out.
BENCHMARKS = [
    ("MLP 784-256-128-10, MNIST", "mlp_mnist.py",
     ["--epochs", "10", "--repeats", "3"], ["--epochs", "1", "--repeats", "1"]),
    ("CNN (issue 4), MNIST, speed only", "cnn_mnist.py",
     ["--batches", "30", "--timed", "3", "--repeats", "3"], ["--batches", "5", "--timed", "2", "--repeats", "1"]),
    ("char-LSTM (embedding 64, hidden 256, seq 100, batch 64), tinyshakespeare", "lstm_chars.py",
     ["--steps", "150", "--repeats", "3"], ["--steps", "10", "--repeats", "1"]),
    ("Inference: model.predict vs onnxruntime, batch 1024", "inference.py",
     ["--repeats", "3"], ["--repeats", "1", "--timed", "1"]),
]

ABOUT = ("Figures shown on docs/guide/10-performance.md, rendered at build time. Written by "
         "benchmarks/run_all.py; each entry of runs: {name, command, machine, date, result}, where result "
         "is the final JSON line the benchmark printed, unchanged. Never edit the figures by hand.")


def machine_description(threads: int) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {threads} threads"


def run(script: str, args: list[str]) -> dict:
    cmd = [sys.executable, str(HERE / script), *args]
    print(f"$ {' '.join(['python', f'benchmarks/{script}', *args])}", flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    print(proc.stdout, flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"{script} failed (exit status {proc.returncode}); nothing was written")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short runs, to check that everything works")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--machine", default=None, help="how the page describes the machine (default: CPU and cores)")
    p.add_argument("--only", default="", help="comma-separated script names to run (default: all); "
                   "the other benchmarks' recorded runs are kept")
    p.add_argument("--data-dir", default=None, help="MNIST folder, passed to the MNIST benchmarks")
    p.add_argument("--text", default=None, help="tinyshakespeare.txt, passed to the LSTM benchmark")
    p.add_argument("--set", action="append", default=[], metavar="SCRIPT=ARGS",
                   help="run SCRIPT with ARGS instead of its default settings (repeatable)")
    p.add_argument("--output", default=str(REPO / "docs" / "_data" / "benchmarks.json"))
    args = p.parse_args()
    overrides = {}
    for item in args.set:
        script, sep, rest = item.partition("=")
        if not sep or script not in {b[1] for b in BENCHMARKS}:
            p.error(f"--set takes SCRIPT=ARGS with SCRIPT one of {[b[1] for b in BENCHMARKS]}; got {item!r}")
        overrides[script] = rest.split()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    machine = args.machine or machine_description(args.threads)
    out = Path(args.output)
    kept = json.loads(out.read_text())["runs"] if only and out.exists() else []
    runs = []
    for name, script, full, quick in BENCHMARKS:
        if only and script not in only:  # keep what was recorded for it
            runs += [r for r in kept if r["command"].split()[1] == f"benchmarks/{script}"]
            continue
        bench_args = [*overrides.get(script, quick if args.quick else full), "--threads", str(args.threads)]
        if args.data_dir and script in ("mlp_mnist.py", "cnn_mnist.py"):
            bench_args += ["--data-dir", args.data_dir]
        if args.text and script == "lstm_chars.py":
            bench_args += ["--text", args.text]
        result = run(script, bench_args)
        shown = [a for a in bench_args if a not in (args.data_dir, args.text, "--data-dir", "--text")]
        runs.append({"name": name, "command": " ".join(["python", f"benchmarks/{script}", *shown]),
                     "machine": machine, "date": datetime.date.today().isoformat(), "result": result})
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False, suffix=".tmp") as f:
        json.dump({"_about": ABOUT, "runs": runs}, f, indent=2)
        f.write("\n")
    os.replace(f.name, out)
    print(f"wrote {len(runs)} run(s) to {out}")


if __name__ == "__main__":
    main()
