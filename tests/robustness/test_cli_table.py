"""Every command x bad input, table-driven: one line on stderr naming the culprit, the right exit
status, no traceback, bounded memory, and nothing outside the requested output changed.

Each case runs ``scratchnn.cli.main(argv)`` in a forked child (cheap: everything is imported
already) inside one shared workspace of fixtures:

- stdout and stderr are captured from the child's file descriptors, so raw library warnings
  (Pillow's DecompressionBombWarning, ...) would show up as extra lines;
- the child's peak resident memory comes from ``os.wait4`` and must stay within
  :data:`MEMORY_BUDGET` of the parent's (the 10000x10000 PNG used to cost 1.8 GB);
- the workspace is hashed before and after: every file, except the paths a case declares as
  its output, must be byte-identical (and no file may appear or vanish).

Exit statuses (see :mod:`scratchnn.cli`): 2 usage errors (bad flags, refusing to overwrite),
1 errors while working, 0 success (possibly with one warning line).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and os.wait4")

#: Peak memory a failing command may add to the (forked) parent's.
MEMORY_BUDGET = 300 * 2**20
L = sn.layers


# ------------------------------------------------------------------ fixtures
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, width: int, height: int, full: bool = True) -> None:
    """A valid grayscale PNG of ``width x height`` zero pixels, compressed row by row (a few
    hundred kB for 10^8 pixels); ``full=False`` writes the header and a token of data only."""
    z = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    body = b"".join(z.compress(row) for _ in range(height if full else 1)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body)
                     + _png_chunk(b"IEND", b""))


def _image(path: Path, array: np.ndarray, mode: str = "L") -> None:
    from PIL import Image
    Image.fromarray(array.astype(np.uint8), mode if mode != "RGBA" else None).save(path)


def _stroke(size: int = 100) -> np.ndarray:
    a = np.zeros((size, size), np.uint8)
    a[size // 10: size - size // 10, size // 2 - 4: size // 2 + 4] = 255
    return a


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    """The workspace every case runs in (its current folder)."""
    pytest.importorskip("PIL")
    from scratchnn.applications.textgen import train_char_lm

    w = tmp_path_factory.mktemp("ws")
    clf = sn.Sequential([L.Dense(784, 10)], seed=0)
    clf.compile(sn.losses.SoftmaxCrossEntropy(), "adam")
    clf.build((784,))
    clf.save(w / "model.npz")
    reg = sn.Sequential([L.Dense(3, 1)], seed=0)
    reg.compile("mse", "adam")
    reg.build((3,))
    reg.save(w / "regressor.npz")
    (w / "run").mkdir()
    clf.save(w / "run" / "model.npz")
    (w / "run" / "results.json").write_text('{"test_accuracy": 0.9}\n')
    (w / "emptydir").mkdir()
    text = "the quick brown fox jumps over the lazy dog. " * 40
    (w / "text.txt").write_text(text)
    (w / "binary.txt").write_bytes(bytes(range(256)) * 8)
    lm, _ = train_char_lm(text, steps=3, seq_len=12, batch_size=4, hidden_size=8, embedding_dim=4, verbose=0)
    lm.metadata["textgen"] = {"text": str(w / "text.txt"), "steps": 3}
    (w / "textrun").mkdir()
    lm.save(w / "textrun" / "model.npz")
    # images
    _image(w / "digit.png", _stroke())
    _image(w / "blank.png", np.full((50, 50), 255))
    _image(w / "tiny.png", np.eye(4) * 255)
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = _stroke()  # white ink, opaque only where the stroke is
    _image(w / "white_on_clear.png", rgba, "RGBA")
    (w / "not_an_image.png").write_text("this is text, not a PNG")
    png_bomb(w / "bomb.png", 10_000, 10_000)
    png_bomb(w / "huge_header.png", 100_000, 100_000, full=False)
    # CSV files
    t = np.arange(120)
    (w / "series.csv").write_text("time,value\n" + "".join(f"{i},{np.sin(i / 5):.4f}\n" for i in t))
    (w / "constant.csv").write_text("time,value\n" + "".join(f"{i},3.5\n" for i in t))
    (w / "short.csv").write_text("value\n" + "".join(f"{i % 7}\n" for i in range(10)))
    (w / "only_time.csv").write_text("date,year\n" + "".join(f"2020-01-{i % 28 + 1:02d},{2000 + i}\n" for i in t))
    (w / "binary.csv").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    with open(w / "huge.csv", "wb") as f:  # sparse: refused by its size before any byte is read
        f.truncate(40 * 2**20)
    with open(w / "huge.txt", "wb") as f:
        f.truncate(80 * 2**20)
    (w / "forecast.png").write_bytes(b"an earlier picture")
    (w / "plots").mkdir()
    (w / "plots" / "confusion_matrix.png").write_bytes(b"an earlier picture")
    (w / "afile").write_text("a file, not a folder\n")
    return w


# ------------------------------------------------------------------ running a case
def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_forked(argv: list[str], cwd: Path, timeout: float = 120.0) -> tuple[int, str, str, int]:
    """``main(argv)`` in a forked child: (exit status, stdout, stderr, peak RSS above the parent's)."""
    out_path, err_path = cwd.parent / f".{cwd.name}.out", cwd.parent / f".{cwd.name}.err"
    base = _rss_now()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (Python >= 3.12)
        pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            os.chdir(cwd)
            for fd, path in ((1, out_path), (2, err_path)):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(f, fd)
                os.close(f)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - lives until _exit
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            warnings.resetwarnings()  # as a user runs it, not pytest's "error" filter
            warnings.simplefilter("default")
            code = main(argv)
        except BaseException:  # noqa: BLE001 - report anything as a traceback the test will see
            import traceback
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code if isinstance(code, int) else 98)
    deadline = time.monotonic() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.wait4(pid, 0)
            raise AssertionError(f"{argv} ran over {timeout} s")
        time.sleep(0.01)
    code = os.waitstatus_to_exitcode(status)
    out = out_path.read_text(encoding="utf-8", errors="replace")
    err = err_path.read_text(encoding="utf-8", errors="replace")
    return code, out, err, usage.ru_maxrss * 1024 - base


def tree_hashes(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root`` (folders as ``path/``).

    Files over 4 MiB (the sparse size-limit fixtures) are fingerprinted by size, mtime and
    their first and last MiB, to keep the table fast.
    """
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d)) + "/"] = "dir"
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.stat(full)
            with open(full, "rb") as f:
                if st.st_size > 4 * 2**20:
                    head = f.read(2**20)
                    f.seek(-2**20, os.SEEK_END)
                    data = f"{st.st_size}:{st.st_mtime_ns}:".encode() + head + f.read()
                else:
                    data = f.read()
            out[os.path.normpath(os.path.join(rel, name))] = hashlib.sha256(data).hexdigest()
    return out


# ------------------------------------------------------------------ the table
@dataclass
class Case:
    id: str
    argv: list[str]
    code: int
    match: str  # must appear in the single stderr line
    level: str = "error"  # "error" or "warning"
    outputs: list[str] = field(default_factory=list)  # paths the case may write (removed after)
    stdout: str | None = None  # must appear in stdout


USAGE, ERROR = 2, 1
CASES = [
    # train
    Case("train-epochs-0", ["train", "--epochs", "0"], USAGE, "argument --epochs"),
    Case("train-batch-size-negative", ["train", "--batch-size", "-1"], USAGE, "argument --batch-size"),
    Case("train-lr-nan", ["train", "--lr", "nan"], USAGE, "argument --lr"),
    Case("train-val-fraction-1", ["train", "--val-fraction", "1"], USAGE, "argument --val-fraction"),
    Case("train-seed-negative", ["train", "--seed", "-1"], USAGE, "argument --seed"),
    Case("train-progress-unknown", ["train", "--progress", "fancy"], USAGE, "argument --progress"),
    Case("train-out-existing-run", ["train", "--out", "run"], USAGE, "--out run already holds files"),
    Case("train-out-is-a-file", ["train", "--out", "afile"], USAGE, "afile is a file"),
    Case("train-out-under-a-file", ["train", "--out", "afile/run"], ERROR, "afile"),
    Case("train-resume-missing", ["train", "--resume", "nope/model.npz"], ERROR, "nope/model.npz"),
    Case("train-resume-text-model", ["train", "--resume", "textrun"], ERROR, "textrun/model.npz"),
    Case("train-batch-size-0", ["train", "--batch-size", "0"], USAGE, "argument --batch-size"),
    Case("train-lr-inf", ["train", "--lr", "inf"], USAGE, "argument --lr"),
    Case("train-model-unknown", ["train", "--model", "alexnet"], USAGE, "argument --model"),
    Case("train-data-dir-bundled", ["train", "--out", "new", "--data-dir", "emptydir"], USAGE, "--data-dir"),
    # evaluate
    Case("evaluate-missing-model", ["evaluate", "nope.npz"], ERROR, "nope.npz"),
    Case("evaluate-text-model", ["evaluate", "textrun"], ERROR, "textrun/model.npz"),
    Case("evaluate-dataset-unknown", ["evaluate", "model.npz", "--dataset", "cifar"], USAGE, "cifar"),
    Case("evaluate-data-dir-bundled", ["evaluate", "model.npz", "--dataset", "bundled", "--data-dir", "emptydir"],
         USAGE, "--data-dir"),
    Case("evaluate-split-unknown", ["evaluate", "model.npz", "--split", "val"], USAGE, "argument --split"),
    Case("evaluate-plots-existing", ["evaluate", "model.npz", "--plots", "plots"], USAGE,
         "plots/confusion_matrix.png already exists"),
    # predict
    Case("predict-top-0", ["predict", "model.npz", "digit.png", "--top", "0"], USAGE, "argument --top"),
    Case("predict-top-text", ["predict", "model.npz", "digit.png", "--top", "three"], USAGE, "argument --top"),
    Case("predict-invert-unknown", ["predict", "model.npz", "digit.png", "--invert", "maybe"], USAGE,
         "argument --invert"),
    Case("predict-no-images", ["predict", "model.npz"], USAGE, "images"),
    Case("predict-bomb", ["predict", "model.npz", "bomb.png"], ERROR, "bomb.png is 10000x10000 pixels"),
    Case("predict-huge-header", ["predict", "model.npz", "huge_header.png"], ERROR, "huge_header.png"),
    Case("predict-not-an-image", ["predict", "model.npz", "not_an_image.png"], ERROR, "not_an_image.png"),
    Case("predict-missing-image", ["predict", "model.npz", "nope.png"], ERROR, "nope.png"),
    Case("predict-folder-as-image", ["predict", "model.npz", "emptydir"], ERROR, "emptydir"),
    Case("predict-blank-in-batch", ["predict", "model.npz", "digit.png", "blank.png", "white_on_clear.png"],
         ERROR, "blank.png: the image is blank", stdout="white_on_clear.png: "),
    Case("predict-blank-json", ["predict", "model.npz", "blank.png", "digit.png", "--json"], ERROR,
         "blank.png", stdout='"file": "digit.png"'),
    Case("predict-tiny-warns", ["predict", "model.npz", "tiny.png"], 0, "tiny.png: the image is only 4x4",
         level="warning", stdout="tiny.png: "),
    Case("predict-regressor", ["predict", "regressor.npz", "digit.png"], ERROR, "regressor.npz"),
    Case("predict-model-missing", ["predict", "nope.npz", "digit.png"], ERROR, "nope.npz"),
    # summary
    Case("summary-missing", ["summary", "nope.npz"], ERROR, "nope.npz"),
    Case("summary-not-a-model", ["summary", "text.txt"], ERROR, "text.txt"),
    Case("summary-folder-without-model", ["summary", "emptydir"], ERROR, "emptydir"),
    # demo
    Case("demo-epochs-0", ["demo", "xor", "--epochs", "0"], USAGE, "argument --epochs"),
    Case("demo-lr-negative", ["demo", "xor", "--lr", "-1"], USAGE, "argument --lr"),
    Case("demo-unknown", ["demo", "mnist"], USAGE, "invalid choice"),
    Case("demo-out-existing-run", ["demo", "xor", "--out", "run"], USAGE, "--out run already holds other files"),
    # forecast
    Case("forecast-epochs-0", ["forecast", "series.csv", "--epochs", "0"], USAGE, "argument --epochs"),
    Case("forecast-season-0", ["forecast", "series.csv", "--season", "0"], USAGE, "argument --season"),
    Case("forecast-clip-norm-negative", ["forecast", "--clip-norm", "-1"], USAGE, "argument --clip-norm"),
    Case("forecast-window-0", ["forecast", "--window", "0"], USAGE, "argument --window"),
    Case("forecast-test-fraction-1.5", ["forecast", "--test-fraction", "1.5"], USAGE, "argument --test-fraction"),
    Case("forecast-fractions-sum", ["forecast", "--val-fraction", "0.5", "--test-fraction", "0.45"], USAGE,
         "--val-fraction + --test-fraction"),
    Case("forecast-horizon-0", ["forecast", "--horizon", "0"], USAGE, "argument --horizon"),
    Case("forecast-hidden-0", ["forecast", "--hidden", "0"], USAGE, "argument --hidden"),
    Case("forecast-layers-0", ["forecast", "--layers", "0"], USAGE, "argument --layers"),
    Case("forecast-batch-size-0", ["forecast", "--batch-size", "0"], USAGE, "argument --batch-size"),
    Case("forecast-lr-negative", ["forecast", "--lr", "-0.1"], USAGE, "argument --lr"),
    Case("forecast-cell-unknown", ["forecast", "--cell", "transformer"], USAGE, "argument --model/--cell"),
    Case("forecast-huge-csv", ["forecast", "huge.csv"], ERROR, "huge.csv is 40 MiB"),
    Case("forecast-season-too-long", ["forecast", "series.csv", "--season", "100000"], USAGE, "season 100000"),
    Case("forecast-window-too-long", ["forecast", "series.csv", "--window", "5000"], USAGE, "window=5000"),
    Case("forecast-short-series", ["forecast", "short.csv"], USAGE, "short.csv"),
    Case("forecast-constant", ["forecast", "constant.csv"], ERROR, "constant.csv column 'value' is constant"),
    Case("forecast-only-time-columns", ["forecast", "only_time.csv"], ERROR, "only_time.csv has no numeric value"),
    Case("forecast-binary", ["forecast", "binary.csv"], ERROR, "binary.csv is not a CSV text file"),
    Case("forecast-missing-csv", ["forecast", "nope.csv"], ERROR, "nope.csv"),
    Case("forecast-missing-column", ["forecast", "series.csv", "--column", "price"], ERROR, "column 'price'"),
    Case("forecast-out-existing-run", ["forecast", "series.csv", "--out", "run"], USAGE, "--out run already holds"),
    Case("forecast-plot-existing", ["forecast", "series.csv", "--plot"], USAGE, "forecast.png already exists"),
    Case("forecast-out-under-a-file", ["forecast", "series.csv", "--out", "afile/x"], ERROR, "afile"),
    # textgen train
    Case("textgen-steps-0", ["textgen", "train", "text.txt", "--steps", "0"], USAGE, "argument --steps"),
    Case("textgen-seq-len-0", ["textgen", "train", "text.txt", "--seq-len", "0"], USAGE, "argument --seq-len"),
    Case("textgen-batch-size-0", ["textgen", "train", "text.txt", "--batch-size", "0"], USAGE,
         "argument --batch-size"),
    Case("textgen-eval-every-0", ["textgen", "train", "text.txt", "--eval-every", "0"], USAGE,
         "argument --eval-every"),
    Case("textgen-lr-0", ["textgen", "train", "text.txt", "--lr", "0"], USAGE, "argument --lr"),
    Case("textgen-hidden-0", ["textgen", "train", "text.txt", "--hidden", "0"], USAGE, "argument --hidden"),
    Case("textgen-clip-norm-negative", ["textgen", "train", "text.txt", "--clip-norm", "-1"], USAGE,
         "argument --clip-norm"),
    Case("textgen-sample-length-huge", ["textgen", "train", "text.txt", "--sample-length", "1000000"], USAGE,
         "argument --sample-length"),
    Case("textgen-huge-text", ["textgen", "train", "huge.txt", "--out", "new"], USAGE, "huge.txt is 80 MiB"),
    Case("textgen-missing-text", ["textgen", "train", "nope.txt", "--out", "new"], ERROR, "nope.txt"),
    Case("textgen-binary-text", ["textgen", "train", "binary.txt", "--out", "new"], ERROR, "binary.txt"),
    Case("textgen-no-text", ["textgen", "train"], USAGE, "text file is required"),
    Case("textgen-out-existing-run", ["textgen", "train", "text.txt", "--out", "run"], USAGE,
         "--out run already holds"),
    Case("textgen-resume-image-model", ["textgen", "train", "--resume", "run"], USAGE, "run/model.npz"),
    Case("textgen-resume-finished", ["textgen", "train", "--resume", "textrun"], USAGE, "already finished"),
    Case("textgen-no-action", ["textgen"], USAGE, "required"),
    # textgen sample
    Case("sample-length-huge", ["textgen", "sample", "textrun", "--length", "100000000"], USAGE,
         "argument --length"),
    Case("sample-temperature-negative", ["textgen", "sample", "textrun", "--temperature", "-1"], USAGE,
         "argument --temperature"),
    Case("sample-image-model", ["textgen", "sample", "model.npz"], ERROR, "vocabulary"),
    Case("sample-unknown-prompt", ["textgen", "sample", "textrun", "--prompt", "ZQX!"], ERROR, "vocabulary"),
    Case("sample-missing-model", ["textgen", "sample", "nope.npz"], ERROR, "nope.npz"),
    # export
    Case("export-over-its-input", ["export", "run/model.npz", "run/model.npz"], USAGE, "is the input model"),
    Case("export-folder-over-its-model", ["export", "run", "run/model.npz"], USAGE, "is the input model"),
    Case("export-existing-output", ["export", "model.npz", "text.txt"], USAGE, "text.txt already exists"),
    Case("export-output-is-a-folder", ["export", "model.npz", "emptydir"], USAGE, "emptydir is a folder"),
    Case("export-opset-3", ["export", "model.npz", "m.onnx", "--opset", "3"], USAGE, "argument --opset"),
    Case("export-dtype-unknown", ["export", "model.npz", "m.onnx", "--dtype", "float16"], USAGE,
         "argument --dtype"),
    Case("export-missing-model", ["export", "nope.npz", "m.onnx"], ERROR, "nope.npz"),
    # the command line itself
    Case("unknown-command", ["frobnicate"], USAGE, "invalid choice"),
    Case("no-command", [], USAGE, "COMMAND is required"),
]
if __import__("importlib.util").util.find_spec("onnx") is not None:
    CASES += [
        Case("export-probabilities-of-a-regressor", ["export", "regressor.npz", "r.onnx", "--probabilities"],
             ERROR, "probabilities=True needs a model trained on logits"),
        Case("export-wrong-extension", ["export", "model.npz", "digits.bin"], 0, "digits.bin does not end in .onnx",
             level="warning", outputs=["digits.bin"], stdout="wrote digits.bin"),
    ]


def test_the_table_covers_every_command():
    from scratchnn.cli import COMMANDS
    covered = {c.argv[0] for c in CASES if c.argv}
    assert set(COMMANDS) - {"serve"} <= covered, set(COMMANDS) - covered
    assert len(CASES) >= 90


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, ws: Path):
    before = tree_hashes(ws)
    code, out, err, peak = run_forked(case.argv, ws)
    try:
        assert "Traceback" not in out + err, err
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
        assert lines[0].startswith(f"scratchnn: {case.level}: "), lines[0]
        assert case.match in lines[0], lines[0]
        assert code == case.code, f"exit {code}, expected {case.code}: {lines[0]}"
        if case.stdout is not None:
            assert case.stdout in out, out
        assert peak < MEMORY_BUDGET, f"peak memory {peak / 2**20:.0f} MiB above the parent's"
        after = tree_hashes(ws)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert changed <= set(case.outputs), f"changed outside the requested output: {sorted(changed)}"
        for name in case.outputs:
            if before.get(name) is None:
                assert name in after, f"{name} was not written"
    finally:
        for name in case.outputs:  # leave the workspace as it was for the next case
            if before.get(name) is None and (ws / name).is_file():
                (ws / name).unlink()


def test_json_lines_are_valid(ws: Path):
    code, out, err, _ = run_forked(["predict", "model.npz", "digit.png", "blank.png", "--json", "--top", "3"], ws)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [r["file"] for r in rows] == ["digit.png", "blank.png"]
    assert len(rows[0]["probabilities"]) == 3 and 0 < rows[0]["probability"] <= 1
    assert "blank" in rows[1]["error"] and err.count("\n") == 1
