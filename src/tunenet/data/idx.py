"""The IDX file format of MNIST and Fashion-MNIST, gzipped or raw.

An IDX file is a big-endian header followed by the array's bytes::

    0x00 0x00 <type code> <ndim>   then ndim uint32 sizes   then the data

with type codes 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64. ``train-images-idx3-ubyte`` holds uint8 images of shape
(60000, 28, 28), ``train-labels-idx1-ubyte`` uint8 labels of shape (60000,).

Files are recognised as gzip by their magic bytes, not their name. Parsing is
one ``numpy.frombuffer`` over the decompressed bytes (no copy for uint8).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_write_bytes
from ..memory import check_bytes

GZIP_MAGIC = b"\x1f\x8b"
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_CODES = {dt: code for code, dt in IDX_DTYPES.items()}


MAX_DIMS = 16  # MNIST-like files have 1 to 4; numpy allows 64


def gunzip(data: bytes, limit: int | None = None) -> bytes:
    """Decompress gzip data (all members), checking each member's CRC-32 and length.

    With ``limit``, at most ``limit`` bytes are produced: more raises
    :class:`ValueError` (a gzip bomb, or data beyond what a header declared)
    before the excess is ever held in memory.
    """
    parts, produced = [], 0
    while data:
        inflater = zlib.decompressobj(wbits=31)  # 31 = gzip wrapper; zlib verifies the trailer
        if limit is None:
            parts.append(inflater.decompress(data))
        else:
            chunk = inflater.decompress(data, limit - produced + 1)
            produced += len(chunk)
            parts.append(chunk)
            if produced > limit:
                raise ValueError(f"decompresses to more than {limit} bytes")
        if not inflater.eof:
            if limit is not None and inflater.unconsumed_tail:
                raise ValueError(f"decompresses to more than {limit} bytes")
            raise EOFError("compressed data ended before the end-of-stream marker")
        data = inflater.unused_data
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _gunzip_head(data: bytes, n: int) -> bytes:
    """The first ``n`` decompressed bytes (or fewer, if the data is shorter)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(data, n)
    except zlib.error:
        return b""


def decompress_if_gzip(data: bytes, source: str | os.PathLike, limit: int | None = None) -> bytes:
    """Return ``data`` gunzipped (at most ``limit`` bytes) if it starts with the gzip magic bytes, else unchanged."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gunzip(data, limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{os.fspath(source)}: corrupt or truncated gzip data ({exc})") from None
    except ValueError as exc:
        raise DataError(f"{os.fspath(source)}: gzip data {exc}, more than its IDX header declares") from None


def parse_header(head: bytes, source: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, header size) from the first bytes of an IDX file; sizes in Python integers (no overflow)."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{source}: not an IDX file (expected the magic bytes 00 00 <type> <ndim>, "
                        f"found {head[:4].hex(' ') or 'an empty file'})")
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        raise DataError(f"{source}: unknown IDX type code 0x{code:02X} "
                        f"(expected one of {', '.join(f'0x{c:02X}' for c in IDX_DTYPES)})")
    if not 1 <= ndim <= MAX_DIMS:
        raise DataError(f"{source}: IDX header declares {ndim} dimensions; expected 1 to {MAX_DIMS}")
    header_size = 4 + 4 * ndim
    if len(head) < header_size:
        raise DataError(f"{source}: truncated IDX header ({len(head)} bytes for {ndim} dimensions)")
    return IDX_DTYPES[code], struct.unpack(f">{ndim}I", head[4:header_size]), header_size


def parse_idx(data: bytes, source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array.

    Returns
    -------
    ndarray, shape given by the header, native byte order
        A read-only view of ``data`` for single-byte types.
    """
    source = os.fspath(source)
    dtype, shape, header_size = parse_header(data[:4 + 4 * MAX_DIMS], source)
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - header_size
    if found != expected:
        dims = " x ".join(map(str, shape))
        problem = "truncated" if found < expected else "extra bytes"
        raise DataError(f"{source}: IDX header says {dims} {dtype.name} values ({expected:,} bytes) "
                        f"but the file holds {found:,} bytes of data ({problem})")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into an array of the shape in its header.

    The header is read first; the size it declares is checked against the
    memory budget and bounds the decompression, so a small gzip file that
    inflates to gigabytes is refused without inflating it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an IDX file") from None
    if data.startswith(GZIP_MAGIC):
        head = _gunzip_head(data, 4 + 4 * MAX_DIMS)
        dtype, shape, header_size = parse_header(head, os.fspath(path))
        nbytes = math.prod(shape) * dtype.itemsize
        check_bytes(nbytes, f"{path}: IDX array of shape {shape}", DataError)
        data = decompress_if_gzip(data, path, limit=header_size + nbytes)
    return parse_idx(data, path)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` (uint8, int8, int16, int32, float32 or float64) in the IDX format."""
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in IDX_CODES:
        raise DataError(f"IDX cannot store dtype {array.dtype}; use uint8, int8, int16, int32, float32 or float64")
    header = bytes([0, 0, IDX_CODES[big], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=big).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file, gzipped if ``compress`` (default: when the name ends in ``.gz``)."""
    path = Path(path)
    data = idx_bytes(array)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    atomic_write_bytes(path, data)
