"""Train / dev / test splits: sized by the data, stratified by class, reproducible from a seed.

Default sizes (dev, test as fractions of all rows), following the course's
advice that big data needs only small dev and test sets:

============================  =============  ===========
rows m                        train/dev/test  dev, test
============================  =============  ===========
m < 10,000                    60 / 20 / 20   0.20, 0.20
10,000 <= m < 100,000         80 / 10 / 10   0.10, 0.10
100,000 <= m < 1,000,000      90 /  5 /  5   0.05, 0.05
m >= 1,000,000                98 /  1 /  1   0.01, 0.01
============================  =============  ===========

``dev`` and ``test`` override the defaults, as a fraction in [0, 1) or a
count of rows. Dev and test are drawn from the same distribution (one
shuffle of the same rows).

A stratified split gives every class, in every part, floor or ceil of its
exact share: class c with n_c of the m rows gets round-down or round-up of
``n_c * size / m`` rows in a part of ``size`` rows, and the parts have exactly
the requested sizes (a controlled rounding of the class x part table, solved
as a tiny integer programme whose ties are broken by the seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError
from .dataset import Dataset
from .validation import check_same_length

SIZE_RULES = ((10_000, 0.20, 0.20), (100_000, 0.10, 0.10), (1_000_000, 0.05, 0.05), (None, 0.01, 0.01))


class Part(NamedTuple):
    """One part of a split: ``X`` (m_part, n) and ``y`` (m_part,)."""

    X: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Split:
    """Train, dev and test parts, and the row indices they were taken from.

    ``train, dev, test = split(...)`` unpacks the three :class:`Part`. The
    indices are sorted rows of the input; ``test_idx`` is None when the test
    part is a dataset's official test set.
    """

    train: Part
    dev: Part
    test: Part
    train_idx: np.ndarray
    dev_idx: np.ndarray
    test_idx: np.ndarray | None

    def __iter__(self):
        return iter((self.train, self.dev, self.test))

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train.y), len(self.dev.y), len(self.test.y)


def default_fractions(m: int) -> tuple[float, float]:
    """``(dev, test)`` fractions for ``m`` rows (see the table in the module docstring)."""
    for limit, dev, test in SIZE_RULES:
        if limit is None or m < limit:
            return dev, test
    raise AssertionError("unreachable")


def _count(name: str, value, m: int) -> int:
    """A dev/test size given as a fraction in [0, 1) or a row count, as a row count."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a fraction in [0, 1) or a number of rows, got {value!r}")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be a fraction in [0, 1) or a number of rows, got {value!r}")
        count = int(round(value * m))
        return max(count, 1) if value > 0 else 0
    if value < 0:
        raise ConfigError(f"{name} must be >= 0 rows, got {value}")
    return int(value)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def apportion(class_counts: np.ndarray, part_sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows per (class, part): each entry floor or ceil of ``n_c * size_p / m``, margins exact.

    Parameters
    ----------
    class_counts : ndarray of int, shape (k,)
    part_sizes : ndarray of int, shape (p,), summing to ``class_counts.sum()``
    rng : Generator
        Breaks ties between equally good roundings.

    Returns
    -------
    ndarray of int64, shape (k, p)
        Row sums ``class_counts``, column sums ``part_sizes``.
    """
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    counts = np.asarray(class_counts, dtype=np.int64)
    sizes = np.asarray(part_sizes, dtype=np.int64)
    m = int(counts.sum())
    exact = np.outer(counts, sizes)                      # n_c * size_p, exactly, in integers
    base, remainder = exact // m, exact % m
    row_need = counts - base.sum(axis=1)                 # round-ups each class still needs
    col_need = sizes - base.sum(axis=0)                  # round-ups each part still needs
    if not row_need.any():
        return base
    k, p = base.shape
    rows = sparse.kron(sparse.eye(k), np.ones((1, p)), format="csr")  # sum_j u[c, j] == row_need[c]
    cols = sparse.kron(np.ones((1, k)), sparse.eye(p), format="csr")  # sum_c u[c, j] == col_need[j]
    result = milp(c=rng.random(k * p), integrality=np.ones(k * p),
                  bounds=Bounds(0, (remainder > 0).ravel().astype(float)),
                  constraints=[LinearConstraint(rows, row_need, row_need), LinearConstraint(cols, col_need, col_need)])
    if not result.success:  # cannot happen (a transportation polytope has integral vertices)
        raise AssertionError(f"stratified apportionment failed: {result.message}")
    return base + np.round(result.x).astype(np.int64).reshape(k, p)


def split_indices(y: np.ndarray, dev=None, test=None, stratify: bool = True, seed=0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted row indices ``(train, dev, test)`` for targets ``y`` of shape (m,); see :func:`split`."""
    y = np.asarray(y)
    m = len(y)
    default_dev, default_test = default_fractions(m)
    n_dev = _count("dev", default_dev if dev is None else dev, m)
    n_test = _count("test", default_test if test is None else test, m)
    if n_dev + n_test >= m:
        raise ConfigError(f"dev ({n_dev} rows) + test ({n_test} rows) leave no training rows out of {m}; "
                          "use smaller dev/test sizes")
    rng = _rng(seed)
    sizes = np.array([m - n_dev - n_test, n_dev, n_test])
    if stratify and y.ndim == 1 and y.dtype.kind in "iub":
        classes, y_index = np.unique(y, return_inverse=True)
        by_class = np.argsort(y_index, kind="stable")
        counts = np.bincount(y_index, minlength=len(classes))
        table = apportion(counts, sizes, rng)
        parts: list[list[np.ndarray]] = [[], [], []]
        start = 0
        for c, n_c in enumerate(counts):
            rows = rng.permutation(by_class[start:start + n_c])
            start += n_c
            edges = np.cumsum(table[c])
            for j, chunk in enumerate(np.split(rows, edges[:-1])):
                parts[j].append(chunk)
        train, dev_idx, test_idx = (np.sort(np.concatenate(p)) for p in parts)
    else:
        order = rng.permutation(m)
        test_idx = np.sort(order[:n_test])
        dev_idx = np.sort(order[n_test:n_test + n_dev])
        train = np.sort(order[n_test + n_dev:])
    return train, dev_idx, test_idx


def _compact_rows(X: np.ndarray, rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``X[rows]`` moved to the front of ``X`` in place (``rows`` sorted, unique); returns the view ``X[:len(rows)]``.

    Row ``rows[i] >= i`` goes to row ``i``; chunk by chunk, every source row of
    a chunk is read before the chunk is written, and later chunks read only
    rows after it, so no row is overwritten before it is moved. Extra memory:
    one chunk.
    """
    for start in range(0, len(rows), chunk):
        src = rows[start:start + chunk]
        if src[0] != start or src[-1] != start + len(src) - 1:  # skip chunks already in place
            X[start:start + len(src)] = X[src]
    return X[:len(rows)]


def split(X: np.ndarray, y: np.ndarray, dev=None, test=None, stratify: bool = True, seed=0,
          in_place: bool = False) -> Split:
    """Split ``(X, y)`` into train, dev and test parts.

    Parameters
    ----------
    X : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    dev, test : float in [0, 1), int, or None
        Fraction of rows or number of rows; None picks the size by ``m``
        (see the module docstring).
    stratify : bool
        Keep each class's share in every part (integer class labels only;
        real-valued targets are split at random).
    seed : int or numpy.random.Generator
        The same seed gives the same split.

    in_place : bool
        Reorder ``X`` instead of copying it: dev and test rows are copied out,
        the train rows moved to the front of ``X`` (which is overwritten), and
        dev and test rows written back after them; the three parts' ``X`` are
        views of ``X``. For a caller that owns ``X`` and no longer needs it
        (the CLI's pipeline): a Fashion-MNIST run then holds its images once.

    Returns
    -------
    Split
        ``train, dev, test = split(...)``, each a ``Part(X, y)``.
    """
    check_same_length(X, y)
    train_idx, dev_idx, test_idx = split_indices(y, dev, test, stratify, seed)
    X_dev, X_test = X[dev_idx], X[test_idx]
    if in_place and isinstance(X, np.ndarray) and X.flags.writeable and len(train_idx):
        # train rows to the front, then dev and test rows written back after them: three views, one array
        X_train = _compact_rows(X, train_idx)
        a, b = len(train_idx), len(train_idx) + len(dev_idx)
        X[a:b], X[b:b + len(test_idx)] = X_dev, X_test
        X_dev, X_test = X[a:b], X[b:b + len(test_idx)]
    else:
        X_train = X[train_idx]
    return Split(Part(X_train, y[train_idx]), Part(X_dev, y[dev_idx]), Part(X_test, y[test_idx]),
                 train_idx, dev_idx, test_idx)


def split_dataset(ds: Dataset, dev=None, test=None, seed=0, stratify: bool = True, in_place: bool = False) -> Split:
    """Split a :class:`Dataset`, keeping its official test set (if it has one) as the test part.

    With an official test set, only ``dev`` is carved out of ``ds.X``; by
    default its fraction is the one for the dataset's total size (e.g.
    Fashion-MNIST, 70,000 rows: 10% of the 60,000 training rows, 6,000).
    ``in_place`` as in :func:`split` (``ds.X`` is overwritten).
    """
    if ds.X_test is None:
        return split(ds.X, ds.y, dev=dev, test=test, stratify=stratify, seed=seed, in_place=in_place)
    if test not in (None, 0):
        raise ConfigError(f"{ds.name} has an official test set ({len(ds.y_test):,} rows), which is kept as the "
                          f"test set; test={test!r} cannot be set (leave it unset)")
    if dev is None:
        dev = default_fractions(ds.n_samples + len(ds.y_test))[0]
    s = split(ds.X, ds.y, dev=dev, test=0, stratify=stratify, seed=seed, in_place=in_place)
    return Split(s.train, s.dev, Part(ds.X_test, ds.y_test), s.train_idx, s.dev_idx, None)
