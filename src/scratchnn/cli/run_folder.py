"""Run folders that appear whole or not at all, and never replace an older run silently.

A command that writes a run (``train``, ``forecast --out``, ``textgen train``) asks for a
:class:`RunFolder`. Before any work:

- the requested folder must not already hold files, unless ``--force`` (the old run is then
  replaced as a whole, at the end) -- otherwise a :class:`UsageError` (exit status 2) says so;
- the run is written into a hidden sibling ``.<name>.partial-<pid>-<random>`` (which also
  proves that the parent folder is writable), and :meth:`RunFolder.publish` renames it to
  the requested name when the run is complete. A run that fails leaves nothing behind
  (:meth:`RunFolder.abandon`); one that was interrupted after a checkpoint is published
  with that checkpoint only, so that ``--resume`` can continue it.

Resuming (``--resume``) writes into the existing folder in place: it continues that run.
A staging folder left by a killed process (its pid is gone) is removed by the next run
in the same parent folder.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..atomic import _current_umask, _pid_alive
from ..errors import ConfigError

_PARTIAL = ".partial-"
_OLD = ".replaced-"


class UsageError(ConfigError):
    """A command line that cannot work as given (exit status 2, as argparse's own errors)."""


def _remove_stale(parent: Path) -> None:
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        for marker in (_PARTIAL, _OLD):
            if name.startswith(".") and marker in name:
                pid = name.split(marker, 1)[1].split("-", 1)[0]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    shutil.rmtree(parent / name, ignore_errors=True)


def existing_files(path: Path, limit: int = 4) -> list[str]:
    """Up to ``limit`` names of entries in the folder ``path`` (empty when absent or empty)."""
    try:
        return sorted(os.listdir(path))[:limit]
    except (FileNotFoundError, NotADirectoryError):
        return []


def check_new_file(path: str | os.PathLike, flag: str, force: bool) -> None:
    """Refuse (UsageError) to write the file ``path`` over an existing one unless ``force``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder; give a file name")
    if path.exists() and not force:
        raise UsageError(f"{flag} {path} already exists; pass --force to replace it, or choose another name")


class RunFolder:
    """One run's output folder. Write into :attr:`path`; call :meth:`publish` when the run is whole.

    Args:
        final: the folder the user asked for (or a fresh default one).
        force: replace an existing non-empty folder (at publish time, as a whole).
        in_place: write directly into ``final`` (it continues the run already there: ``--resume``).
        flag: the option that named the folder, for messages (``--out``).

    Raises:
        UsageError: ``final`` is a file, or holds files and neither ``force`` nor ``in_place``.
        OSError: the parent folder cannot be written (naming it), before any work.
    """

    def __init__(self, final: str | os.PathLike, *, force: bool = False, in_place: bool = False,
                 flag: str = "--out") -> None:
        self.final = Path(final)
        self.force, self.in_place = force, in_place
        if self.final.exists() and not self.final.is_dir():
            raise UsageError(f"{flag} {self.final} is a file, not a folder")
        old = existing_files(self.final)
        if old and not (force or in_place):
            shown = ", ".join(old) + (", ..." if len(old) == 4 else "")
            raise UsageError(f"{flag} {self.final} already holds files ({shown}); pass --force to "
                             "replace that run, or choose another folder")
        parent = self.final.absolute().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            if in_place:
                self.final.mkdir(exist_ok=True)
                with tempfile.TemporaryFile(dir=self.final):
                    pass
                self.path = self.final
            else:
                _remove_stale(parent)
                self.path = Path(tempfile.mkdtemp(
                    dir=parent, prefix=f".{self.final.name}{_PARTIAL}{os.getpid()}-"))
                # mkdtemp makes it 0700; the published run gets the mode mkdir would give it
                os.chmod(self.path, 0o777 & ~_current_umask())
        except OSError as exc:
            where = self.final if in_place else parent
            raise OSError(exc.errno, f"cannot write to the output folder {where} "
                          f"({exc.strerror or exc})") from None
        self.published = False

    def publish(self) -> Path:
        """Move the finished run to its final name (replacing an old run only with ``force``)."""
        if self.published or self.in_place:
            self.published = True
            return self.final
        old = None
        if self.final.exists():
            if existing_files(self.final):
                if not self.force:  # a folder filled by someone else meanwhile: keep both
                    raise UsageError(f"{self.final} was filled by another process during the run; "
                                     f"this run is in {self.path}")
                old = Path(tempfile.mkdtemp(dir=self.path.parent,
                                            prefix=f".{self.final.name}{_OLD}{os.getpid()}-"))
                os.replace(self.final, old / "run")
            else:
                self.final.rmdir()
        os.replace(self.path, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.published = True
        return self.final

    def abandon(self) -> None:
        """Delete the staging folder of a run that did not complete (nothing appears)."""
        if not self.in_place and not self.published:
            shutil.rmtree(self.path, ignore_errors=True)

    def finish_interrupted(self, checkpoint: str = "model.npz") -> Path | None:
        """After Ctrl-C: publish the run if it holds ``checkpoint`` (to resume), else abandon it."""
        if (self.path / checkpoint).is_file():
            # keep only the checkpoint: other files may describe an unfinished state
            for entry in self.path.iterdir():
                if entry.name != checkpoint and not self.in_place and entry.is_file():
                    entry.unlink()
            return self.publish()
        self.abandon()
        return None
