"""Mini-batch iteration.

``batch_size = m`` gives batch gradient descent, ``1`` stochastic gradient
descent, anything between mini-batch gradient descent (powers of two such as
32..1024 suit the hardware). The order is reshuffled every epoch from an
explicit Generator; the last partial batch is kept. Each batch is gathered
once, with ``ndarray.take(..., out=...)`` into a buffer reused across steps.
The indices come from a permutation, so they are always in range:
``mode="clip"`` skips the bounds check, with which NumPy would gather into a
temporary buffer and copy it over (about 30% slower).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import sparse

from ..errors import ConfigError, DataError


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
            yield self.X, self.y
            return
        X, y = self.X, self.y
        for start in range(0, self.m, self.batch_size):
            idx = order[start:start + self.batch_size]
            n = idx.size
            yb = self._ybuf[:n]
            if self._sparse:
                xb = self.X[idx]
            else:
                xb = self._xbuf[:n]
                X.take(idx, 0, xb, "clip")  # the method: np.take's Python wrapper costs ~2 us a call
            y.take(idx, 0, yb, "clip")
            if self.sample_weight is not None:
                self.weights = self.sample_weight[idx]
            yield xb, yb
