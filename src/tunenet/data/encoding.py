"""From raw table columns to ``X`` and ``y``, and the same transform again at prediction time.

An *encoding* is a JSON-able dict saved with the model::

    {"version": 1, "kind": "table", "task": "classification", "target": "label",
     "columns": [{"name": "age", "type": "numeric"},
                 {"name": "color", "type": "categorical", "categories": ["blue", "red"]}],
     "feature_names": ["age", "color=blue", "color=red"], "n_features": 3,
     "classes": ["cat", "dog"], "class_names": ["cat", "dog"]}

``kind`` is ``"table"`` for CSV/Parquet/DataFrame inputs and ``"array"`` for
datasets that are arrays already (built-in datasets, ``.npz``, IDX). A
categorical column becomes one 0/1 feature per category seen in training
(``"color=red"``), in sorted order. ``classes[i]`` is the raw label of class
index ``i`` as it appears in the data; ``class_names[i]`` its display name.

Rules for reading columns (documented in ``docs/data.md``):

- numeric columns (ints, floats, booleans as 0/1) are features as they are;
- a string column is *categorical* unless most of its values are numbers, in
  which case it is a numeric column with typos and the first non-number is
  reported; ``categorical=[...]`` forces a column to be categorical;
- empty cells are refused (tunenet does not impute);
- the target is classification if it holds strings or booleans, or integers
  with at most :data:`MAX_CLASSES_GUESS` distinct values; otherwise regression.
  ``task=`` overrides the guess.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..memory import check_bytes, format_bytes
from .npz import is_sparse_archive, read_npz_arrays, require, sparse_matrix
from .tables import read_columns
from .validation import (
    CLASSIFICATION,
    REGRESSION,
    TASKS,
    ArrayWhere,
    TableWhere,
    Where,
    check_features,
    check_known_labels,
    check_n_features,
)

ENCODING_VERSION = 1
MAX_CLASSES_GUESS = 50
MAX_CATEGORIES = 1000  #: default cap on one column's categories (option ``max_categories``)


# ----------------------------------------------------------------------------- encodings


def array_encoding(feature_names: Sequence[str], task: str, classes: Sequence | None = None,
                   class_names: Sequence[str] | None = None) -> dict:
    """The encoding of a dataset that is an array already (no categorical columns)."""
    return {
        "version": ENCODING_VERSION, "kind": "array", "task": task,
        "feature_names": list(feature_names), "n_features": len(feature_names),
        "classes": _json_labels(classes) if classes is not None else None,
        "class_names": list(class_names) if class_names is not None else None,
    }


def _json_labels(values) -> list:
    out = []
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(v)
    return out


def _check_encoding(encoding: dict) -> None:
    if not isinstance(encoding, dict) or encoding.get("kind") not in ("table", "array"):
        raise DataError("not a tunenet data encoding (expected a dict with kind 'table' or 'array')")
    if encoding.get("version") != ENCODING_VERSION:
        raise DataError(f"data encoding version {encoding.get('version')!r} is not supported "
                        f"(this tunenet reads version {ENCODING_VERSION})")


# ----------------------------------------------------------------------------- columns


def _pandas():
    import pandas  # imported on first use: it costs a quarter of a second

    return pandas


def is_numeric_column(values: np.ndarray) -> bool:
    return values.dtype.kind in "biuf"


def parse_numbers(values: np.ndarray) -> np.ndarray:
    """float64 array: numbers parsed from strings, NaN where a value is missing or not a number."""
    if is_numeric_column(values):
        return values.astype(np.float64)
    return _pandas().to_numeric(_pandas().Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)


def mostly_numbers(values: np.ndarray) -> bool:
    """Whether at least half of the non-missing values of a column parse as numbers."""
    if is_numeric_column(values):
        return True
    present = _pandas().notna(values)
    n_present = int(present.sum())
    n_numbers = int(np.isfinite(parse_numbers(values)).sum()) if n_present else 0
    return n_present > 0 and n_numbers * 2 >= n_present


def _place(where: Where, i: int, name: str | None) -> str:
    """A table cell (line/row and column) or an array element."""
    return where.cell(i, name) if isinstance(where, TableWhere) and name is not None else where.row(i)


def numeric_column(values: np.ndarray, name: str | None, where: Where, hint: str | None = None) -> np.ndarray:
    """A column as float64, refusing missing, non-numeric and infinite values by cell.

    ``hint`` ends the message for a non-number (default: how to one-hot encode the column instead).
    """
    numbers = parse_numbers(values)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        i = int(bad[0])
        raw = values[i]
        text = raw.strip().lower() if isinstance(raw, str) else None
        if raw is None or text in ("", "nan") or (isinstance(raw, (float, np.floating)) and np.isnan(raw)):
            raise DataError(f"{_place(where, i, name)}: missing value; tunenet does not impute, "
                            "fill or drop this row")
        if np.isinf(numbers[i]):
            raise DataError(f"{_place(where, i, name)}: infinite value ({raw!r}); expected a finite number")
        hint = hint or (f"the column's other values are numbers; pass categorical=[{name!r}] to one-hot "
                        "encode it instead")
        raise DataError(f"{_place(where, i, name)}: {raw!r} is not a number ({hint})")
    return numbers


def category_strings(values: np.ndarray, name: str | None, where: Where) -> np.ndarray:
    """A column as an object array of strings (integral numbers without ".0"), refusing missing values."""
    if is_numeric_column(values):
        numbers = values.astype(np.float64)
        bad = np.flatnonzero(np.isnan(numbers))
        if bad.size:
            raise DataError(f"{_place(where, int(bad[0]), name)}: missing value; fill or drop this row")
        return np.array([str(int(v)) if float(v).is_integer() else repr(float(v)) for v in numbers], dtype=object)
    missing = np.flatnonzero(_pandas().isna(values))
    if missing.size:
        raise DataError(f"{_place(where, int(missing[0]), name)}: missing value; fill or drop this row")
    return np.asarray([str(v) for v in values], dtype=object)


# ----------------------------------------------------------------------------- target


def _all_numbers(values: np.ndarray) -> bool:
    """Whether every non-missing value of a column is a number (or parses as one)."""
    if is_numeric_column(values):
        return True
    present = _pandas().notna(values)
    return bool(present.any()) and bool(np.isfinite(parse_numbers(values)[present]).all())


def infer_task(values: np.ndarray) -> str:
    """Classification for text, booleans and integers with few distinct values; else regression."""
    if values.dtype.kind == "b" or not _all_numbers(values):
        return CLASSIFICATION
    finite = parse_numbers(values)
    finite = finite[np.isfinite(finite)]
    integral = bool(np.all(finite == np.round(finite)))
    return CLASSIFICATION if integral and np.unique(finite).size <= MAX_CLASSES_GUESS else REGRESSION


def encode_target(values: np.ndarray, task: str | None, where: Where, name: str | None = None
                  ) -> tuple[np.ndarray, str, list | None]:
    """Raw target values -> ``(y, task, classes)``.

    Class labels are numbers when every label is a number, text otherwise.

    Returns
    -------
    y : ndarray, shape (m,)
        int64 indices into ``classes`` (classification) or float32 values (regression).
    task : str
    classes : list or None
        Sorted distinct raw labels (numbers sorted numerically, text sorted as text).
    """
    values = np.asarray(values)
    task = task or infer_task(values)
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == REGRESSION:
        y = numeric_column(values, name, where, hint="a regression target must be a number; or pass "
                                                     "task='classification'")
        return y.astype(np.float32), task, None
    if _all_numbers(values):
        classes, y = np.unique(numeric_column(values, name, where), return_inverse=True)
        return y.astype(np.int64).ravel(), task, _json_labels(classes)
    classes, y = np.unique(category_strings(values, name, where).astype(str), return_inverse=True)
    return y.astype(np.int64).ravel(), task, [str(c) for c in classes]


def encode_labels(values, encoding: dict, where: Where | None = None, column: str | None = None) -> np.ndarray:
    """Raw labels of new data -> int64 class indices (classification) or float32 (regression).

    A label not among ``encoding["classes"]`` raises a :class:`DataError` naming its row.
    """
    _check_encoding(encoding)
    where = where or ArrayWhere("y")
    values = np.asarray(values)
    if encoding["task"] == REGRESSION:
        return numeric_column(values, column, where, hint="a regression target must be a number").astype(np.float32)
    if any(isinstance(c, str) for c in encoding["classes"]):
        values = category_strings(values, column, where)  # text labels: compare as text ("3" is "3")
    elif not is_numeric_column(values):
        values = numeric_column(values, column, where, hint=f"the classes seen in training are numbers "
                                                            f"({', '.join(map(str, encoding['classes'][:10]))})")
    return check_known_labels(values, encoding["classes"], where, column)


def decode_labels(indices, encoding: dict) -> list:
    """Class indices -> the raw labels they stand for (as in the training data)."""
    _check_encoding(encoding)
    classes = encoding.get("classes")
    if classes is None:
        raise DataError("the encoding has no classes (a regression target)")
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= len(classes)):
        raise DataError(f"class index out of range 0..{len(classes) - 1}")
    return [classes[i] for i in indices]


# ----------------------------------------------------------------------------- features


def infer_table_encoding(columns: dict[str, np.ndarray], target: str | None, task: str | None,
                         categorical: Sequence[str], where: Where, max_categories: int = MAX_CATEGORIES) -> dict:
    """Decide each input column's type and categories; returns the encoding (target and classes left to the caller).

    A categorical column with more than ``max_categories`` distinct values is
    refused before anything is one-hot encoded: its ``k`` categories would
    become ``k`` float32 features of ``m`` rows each (``4 m k`` bytes); the
    error names the column, ``k`` and that memory.
    """
    unknown = [c for c in categorical if c not in columns or c == target]
    if unknown:
        raise DataError(f"{where.whole()}: categorical column {unknown[0]!r} is not a feature column "
                        f"(columns: {', '.join(c for c in columns if c != target)})")
    specs, feature_names = [], []
    for name, values in columns.items():
        if name == target:
            continue
        if name in categorical or not mostly_numbers(values):
            categories = sorted(set(category_strings(values, name, where)))
            if len(categories) > max_categories:
                m = len(values)
                width = len(feature_names) + len(categories)  # the features up to this column's
                raise DataError(f"{where.whole()}, column {name!r}: {len(categories):,} distinct categories, more "
                                f"than max_categories={max_categories}; one-hot encoding them would take at least "
                                f"{format_bytes(4 * m * width)} ({m:,} rows x {width:,} features); drop the "
                                "column, or raise max_categories (--max-categories) if it is meant to be one-hot")
            specs.append({"name": name, "type": "categorical", "categories": categories})
            feature_names += [f"{name}={c}" for c in categories]
        else:
            specs.append({"name": name, "type": "numeric"})
            feature_names.append(name)
    return {"version": ENCODING_VERSION, "kind": "table", "task": task, "target": target,
            "columns": specs, "feature_names": feature_names, "n_features": len(feature_names)}


def apply_table_encoding(columns: dict[str, np.ndarray], encoding: dict, where: Where) -> np.ndarray:
    """Columns (by name; extra columns ignored) -> X of float32, shape (m, encoding["n_features"])."""
    missing = [c["name"] for c in encoding["columns"] if c["name"] not in columns]
    if missing:
        raise DataError(f"{where.whole()}: no column {missing[0]!r} (the model was trained on columns "
                        f"{', '.join(c['name'] for c in encoding['columns'])})")
    m = len(next(iter(columns.values()))) if columns else 0
    check_bytes(4 * m * encoding["n_features"], f"{where.whole()}: the encoded table ({m:,} rows x "
                f"{encoding['n_features']:,} features)", DataError)
    X = np.zeros((m, encoding["n_features"]), dtype=np.float32, order="F")  # filled column by column
    j, k, specs = 0, 0, encoding["columns"]
    while k < len(specs):
        spec = specs[k]
        name, values = spec["name"], columns[spec["name"]]
        k += 1
        if spec["type"] == "numeric":
            run = _numeric_run(specs, k - 1, columns)
            if len(run) > 1:  # consecutive float columns (a wide table): one copy, one finiteness check
                X[:, j:j + len(run)] = _numeric_block(run, columns, where)
                j, k = j + len(run), k - 1 + len(run)
                continue
            X[:, j] = numeric_column(values, name, where)
            j += 1
            continue
        categories = spec["categories"]
        lookup = {c: index for index, c in enumerate(categories)}
        strings = category_strings(values, name, where)
        codes = np.fromiter((lookup.get(s, -1) for s in strings), dtype=np.int64, count=m)
        unseen = np.flatnonzero(codes < 0)
        if unseen.size:
            i = int(unseen[0])
            known = ", ".join(categories[:20]) + (", ..." if len(categories) > 20 else "")
            raise DataError(f"{where.cell(i, name)}: category {strings[i]!r} was not seen in training "
                            f"(known: {known})")
        X[np.arange(m), j + codes] = 1.0
        j += len(categories)
    return np.ascontiguousarray(X)


def _numeric_run(specs: list[dict], k: int, columns: dict) -> list[str]:
    """Names of the numeric columns from ``specs[k]`` on, up to the first other column or non-float column."""
    run = []
    for spec in specs[k:]:
        if spec["type"] != "numeric" or columns[spec["name"]].dtype.kind != "f":
            break
        run.append(spec["name"])
    return run


def _numeric_block(names: list[str], columns: dict, where: Where) -> np.ndarray:
    """Many float columns at once, (m, len(names)); a non-finite cell is reported by the per-column check."""
    block = np.column_stack([columns[n] for n in names])
    if not np.isfinite(block).all():
        for n in names:
            numeric_column(columns[n], n, where)
    return block


def encode_features(table_or_path, encoding: dict, **read_options) -> np.ndarray:
    """Transform new raw inputs exactly as the training data was (used by ``tunenet predict``).

    Parameters
    ----------
    table_or_path : str, path, pandas.DataFrame or ndarray
        A CSV/Parquet/``.npz`` file, a DataFrame, or an array of shape (m, n).
    encoding : dict
        ``Dataset.encoding`` of the training data.
    read_options
        Passed to the file reader (e.g. ``delimiter``).

    Returns
    -------
    ndarray of float32, shape (m, encoding["n_features"])
    """
    _check_encoding(encoding)
    n_features = encoding["n_features"]
    if isinstance(table_or_path, np.ndarray):
        X = check_features(table_or_path)
        check_n_features(X, n_features)
        return X
    if isinstance(table_or_path, (str, os.PathLike)) and os.fspath(table_or_path).endswith(".npz"):
        arrays, source = read_npz_arrays(table_or_path, required=())
        if is_sparse_archive(arrays):  # a scipy.sparse.save_npz matrix: CSR float32, never densified
            X = sparse_matrix(arrays, source).tocsr().astype(np.float32)
            if X.shape[1] != n_features:
                raise DataError(f"{source}: the sparse matrix has {X.shape[1]} features; the model expects "
                                f"{n_features}")
            return X
        require(arrays, ("X",), source)
        where = ArrayWhere("X", table_or_path)
        X = check_features(arrays["X"], where)
        check_n_features(X, n_features, where)
        return X
    columns, where = read_columns(table_or_path, **read_options)
    if not columns or len(next(iter(columns.values()))) == 0:
        raise DataError(f"{where.whole()}: no data rows")
    if encoding["kind"] == "table":
        return apply_table_encoding(columns, encoding, where)
    names = encoding["feature_names"]
    if all(n in columns for n in names):
        columns = {n: columns[n] for n in names}
    X = np.column_stack([numeric_column(v, name, where) for name, v in columns.items()]).astype(np.float32)
    check_n_features(X, n_features, ArrayWhere("X", where.whole()) if isinstance(where, TableWhere) else where)
    return X
