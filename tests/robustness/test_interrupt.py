"""Nothing is lost on interruption: atomic saves under SIGKILL, and exact resume from a checkpoint.

``SCRATCHNN_KILLS`` sets how many saves are killed (default 100).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import scratchnn as sn
from scratchnn import io as snio

L = sn.layers

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and SIGKILL")


def _model(seed: int) -> sn.Sequential:
    m = sn.Sequential([L.Dense(256, 384), L.ReLU(), L.Dense(384, 256)], seed=seed)
    m.compile("mse", sn.optimizers.Adam(lr=1e-3))
    rng = np.random.default_rng(seed)
    m.fit(rng.normal(size=(8, 256)), rng.normal(size=(8, 256)), epochs=1, batch_size=8, verbose=0)
    return m


def _same_weights(model, weights) -> bool:
    return all(np.array_equal(a[k], b[k]) for a, b in zip(model.get_weights(), weights) for k in a)


def _temps(path) -> list[str]:
    prefix = snio._tmp_prefix(str(path))
    return [n for n in os.listdir(os.path.dirname(path)) if n.startswith(prefix)]


def test_sigkill_mid_save_never_loses_the_model(tmp_path):
    n_kills = int(os.environ.get("SCRATCHNN_KILLS", 100))
    a, b = _model(1), _model(2)
    wa, wb = a.get_weights(), b.get_weights()
    target = tmp_path / "model.npz"
    durations = []
    for _ in range(3):
        t0 = time.perf_counter()
        a.save(target)
        durations.append(time.perf_counter() - t0)
    t_save = sorted(durations)[1]  # kill delays scale with this machine's save time
    rng = np.random.default_rng(0)
    mid_save = seen_a = seen_b = 0
    for i in range(n_kills):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (Python >= 3.12)
            pid = os.fork()
        if pid == 0:  # child: save A and B alternately until killed
            try:
                j = 0
                while True:
                    (b if j % 2 == 0 else a).save(target)
                    j += 1
            finally:
                os._exit(0)
        time.sleep(float(rng.uniform(0.0, 3 * t_save)))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        mid_save += bool(_temps(target))  # a temp file left behind: the kill hit a save in progress
        loaded = sn.load_model(target)  # never ModelFileError: the file is always complete
        if _same_weights(loaded, wa):
            seen_a += 1
        else:
            assert _same_weights(loaded, wb), f"kill {i}: the file is neither the old nor the new model"
            seen_b += 1
    assert mid_save >= n_kills // 4, f"only {mid_save} of {n_kills} kills hit a save in progress"
    assert seen_b, "no save ever completed before a kill"
    # Temp files of the killed writers are cleaned up by the next save, never pile up.
    assert len(_temps(target)) <= mid_save
    a.save(target)
    assert _temps(target) == []
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]
    print(json.dumps({"kills": n_kills, "mid_save": mid_save, "file_held_a": seen_a, "file_held_b": seen_b}))


def test_atomic_write_keeps_old_file_when_writer_raises(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def broken(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        snio.atomic_write(target, broken)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


def test_stale_temp_of_a_live_process_is_kept(tmp_path):
    """Only temp files whose writer is gone are removed: a concurrent save is not sabotaged."""
    target = tmp_path / "m.npz"
    live = tmp_path / f"{snio._tmp_prefix(str(target))}{os.getpid()}-abc"
    dead = tmp_path / f"{snio._tmp_prefix(str(target))}999999999-abc"
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    snio.atomic_write(target, lambda f: f.write(b"new"))
    assert live.exists() and not dead.exists() and target.read_bytes() == b"new"


RESUME_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import scratchnn as sn
    L = sn.layers
    mode, ckpt, out = sys.argv[1:4]
    EPOCHS, KILL_AFTER = 5, 2
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = rng.integers(0, 3, 120)

    def make():
        m = sn.Sequential([L.Dense(6, 16), L.ReLU(), L.Dropout(0.3), L.Dense(16, 3)], seed=42)
        m.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=0.01), metrics=["accuracy"])
        return m

    class KillAfter(sn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == KILL_AFTER:
                os.kill(os.getpid(), signal.SIGKILL)

    ckpt_cb = sn.callbacks.ModelCheckpoint(ckpt, monitor="loss")
    fit = dict(batch_size=16, validation_split=0.2, verbose=0)
    if mode == "full":
        m = make()
        m.fit(X, y, epochs=EPOCHS, **fit)
    elif mode == "interrupted":
        make().fit(X, y, epochs=EPOCHS, callbacks=[ckpt_cb, KillAfter()], **fit)
        sys.exit("not killed")
    else:
        m = sn.load_model(ckpt)
        assert m.epochs_trained == KILL_AFTER, m.epochs_trained
        m.fit(X, y, epochs=EPOCHS - m.epochs_trained, callbacks=[ckpt_cb], **fit)
    np.savez(out, *[w[k] for w in m.get_weights() for k in sorted(w)],
             history=np.array(m.history.history["val_loss"]))
""")


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT)
    ckpt, full, resumed = tmp_path / "ckpt.npz", tmp_path / "full.npz", tmp_path / "resumed.npz"

    def run(mode, out):
        return subprocess.run([sys.executable, str(script), mode, str(ckpt), str(out)], capture_output=True,
                              text=True, timeout=300)

    p = run("interrupted", tmp_path / "never.npz")
    assert p.returncode == -signal.SIGKILL, p.stderr[-3000:]
    assert ckpt.exists() and not (tmp_path / "never.npz").exists()
    for mode, out in (("resume", resumed), ("full", full)):
        p = run(mode, out)
        assert p.returncode == 0, p.stderr[-3000:]
    with np.load(full) as f, np.load(resumed) as r:
        assert sorted(f.files) == sorted(r.files)
        for k in f.files:
            assert f[k].dtype == r[k].dtype and f[k].tobytes() == r[k].tobytes(), k  # bit-identical
    # The checkpoint restores every piece of state: without the rng state, dropout masks differ.
    m = sn.load_model(ckpt)
    assert m.epochs_trained == 5 and m.optimizer.iterations == 5 * 6
