"""Input checks shared by every entry point (CLI, Python API, tuner, estimators).

Each check raises a :class:`~tunenet.errors.DataError` whose message names the
place at fault and what would be accepted, before any training starts. Places
are named by a :class:`Where`:

- :class:`ArrayWhere` for in-memory arrays: ``X[3, 5]``, ``y[12]`` (0-based
  NumPy indices);
- :class:`TableWhere` for files: ``data.csv, line 7 (header is line 1), column
  'age'`` for CSV (physical line numbers as an editor shows them) and
  ``data.parquet, row 7 (first data row is row 1), column 'age'`` for Parquet
  files and DataFrames.

The checks on arrays are vectorised; the exact position is only searched for
once a check has failed.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ConfigError, DataError

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)


# ----------------------------------------------------------------------------- places


class Where:
    """Names places in one input for error messages (base class)."""

    def whole(self) -> str:
        raise NotImplementedError

    def row(self, i: int) -> str:
        raise NotImplementedError

    def cell(self, i: int, j: int | str) -> str:
        raise NotImplementedError

    def column(self, j: int | str) -> str:
        raise NotImplementedError


class ArrayWhere(Where):
    """An in-memory array, optionally read from a file: ``X[3, 5]``, ``data.npz: y[12]``."""

    def __init__(self, name: str = "X", source: str | os.PathLike | None = None) -> None:
        self.name = name
        self.prefix = f"{os.fspath(source)}: " if source is not None else ""

    def whole(self) -> str:
        return f"{self.prefix}{self.name}"

    def row(self, i: int) -> str:
        return f"{self.prefix}{self.name}[{i}]"

    def cell(self, i: int, j: int | str) -> str:
        return f"{self.prefix}{self.name}[{i}, {j}]"

    def column(self, j: int | str) -> str:
        return f"{self.prefix}{self.name}[:, {j}]"


class TableWhere(Where):
    """A table read from a file (or a DataFrame), whose rows and columns a user can find.

    Parameters
    ----------
    source : str
        The file name (or ``"DataFrame"``).
    columns : sequence of str
        Column names, to name column ``j``.
    line_of_record : callable or None
        Maps a 0-based data-record index to the 1-based physical line where
        it starts (CSV files: the header is line 1). ``None`` numbers rows
        1-based over the data rows instead (Parquet, DataFrames).
    """

    def __init__(self, source: str | os.PathLike, columns: Sequence[str],
                 line_of_record: Callable[[int], int] | None = None) -> None:
        self.source = os.fspath(source)
        self.columns = list(columns)
        self.line_of_record = line_of_record

    def whole(self) -> str:
        return self.source

    def row(self, i: int) -> str:
        if self.line_of_record is not None:
            return f"{self.source}, line {self.line_of_record(i)} (header is line 1)"
        return f"{self.source}, row {i + 1} (first data row is row 1)"

    def _column_name(self, j: int | str) -> str:
        return self.columns[j] if isinstance(j, (int, np.integer)) else str(j)

    def cell(self, i: int, j: int | str) -> str:
        return f"{self.row(i)}, column {self._column_name(j)!r}"

    def column(self, j: int | str) -> str:
        return f"{self.source}, column {self._column_name(j)!r}"


def csv_record_lines(path: str | os.PathLike, delimiter: str = ",") -> list[int]:
    """1-based physical line where each data record of a CSV file starts (header = line 1).

    Blank lines are skipped, as the CSV reader does; quoted fields may span
    lines. Used only to name a line in an error message, so it is allowed to
    be slow (one pass with the :mod:`csv` module).
    """
    lines: list[int] = []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, delimiter=delimiter)
        start = 1
        header_seen = False
        for record in reader:
            if record:
                if header_seen:
                    lines.append(start)
                header_seen = True
            start = reader.line_num + 1
    return lines


def first_ragged_line(path: str | os.PathLike, delimiter: str = ",") -> tuple[int, int, int] | None:
    """``(line, n_fields, n_header_fields)`` of the first record whose field count differs from the header's."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, delimiter=delimiter)
        n_header = None
        start = 1
        for record in reader:
            if record:
                if n_header is None:
                    n_header = len(record)
                elif len(record) != n_header:
                    return start, len(record), n_header
            start = reader.line_num + 1
    return None


# ----------------------------------------------------------------------------- arrays


def _describe(value) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "NaN"
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
    return repr(value.item() if isinstance(value, np.generic) else value)


def check_dtype(a: np.ndarray, where: Where) -> None:
    """Refuse arrays that do not hold real numbers (object, complex, strings, dates)."""
    kind = a.dtype.kind
    if kind == "c":
        raise DataError(f"{where.whole()} has complex dtype {a.dtype}; expected real numbers "
                        "(take .real or np.abs first)")
    if kind not in "biuf":
        hint = ("encode strings or categories as numbers first (tunenet.data.load one-hot encodes the "
                "categorical columns of a CSV/Parquet file)")
        raise DataError(f"{where.whole()} has dtype {a.dtype}; expected real numbers (int or float): {hint}")


def check_finite(a: np.ndarray, where: Where) -> None:
    """Refuse NaN and +/-inf, naming the first offending element.

    Checked a few thousand rows at a time: ``isfinite`` of a whole training
    set would allocate a boolean array a quarter of its float32 size.
    """
    if a.dtype.kind != "f":
        return
    rows = max(1, (1 << 20) // max(1, a[:1].size))  # about 1M elements per chunk
    if all(np.isfinite(a[start:start + rows]).all() for start in range(0, len(a), rows)):
        return
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
    value = _describe(a[index])
    place = where.cell(*index) if len(index) == 2 else where.row(index[0])
    what = "missing value (NaN)" if value == "NaN" else f"infinite value ({value})"
    raise DataError(f"{place}: {what}; tunenet needs finite numbers (drop or impute missing values first)")


def check_features(X, where: Where | None = None) -> np.ndarray:
    """Check a feature matrix and return it as C-contiguous float32.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Real numbers, finite, at least one row and one column.
    where : Where, optional
        Names places in messages; ``ArrayWhere("X")`` by default.

    Returns
    -------
    ndarray of float32, shape (n_samples, n_features)
    """
    where = where or ArrayWhere("X")
    X = np.asarray(X)
    check_dtype(X, where)
    if X.ndim == 1:
        raise DataError(f"{where.whole()} is 1-D with shape {X.shape}; expected 2-D (n_samples, n_features): "
                        "use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample")
    if X.ndim != 2:
        raise DataError(f"{where.whole()} has shape {X.shape}; expected 2-D (n_samples, n_features): "
                        "flatten images with X.reshape(len(X), -1)")
    if X.shape[0] == 0:
        raise DataError(f"{where.whole()} has zero rows (shape {X.shape}); expected at least one sample")
    if X.shape[1] == 0:
        raise DataError(f"{where.whole()} has zero features (shape {X.shape}); expected at least one column")
    check_finite(X, where)
    with np.errstate(over="ignore"):  # overflow is reported below, by element
        X32 = np.ascontiguousarray(X, dtype=np.float32)
    if X.dtype.kind == "f" and X.dtype.itemsize > 4 and not np.isfinite(X32).all():
        i, j = (int(k) for k in np.argwhere(~np.isfinite(X32))[0])
        raise DataError(f"{where.cell(i, j)}: {_describe(X[i, j])} is too large for float32 "
                        "(|x| < 3.4e38); rescale this feature")
    return X32


def check_target(y, task: str = CLASSIFICATION, where: Where | None = None) -> np.ndarray:
    """Check encoded targets and return them as int64 class indices or float32 values.

    Parameters
    ----------
    y : array_like, shape (n_samples,) or (n_samples, 1); (n_samples, k) for regression
        Class indices 0..k-1 (classification) or real values (regression).
    task : {"classification", "regression"}

    Returns
    -------
    ndarray of int64, shape (n_samples,), or float32, shape (n_samples,) / (n_samples, k)
    """
    where = where or ArrayWhere("y")
    y = np.asarray(y)
    check_dtype(y, where)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 0 or y.ndim > 2 or (y.ndim == 2 and task == CLASSIFICATION):
        what = "class labels" if task == CLASSIFICATION else "targets (or (n_samples, k) for regression)"
        raise DataError(f"{where.whole()} has shape {y.shape}; expected 1-D (n_samples,) {what}")
    if y.shape[0] == 0:
        raise DataError(f"{where.whole()} is empty; expected one target per sample")
    check_finite(y, where)
    if task == REGRESSION:
        return np.ascontiguousarray(y, dtype=np.float32)
    if y.dtype.kind == "f":
        bad = np.flatnonzero(y != np.round(y))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{where.row(i)}: {_describe(y[i])} is not a class index; expected integers "
                            "0..k-1 for classification (or task='regression')")
    bad = np.flatnonzero(y < 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{where.row(i)}: {_describe(y[i])} is negative; class indices are 0..k-1")
    return np.ascontiguousarray(y, dtype=np.int64)


def check_same_length(X: np.ndarray, y: np.ndarray, x_name: str = "X", y_name: str = "y") -> None:
    """Refuse X and y with different numbers of samples."""
    if X.shape[0] != len(y):  # shape, not len(): a scipy.sparse X has no len()
        raise DataError(f"{x_name} has {X.shape[0]} rows but {y_name} has {len(y)} labels; "
                        "expected one label per row")


def check_two_classes(y: np.ndarray, where: Where | None = None, class_names: Sequence[str] | None = None) -> None:
    """Refuse a classification target with a single class (nothing to learn)."""
    where = where or ArrayWhere("y")
    present = np.unique(y)
    if present.size < 2:
        label = class_names[int(present[0])] if class_names is not None else int(present[0])
        raise DataError(f"{where.whole()} holds a single class ({label!r}) in all {len(y)} rows; "
                        "a classifier needs at least two classes (or use task='regression')")


def check_known_labels(labels: Sequence | np.ndarray, classes: Sequence, where: Where | None = None,
                       column: int | str | None = None) -> np.ndarray:
    """Map raw labels to class indices; refuse labels not seen at training time.

    Parameters
    ----------
    labels : array_like, shape (n_samples,)
        Raw label values (strings or numbers), as in the file.
    classes : sequence
        The classes seen at training time, in index order.
    where, column : Where and its target column, optional
        Name the offending row (and column, for tables) in the message.

    Returns
    -------
    ndarray of int64, shape (n_samples,)
    """
    where = where or ArrayWhere("y")
    lookup = {_label_key(c): i for i, c in enumerate(classes)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, value in enumerate(labels):
        k = lookup.get(_label_key(value))
        if k is None:
            known = ", ".join(map(str, list(classes)[:20])) + (", ..." if len(classes) > 20 else "")
            place = where.cell(i, column) if column is not None else where.row(i)
            raise DataError(f"{place}: label {_describe(value)} was not seen in training (known classes: {known})")
        out[i] = k
    return out


def _label_key(value):
    """A hashable key under which 3, 3.0, np.int64(3) and "3" are distinct but 3 == 3.0."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return (type(value) is str, value)


def check_n_features(X: np.ndarray, expected: int, where: Where | None = None) -> None:
    """Refuse a prediction input whose feature count differs from the one the model was trained on."""
    where = where or ArrayWhere("X")
    if X.shape[1] != expected:
        raise DataError(f"{where.whole()} has {X.shape[1]} features but the model was trained on {expected}; "
                        "pass the same columns as at training time")


def check_xy(X, y, task: str = CLASSIFICATION, source: str | os.PathLike | None = None,
             names: tuple[str, str] = ("X", "y")) -> tuple[np.ndarray, np.ndarray]:
    """All checks on a training pair; returns ``(X float32, y int64 | float32)``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    y : array_like, shape (n_samples,)
        Class indices 0..k-1 for classification, real values for regression.
    task : {"classification", "regression"}
    source : str or path, optional
        File the arrays came from, named in messages.
    """
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    X = check_features(X, ArrayWhere(names[0], source))
    y = check_target(y, task, ArrayWhere(names[1], source))
    check_same_length(X, y, *(ArrayWhere(n, source).whole() for n in names))
    if task == CLASSIFICATION:
        check_two_classes(y, ArrayWhere(names[1], source))
    return X, y
