"""What a table reader inferred, said out loud: the delimiter, suspicious columns and headers, missing cells.

tunenet guesses a few things about a CSV/Parquet table (the field separator,
the target's task, which columns are categorical). This module makes those
guesses visible and checkable:

- :func:`detect_delimiter`: the first of ``, TAB ; | SPACE`` that splits the
  first lines of a file into the same number (> 1) of fields;
- :func:`table_warnings`: a header line that looks like data (scikit-learn's
  ``iris.csv`` starts ``150,4,setosa,versicolor,virginica``) and columns that
  look like row ids (named ``id``/``index``/``*_id``, integers counting up by
  one, or text with a different value in nearly every row);
- :func:`target_warnings`: an integer target taken as many classes (linnerud's
  ``Pulse``: 11 classes in 20 rows) that is more likely a quantity;
- :func:`check_missing`: every missing cell counted, the first few named;
- :func:`describe_dataset`: the lines ``tunenet train`` prints at the start of
  a run (target, task, feature count, encoded columns, warnings).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from .compressed import csv_suffix, readable_csv
from .validation import CLASSIFICATION, Where

#: delimiters tried by :func:`detect_delimiter`, in order of preference
DELIMITERS = (",", "\t", ";", "|", " ")
DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'", "|": "'|'", " ": "space"}
#: bytes read from the start of a file to detect its delimiter
SNIFF_BYTES = 64 * 1024
#: missing cells named in the error (the rest are counted)
MISSING_SHOWN = 5
ID_NAME = re.compile(r"^(id|idx|index|row|row_?id|row_?number|unnamed: ?0|.+[_ ]id)$", re.IGNORECASE)


def delimiter_name(delimiter: str) -> str:
    """``";"`` -> ``"';'"``, ``"\\t"`` -> ``"tab"`` (as ``--delimiter`` accepts it)."""
    return DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _sample_lines(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        raw = f.read(SNIFF_BYTES)
    text = raw.decode("utf-8", errors="replace")
    if len(raw) == SNIFF_BYTES and "\n" in text:
        text = text[:text.rindex("\n")]  # drop the partial last line
    return text


def detect_delimiter(path: str | os.PathLike) -> str:
    """The delimiter of a CSV file: the first of :data:`DELIMITERS` that gives every sampled line the same
    number of fields, more than one; ``","`` when none does (the reader then names the ragged line)."""
    text = _sample_lines(path)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
        if counts and counts[0] > 1 and all(c == counts[0] for c in counts):
            return delimiter
    return ","


def delimiter_hint(path: str | os.PathLike, used: str) -> str:
    """``"; the file may be separated by ';': pass --delimiter ';'"`` when its header holds another candidate."""
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline()
    for delimiter in DELIMITERS:
        if delimiter != used and delimiter.strip() and delimiter in header:
            return f"; the file may be separated by {delimiter_name(delimiter)}: pass --delimiter " \
                   f"{delimiter_name(delimiter)}"
    return ""


def table_read_notes(path_or_frame, delimiter: str | None) -> list[str]:
    """``["delimiter ';' (detected)"]`` for a CSV file whose detected delimiter is not a comma."""
    if delimiter is not None or not isinstance(path_or_frame, (str, os.PathLike)):
        return []
    if csv_suffix(path_or_frame) not in (".csv", ".txt"):
        return []
    detected = detect_delimiter(readable_csv(Path(path_or_frame)))
    return [] if detected == "," else [f"delimiter {delimiter_name(detected)} (detected)"]


def metadata_hint(path: str | os.PathLike) -> str:
    """``"; the first line ... looks like metadata ..."`` when some of its fields are numbers."""
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline().strip()
    fields = next(csv.reader([header]), [])
    if not any(_is_number(x) for x in fields):
        return ""
    return f"; the first line {header[:60]!r} looks like metadata, not column names: remove it"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def header_warning(names: Sequence[str], source: str) -> str | None:
    """A warning when column names are numbers: the first line is probably data or metadata, not a header."""
    numbers = [n for n in names if _is_number(str(n))]
    if not numbers:
        return None
    shown = ", ".join(repr(str(n)) for n in numbers[:4]) + (", ..." if len(numbers) > 4 else "")
    return (f"{source}: the header line {','.join(map(str, names))[:80]!r} looks like data: column names "
            f"{shown} are numbers. If the first line is data or metadata (scikit-learn's iris.csv starts with "
            "one), remove it or put a line of column names first")


def id_columns(columns: dict[str, np.ndarray], target: str) -> list[tuple[str, str]]:
    """(name, why) of feature columns that look like row ids."""
    found = []
    for name, values in columns.items():
        if name == target:
            continue
        m = len(values)
        if ID_NAME.match(str(name)):
            found.append((name, "its name says it is an identifier"))
        elif values.dtype.kind == "f" and m >= 10 and np.all(np.diff(values) == 1):
            found.append((name, f"its values count up by one ({values[0]:g}, {values[1]:g}, ...)"))
        elif values.dtype == object and m >= 20:
            present = [v for v in values if v is not None]
            if len(set(present)) > 0.9 * m:
                found.append((name, f"{len(set(present))} of its {m} values are distinct"))
    return found


#: a number written with a decimal comma (``0,13``, ``-1234,5``): what a semicolon-separated European CSV holds
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def decimal_comma_columns(columns: dict[str, np.ndarray]) -> list[tuple[str, list[str]]]:
    """(name, first values) of text columns whose every value is a number with a decimal comma (or an integer)."""
    found = []
    for name, values in columns.items():
        if values.dtype != object:
            continue
        present = [str(v).strip() for v in values if v is not None and str(v).strip()]
        with_comma = [v for v in present if DECIMAL_COMMA.match(v)]
        if with_comma and all(DECIMAL_COMMA.match(v) or v.lstrip("+-").isdigit() for v in present):
            found.append((name, with_comma[:2]))
    return found


def table_warnings(columns: dict[str, np.ndarray], target: str, source: str) -> list[str]:
    """Warnings about a table's header, decimal-comma numbers and id-like columns (the columns after ``drop``)."""
    warnings = []
    header = header_warning(list(columns), source)
    if header:
        warnings.append(header)
    commas = decimal_comma_columns(columns)
    for name, examples in commas:
        role = "the target" if name == target else "a feature"
        warnings.append(f"column {name!r} holds numbers written with a decimal comma "
                        f"({', '.join(map(repr, examples))}, ...) and is read as text ({role}: "
                        f"{'classes' if name == target else 'one-hot categories'}); tunenet reads '.' as the "
                        "decimal point: convert the file first (e.g. pandas.read_csv(path, sep=';', decimal=',')"
                        ".to_csv(new_path, index=False))")
    for name, why in id_columns(columns, target):
        if name not in dict(commas):  # the distinct numbers of a decimal-comma column are not ids
            warnings.append(f"column {name!r} looks like a row id ({why}) but is used as a feature; "
                            f"leave it out with --drop {name}")
    return warnings


def target_warnings(name: str, task: str, classes: list | None, n_rows: int, task_given: bool) -> list[str]:
    """A warning when an inferred classification has many integer classes for its rows (a quantity?)."""
    if task_given or task != CLASSIFICATION or not classes or any(isinstance(c, str) for c in classes):
        return []
    k = len(classes)
    if k >= 3 and (k > 10 or n_rows / k < 5):
        return [f"target {name!r} holds integers and was taken as {k} classes ({n_rows} rows, "
                f"{n_rows / k:.1f} per class); if it is a quantity, pass --task regression"]
    return []


def _missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype == object:
        return np.fromiter((v is None or (isinstance(v, float) and v != v) for v in values), bool, len(values))
    return np.zeros(len(values), dtype=bool)


def _row_only(where: Where, i: int) -> str:
    """``"line 5"`` or ``"row 4"`` from ``where.row(i)`` without the source and the parenthesis."""
    text = where.row(i)
    text = text[len(where.whole()) + 2:] if text.startswith(where.whole() + ", ") else text
    return re.sub(r" \(.*\)$", "", text)


def check_missing(columns: dict[str, np.ndarray], where: Where) -> None:
    """Refuse missing cells, counting them all and naming the first :data:`MISSING_SHOWN` (row order)."""
    masks = {name: _missing_mask(values) for name, values in columns.items()}
    total = sum(int(mask.sum()) for mask in masks.values())
    if not total:
        return
    names = list(columns)
    rows = np.flatnonzero(np.any(np.column_stack(list(masks.values())), axis=1))
    places = []
    for i in rows:
        for name in names:
            if masks[name][i]:
                places.append(f"{_row_only(where, int(i))} column {name!r}")
        if len(places) >= MISSING_SHOWN:
            break
    first_place = where.cell(int(rows[0]), next(n for n in names if masks[n][rows[0]]))
    if total == 1:
        raise DataError(f"{first_place}: missing value; tunenet does not impute, fill or drop this row")
    per_column = ", ".join(f"{name!r} {int(mask.sum())}" for name, mask in masks.items() if mask.any())
    more = f", and {total - MISSING_SHOWN} more" if total > MISSING_SHOWN else ""
    raise DataError(f"{first_place}: missing value, one of {total} in {len(rows)} rows (by column: {per_column}); "
                    f"others at {'; '.join(places[1:MISSING_SHOWN])}{more}. tunenet does not impute: fill them, "
                    "drop those rows, or leave a column out with --drop")


def describe_dataset(dataset, splits: Sequence[int] | None = None) -> list[str]:
    """What was read: rows, target, task, features and their encoding, then the warnings (one line each).

    ``splits`` are the (train, dev, test) row counts when the data is already split.
    """
    enc = dataset.encoding or {}
    lines = []
    if splits is not None:
        rows = f"{sum(splits):,} rows (train {splits[0]:,}, dev {splits[1]:,}, test {splits[2]:,})"
    else:
        rows = f"{dataset.n_samples:,} rows" + (f" + {len(dataset.X_test):,} test rows"
                                               if dataset.X_test is not None else "")
    target = f"target {enc['target']!r}" if enc.get("target") else "target y"
    if dataset.task == CLASSIFICATION:
        names = dataset.class_names or []
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        task = f"classification, {len(names)} classes ({shown})"
    else:
        task = "regression"
    lines.append(f"data: {dataset.name}, {rows}; {target} -> {task}")
    specs = enc.get("columns")
    if specs is not None:
        categorical = [f"{s['name']} ({len(s['categories'])})" for s in specs if s["type"] == "categorical"]
        features = f"features: {dataset.n_features} from {len(specs)} column{'s' * (len(specs) != 1)}"
        features += f"; one-hot: {', '.join(categorical)}" if categorical else "; all numeric"
    else:
        features = f"features: {dataset.n_features}" + (f" ({'x'.join(map(str, dataset.image_shape))} images)"
                                                         if dataset.image_shape else "")
    lines.append(features + "".join(f"; {n}" for n in getattr(dataset, "notes", ())))
    lines += [f"warning: {w}" for w in getattr(dataset, "warnings", ())]
    return lines
