"""Reading and writing the IDX format of MNIST-style data sets, gzip-compressed or raw.

IDX layout (all integers big-endian)::

    bytes 0-1   0x00 0x00                         (magic, part 1)
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64         (magic, part 2)
    byte  3     number of dimensions d (1..8 here)
    4*d bytes   one uint32 size per dimension
    then        prod(sizes) items of the type, in C order

:func:`read_idx` checks every part of that header, that the data is exactly as
long as the header says (no truncation, no trailing bytes) and, where the
caller knows it, the expected type and shape; every problem is a
:class:`~scratchnn.errors.DataError` naming the file and what is wrong.

Example:
    >>> import numpy as np, tempfile, os
    >>> from scratchnn.datasets.idx import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte.gz")
    >>> write_idx(path, np.arange(5, dtype=np.uint8))
    >>> read_idx(path).tolist()
    [0, 1, 2, 3, 4]
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import IO

import numpy as np

from ..errors import DataError

#: IDX type code -> NumPy big-endian dtype.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("=").str[1:]: code for code, dt in IDX_TYPES.items()}
MAX_DIMS = 8
#: Refuse headers that declare more than this many bytes (a hostile or corrupt size).
MAX_BYTES = 2**31
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike, *, expect_dtype: object = None,
             expect_shape: tuple | None = None) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw; detected from the content) into a native-endian array.

    Args:
        path: the file.
        expect_dtype: if given, the IDX type the file must hold (e.g. ``np.uint8``).
        expect_shape: if given, the shape it must have; ``None`` entries match any size
            (e.g. ``(None, 28, 28)`` for MNIST images).

    Returns:
        An array of shape ``sizes`` and the file's type, native byte order, writable.

    Raises:
        DataError: bad magic, unknown type code, bad dimension count, a size that is
            too large, truncated or trailing data, a corrupt gzip stream, or a type or
            shape other than the expected one.
        FileNotFoundError / OSError: the file cannot be opened.
    """
    path = os.fspath(path)
    raw = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        is_gzip = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        f: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw
        try:
            return _read_stream(f, path, expect_dtype, expect_shape)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataError(f"{path}: the gzip stream is corrupt or truncated ({exc}). "
                            "Delete the file and download or copy it again.") from None
    finally:
        raw.close()


def _read_exact(f: IO[bytes], n: int, path: str, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DataError(f"{path}: truncated IDX file: expected {n} bytes of {what}, found {len(data)}.")
    return data


def _read_stream(f: IO[bytes], path: str, expect_dtype, expect_shape) -> np.ndarray:
    magic = _read_exact(f, 4, path, "header")
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(f"{path}: not an IDX file: the first two bytes are {magic[:2].hex()}, "
                        "expected 0000 (is it an HTML error page or another format?).")
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; "
                        f"known: {', '.join(f'0x{c:02X}' for c in IDX_TYPES)}.")
    if not 1 <= ndim <= MAX_DIMS:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions; expected 1 to {MAX_DIMS}.")
    dims = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "dimension sizes"))
    dtype = IDX_TYPES[code]
    nbytes = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if nbytes > MAX_BYTES:
        raise DataError(f"{path}: IDX header declares shape {dims} ({nbytes} bytes), over the "
                        f"{MAX_BYTES}-byte limit; the file is corrupt.")
    if expect_dtype is not None and dtype.newbyteorder("=") != np.dtype(expect_dtype):
        raise DataError(f"{path}: expected IDX data of type {np.dtype(expect_dtype)}, "
                        f"found {dtype.newbyteorder('=')} (type code 0x{code:02X}).")
    if expect_shape is not None:
        ok = len(expect_shape) == len(dims) and all(e is None or e == d for e, d in zip(expect_shape, dims))
        if not ok:
            shown = tuple("N" if e is None else e for e in expect_shape)
            raise DataError(f"{path}: expected an IDX array of shape {shown}, found {dims}.")
    data = _read_exact(f, nbytes, path, f"data for shape {dims}")
    if f.read(1):
        raise DataError(f"{path}: trailing bytes after the {nbytes} bytes of data that the header "
                        f"declares for shape {dims}; the file is corrupt.")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as IDX; gzip it when ``compress`` is true (default: when ``path`` ends in ``.gz``).

    The gzip header's timestamp is zero, so the same array always gives the same bytes.
    """
    from ..atomic import atomic_write

    array = np.ascontiguousarray(array)
    key = array.dtype.newbyteorder("=").str[1:]
    if key not in _CODES:
        raise DataError(f"write_idx: dtype {array.dtype} has no IDX type code; use one of "
                        f"{sorted(_CODES)}.")
    if not 1 <= array.ndim <= MAX_DIMS:
        raise DataError(f"write_idx: arrays must have 1 to {MAX_DIMS} dimensions; got {array.ndim}.")
    header = bytes([0, 0, _CODES[key], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(IDX_TYPES[_CODES[key]]).tobytes()
    path = os.fspath(path)
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, compresslevel=9, mtime=0)
    atomic_write(path, lambda f: f.write(payload))
    os.chmod(path, 0o644)  # mkstemp makes 0600; data files are meant to be readable by all
