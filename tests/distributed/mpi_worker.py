"""Run by the tests as ``mpiexec -n N python mpi_worker.py SCENARIO OUT [options]``.

The models and data are built here too, so that the tests train the single-process
reference with the very same functions.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

import numpy as np

import scratchnn as sn
from scratchnn import layers as L

#: Steps per run in the equivalence test; per-rank batch size.
STEPS, PER_RANK = 50, 3


def n_samples(ranks: int, last: int | None = None) -> int:
    """50 global batches of ranks*PER_RANK samples, the last one a sample short (unequal
    shards), or of ``last`` samples (1: every rank but one has nothing to do)."""
    if last is not None:
        return (STEPS - 1) * ranks * PER_RANK + last
    return STEPS * ranks * PER_RANK - 1


def parse(spec: str) -> tuple[str, str, bool, int | None]:
    """``kind:dtype[:sync][:last1]`` -> (kind, dtype, sync_batchnorm, size of the last batch)."""
    kind, dtype, *flags = spec.split(":")
    last = next((int(f[4:]) for f in flags if f.startswith("last")), None)
    return kind, dtype, "sync" in flags, last


class Batches:
    """A re-iterable source of (x, y) batches (fit's streaming path), in order."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __iter__(self):
        xs = self.x if isinstance(self.x, list) else [self.x]
        for i in range(0, len(self.y), self.batch_size):
            xb = [a[i:i + self.batch_size] for a in xs]
            yield (xb if isinstance(self.x, list) else xb[0]), self.y[i:i + self.batch_size]


def data(kind: str, n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    if kind == "cnn":
        x = rng.normal(size=(n, 1, 6, 6))
    elif kind == "multi":  # two inputs
        x = [rng.normal(size=(n, 6)), rng.normal(size=(n, 2))]
    elif kind == "lstm":
        x = rng.normal(size=(n, 5, 3))
    else:
        x = rng.normal(size=(n, 6))
    return x, rng.integers(0, 3, n)


def build(kind: str, dtype: str, seed: int = 0, hidden: int = 8) -> sn.Model:
    if kind == "mlp":
        model = sn.Sequential([L.Dense(6, hidden), L.Tanh(), L.Dense(hidden, 3)], seed=seed, dtype=dtype)
    elif kind == "cnn":
        model = sn.Sequential([L.Conv2D(1, 4, 3), L.ReLU(), L.MaxPool2D(2), L.Flatten(), L.Dense(16, 3)],
                              seed=seed, dtype=dtype)
        model.build((1, 6, 6))
    elif kind == "lstm":
        model = sn.Sequential([L.LSTM(3, hidden), L.Dense(hidden, 3)], seed=seed, dtype=dtype)
        model.build((5, 3))
    elif kind == "graph":  # a residual connection and fan-out
        x = sn.Input((6,))
        h = L.Dense(6, 6)(x)
        y = L.Dense(6, 3)(L.Add()([x, L.Tanh()(h)]))
        model = sn.Model(x, y, seed=seed, dtype=dtype)
    elif kind == "multi":  # two inputs, a batch source instead of arrays (fit's streaming path)
        a, b = sn.Input((6,)), sn.Input((2,))
        h = L.Concatenate()([L.Dense(6, 4)(a), L.Dense(2, 4)(b)])
        model = sn.Model([a, b], L.Dense(8, 3)(L.Tanh()(h)), seed=seed, dtype=dtype)
    elif kind == "bn":  # BatchNorm: compared with one process only when synchronised
        # (no bias before BatchNorm: its gradient is 0 up to rounding, which Adam would amplify)
        model = sn.Sequential([L.Dense(6, hidden, use_bias=False), L.BatchNorm(hidden), L.ReLU(), L.Dense(hidden, 3)],
                              seed=seed, dtype=dtype)
    else:
        raise ValueError(kind)
    model.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=1e-2), ["accuracy"])
    return model


def train(kind: str, dtype: str, n: int, batch_size: int, distributed=False, epochs: int = 1, model=None):
    x, y = data(kind, n)
    model = model or build(kind, dtype)
    xs = x if isinstance(x, list) else [x]
    head, tail = [a[:-40] for a in xs], [a[-40:] for a in xs]
    if len(xs) == 1:
        head, tail = head[0], tail[0]
    if kind == "multi":
        model.fit(Batches(head, y[:-40], batch_size), epochs=epochs, verbose=0, distributed=distributed,
                  validation_data=(tail, y[-40:]))
    else:
        model.fit(head, y[:-40], epochs=epochs, batch_size=batch_size, verbose=0, distributed=distributed,
                  validation_data=(tail, y[-40:]))
    return model


def equivalence(args, comm):
    from scratchnn.distributed import DataParallel

    if args.broken == "sum":  # no weighting: the sum of the ranks' gradients, not their mean
        DataParallel.reduce_gradients = _unweighted
    elif args.broken == "equal":  # 1/N each, wrong whenever the shards are unequal
        original = DataParallel.part

        def part(self, n):
            s = original(self, n)
            self.weight = 1.0 / self.size
            return s
        DataParallel.part = part
    out = {}
    for spec in args.models.split(","):
        kind, dtype, sync, last = parse(spec)
        dist = DataParallel(sync_batchnorm=sync)
        model = train(kind, dtype, n_samples(comm.size, last) + 40, comm.size * PER_RANK, dist)
        out[spec] = model.flat_params
        out[spec + "/history"] = np.array(model.history.history["val_loss"] + model.history.history["loss"])
        out[spec + "/optimizer"] = np.concatenate([v.ravel() for st in model.optimizer.state.values()
                                                   for v in st.values()])
    _save_per_rank(args.out, comm, out)


def _unweighted(self, flat_grads, poison=False):
    self.comm.allreduce_(flat_grads)


def _save_per_rank(out, comm, arrays):
    np.savez(f"{out}.rank{comm.rank}.npz", **arrays)


class _KillAt(sn.callbacks.Callback):
    """Kill (SIGKILL) or stop (SIGSTOP) this rank at a given epoch and batch."""

    def __init__(self, epoch, batch, sig):
        self.epoch_to_hit, self.batch, self.sig, self.epoch = epoch, batch, sig, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.epoch == self.epoch_to_hit and batch == self.batch:
            if self.sig == "raise":
                raise ValueError("a failure on this rank only")
            os.kill(os.getpid(), getattr(signal, self.sig))


def fault(args, comm):
    """Train 4 epochs with a checkpoint per epoch; rank ``--victim`` fails in epoch 3."""
    kind, dtype = "mlp", "float64"
    x, y = data(kind, 400)
    model = build(kind, dtype)
    cbs = [sn.callbacks.ModelCheckpoint(args.out)]
    if comm.rank == args.victim:
        cbs.append(_KillAt(2, 5, args.signal))
    model.fit(x, y, epochs=4, batch_size=40, verbose=0, callbacks=cbs, distributed=True)
    print("finished without the fault", flush=True)


def resume(args, comm):
    """Finish the run of :func:`fault` from its checkpoint, on however many ranks."""
    x, y = data("mlp", 400)
    model = sn.load_model(args.out)
    model.fit(x, y, epochs=4 - model.epochs_trained, batch_size=40, verbose=0, distributed=True)
    if comm.rank == 0:
        np.save(args.out + ".resumed.npy", model.flat_params)


def mismatch(args, comm):
    """Rank 1 differs: in its data size, or in its model's hidden size."""
    n = 120 - 20 * (comm.rank == 1 and args.what == "data")
    hidden = 8 + 4 * (comm.rank == 1 and args.what == "model")
    x, y = data("mlp", n)
    model = build("mlp", "float64", hidden=hidden)
    try:
        model.fit(x, y, epochs=1, batch_size=10, verbose=0, distributed=True)
        text = "no error"
    except sn.errors.DistributedError as exc:
        text = f"{type(exc).__name__}: {exc}"
    # one file per rank: the launcher may interleave long lines that ranks print at once
    with open(f"{args.out}.rank{comm.rank}.txt", "w") as f:
        f.write(text)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["equivalence", "fault", "resume", "mismatch"])
    p.add_argument("out")
    p.add_argument("--models", default="mlp:float64")
    p.add_argument("--broken", choices=["sum", "equal"])
    p.add_argument("--victim", type=int, default=1)
    p.add_argument("--signal", default="SIGKILL")
    p.add_argument("--what", default="data")
    args = p.parse_args(argv)
    from scratchnn.distributed import Communicator

    comm = Communicator()
    globals()[args.scenario](args, comm)


if __name__ == "__main__":
    sys.exit(main())
