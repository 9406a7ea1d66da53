"""Mini-batch iteration.

``batch_size = m`` gives batch gradient descent, ``1`` stochastic gradient
descent, anything between mini-batch gradient descent (powers of two such as
32..1024 suit the hardware). The order is reshuffled every epoch from an
explicit Generator; the last partial batch is kept. Each batch is gathered
once, with ``ndarray.take(..., out=...)`` into a buffer reused across steps.
The indices come from a permutation, so they are always in range:
``mode="clip"`` skips the bounds check, with which NumPy would gather into a
temporary buffer and copy it over (about 30% slower).

With the kernels on (:func:`tunenet.jit.enabled`), a dense 2-D ``X`` is
gathered by :func:`gather_rows_kernel` instead, which copies the same rows
and adds up their squares as it goes (``sum_squares``: the trainer's proof
that the gradients are finite, see :mod:`tunenet.nn.step`), at the cost of
the copy alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from scipy import sparse

from .. import jit
from ..errors import ConfigError, DataError


def gather_rows(X: np.ndarray, idx: np.ndarray, out: np.ndarray) -> float:
    """The NumPy formula: ``out[r] = X[idx[r]]``; returns ``sum(out**2)`` (float64)."""
    X.take(idx, 0, out, "clip")
    flat = out.reshape(-1).astype(np.float64)
    return float(np.dot(flat, flat))


@jit.kernel(fastmath={"reassoc"})
def gather_rows_kernel(X, idx, out):
    """:func:`gather_rows` in one pass: the copy, and the squares added up while each row is in cache.

    The copy is exact. The sum may be reassociated (``fastmath={"reassoc"}``,
    which vectorises it): each row's squares are added up in the dtype of
    ``X``, the rows' sums in float64, so it agrees with the float64 formula to
    a relative ``n_features * eps`` or so, which is all an upper bound with a
    margin of 1e6 (the trainer's) needs.
    """
    total = 0.0
    for r in range(idx.size):
        src = X[idx[r]]
        dst = out[r]
        acc = src[0] - src[0]  # 0 in X's dtype
        for j in range(src.size):
            value = src[j]
            dst[j] = value
            acc += value * value
        total += acc
    return total


class MiniBatches:
    """Iterate ``(X_batch, y_batch)`` over one epoch of ``(X, y)``.

    Parameters
    ----------
    X : ndarray, shape (m, n)
    y : ndarray, shape (m,) or (m, k)
    batch_size : int
        1 <= batch_size; values above m mean the whole set.
    rng : numpy.random.Generator or None
        Shuffles each epoch; None keeps the given order.
    sample_weight : ndarray of shape (m,) or None
        Per-row weights; while iterating, ``weights`` holds the current batch's
        (None without weights).

    ``X`` may be a scipy.sparse matrix: its batches are CSR row selections.

    The yielded arrays are views of reused buffers: they are valid until the
    next batch is drawn (copy them to keep them).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator | None,
                 sample_weight: np.ndarray | None = None) -> None:
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if X.shape[0] != len(y):
            raise DataError(f"X has {X.shape[0]} rows but y has {len(y)} labels; expected one label per row")
        if X.shape[0] == 0:
            raise DataError("cannot iterate mini-batches over zero rows")
        self.X, self.y, self.rng = X, y, rng
        self.m = X.shape[0]
        self.batch_size = min(int(batch_size), self.m)
        self._sparse = sparse.issparse(X)
        if self._sparse:
            self.X = X.tocsr()
        else:
            self._xbuf = np.empty((self.batch_size,) + X.shape[1:], X.dtype)
        self._ybuf = np.empty((self.batch_size,) + y.shape[1:], y.dtype)
        #: sum of the squares of the last batch's X (inf: not computed)
        self.sum_squares = math.inf
        self._gather = jit.compiled(gather_rows_kernel) if jit.enabled() and not self._sparse and X.ndim == 2 \
            and X.shape[1] and X.dtype in (np.float32, np.float64) else None
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.weights: np.ndarray | None = None
        if self.sample_weight is not None and self.sample_weight.shape != (self.m,):
            raise DataError(f"sample_weight has shape {self.sample_weight.shape}; expected ({self.m},)")

    def __len__(self) -> int:
        return -(-self.m // self.batch_size)

    def epoch_order(self) -> np.ndarray:
        """The sample order for one epoch (draws from ``rng`` once)."""
        return self.rng.permutation(self.m) if self.rng is not None else np.arange(self.m)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.epoch_order()
        if self.batch_size == self.m and self.rng is None:
            self.weights = self.sample_weight
            self.sum_squares = math.inf
            yield self.X, self.y
            return
        X, y = self.X, self.y
        for start in range(0, self.m, self.batch_size):
            idx = order[start:start + self.batch_size]
            n = idx.size
            yb = self._ybuf[:n]
            if self._sparse:
                xb = self.X[idx]
            elif self._gather is not None:
                xb = self._xbuf[:n]
                self.sum_squares = self._gather(X, idx, xb)
            else:
                xb = self._xbuf[:n]
                X.take(idx, 0, xb, "clip")  # the method: np.take's Python wrapper costs ~2 us a call
            y.take(idx, 0, yb, "clip")
            if self.sample_weight is not None:
                self.weights = self.sample_weight[idx]
            yield xb, yb
