"""Small float32 training steps in float64 (``Sequential.float64_step_limit``, set by the estimators).

A row of integer weight k and k copies of it must give the same gradient: scikit-learn's sample-weight
equivalence checks compare the fits at rtol=1e-7, below float32's resolution.
"""

import numpy as np
import pytest
from scipy import sparse

from tunenet import mlp

LIMIT = 250_000


def weighted_and_repeated(output="softmax", n_out=3, seed=0):
    """15 rows with integer weights (zeros included) and the same rows repeated, in another order."""
    rng = np.random.default_rng(seed)
    X = rng.random((15, 30)).astype(np.float32)
    y = rng.integers(0, n_out, 15) if output == "softmax" else rng.standard_normal((15, n_out))
    w = rng.integers(0, 5, 15)
    order = rng.permutation(int(w.sum()))
    return X, y, w.astype(np.float64), X.repeat(w, axis=0)[order], y.repeat(w, axis=0)[order]


def grads(model, X, y, w=None, limit=LIMIT):
    model.float64_step_limit = limit
    value, logits = model.loss_and_grads(X, y, l2=1e-4, sample_weight=w)
    return value, logits, model.flat_grads.copy()


@pytest.mark.parametrize("output,n_out", [("softmax", 3), ("linear", 1)])
def test_float64_steps_make_weights_equal_repeated_rows(output, n_out):
    X, y, w, Xr, yr = weighted_and_repeated(output, n_out)
    model = mlp(30, [100], n_out, output=output, seed=1)
    assert 15 * model.n_parameters <= LIMIT and len(Xr) * model.n_parameters <= LIMIT
    value_w, _, g_w = grads(model, X, y, w)
    value_r, logits, g_r = grads(model, Xr, yr)
    assert logits.dtype == np.float64
    np.testing.assert_array_equal(g_w, g_r)
    assert value_w == pytest.approx(value_r, rel=1e-14)
    # in float32 the same two steps differ in the last bits: what the float64 step is for
    _, _, g_w32 = grads(model, X, y, w, limit=0)
    _, logits32, g_r32 = grads(model, Xr, yr, limit=0)
    assert logits32.dtype == np.float32
    assert not np.array_equal(g_w32, g_r32)
    np.testing.assert_allclose(g_w32, g_r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"activation": "tanh"}, {"batchnorm": True}, {"batchnorm": "after"}])
def test_a_float64_step_is_the_float64_models_step_rounded_once(kwargs):
    """Fused kernels over float32 weights in float64 == the float64 model's NumPy passes, to float32 rounding."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 12)).astype(np.float32), rng.integers(0, 4, 40)
    model = mlp(12, [16, 9], 4, seed=2, **kwargs)
    twin = model.astype(np.float64)
    value, _, g = grads(model, X, y)
    want, _ = twin.loss_and_grads(X.astype(np.float64), y, l2=1e-4)
    assert value == pytest.approx(want, rel=1e-10)
    np.testing.assert_allclose(g, twin.flat_grads.astype(np.float32), rtol=1e-6, atol=1e-12)
    assert g.dtype == np.float32 and model.flat_values.dtype == np.float32


def test_sparse_input_takes_the_same_float64_step():
    X, y, w, _, _ = weighted_and_repeated()
    X[X < 0.6] = 0
    model = mlp(30, [100], 3, seed=1)
    _, _, dense = grads(model, X, y, w)
    _, _, csr = grads(model, sparse.csr_matrix(X), y, w)
    np.testing.assert_array_equal(dense, csr)


def test_steps_above_the_limit_stay_float32():
    rng = np.random.default_rng(4)
    model = mlp(30, [100], 3, seed=1)
    m = LIMIT // model.n_parameters + 1
    X, y = rng.random((m, 30)).astype(np.float32), rng.integers(0, 3, m)
    _, logits, _ = grads(model, X, y)
    assert logits.dtype == np.float32 and model.last_correct is not None  # the fused float32 softmax kernel
    _, logits, _ = grads(model, X[:m - 1], y[:m - 1])
    assert logits.dtype == np.float64
    assert mlp(4, [3], 2).float64_step_limit == 0  # off unless asked for (the CLI's training stays float32)
