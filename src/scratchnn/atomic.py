"""Atomic file writes: either the old file or the complete new one, at every moment.

:func:`atomic_write` writes to a temporary file in the target's folder, flushes and
fsyncs it, renames it over the target (an atomic step on POSIX and Windows) and
fsyncs the folder. A writer killed mid-save leaves only its temporary file behind;
the next save to the same path removes temporaries whose writer is dead (or that
are older than :data:`STALE_TMP_SECONDS`).
"""
from __future__ import annotations

import errno
import os
import tempfile
import time
from collections.abc import Callable
from typing import IO

#: Temporary files older than this are removed by the next save to the same path.
STALE_TMP_SECONDS = 24 * 3600


def _tmp_prefix(path: str) -> str:
    return "." + os.path.basename(path) + ".tmp-"


def _remove_stale_temps(path: str) -> int:
    """Delete temporary files a killed save to ``path`` left behind; returns how many.

    A temporary file is ``.<name>.tmp-<pid>-<random>``; it is stale when process
    ``pid`` no longer exists (on this machine) or when it is older than a day.
    """
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _tmp_prefix(path)
    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(prefix):
            continue
        pid_text = name[len(prefix):].split("-", 1)[0]
        full = os.path.join(directory, name)
        try:
            stale = time.time() - os.stat(full).st_mtime > STALE_TMP_SECONDS
            if not stale and pid_text.isdigit():
                stale = not _pid_alive(int(pid_text))
            if stale:
                os.unlink(full)
                removed += 1
        except OSError:
            continue
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":  # on Windows os.kill(pid, 0) would terminate pid
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True
    return True


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``.

    Either the old file or the complete new one is at ``path`` at every moment,
    even if the process is killed. The temporary file is
    ``.<name>.tmp-<pid>-<random>`` in the same folder (a rename is atomic only
    within one file system); one left behind by a killed writer is deleted by
    the next ``atomic_write`` to the same path.

    Raises:
        IsADirectoryError: ``path`` is a folder (or ends with a separator); names ``path``.
        FileNotFoundError: the folder to write into does not exist; names that folder, never
            the temporary file.
    """
    path = os.fspath(path)
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise IsADirectoryError(21, "cannot write a file over a folder (give a file name such as model.npz inside it)", path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), directory)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{_tmp_prefix(path)}{os.getpid()}-")
    try:
        # mkstemp creates the file 0600; give it the mode an ordinary open() would (0666 & ~umask).
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
