"""Where data sets are looked for: explicit path, ``SCRATCHNN_DATA``, user cache, Debian, download.

For a data set called ``name`` (e.g. ``"mnist"``) the folders tried are, in order:

1. an explicit ``path`` given by the caller (``--data-dir``): the folder itself, then
   ``path/<name>``. If it is given and holds no files, the search stops there with an
   error: a path the user typed is never silently replaced by another one;
2. ``$SCRATCHNN_DATA/<name>`` and ``$SCRATCHNN_DATA`` (several roots may be separated by ``os.pathsep``);
3. the user cache: ``$SCRATCHNN_CACHE/<name>`` if set, else ``$XDG_CACHE_HOME/scratchnn/<name>``,
   else ``~/.cache/scratchnn/<name>``;
4. the Debian location ``/usr/share/datasets/<name>`` (``apt-get install dataset-fashion-mnist``);
5. a download from the canonical mirrors into the user cache (see :mod:`.download`).

A folder matches when it holds every required file, either gzip-compressed
(``train-images-idx3-ubyte.gz``) or raw (``train-images-idx3-ubyte``).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError

SYSTEM_ROOTS = ("/usr/share/datasets",)


class DatasetNotFoundError(DataError):
    """No folder holds the data set's files and it could not be downloaded."""


def cache_dir() -> Path:
    """The scratchnn user cache folder (not created)."""
    explicit = os.environ.get("SCRATCHNN_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "scratchnn"


def find_file(folder: Path, filename: str) -> Path | None:
    """``folder/filename`` or, for ``*.gz`` names, the uncompressed sibling; ``None`` if neither exists."""
    candidates = [folder / filename]
    if filename.endswith(".gz"):
        candidates.append(folder / filename[:-3])
    for c in candidates:
        if c.is_file():
            return c
    return None


def folder_has(folder: Path, filenames: Sequence[str]) -> dict[str, Path] | None:
    """Map each required file name to its path in ``folder``, or ``None`` if one is missing."""
    found = {}
    for name in filenames:
        p = find_file(folder, name)
        if p is None:
            return None
        found[name] = p
    return found


def candidate_folders(name: str, path: str | os.PathLike | None = None,
                      cache: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The ``(where, folder)`` pairs searched for data set ``name``, in order."""
    if path is not None:
        p = Path(path).expanduser()
        return [("explicit path", p), ("explicit path", p / name)]
    out: list[tuple[str, Path]] = []
    env = os.environ.get("SCRATCHNN_DATA")
    if env:
        for root in env.split(os.pathsep):
            if root:
                out += [("SCRATCHNN_DATA", Path(root).expanduser() / name),
                        ("SCRATCHNN_DATA", Path(root).expanduser())]
    out.append(("user cache", Path(cache) / name if cache is not None else cache_dir() / name))
    out += [("system", Path(root) / name) for root in SYSTEM_ROOTS]
    return out


def locate(name: str, filenames: Sequence[str], path: str | os.PathLike | None = None,
           cache: str | os.PathLike | None = None) -> tuple[dict[str, Path] | None, list[Path]]:
    """Search :func:`candidate_folders`; return ``(files or None, folders tried)``."""
    tried = []
    for _, folder in candidate_folders(name, path, cache):
        tried.append(folder)
        found = folder_has(folder, filenames)
        if found is not None:
            return found, tried
    return None, tried
