"""L-BFGS on the flat buffer: scipy's L-BFGS-B result written back, options with scikit-learn's meaning."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

import tunenet
from tunenet.errors import ConfigError
from tunenet.estimators import MLPClassifier
from tunenet.optim.lbfgs import float64_twin, minimize_lbfgs


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:200] / 16, y[:200]


def test_minimises_and_writes_the_result_into_a_float32_model(digits):
    X, y = digits
    model = tunenet.mlp(64, hidden=[16], n_out=10, activation="tanh", init="glorot", seed=0)
    start = model.flat_values.copy()
    result = minimize_lbfgs(model, X, y, l2=1e-3, max_iter=30, tol=0.0)
    assert result.nit == len(result.loss_curve) == 30 and result.status == 1  # stopped by max_iter
    assert all(b < a for a, b in zip(result.loss_curve, result.loss_curve[1:]))  # a descent method
    assert model.dtype == np.float32 and not np.array_equal(model.flat_values, start)
    np.testing.assert_allclose(model.flat_values, result.x.astype(np.float32))
    J, _ = float64_twin(model).loss_and_grads(X, y, l2=1e-3)
    assert J == pytest.approx(result.fun, rel=1e-5)


def test_max_fun_bounds_evaluations_and_tol_stops(digits):
    X, y = digits
    model = tunenet.mlp(64, hidden=[8], n_out=10, seed=1, dtype=np.float64)
    result = minimize_lbfgs(model, X, y, max_iter=500, max_fun=15)
    assert result.status == 1 and result.nit < 15 and "F,G EVALUATIONS" in str(result.message).upper()
    loose = minimize_lbfgs(tunenet.mlp(64, hidden=[8], n_out=10, seed=1, dtype=np.float64), X, y,
                           max_iter=500, tol=1.0)
    assert loose.status == 0 and loose.nit < 5  # the projected gradient is below 1 almost at once


def test_same_iterates_as_scikit_learn_from_the_same_weights(digits):
    """Same objective (cross-entropy + alpha/(2m)||W||^2), same L-BFGS-B: the same weights after 15 iterations."""
    X, y = digits
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", alpha=1e-2, max_iter=1, warm_start=True, random_state=0)
    sk, ours = SkMLPClassifier(**kw).fit(X, y), MLPClassifier(dtype="float64", **kw).fit(X, y)
    ours.coefs_, ours.intercepts_ = sk.coefs_, sk.intercepts_
    sk.set_params(max_iter=15).fit(X, y)
    ours.set_params(max_iter=15).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert ours.n_iter_ == sk.n_iter_ == 15 and ours.loss_ == pytest.approx(sk.loss_, rel=1e-7)


def test_sample_weight_and_bad_options(digits):
    X, y = digits
    model = tunenet.mlp(64, hidden=[8], n_out=10, seed=0, dtype=np.float64)
    w = np.where(y == 0, 5.0, 1.0)
    result = minimize_lbfgs(model, X, y, max_iter=20, sample_weight=w)
    J, _ = model.loss_and_grads(X, y, sample_weight=w)
    assert J == pytest.approx(result.fun, rel=1e-12)
    for bad in (dict(max_iter=0), dict(max_fun=True), dict(tol=-1.0)):
        with pytest.raises(ConfigError):
            minimize_lbfgs(model, X, y, **bad)
