"""Read CSV and Parquet files (and DataFrames) into named columns, with places for error messages.

A table becomes ``{column name: 1-D ndarray}``: numeric and boolean columns
as numbers (float64, NaN where empty), text columns as object arrays of
``str`` (None where empty). CSV files are parsed by pyarrow (fast, multi-
threaded) and must have a header line; the delimiter is detected unless given
(:func:`~tunenet.data.table_notes.detect_delimiter`); when parsing fails, the file is
scanned again with the :mod:`csv` module to name the line at fault.
A compressed CSV (``data.csv.gz``) is read through a plain copy of its content
(:mod:`tunenet.data.compressed`).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import DataError
from .compressed import CSV_SUFFIXES, csv_suffix, readable_csv
from .table_notes import _is_number, delimiter_hint, detect_delimiter, metadata_hint
from .validation import TableWhere, csv_record_lines, first_ragged_line
from .widecsv import wide_csv_columns

PARQUET_SUFFIXES = (".parquet", ".pq")


def _existing_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: is not a file")
    return path


def _arrow_columns(table, where_source: str) -> dict[str, np.ndarray]:
    """pyarrow Table -> {name: ndarray}; refuses duplicate names and non-tabular types."""
    import pyarrow as pa
    import pyarrow.types as pat

    names = table.column_names
    seen = set()
    for name in names:
        if name in seen:
            numbers = _is_number(name) and sum(map(_is_number, names)) * 2 > len(names)
            raise DataError(f"{where_source}: column name {name!r} appears twice; column names must be unique"
                            + ("; the first line holds numbers: if the file has no header line (scikit-learn's "
                               "digits.csv has none), put a line of column names first" if numbers else ""))
        seen.add(name)
    columns = {}
    for name, column in zip(names, table.columns, strict=True):
        kind = column.type
        if pat.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pat.is_boolean(kind) or pat.is_integer(kind) or pat.is_floating(kind) or pat.is_null(kind):
            values = column.cast(pa.float64()).to_numpy()
        elif pat.is_string(kind) or pat.is_large_string(kind):
            values = np.asarray(column.to_pylist(), dtype=object)
        elif pat.is_binary(kind) or pat.is_large_binary(kind):
            values = _utf8_column(column.to_pylist(), where_source, name)
        else:
            raise DataError(f"{where_source}, column {name!r}: values of type {kind} are not supported; "
                            "expected numbers or text (convert dates to numbers, or drop the column with drop=[...])")
        columns[name] = values
    return columns


def _utf8_column(cells: list, where_source: str, name: str) -> np.ndarray:
    """A column pyarrow left as bytes: text if it is UTF-8; otherwise say which encoding it looks like."""
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        try:
            cell.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = cell[exc.start]
            guess = cell.decode("cp1252", errors="replace")
            raise DataError(f"{where_source}, column {name!r}, data row {i + 1}: text is not UTF-8 (byte 0x{bad:02x}); "
                            f"it reads as Latin-1/Windows-1252 {guess!r}: save the file as UTF-8 "
                            "(e.g. iconv -f latin1 -t utf-8)") from None
    return np.asarray([None if c is None else c.decode("utf-8") for c in cells], dtype=object)


def read_csv_columns(path: str | os.PathLike, delimiter: str | None = None) -> tuple[dict[str, np.ndarray], TableWhere]:
    """Read a CSV file with a header line; rows are named by their line in the file (header = line 1)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = _existing_file(path)
    source = os.fspath(path)
    tab = csv_suffix(path) == ".tsv"
    path = readable_csv(path)  # a compressed file's content; messages keep naming the file given (source)
    if path.stat().st_size == 0:
        raise DataError(f"{source}: empty file; expected a header line and data rows")
    delimiter = delimiter or ("\t" if tab else detect_delimiter(path))
    convert = pacsv.ConvertOptions(strings_can_be_null=True, timestamp_parsers=[])

    def some_columns(names: list[str]) -> dict[str, np.ndarray]:
        options = pacsv.ConvertOptions(strings_can_be_null=True, timestamp_parsers=[], include_columns=names)
        parse = pacsv.ParseOptions(delimiter=delimiter)
        return _arrow_columns(pacsv.read_csv(path, parse_options=parse, convert_options=options), source)

    wide = wide_csv_columns(path, delimiter, some_columns)  # thousands of columns: vectorised
    if wide is not None:
        return wide, _csv_where(path, source, list(wide), delimiter)
    try:
        table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter), convert_options=convert)
    except pa.ArrowInvalid as exc:
        ragged = first_ragged_line(path, delimiter)
        if ragged:
            line, n_fields, n_header = ragged
            raise DataError(f"{source}, line {line} (header is line 1): {n_fields} fields, but the header has "
                            f"{n_header}; every row needs one value per column"
                            f"{delimiter_hint(path, delimiter) if n_header == 1 else metadata_hint(path)}") from None
        try:  # quoted fields spanning lines need the slower parser mode
            parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
            table = pacsv.read_csv(path, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid:
            raise DataError(f"{source}: not a readable CSV file ({exc})") from None
    columns = _arrow_columns(table, source)
    if len(columns) == 1 and (hint := delimiter_hint(path, delimiter)):
        raise DataError(f"{source}: the header line has one field, {next(iter(columns))!r}{hint}")
    return columns, _csv_where(path, source, list(columns), delimiter)


def _csv_where(path: Path, source: str, names: list[str], delimiter: str) -> TableWhere:
    """Places in a CSV file: a record's line is found (once, on the first error) by scanning the file."""
    @cache
    def lines() -> list[int]:
        return csv_record_lines(path, delimiter)

    return TableWhere(source, names, line_of_record=lambda i: lines()[i])


def read_parquet_columns(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], TableWhere]:
    """Read a Parquet file; rows are named 1-based over the data rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = _existing_file(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = _arrow_columns(table, os.fspath(path))
    return columns, TableWhere(os.fspath(path), list(columns))


def dataframe_columns(frame) -> tuple[dict[str, np.ndarray], TableWhere]:
    """A pandas DataFrame as columns; rows are named 1-based (row 1 is the first row)."""
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"DataFrame: column name {dup!r} appears twice; column names must be unique")
    columns = {}
    for name, (_, series) in zip(names, frame.items(), strict=True):
        values = series.to_numpy()
        if values.dtype.kind in "biuf":
            values = values.astype(np.float64)
        elif values.dtype.kind in "OUS":
            values = np.asarray([None if v is None or (isinstance(v, float) and np.isnan(v)) else v
                                 for v in values], dtype=object)
        else:
            raise DataError(f"DataFrame, column {name!r}: dtype {values.dtype} is not supported; "
                            "expected numbers or text")
        columns[name] = values
    return columns, TableWhere("DataFrame", names)


def read_columns(table_or_path, delimiter: str | None = None) -> tuple[dict[str, np.ndarray], TableWhere]:
    """Columns of a CSV/Parquet file or a DataFrame, and the :class:`TableWhere` naming its places."""
    if hasattr(table_or_path, "columns") and hasattr(table_or_path, "items"):
        return dataframe_columns(table_or_path)
    path = Path(table_or_path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return read_parquet_columns(path)
    if csv_suffix(path) in CSV_SUFFIXES:
        return read_csv_columns(path, delimiter)
    raise DataError(f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; expected "
                    f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)} (the CSV ones may be gzip, bzip2 or xz "
                    "compressed) or .npz")
