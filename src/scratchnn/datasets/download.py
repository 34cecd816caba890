"""Downloading a file safely: SHA-256 checked, written atomically, never half-present.

:func:`download_file` streams a URL into a temporary file *beside* the target
(``.<name>.part-XXXX``), hashes it while writing, and only when the SHA-256
matches does it ``os.replace`` the temporary file onto the target name. A
download that fails, is interrupted or is corrupted leaves nothing under the
target name, so a half-downloaded file can never be mistaken for data.

Set ``SCRATCHNN_OFFLINE=1`` to forbid every download.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

from .._version import __version__
from ..atomic import atomic_write
from ..errors import DataError

#: Refuse responses larger than this (no MNIST-style file comes close).
MAX_DOWNLOAD_BYTES = 200 * 2**20
CHUNK = 1 << 16


class DownloadError(DataError):
    """A download failed: network error, HTTP error, or a checksum mismatch."""


def offline() -> bool:
    """True when ``SCRATCHNN_OFFLINE`` is set to anything but ``""``/``"0"``."""
    return os.environ.get("SCRATCHNN_OFFLINE", "") not in ("", "0")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_file(url: str, dest: str | os.PathLike, sha256: str | None, *, timeout: float = 30.0,
                  progress: Callable[[int, int | None], None] | None = None) -> str:
    """Download ``url`` to ``dest`` atomically, checking its SHA-256.

    Args:
        url: http(s) URL.
        dest: the final path; its folder is created.
        sha256: expected hex digest (lower case); ``None`` skips the check (tests only).
        timeout: seconds for the connection and for each read.
        progress: optional ``progress(bytes_so_far, total_or_None)`` callback.

    Returns:
        ``dest`` as a string.

    Raises:
        DownloadError: network or HTTP failure, a too-large response, or a digest
            mismatch; nothing is left at ``dest`` or beside it.
    """
    dest = os.fspath(dest)
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": f"scratchnn/{__version__}"})

    def stream_into(out) -> None:
        """Write the response into ``out``; any failure (including a wrong digest) raises,
        and :func:`atomic_write` then removes the partial file: nothing appears at ``dest``."""
        h = hashlib.sha256()
        done = 0
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    done += len(block)
                    if done > MAX_DOWNLOAD_BYTES:
                        raise DownloadError(f"{url}: the response exceeds {MAX_DOWNLOAD_BYTES} bytes")
                    h.update(block)
                    out.write(block)
                    if progress is not None:
                        progress(done, total)
                if total is not None and done != total:
                    raise DownloadError(f"{url}: the connection closed after {done} of {total} bytes")
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"{url}: {reason}") from None
        digest = h.hexdigest()
        if sha256 is not None and digest != sha256.lower():
            raise DownloadError(f"{url}: SHA-256 mismatch: expected {sha256}, got {digest} "
                                f"({done} bytes); the download was discarded.")

    atomic_write(dest, stream_into)  # the same temporary-file-and-rename path as model saves
    return dest


def download_from_mirrors(mirrors: Sequence[str], filename: str, dest: str | os.PathLike,
                          sha256: str | None, *, timeout: float = 30.0,
                          log: Callable[[str], None] | None = None) -> str:
    """Try each ``mirror + filename`` in turn; return ``dest`` after the first verified download.

    Raises:
        DownloadError: listing every URL tried and why each failed.
    """
    if offline():
        raise DownloadError("downloads are disabled (SCRATCHNN_OFFLINE is set)")
    failures = []
    for mirror in mirrors:
        url = mirror if mirror.endswith(filename) else mirror.rstrip("/") + "/" + filename
        if log is not None:
            log(f"downloading {url}")
        try:
            return download_file(url, dest, sha256, timeout=timeout)
        except DownloadError as exc:
            failures.append(str(exc))
    raise DownloadError("every mirror failed: " + "; ".join(failures))
