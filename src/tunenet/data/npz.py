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
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(f"{path}: no array {missing[0]!r} (found: {', '.join(arrays) or 'none'}); "
                        f"save it with np.savez(path, {', '.join(f'{k}={k}' for k in required)})")
    return arrays, source
