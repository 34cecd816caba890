"""The MPI communicator wrapper: the few collectives data-parallel training needs, each
with a watchdog, so that a lost or hung rank ends in a clear error instead of a hang.

MPI (through ``mpi4py``) moves the bytes; this module only

- turns MPI errors into :class:`~scratchnn.errors.DistributedError` (the communicator's
  error handler is ``MPI.ERRORS_RETURN`` instead of the default "abort"),
- runs every collective as its non-blocking form (``Iallreduce``, ``Ibcast``,
  ``Iallgatherv``) and waits for it with a deadline: past ``timeout`` seconds without
  completion it raises :class:`CollectiveTimeout` naming the step; the caller then
  aborts the whole job (``MPI_Abort``), which ends every rank.

A rank killed outright (``SIGKILL``, out of memory, a lost node) is usually noticed by
the launcher first: ``mpiexec`` (MPICH's Hydra, Open MPI's ``mpirun``, Slurm's ``srun``)
ends the other ranks within a second and reports the dead one. The watchdog covers the
rest: a rank that hangs (stopped, deadlocked, swapping), or a launcher that waits.

Waiting calls ``MPI_Test`` in a loop: MPI advances a non-blocking collective only inside
such calls (a sleep between them made a 1 MB allreduce 40x slower here). Between calls the
rank yields its core (``sched_yield``) to a rank that shares it; after ``SPIN_S`` seconds
of waiting (a slow peer, a checkpoint being written) it polls once a millisecond.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from ..errors import ConfigError, DistributedError

#: Seconds a rank waits inside one collective before it gives up (``SCRATCHNN_MPI_TIMEOUT``).
DEFAULT_TIMEOUT = 300.0
#: Seconds a waiting rank polls without sleeping (yielding the core) before it polls once a millisecond.
SPIN_S = 1.0
#: Seconds a failing rank waits after printing its one-line error, before ``MPI_Abort``.
ABORT_GRACE_S = 0.5


class CollectiveTimeout(DistributedError):
    """A collective did not complete within the watchdog's timeout: a rank died or hangs."""


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ConfigError("distributed training needs mpi4py and an MPI library: "
                          "python3 -m pip install 'scratchnn[mpi]'. "
                          f"Received: ImportError: {exc}") from None
    return MPI


def launched_ranks() -> int:
    """The number of ranks this process was started with by an MPI launcher (``mpiexec``,
    ``mpirun``, ``srun --mpi=pmi2/pmix``), read from the environment; 1 otherwise.

    Read without importing MPI, so a command can refuse a mistaken launch cheaply."""
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


def _timeout_from_env() -> float:
    text = os.environ.get("SCRATCHNN_MPI_TIMEOUT")
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"SCRATCHNN_MPI_TIMEOUT must be a positive number of seconds. "
                          f"Received: SCRATCHNN_MPI_TIMEOUT={text!r}")
    return value


class Communicator:
    """A group of MPI processes (ranks) and the collectives of data-parallel training.

    Args:
        comm: an ``mpi4py`` communicator; default ``MPI.COMM_WORLD`` (every rank
            ``mpiexec`` started).
        timeout: seconds a rank waits in one collective before raising
            :class:`CollectiveTimeout`; default ``$SCRATCHNN_MPI_TIMEOUT`` or 300.
            It must exceed the longest time one rank may run ahead of another (a
            checkpoint written by rank 0, a validation pass).

    All buffers are contiguous NumPy arrays, reduced in place; there is no pickling.
    """

    def __init__(self, comm=None, *, timeout: float | None = None) -> None:
        self.MPI = _import_mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.comm.Set_errhandler(self.MPI.ERRORS_RETURN)
        if timeout is None:
            timeout = _timeout_from_env()
        elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigError(f"Communicator: timeout must be a positive number of seconds. "
                              f"Received: timeout={timeout!r}")
        self.timeout = float(timeout)
        self.rank: int = self.comm.Get_rank()
        self.size: int = self.comm.Get_size()

    @property
    def is_root(self) -> bool:
        """Rank 0: the one that prints, plots and writes files."""
        return self.rank == 0

    def __repr__(self) -> str:
        return f"Communicator(rank={self.rank}, size={self.size}, timeout={self.timeout:g})"

    # ------------------------------------------------------------ waiting
    def _wait(self, start, what: str):
        """Start a non-blocking collective (``start()`` returns its request) and wait for it."""
        MPI = self.MPI
        try:
            request = start()
            now = time.monotonic()
            deadline, spin_until = now + self.timeout, now + SPIN_S
            while not request.Test():  # MPI progresses a non-blocking collective inside Test
                now = time.monotonic()
                if now > deadline:
                    raise CollectiveTimeout(
                        f"rank {self.rank} of {self.size}: no answer from the other ranks within "
                        f"{self.timeout:g} s during {what}; a rank has died or hangs")
                if now < spin_until:
                    os.sched_yield()  # let a rank that shares this core run
                else:
                    time.sleep(1e-3)
        except MPI.Exception as exc:
            raise DistributedError(f"rank {self.rank} of {self.size}: MPI error during {what}: "
                                   f"{' '.join(exc.Get_error_string().split())}") from None

    # -------------------------------------------------------- collectives
    def allreduce_(self, buf: np.ndarray, what: str = "an allreduce") -> np.ndarray:
        """Sum ``buf`` over all ranks, in place (every rank ends with the sum); returns ``buf``."""
        if self.size > 1:
            self._wait(lambda: self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM), what)
        return buf

    def bcast_(self, buf: np.ndarray, root: int = 0, what: str = "a broadcast") -> np.ndarray:
        """Copy rank ``root``'s ``buf`` into every rank's ``buf``, in place; returns ``buf``."""
        if self.size > 1:
            self._wait(lambda: self.comm.Ibcast(buf, root=root), what)
        return buf

    def allgather_rows(self, local: np.ndarray, what: str = "an allgather") -> np.ndarray:
        """Concatenate every rank's ``local`` (rows, rank order) on every rank.

        Shapes may differ along axis 0 only; ranks may hold zero rows."""
        local = np.ascontiguousarray(local)
        if self.size == 1:
            return local
        counts = self.allreduce_(self._one_hot(len(local), np.int64), what)
        row = int(np.prod(local.shape[1:], dtype=np.int64))
        out = np.empty((int(counts.sum()),) + local.shape[1:], dtype=local.dtype)
        sizes = [int(c) * row for c in counts]
        displs = [sum(sizes[:r]) for r in range(self.size)]
        self._wait(lambda: self.comm.Iallgatherv(local.reshape(-1), [out.reshape(-1), (sizes, displs)]), what)
        return out

    def allgather_json(self, obj, what: str = "an allgather") -> list:
        """Every rank's JSON-safe ``obj``, in rank order, on every rank (no pickle)."""
        data = np.frombuffer(json.dumps(obj, sort_keys=True).encode(), dtype=np.uint8)
        if self.size == 1:
            return [obj]
        counts = self.allreduce_(self._one_hot(len(data), np.int64), what)
        gathered = self.allgather_rows(data, what)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        return [json.loads(gathered[bounds[r]:bounds[r + 1]].tobytes()) for r in range(self.size)]

    def _one_hot(self, value, dtype) -> np.ndarray:
        buf = np.zeros(self.size, dtype=dtype)
        buf[self.rank] = value
        return buf

    def barrier(self, what: str = "a barrier") -> None:
        """Wait until every rank reaches this point."""
        if self.size > 1:
            self._wait(self.comm.Ibarrier, what)

    def abort(self, message: str, code: int = 1) -> None:
        """Print ``message`` as one line on stderr and end every rank of the job (``MPI_Abort``)."""
        print(" ".join(message.split()), file=sys.stderr, flush=True)
        sys.stdout.flush()
        # MPI_Abort makes the launcher kill every rank at once, and it may do so before it has
        # forwarded what this rank just wrote: the job then ended with no message at all (1 run
        # in 16 with MPICH's mpiexec). Leave it a moment to pass the line on.
        time.sleep(ABORT_GRACE_S)
        self.comm.Abort(code)
        os._exit(code)  # should MPI_Abort return
