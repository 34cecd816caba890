"""``--distributed`` for the commands: start data-parallel training under ``mpiexec``, keep
output on rank 0, and turn errors into one line without leaving ranks waiting."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from ..errors import ConfigError


def add_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel training on the MPI ranks of 'mpiexec -n N scratchnn ...' "
                   "(needs: pip install 'scratchnn[mpi]'); --batch-size stays the global batch")


def check_launch(command: str, distributed: bool) -> None:
    """Refuse a run under ``mpiexec -n N`` (N > 1) without ``--distributed``: every rank
    would train the same model alone and write the same files."""
    from ..distributed import launched_ranks

    n = launched_ranks()
    if n > 1 and not distributed:
        raise ConfigError(f"this process is one of {n} MPI ranks (started by mpiexec/srun) but "
                          f"--distributed was not given: every rank would train alone. Add --distributed, "
                          f"or run 'scratchnn {command}' without mpiexec.")


def refuse_under_mpi(command: str) -> None:
    """A command without ``--distributed`` started by ``mpiexec -n N`` (N > 1): a clear error
    instead of N copies of the same work writing the same files."""
    from ..distributed import launched_ranks

    n = launched_ranks()
    if n > 1:
        why = {"forecast": "a forecaster trains in seconds on a series of a few thousand values, where "
                           "the communication would cost more than it saves"}.get(command, "it does not train")
        raise ConfigError(f"'scratchnn {command}' does not run on several MPI ranks ({why}); run it as one "
                          f"process, without mpiexec. Data-parallel training: scratchnn train --distributed, "
                          f"scratchnn textgen train --distributed. Received: {n} MPI ranks")


def run(command: str, args, body: Callable) -> int:
    """``body(dp)`` with ``dp`` a DataParallel (``--distributed``) or None.

    Errors every rank raises together (ranks that disagree, a diverged loss) are printed
    by rank 0 only (the others exit with status 1 quietly); an error on one rank alone
    prints one line naming the rank and ends the whole job (``MPI_Abort``), as a rank
    left waiting in a collective would otherwise hang."""
    check_launch(command, args.distributed)
    if not args.distributed:
        return body(None)
    from ..distributed import DataParallel, is_collective
    from . import EXIT_ERROR, one_line

    dp = DataParallel()
    try:
        return body(dp)
    except BaseException as exc:
        if dp.size > 1 and is_collective(exc):
            if not dp.is_root:
                return EXIT_ERROR
        elif dp.size > 1 and not isinstance(exc, SystemExit):
            dp.comm.abort(f"scratchnn: error: rank {dp.rank} of {dp.size}: {one_line(exc).rstrip('.')}; "
                          f"ending all {dp.size} ranks")
        raise
