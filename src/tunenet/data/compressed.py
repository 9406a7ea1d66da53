"""Compressed CSV files: a gzip, bzip2 or xz-compressed table (``data.csv.gz``, ``.bz2``, ``.xz``).

Such a file is inflated once per process into a temporary file (removed at
exit) and read as a plain one; messages name the compressed file, and a line
number is a line of its content. It may not inflate to more than the memory
the process may use (:func:`~tunenet.memory.memory_budget`), since the table
is read into memory afterwards: a small file that would inflate to gigabytes
(a "zip bomb") stops with one error line once that much has come out, not
after the disk filled.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from ..errors import DataError
from ..memory import format_bytes, memory_budget

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
#: compressions a CSV file may have, by suffix: the stdlib module that reads each
CSV_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}
CHUNK = 1 << 20


def is_compressed_csv(path: str | os.PathLike) -> bool:
    """``data.csv.gz`` (``.bz2``, ``.xz``; ``.tsv``, ``.txt`` inside): a CSV file this module inflates."""
    path = Path(path)
    return path.suffix.lower() in CSV_COMPRESSIONS and Path(path.stem).suffix.lower() in CSV_SUFFIXES


def csv_suffix(path: str | os.PathLike) -> str:
    """The CSV suffix of ``path``, under its compression suffix if it has one: ``.tsv`` for ``x.tsv.gz``."""
    path = Path(path)
    return Path(path.stem).suffix.lower() if is_compressed_csv(path) else path.suffix.lower()


@cache
def _inflated_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tunenet-csv-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@cache
def _inflate(path: Path, mtime_ns: int, size: int, shown: str) -> Path:
    """The content of the compressed file ``path`` in a temporary file (per process; keyed by mtime and size).

    Messages name the file as the user gave it (``shown``)."""
    import lzma

    opener = importlib.import_module(CSV_COMPRESSIONS[path.suffix.lower()]).open
    limit = memory_budget()
    folder = _inflated_dir()
    handle, name = tempfile.mkstemp(dir=folder, suffix=f"-{path.stem}")
    os.close(handle)
    out = Path(name)
    written = 0
    try:
        with opener(path, "rb") as src, open(out, "wb") as dst:
            while True:
                try:
                    chunk = src.read(CHUNK)
                except (EOFError, OSError, lzma.LZMAError) as exc:  # gzip.BadGzipFile is an OSError
                    raise DataError(f"{shown}: corrupt or truncated {path.suffix[1:]} data ({exc})") from None
                if not chunk:
                    break
                written += len(chunk)
                if written > limit:
                    raise DataError(f"{shown}: inflates to more than {format_bytes(limit)}, the memory this "
                                    "process may use; a table that large cannot be read into memory")
                try:
                    dst.write(chunk)
                except OSError as exc:
                    raise DataError(f"{shown}: cannot write its inflated copy to {folder} ({exc})") from None
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def readable_csv(path: Path) -> Path:
    """``path`` itself, or, for a compressed CSV file, a plain copy of its content (see the module docstring)."""
    if not is_compressed_csv(path):
        return path
    stat = path.stat()
    return _inflate(path.resolve(), stat.st_mtime_ns, stat.st_size, os.fspath(path))
