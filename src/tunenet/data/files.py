"""Datasets from the user's files: CSV, Parquet, ``.npz`` and IDX.

- CSV / Parquet: one row per sample, a header of column names; the target is
  the column named by ``target`` (default: the last column); numeric columns
  are features as they are, text columns are one-hot encoded (see
  :mod:`tunenet.data.encoding`).
- ``.npz``: arrays ``X`` (n_samples, n_features) and ``y`` (n_samples,), and
  optionally ``X_test``/``y_test`` (an official test split), ``feature_names``,
  ``class_names`` and ``image_shape``; read with ``allow_pickle=False``.
- IDX: a directory holding the four MNIST-layout files (train/t10k images
  and labels, gzipped or not), or one images file with its labels file
  (``labels=``, or found beside it by swapping ``images``/``idx3`` for
  ``labels``/``idx1`` in its name). uint8 pixels are divided by 255.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from .compressed import is_compressed_csv
from .dataset import Dataset
from .download import find_in_dir
from .encoding import (
    MAX_CATEGORIES,
    apply_table_encoding,
    array_encoding,
    encode_labels,
    encode_target,
    infer_table_encoding,
)
from .idx import read_idx
from .npz import is_sparse_archive, read_npz_arrays, require, sparse_matrix
from .table_notes import check_missing, table_read_notes, table_warnings, target_warnings
from .tables import CSV_SUFFIXES, PARQUET_SUFFIXES, read_columns
from .validation import CLASSIFICATION, ArrayWhere, check_features, check_same_length, check_two_classes

IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def load_table(path_or_frame, target: str | None = None, task: str | None = None,
               categorical: Sequence[str] = (), drop: Sequence[str] = (), delimiter: str | None = None,
               name: str | None = None, max_categories: int = MAX_CATEGORIES) -> Dataset:
    """A CSV/Parquet file or a DataFrame as a :class:`Dataset` (see the module docstring)."""
    columns, where = read_columns(path_or_frame, delimiter=delimiter)
    for column in drop:
        if column not in columns:
            raise DataError(f"{where.whole()}: cannot drop column {column!r}: no such column "
                            f"(columns: {', '.join(columns)})")
        del columns[column]
    if not columns:
        raise DataError(f"{where.whole()}: no columns")
    target = target if target is not None else list(columns)[-1]
    if target not in columns:
        raise DataError(f"{where.whole()}: no target column {target!r} (columns: {', '.join(columns)}); "
                        "pass target=<column name>")
    if len(columns[target]) == 0:
        raise DataError(f"{where.whole()}: zero data rows (only a header); expected at least one sample")
    if len(columns) == 1:
        raise DataError(f"{where.whole()}: no feature columns besides the target {target!r}")
    check_missing(columns, where)
    warnings = table_warnings(columns, target, where.whole())
    task_given = task is not None
    y, task, classes = encode_target(columns[target], task, where, target)
    warnings += target_warnings(target, task, classes, len(y), task_given)
    encoding = infer_table_encoding(columns, target, task, list(categorical), where, max_categories)
    X = apply_table_encoding(columns, encoding, where)
    encoding["classes"] = classes
    encoding["class_names"] = [str(c) for c in classes] if classes is not None else None
    if task == CLASSIFICATION:
        check_two_classes(y, where, encoding["class_names"])
    source = where.whole()
    return Dataset(name=name or Path(source).name, X=X, y=y, task=task, class_names=encoding["class_names"],
                   feature_names=encoding["feature_names"], description=f"table read from {source}",
                   encoding=encoding, source=source, warnings=warnings,
                   notes=table_read_notes(path_or_frame, delimiter))


def load_npz(path: str | os.PathLike, task: str | None = None, name: str | None = None) -> Dataset:
    """An ``.npz`` file with ``X`` and ``y`` (and optionally ``X_test``/``y_test``) as a :class:`Dataset`."""
    arrays, source = read_npz_arrays(path, required=())
    if is_sparse_archive(arrays):
        return load_sparse_npz(arrays, source, task, name)
    require(arrays, ("X", "y"), source)
    X = check_features(arrays["X"], ArrayWhere("X", source))
    y, task, classes = encode_target(arrays["y"].ravel() if arrays["y"].ndim == 2 and arrays["y"].shape[1] == 1
                                     else arrays["y"], task, ArrayWhere("y", source))
    check_same_length(X, y, f"{source}: X", f"{source}: y")
    X_test = y_test = None
    if "X_test" in arrays or "y_test" in arrays:
        if "X_test" not in arrays or "y_test" not in arrays:
            raise DataError(f"{source}: has only one of X_test and y_test; save both or neither")
        X_test = check_features(arrays["X_test"], ArrayWhere("X_test", source))
        if X_test.shape[1] != X.shape[1]:
            raise DataError(f"{source}: X_test has {X_test.shape[1]} features but X has {X.shape[1]}")
        enc = array_encoding([f"x{j}" for j in range(X.shape[1])], task, classes)
        y_test = encode_labels(arrays["y_test"].ravel(), enc, ArrayWhere("y_test", source))
        check_same_length(X_test, y_test, f"{source}: X_test", f"{source}: y_test")
    class_names, feature_names = _names(arrays, source, task, classes, y, X.shape[1])
    image_shape = tuple(int(d) for d in arrays["image_shape"]) if "image_shape" in arrays else None
    if image_shape is not None and int(np.prod(image_shape)) != X.shape[1]:
        raise DataError(f"{source}: image_shape {image_shape} does not match {X.shape[1]} features")
    ds = Dataset(name=name or Path(source).name, X=X, y=y, task=task, X_test=X_test, y_test=y_test,
                 class_names=class_names, feature_names=feature_names, description=f"arrays read from {source}",
                 image_shape=image_shape, source=source)
    ds.encoding = array_encoding(ds.feature_names, task, classes, class_names)
    return ds


def _names(arrays: dict, source: str, task: str, classes, y: np.ndarray, n_features: int):
    """``(class_names, feature_names)`` of an ``.npz`` archive, checked against the classes and the width."""
    class_names = None
    if task == CLASSIFICATION:
        class_names = [str(c) for c in arrays["class_names"]] if "class_names" in arrays else [str(c) for c in classes]
        if len(class_names) != len(classes):
            raise DataError(f"{source}: class_names has {len(class_names)} names for {len(classes)} classes")
        check_two_classes(y, ArrayWhere("y", source), class_names)
    feature_names = [str(f) for f in arrays["feature_names"]] if "feature_names" in arrays else []
    if feature_names and len(feature_names) != n_features:
        raise DataError(f"{source}: feature_names has {len(feature_names)} names for {n_features} features")
    return class_names, feature_names


def load_sparse_npz(arrays: dict, source: str, task: str | None = None, name: str | None = None) -> Dataset:
    """A ``scipy.sparse.save_npz`` archive with a ``y`` member as a :class:`Dataset` whose ``X`` is CSR float32.

    The matrix is checked member by member (:func:`~tunenet.data.npz.sparse_matrix`) and never densified
    (CSC is converted to CSR, whose row slices are the mini-batches). Labels: a ``y`` member (one per
    row); ``class_names`` and ``feature_names`` as for a dense archive. ``X_test``/``y_test`` and
    ``image_shape`` do not apply to a sparse archive and are refused.
    """
    X = sparse_matrix(arrays, source)
    for key in ("X_test", "y_test", "image_shape"):
        if key in arrays:
            raise DataError(f"{source}: a sparse archive cannot hold {key!r} (only the matrix, y, class_names and "
                            "feature_names); pass a test split with --test instead")
    if "y" not in arrays:
        raise DataError(f"{source}: a sparse {X.format} matrix but no array 'y' (found: {', '.join(arrays)}); "
                        "add the labels with np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr, "
                        "shape=np.array(X.shape), format=np.array('csr'), y=y)")
    fmt = X.format
    X = X.tocsr().astype(np.float32)
    X.sum_duplicates()  # canonical CSR: sorted indices, one stored value per (row, column)
    y, task, classes = encode_target(arrays["y"].ravel() if arrays["y"].ndim == 2 and arrays["y"].shape[1] == 1
                                     else arrays["y"], task, ArrayWhere("y", source))
    if X.shape[0] != len(y):
        raise DataError(f"{source}: the sparse matrix has {X.shape[0]} rows but y has {len(y)} labels; "
                        "expected one label per row")
    class_names, feature_names = _names(arrays, source, task, classes, y, X.shape[1])
    m, n = X.shape
    density = X.nnz / max(m * n, 1)
    ds = Dataset(name=name or Path(source).name, X=X, y=y, task=task, class_names=class_names,
                 feature_names=feature_names, description=f"sparse {fmt} matrix read from {source}", source=source,
                 notes=[f"sparse {fmt}: {X.nnz:,} stored values ({density:.2%} of the matrix), kept sparse"])
    ds.encoding = array_encoding(ds.feature_names, task, classes, class_names)
    return ds


def images_to_rows(images: np.ndarray) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """(m, h, w) images -> float32 rows (m, h*w) and the image shape; uint8 pixels divided by 255."""
    image_shape = tuple(images.shape[1:]) if images.ndim > 2 else None
    rows = images.reshape(images.shape[0], -1)
    if rows.dtype == np.uint8:
        return np.divide(rows, np.float32(255), dtype=np.float32), image_shape
    return np.ascontiguousarray(rows, dtype=np.float32), image_shape


def idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Read an images IDX file and its labels IDX file -> (X float32 (m, n), y int64 (m,), image_shape)."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: labels must be 1-D, found shape {labels.shape}")
    if images.ndim < 2:
        raise DataError(f"{images_path}: images must be at least 2-D (m, ...), found shape {images.shape}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    X, image_shape = images_to_rows(images)
    return X, labels.astype(np.int64), image_shape


def _labels_beside(images_path: Path) -> Path:
    """The labels file next to an images file: ``images``->``labels``, ``idx3``->``idx1``, gzipped or not."""
    stem = images_path.name.removesuffix(".gz").replace("images", "labels").replace("idx3", "idx1")
    candidates = [images_path.with_name(stem + ".gz"), images_path.with_name(stem)]
    for candidate in candidates:
        if candidate.is_file() and candidate != images_path:
            return candidate
    raise DataError(f"{images_path}: no labels file found beside it (looked for {candidates[0].name} and "
                    f"{candidates[1].name}); pass labels=<path to the labels IDX file>")


def load_idx(path: str | os.PathLike, labels: str | os.PathLike | None = None, name: str | None = None) -> Dataset:
    """An MNIST-layout directory or an IDX images file (with its labels) as a :class:`Dataset`."""
    path = Path(path)
    X_test = y_test = None
    if path.is_dir():
        found = find_in_dir(path, list(IDX_STEMS))
        if not found:
            raise DataError(f"{path}: expected the IDX files {', '.join(IDX_STEMS)} (each may be gzipped)")
        X, y, image_shape = idx_pair(found[IDX_STEMS[0]], found[IDX_STEMS[1]])
        X_test, y_test, _ = idx_pair(found[IDX_STEMS[2]], found[IDX_STEMS[3]])
    else:
        X, y, image_shape = idx_pair(path, labels if labels is not None else _labels_beside(path))
    classes = np.unique(y if y_test is None else np.concatenate([y, y_test]))
    y = np.searchsorted(classes, y).astype(np.int64)  # the identity when the labels are 0..k-1
    if y_test is not None:
        y_test = np.searchsorted(classes, y_test).astype(np.int64)
    class_names = [str(int(c)) for c in classes]
    check_two_classes(y, ArrayWhere("labels", path), class_names)
    ds = Dataset(name=name or path.name, X=X, y=y, X_test=X_test, y_test=y_test, class_names=class_names,
                 description=f"IDX images read from {path}", image_shape=image_shape, source=os.fspath(path))
    ds.encoding = array_encoding(ds.feature_names, CLASSIFICATION, classes, class_names)
    return ds


def is_idx_path(path: Path) -> bool:
    name = path.name.lower()
    return path.is_dir() or "idx" in name or name.endswith((".idx", ".idx.gz"))


#: compressed files tunenet names instead of calling them an unsupported type, with the command that inflates each
COMPRESSED_SUFFIXES = {".gz": "gunzip -c", ".bz2": "bunzip2 -c", ".xz": "unxz -c", ".zst": "unzstd -c"}


def loader_for(path: str | os.PathLike) -> Callable[..., Dataset]:
    """The loader for a file type: CSV/TSV and Parquet tables, ``.npz``, or IDX (file or directory)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES + PARQUET_SUFFIXES or is_compressed_csv(path):
        return load_table
    if suffix == ".npz":
        return load_npz
    if is_idx_path(path):
        return load_idx
    inner = Path(path.stem).suffix.lower()
    if suffix in COMPRESSED_SUFFIXES and inner in CSV_SUFFIXES + PARQUET_SUFFIXES + (".npz",):  # .zst, .npz.gz, ...
        plain = path.with_suffix("").name
        raise DataError(f"{path}: compressed {inner} files are not read; decompress it first, e.g. "
                        f"{COMPRESSED_SUFFIXES[suffix]} {shlex.quote(str(path))} > {shlex.quote(plain)}, and pass "
                        f"--data {shlex.quote(plain)}")
    raise DataError(f"{path}: unsupported file type {suffix or '(no suffix)'!r}; expected .csv, .tsv, .parquet, "
                    ".npz, an IDX file (name containing 'idx') or a directory of MNIST-layout IDX files")


def load_file(path: str | os.PathLike, **options) -> Dataset:
    """Load ``path`` with the loader for its type (see :func:`loader_for`)."""
    return loader_for(path)(path, **options)
