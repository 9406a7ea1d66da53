"""The batch gather kernel against the NumPy formula it replaces: the same rows, the sum of squares within n*eps."""

import numpy as np
import pytest

from tunenet import jit
from tunenet.data.batches import MiniBatches, gather_rows, gather_rows_kernel


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_rows_kernel_copies_the_rows_and_sums_their_squares(dtype, order):
    rng = np.random.default_rng(0)
    X = np.asarray(rng.standard_normal((50, 13)).astype(dtype), order=order)
    X[3, 4] = 0.0
    idx = rng.permutation(50)[:17]
    out, ref = np.empty((17, 13), dtype), np.empty((17, 13), dtype)
    total = float(gather_rows_kernel(X, idx, out))
    expected = gather_rows(X, idx, ref)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(out, X[idx])
    assert abs(total - expected) <= X.shape[1] * np.finfo(dtype).eps * expected
    X[idx[5], 2] = np.nan
    assert np.isnan(gather_rows_kernel(X, idx, out))


def test_mini_batches_report_each_dense_batchs_sum_of_squares():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((70, 6)).astype(np.float32), rng.integers(0, 3, 70)
    batches = MiniBatches(X, y, 32, np.random.default_rng(2))
    sizes = []
    for xb, _ in batches:
        sizes.append(len(xb))
        assert batches.sum_squares == pytest.approx(float(np.sum(xb.astype(np.float64) ** 2)), rel=1e-5)
    assert sizes == [32, 32, 6]


def test_mini_batches_without_the_kernel_report_no_sum():
    """Sparse or integer X, the whole set in order, or the kernels off: the NumPy gather and ``sum_squares`` inf."""
    from scipy import sparse

    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((20, 4)).astype(np.float32), rng.integers(0, 2, 20)
    cases = [MiniBatches(sparse.csr_matrix(X), y, 8, rng), MiniBatches((X * 10).astype(np.int64), y, 8, rng),
             MiniBatches(X, y, 20, None)]
    old = jit.set_enabled(False)
    try:
        cases.append(MiniBatches(X, y, 8, rng))
    finally:
        jit.set_enabled(old)
    for batches in cases:
        for _ in batches:
            assert batches.sum_squares == np.inf
