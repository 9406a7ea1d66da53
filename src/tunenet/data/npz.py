"""Reading ``.npz`` archives as untrusted data: every member's header is checked before its array exists.

An ``.npz`` file is a zip archive of ``.npy`` members. Each member starts
with the magic ``\\x93NUMPY``, a version, a header length and a Python dict
literal ``{'descr': '<f4', 'fortran_order': False, 'shape': (m, n)}``, then
``prod(shape) * itemsize`` bytes of data. ``numpy.load`` allocates the array
the header declares before reading a byte of data, so a 578-byte file whose
header claims shape ``(40000, 40000)`` asks for 6 GiB. Here, for each member:

1. the zip entry's sizes are plausible: a stored member's uncompressed size
   equals its compressed size, a deflated one is at most
   :data:`MAX_DEFLATE_RATIO` times larger (deflate cannot do better than
   about 1032:1, so more is a forged size);
2. the ``.npy`` header is parsed with numpy's header reader (a dict
   literal, never code), the dtype must be plain (booleans, numbers, fixed
   width strings: no objects, which would need pickle, no structured types);
3. the bytes the header declares must be exactly the bytes the member holds
   after its header, and fit in the memory budget (:mod:`tunenet.memory`);

and only then is the array read (into a buffer of that size). Nothing is
unpickled: a pickle (or anything not a zip archive) is "not an .npz file".
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..memory import check_bytes

MAX_DEFLATE_RATIO = 1100
PLAIN_KINDS = "biufcUS"
MAX_HEADER = 10_000


def _member_header(f, source: str, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    try:
        version = fmt.read_magic(f)
        if version not in readers:
            raise DataError(f"{source}: array {key!r} has .npy format version {version}; expected 1.0 or 2.0")
        shape, fortran, dtype = readers[version](f, max_header_size=MAX_HEADER)
    except DataError:
        raise
    except (ValueError, SyntaxError, EOFError, OSError, TypeError) as exc:
        raise DataError(f"{source}: array {key!r} has no readable .npy header ({str(exc).splitlines()[0][:120]})") \
            from None
    if dtype.hasobject:
        raise DataError(f"{source}: array {key!r} holds Python objects, which would need pickle; "
                        "save plain numeric or string arrays")
    if dtype.kind not in PLAIN_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(f"{source}: array {key!r} has dtype {dtype}; expected numbers, booleans or strings")
    return tuple(shape), bool(fortran), dtype


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, key: str) -> np.ndarray:
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise DataError(f"{source}: array {key!r}: the archive says {info.file_size} bytes but stores "
                        f"{info.compress_size} (forged sizes)")
    if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
        raise DataError(f"{source}: array {key!r}: {info.compress_size} compressed bytes cannot hold the "
                        f"{info.file_size} bytes the archive declares (forged sizes)")
    with zf.open(info) as f:
        shape, fortran, dtype = _member_header(f, source, key)
        nbytes = math.prod(shape) * dtype.itemsize
        held = info.file_size - f.tell()
        if nbytes != held:
            raise DataError(f"{source}: array {key!r}: its header declares shape {shape} {dtype} "
                            f"({nbytes:,} bytes) but the member holds {held:,} bytes after its header")
        check_bytes(nbytes, f"{source}: array {key!r} of shape {shape}", DataError)
        buffer = bytearray(nbytes)
        if f.readinto(buffer) != nbytes:
            raise DataError(f"{source}: array {key!r} is truncated")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def read_npz_arrays(path: str | os.PathLike, required: Sequence[str] = ("X", "y")) -> tuple[dict, str]:
    """The arrays of an ``.npz`` file, each checked before it is allocated (see the module docstring)."""
    path = Path(path)
    source = os.fspath(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            check_bytes(total, f"{source}: its {len(infos)} arrays", DataError)
            for info in infos:
                key = info.filename.removesuffix(".npy")
                if info.is_dir():
                    continue
                if key in arrays:
                    raise DataError(f"{source}: array {key!r} appears twice in the archive")
                arrays[key] = _read_member(zf, info, source, key)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{source}: not a readable .npz file (a zip archive of .npy arrays): {exc}") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as exc:  # CRC errors, encrypted members
        raise DataError(f"{source}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    require(arrays, required, source)
    return arrays, source


def require(arrays: dict, required: Sequence[str], source: str) -> None:
    """A DataError naming the first of ``required`` that is not among ``arrays``."""
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(f"{source}: no array {missing[0]!r} (found: {', '.join(arrays) or 'none'}); "
                        f"save it with np.savez(path, {', '.join(f'{k}={k}' for k in required)})")


SPARSE_MEMBERS = ("data", "indices", "indptr", "shape", "format")


def is_sparse_archive(arrays: dict) -> bool:
    """Whether the archive is a ``scipy.sparse.save_npz`` matrix (members data/indices/indptr/shape/format)."""
    return "X" not in arrays and all(k in arrays for k in SPARSE_MEMBERS)


def sparse_matrix(arrays: dict, source: str):
    """The CSR/CSC matrix of a ``scipy.sparse.save_npz`` archive, every member checked first.

    ``format`` must be ``csr`` or ``csc``; ``shape`` two non-negative integers
    ``(m, n)``; ``indptr`` ``major + 1`` non-decreasing integers from 0 to
    ``nnz`` (``major`` = m for CSR, n for CSC); ``indices`` ``nnz`` integers
    in ``[0, minor)``; ``data`` ``nnz`` finite numbers. The members were
    already read with the bounds of :func:`read_npz_arrays` (no pickle, sizes
    checked before allocation); the matrix is built without densifying.
    """
    from scipy import sparse

    fmt = arrays["format"]
    fmt = fmt.item() if fmt.shape == () else None
    fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else fmt
    if fmt not in ("csr", "csc"):
        raise DataError(f"{source}: sparse member 'format' is {fmt!r}; expected 'csr' or 'csc'")
    shape = arrays["shape"]
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or np.any(shape < 0):
        raise DataError(f"{source}: sparse member 'shape' must be two non-negative integers, got {shape.tolist()!r}")
    m, n = (int(v) for v in shape)
    major, minor = (m, n) if fmt == "csr" else (n, m)
    data, indices, indptr = arrays["data"], arrays["indices"], arrays["indptr"]
    for key, arr, kinds in (("indices", indices, "iu"), ("indptr", indptr, "iu"), ("data", data, "biuf")):
        if arr.ndim != 1 or arr.dtype.kind not in kinds:
            raise DataError(f"{source}: sparse member {key!r} must be 1-D {'integers' if kinds == 'iu' else 'numbers'}"
                            f", got shape {arr.shape} {arr.dtype}")
    nnz = data.shape[0]
    if indptr.shape[0] != major + 1:
        raise DataError(f"{source}: sparse member 'indptr' has {indptr.shape[0]} entries; a {fmt} matrix of "
                        f"shape {(m, n)} needs {major + 1}")
    if indices.shape[0] != nnz:
        raise DataError(f"{source}: sparse members 'indices' ({indices.shape[0]}) and 'data' ({nnz}) differ in length")
    if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr.astype(np.int64)) < 0):
        raise DataError(f"{source}: sparse member 'indptr' must rise from 0 to {nnz} (the number of stored values)")
    bad = np.flatnonzero((indices < 0) | (indices >= minor))
    if bad.size:
        raise DataError(f"{source}: sparse member 'indices' holds {indices[bad[0]].item()} at position {bad[0]}; "
                        f"expected 0..{minor - 1}")
    bad = np.flatnonzero(~np.isfinite(data)) if data.dtype.kind == "f" else np.empty(0, int)
    if bad.size:
        raise DataError(f"{source}: sparse member 'data' holds a non-finite value at position {bad[0]}")
    build = sparse.csr_matrix if fmt == "csr" else sparse.csc_matrix
    return build((data, indices, indptr), shape=(m, n))
