"""Data-parallel training: every rank holds the whole model and trains on its own shard
of every global batch; one ``Allreduce`` per step averages the gradients.

The semantics are those of Horovod and PyTorch's DistributedDataParallel:

- **Same start.** Before the first step the ranks compare a fingerprint of the model,
  seed, optimizer, fit settings and data (:mod:`.fingerprint`, one allgather) and stop
  together with :class:`~scratchnn.errors.DistributedError` if they differ; then rank 0's
  parameters (one ``Bcast`` of ``model.flat_params``) and buffers are copied to all.
- **Shards.** ``batch_size`` is the *global* batch. Every rank draws the same
  permutation (rank 0's is broadcast each epoch, so dropout drawing differently on each
  rank cannot desynchronise it) and takes a contiguous part of each global batch of
  ``B`` samples: rank ``r`` of ``N`` gets ``B // N`` samples, plus one for the first
  ``B % N`` ranks.
- **Gradients.** Each rank's loss is the mean over its ``n_r`` samples, so its gradient
  ``g_r`` is that of ``L_r = (1/n_r) Σ_{i∈r} l_i``. The gradient of the mean over the
  global batch of ``n = Σ n_r`` samples is

      ∇L = ∇ (1/n) Σ_i l_i = Σ_r (n_r / n) g_r,

  so every rank scales ``model.flat_grads`` by ``n_r / n`` and one ``Allreduce(SUM)``
  of that flat buffer gives every rank ``∇L`` -- exactly, also for the smaller last
  batch. The finite-gradient check runs after it, so every rank stops at the same step;
  the optimizer then makes the same update everywhere (its state stays identical).
- **Reports.** Epoch losses and metrics are summed over ranks (one small allreduce per
  epoch); validation and :meth:`~scratchnn.Model.evaluate` split the data, each rank
  predicts its part and the predictions are gathered, so every rank computes the same
  figures. Callbacks with ``rank_zero_only = True`` (the progress bar,
  :class:`~scratchnn.callbacks.ModelCheckpoint`) run on rank 0 only.
- **BatchNorm.** By default each rank normalises with its own shard's statistics (as
  DDP); the running statistics are rank 0's, broadcast at the end of each epoch (DDP
  broadcasts them before every forward pass), so evaluation and checkpoints agree. With
  ``sync_batchnorm=True`` the batch moments are summed over ranks (two small allreduces
  per BatchNorm call forward, one backward): the result is that of one process on the
  global batch (SyncBatchNorm).
- **Failures.** An exception on one rank only (not a collective one such as
  :class:`~scratchnn.errors.TrainingDivergedError`, which every rank raises at the same
  step) would leave the others waiting forever; so that rank prints one line and ends
  the job with ``MPI_Abort``. A collective that does not complete within the
  communicator's timeout does the same.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ConfigError, DistributedError, TrainingDivergedError
from .communicator import Communicator
from .fingerprint import differences, fingerprint

_ACTIVE: list[DataParallel] = []


def active() -> DataParallel | None:
    """The data-parallel context of the ``fit`` running now, or None (single process)."""
    return _ACTIVE[-1] if _ACTIVE else None


class MismatchError(DistributedError):
    """The ranks disagree on the model, seed, settings or data; raised on every rank together."""


def is_collective(exc: BaseException) -> bool:
    """True for errors that every rank raises at the same point (no rank is left waiting)."""
    return isinstance(exc, (TrainingDivergedError, MismatchError))


class DataParallel:
    """Train one model on several MPI ranks, each on its shard of every global batch.

    Args:
        comm: a :class:`Communicator`; default: all the ranks ``mpiexec`` started.
        sync_batchnorm: normalise BatchNorm layers with the moments of the whole global
            batch (SyncBatchNorm) instead of each rank's shard.
        abort_on_error: when one rank alone raises during ``fit``, end the whole job
            with one line on stderr (``MPI_Abort``) instead of leaving the other ranks
            waiting for it. Leave on unless the caller handles that itself.

    Use ``model.fit(x, y, distributed=True)`` (or ``distributed=DataParallel(...)``) in a
    script started with ``mpiexec -n N python script.py``; the model code is the same as
    for one process. See ``docs/distributed.md``.
    """

    def __init__(self, comm: Communicator | None = None, *, sync_batchnorm: bool = False,
                 abort_on_error: bool = True) -> None:
        if comm is not None and not isinstance(comm, Communicator):
            raise ConfigError(f"DataParallel: comm must be a scratchnn.distributed.Communicator. "
                              f"Received: comm={type(comm).__name__}")
        self.comm = Communicator() if comm is None else comm
        self.sync_batchnorm = bool(sync_batchnorm)
        self.abort_on_error = bool(abort_on_error)
        #: n_r / n of the current step (this rank's share of the global batch).
        self.weight = 1.0
        self.step = 0

    @property
    def rank(self) -> int:
        return self.comm.rank

    @property
    def size(self) -> int:
        return self.comm.size

    @property
    def is_root(self) -> bool:
        return self.comm.is_root

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size}, sync_batchnorm={self.sync_batchnorm})"

    # ------------------------------------------------------------ running
    def run(self, model, call: Callable):
        """Run ``call()`` (a ``fit`` or ``evaluate`` of ``model``) with this context attached."""
        with self.attached(model):
            return call()

    @contextlib.contextmanager
    def attached(self, model):
        """Attach this context to ``model`` (its ``train_step`` then averages gradients over
        the ranks, its evaluation gathers predictions) for a custom training loop::

            with dp.attached(model):
                dp.start(model, None, None, {"steps": steps})
                for xb, yb in batches:                 # the same global batches on every rank
                    part = dp.part(len(xb))
                    model.train_step(xb[part], yb[part])

        An exception on this rank alone (not a collective one) ends the job (``MPI_Abort``)."""
        if getattr(model, "_dist", None) is not None:
            raise ConfigError("a distributed fit/evaluate cannot be started inside another one")
        model._dist = self
        _ACTIVE.append(self)
        try:
            yield self
        except BaseException as exc:
            if self.size > 1 and self.abort_on_error and not is_collective(exc):
                text = " ".join((str(exc) or type(exc).__name__).split()).rstrip(".")
                text = text.removeprefix(f"rank {self.rank} of {self.size}: ")
                self.comm.abort(f"scratchnn: error: rank {self.rank} of {self.size} stopped: "
                                f"{type(exc).__name__}: {text}; ending all {self.size} ranks")
            raise
        finally:
            _ACTIVE.pop()
            model._dist = None

    def start(self, model, xs, ys, settings: dict, val=None) -> None:
        """Before the first step: check that all ranks agree, then copy rank 0's weights."""
        settings = {**settings, "sync_batchnorm": self.sync_batchnorm}
        if self.sync_batchnorm and xs is not None:
            n, b = len(xs[0]), settings["batch_size"]
            smallest = min(b, n % b or b)
            if smallest < self.size:
                raise MismatchError(
                    f"sync_batchnorm needs at least one sample per rank in every batch; with {n} samples "
                    f"and batch_size={b}, a batch has {smallest} for {self.size} ranks. "
                    "Hint: change batch_size or drop a few samples.")
        mine = fingerprint(model, xs, ys, settings, val)
        prints = self.comm.allgather_json(mine, "the start check")
        diff = differences(prints, list(mine))
        if diff:
            raise MismatchError(f"the {self.size} ranks disagree before training on: " + "; ".join(diff)
                                + ". Every rank must build the same model with the same seed and pass "
                                "the same data and settings; each takes its own shard of every batch.")
        self.comm.bcast_(model.flat_params, what="the broadcast of rank 0's parameters")
        self.sync_buffers(model)
        self.step = 0

    def sync_buffers(self, model) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics) to every rank."""
        buffers = [b for layer in model.layers for b in layer.all_buffers().values()]
        if buffers and self.size > 1:
            flat = np.concatenate([b.reshape(-1) for b in buffers])
            self.comm.bcast_(flat, what="the broadcast of rank 0's buffers")
            offset = 0
            for b in buffers:
                b[...] = flat[offset:offset + b.size].reshape(b.shape)
                offset += b.size

    # ------------------------------------------------------------ batches
    def part(self, n: int) -> slice:
        """This rank's contiguous part of ``n`` items; sets :attr:`weight` to its share."""
        base, extra = divmod(n, self.size)
        lo = self.rank * base + min(self.rank, extra)
        hi = lo + base + (self.rank < extra)
        self.weight = (hi - lo) / n if n else 0.0
        return slice(lo, hi)

    def same_order(self, order: np.ndarray) -> np.ndarray:
        """Rank 0's shuffling permutation on every rank."""
        return self.comm.bcast_(np.ascontiguousarray(order, dtype=np.int64), what="the shuffling permutation")

    def shard_batches(self, batches: Iterator) -> Iterator:
        """This rank's part of every global ``(xs, ys)`` batch of a batch source."""
        for xs, ys in batches:
            part = self.part(len(xs[0]))
            if self.sync_batchnorm and part.stop == part.start:
                raise MismatchError(f"sync_batchnorm needs at least one sample per rank; a batch of "
                                    f"{len(xs[0])} has none for rank {self.rank} of {self.size}")
            yield [a[part] for a in xs], [a[part] for a in ys]

    # ------------------------------------------------------------ a step
    def reduce_gradients(self, flat_grads: np.ndarray, poison: bool = False) -> None:
        """Replace every rank's ``flat_grads`` by ``Σ_r (n_r / n) g_r``: ONE ``Allreduce``.

        ``poison`` (this rank's loss is not finite) makes the sum NaN on every rank, so
        that all of them stop at this step."""
        self.step += 1
        if poison:
            flat_grads[...] = np.nan
        elif self.weight != 1.0:
            flat_grads *= flat_grads.dtype.type(self.weight)
        self.comm.allreduce_(flat_grads, what=f"the gradient allreduce of step {self.step}")

    # ------------------------------------------------------------ an epoch
    def reduce_sums(self, values: list[float]) -> list[float]:
        """Sum a few numbers over ranks (epoch totals)."""
        buf = np.asarray(values, dtype=np.float64)
        return [float(v) for v in self.comm.allreduce_(buf, what="the epoch totals")]

    def any(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any (e.g. ``stop_training``)."""
        return self.reduce_sums([float(bool(flag))])[0] > 0

    def keeps(self, callback) -> bool:
        """Whether ``callback`` runs on this rank (``rank_zero_only`` ones run on rank 0 only)."""
        return self.is_root or not getattr(callback, "rank_zero_only", False)

    def predict(self, model, xs: list[np.ndarray], batch_size: int):
        """Predictions for all of ``xs`` on every rank: each predicts its part, then one
        allgather per output."""
        part = self.part(len(xs[0]))
        local = [a[part] for a in xs]
        n_out = len(model.outputs)
        if part.stop > part.start:
            y = model._predict_arrays(local, batch_size)
            outs = [y] if n_out == 1 else list(y)
        else:
            outs = [np.empty((0, *t.shape), dtype=model.dtype) for t in model.outputs]
        full = [self.comm.allgather_rows(o, "the gathering of predictions") for o in outs]
        return full[0] if n_out == 1 else full

    # ------------------------------------------------------- SyncBatchNorm
    def batch_moments(self, x: np.ndarray, axes: tuple) -> tuple[np.ndarray, np.ndarray, int]:
        """Mean and biased variance per channel over the *global* batch, and the count M.

        Two passes as in one process (sum, then sum of squared deviations), each one small
        allreduce of ``C + 1`` numbers."""
        m_local = x.size // x.shape[1]
        buf = np.concatenate([x.sum(axis=axes, dtype=np.float64), [m_local]])
        self.comm.allreduce_(buf, what="the SyncBatchNorm mean")
        m = round(float(buf[-1]))
        mu = (buf[:-1] / m).astype(x.dtype)
        xc = x - mu.reshape((1, -1) + (1,) * (x.ndim - 2))
        sq = np.sum(xc * xc, axis=axes, dtype=np.float64)
        self.comm.allreduce_(sq, what="the SyncBatchNorm variance")
        return mu, (sq / m).astype(x.dtype), m

    def grad_sums(self, sum_dy: np.ndarray, sum_dy_xhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SyncBatchNorm backward: the sums Σ dy and Σ dy·x̂ over the global batch, in the
        units of this rank's loss (its dy is dL_r/dy = dL/dy · n / n_r)."""
        w = self.weight
        buf = np.concatenate([sum_dy, sum_dy_xhat]).astype(np.float64) * w
        self.comm.allreduce_(buf, what="the SyncBatchNorm backward sums")
        buf /= w
        c = len(sum_dy)
        return buf[:c].astype(sum_dy.dtype), buf[c:].astype(sum_dy.dtype)


def as_data_parallel(distributed) -> DataParallel:
    """``True`` -> a :class:`DataParallel` over all ranks; a DataParallel or Communicator as given."""
    if isinstance(distributed, DataParallel):
        return distributed
    if isinstance(distributed, Communicator):
        return DataParallel(distributed)
    if distributed is True:
        return DataParallel()
    raise ConfigError("distributed must be True, a scratchnn.distributed.DataParallel or a Communicator. "
                      f"Received: distributed={distributed!r}")
