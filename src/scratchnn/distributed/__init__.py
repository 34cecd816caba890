"""Data-parallel training over MPI: ``mpiexec -n 4 python script.py`` with
``model.fit(x, y, distributed=True)``, or ``mpiexec -n 4 scratchnn train --distributed``.

- :class:`Communicator`: the MPI communicator wrapper (``mpi4py``), its few collectives
  each with a watchdog against lost ranks.
- :class:`DataParallel`: what ``fit`` does differently on several ranks (shards, one
  gradient allreduce per step, rank-0-only reports, synchronised BatchNorm on request).

Install with ``pip install "scratchnn[mpi]"`` (``mpi4py`` and the ``mpich`` wheel, which
brings ``mpiexec``). The guide is ``docs/distributed.md``.
"""
from .communicator import (
           DEFAULT_TIMEOUT,
           CollectiveTimeout,
           Communicator,
           launched_ranks,
)
from .data_parallel import (
           DataParallel,
           MismatchError,
           active,
           as_data_parallel,
           is_collective,
)

__all__ = [
           "DEFAULT_TIMEOUT",
           "CollectiveTimeout",
           "Communicator",
           "DataParallel",
           "MismatchError",
           "active",
           "as_data_parallel",
           "is_collective",
           "launched_ranks",
]
