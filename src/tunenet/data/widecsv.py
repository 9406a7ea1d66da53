"""Wide CSV files in vectorised form: thousands of numeric columns without a per-column parser cost.

pyarrow's CSV reader spends about half a millisecond per column converting
it, whatever its length: a 100,000-column x 30-row file took a minute. For a
file with at least :data:`WIDE_COLUMNS` columns this reader instead

1. splits the (unquoted) file into a ``(rows, columns)`` array of byte
   strings in one pass;
2. takes as *numeric* each column whose cells are all non-empty and made only
   of ``0-9 + - . e E``, and converts all of them with one
   ``astype(float64)`` call (if a cell such as ``1-2`` fails, column by column;
   a column numpy cannot parse falls back to (3));
3. hands the remaining (text, empty, ``NA``...) columns to pyarrow with
   ``include_columns``, so they get exactly the ordinary reader's rules
   (nulls, booleans, UTF-8).

The columns come back in the file's order, as :func:`tunenet.data.tables`
returns them. Files it does not handle (narrow, quoted fields, ``\\r\\n``
line ends, a byte-order mark, a line with the wrong number of fields) return ``None``: the
ordinary reader takes them and names the line at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

WIDE_COLUMNS = 1000
MAX_BYTES = 256 << 20  # the cells array costs a few times the file: larger files go to pyarrow
NUMERIC_BYTES = b"0123456789+-.eE"


def wide_csv_columns(path: Path, delimiter: str,
                     read_columns: Callable[[list[str]], dict[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    """``{name: column}`` of a wide CSV file (see the module docstring), or None to use the ordinary reader.

    ``read_columns(names)`` reads just those columns with the ordinary reader.
    """
    if len(delimiter) != 1 or path.stat().st_size > MAX_BYTES:
        return None
    with open(path, "rb") as f:
        head = f.readline()
        if head.count(delimiter.encode()) + 1 < WIDE_COLUMNS:
            return None
        raw = head + f.read()
    if b'"' in raw or b"\r" in raw or raw.startswith(b"\xef\xbb\xbf"):  # quotes, CRLF, a byte-order mark
        return None
    try:
        names = head.rstrip(b"\n").decode("utf-8").split(delimiter)
    except UnicodeDecodeError:
        return None
    if len(set(names)) != len(names):
        return None  # the ordinary reader names the duplicate
    sep = delimiter.encode()
    rows = [line.split(sep) for line in raw[len(head):].split(b"\n") if line]
    if not rows or any(len(r) != len(names) for r in rows):
        return None
    cells = np.array(rows, dtype=bytes)                       # (m, n) byte strings
    numeric = _numeric_columns(cells)
    values = {}
    index = np.flatnonzero(numeric)
    try:
        block = cells[:, index].astype(np.float64)
        values.update((names[j], np.ascontiguousarray(col)) for j, col in zip(index, block.T))
    except ValueError:  # a cell such as "1-2" or ".": column by column, the ordinary reader takes the failures
        for j in index:
            try:
                values[names[j]] = cells[:, j].astype(np.float64)
            except ValueError:
                pass
    rest = [name for name in names if name not in values]
    if rest:
        values.update(read_columns(rest))
    return {name: values[name] for name in names}


def _numeric_columns(cells: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns whose cells are all non-empty and only of :data:`NUMERIC_BYTES`.

    One lookup over the array's bytes (``S`` strings are padded with NUL,
    which counts as allowed), no Python loop over cells.
    """
    allowed = np.zeros(256, bool)
    allowed[list(NUMERIC_BYTES)] = True
    allowed[0] = True
    m, n = cells.shape
    raw = cells.view(np.uint8).reshape(m, n, cells.dtype.itemsize)
    clean = allowed[raw].all(axis=(0, 2))
    return clean & (np.char.str_len(cells) > 0).all(axis=0)
