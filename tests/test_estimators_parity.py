"""scikit-learn parity of the estimators (issue 16): sample weights, shuffle, assignable weights,
copies that keep training, early-stopping split, divergence guard, L-BFGS, sparse input, Poisson."""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from threadpoolctl import threadpool_limits

from tunenet.estimators import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


# -- sample_weight --------------------------------------------------------------------------------
@pytest.mark.parametrize("Est,kw", [
    (MLPClassifier, dict(solver="sgd", momentum=0.0)),
    (MLPRegressor, dict(solver="adam")),
    (MLPClassifier, dict(solver="lbfgs")),
])
def test_integer_weights_equal_repeated_rows(digits, Est, kw):
    """Full batch in float64: weight k on a row is that row k times (loss, gradient and penalty's m)."""
    X, y = digits[0][:60], digits[1][:60]
    w = np.random.default_rng(0).integers(0, 4, size=60)
    common = dict(hidden_layer_sizes=(8,), batch_size=500, max_iter=15, alpha=0.1, dtype="float64",
                  shuffle=False, random_state=0, tol=0.0, **kw)
    weighted = Est(**common).fit(X, y, sample_weight=w)
    repeated = Est(**common).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, repeated.coefs_ + repeated.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


def test_weights_change_the_fit_and_the_score(digits):
    X, y = digits
    w = np.where(y == 3, 10.0, 1.0)
    plain = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    weighted = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y, sample_weight=w)
    assert not np.array_equal(plain.coefs_[0], weighted.coefs_[0])
    hits = weighted.predict(X) == y
    assert weighted.score(X, y, sample_weight=w) == pytest.approx(np.average(hits, weights=w))
    part = MLPClassifier((8,), random_state=0).partial_fit(X, y, sample_weight=w, classes=np.arange(10))
    assert part.t_ == len(X)


def test_early_stopping_validation_score_is_weighted(digits):
    X, y = digits
    w = np.random.default_rng(1).uniform(0.1, 3, size=len(y))
    clf = MLPClassifier((16,), early_stopping=True, max_iter=8, n_iter_no_change=100, random_state=0,
                        learning_rate_init=0.01).fit(X, y, sample_weight=w)
    # the estimator's own stopping bookkeeping recorded the weighted accuracy of its held-out rows
    from sklearn.model_selection import train_test_split

    from tunenet.estimators.base import _seeds
    _, X_val, _, y_val, _, w_val = train_test_split(X, y, w, test_size=0.1, random_state=_seeds(0, 3)[2])
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(X_val, y_val, sample_weight=w_val) == pytest.approx(clf.best_validation_score_)
    assert clf.score(X_val, y_val, sample_weight=w_val) != clf.score(X_val, y_val)


# -- shuffle ----------------------------------------------------------------------------------------
def test_shuffle_false_visits_rows_in_order():
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    kw = dict(hidden_layer_sizes=(3,), batch_size=1, max_iter=1, random_state=0)
    a, b = MLPRegressor(shuffle=False, **kw).fit(X, y), MLPRegressor(shuffle=False, **kw).fit(X, y)
    c = MLPRegressor(shuffle=True, **kw).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    # in order: the same weights as one SGD step per row, rows 0, 1, 2, ...
    d = MLPRegressor(shuffle=False, **kw).fit(X[:1], y[:1])
    e = MLPRegressor(shuffle=True, **kw).fit(X[:1], y[:1])
    np.testing.assert_array_equal(d.coefs_[0], e.coefs_[0])


# -- coefs_ / intercepts_ -----------------------------------------------------------------------------
def test_assigning_coefs_writes_into_the_model(digits):
    X, y = digits
    clf = MLPClassifier((5,), max_iter=2, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    assert not np.any(clf.model_.flat_values)  # the model's own buffer, not a detached copy
    np.testing.assert_allclose(clf.predict_proba(X), 0.1)
    assert not np.allclose(before, 0.1)
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape"):
        clf.coefs_ = [np.zeros((3, 3)), clf.coefs_[1]]


def test_coefs_assigned_before_fit_are_the_starting_point():
    """scikit-learn's test_fit sets coefs_/intercepts_ on an unfitted estimator, then calls partial_fit."""
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    clf = MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic", max_iter=1,
                        hidden_layer_sizes=2, momentum=0, dtype="float64")
    clf.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
    clf.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    clf.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(clf.coefs_[1], [[0.04706], [0.154089]], atol=1e-4)
    np.testing.assert_allclose(clf.intercepts_[1], [0.9235], atol=1e-4)


# -- copies keep training (issue 15) ----------------------------------------------------------------
def _joblib_copy(est, tmp_path):
    path = tmp_path / "est.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


@pytest.mark.parametrize("how", ["pickle", "joblib", "deepcopy"])
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_partial_fit_after_copy_moves_weights_as_on_the_original(digits, tmp_path, how, Est):
    """No batch norm: only the weights can move, so a step on a stale buffer would show."""
    X, y = digits
    est = Est(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    clone = {"pickle": lambda e: pickle.loads(pickle.dumps(e)), "deepcopy": copy.deepcopy,
             "joblib": lambda e: _joblib_copy(e, tmp_path)}[how](est)
    before = [c.copy() for c in clone.coefs_]
    for _ in range(2):
        est.partial_fit(X, y)
        clone.partial_fit(X, y)
    for a, b, c in zip(clone.coefs_ + clone.intercepts_, est.coefs_ + est.intercepts_, before + [None] * 2):
        np.testing.assert_array_equal(a, b)
        if c is not None:
            assert not np.array_equal(a, c)
    np.testing.assert_array_equal(clone.predict(X), est.predict(X))
    assert clone._trainer.optimizer.flat is clone.model_.flat


# -- early-stopping split ----------------------------------------------------------------------------
def test_early_stopping_with_a_one_member_class_fits():
    """scikit-learn stratifies only binary targets: iris with one relabelled row, and digits[:90], fit."""
    X, y = load_iris(return_X_y=True)
    y = y.copy()
    y[0] = 3
    MLPClassifier((4,), early_stopping=True, max_iter=3, random_state=0).fit(X, y)
    Xd, yd = load_digits(return_X_y=True)
    MLPClassifier((4,), early_stopping=True, max_iter=3, random_state=0).fit(Xd[:90], yd[:90])
    with pytest.raises(ValueError, match="least populated class"):  # binary: stratified, as scikit-learn
        MLPClassifier(early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])


# -- divergence guard --------------------------------------------------------------------------------
def test_divergence_guard_acts_only_on_non_finite_values():
    """A large but finite loss (targets of mean 100) trains on, as scikit-learn; NaN stops with the user's lr."""
    X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    y = y + 100
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", max_iter=30, random_state=0).fit(X, y)
    sk = SkMLPRegressor(hidden_layer_sizes=(8,), solver="sgd", max_iter=30, random_state=0).fit(X, y)
    assert np.isfinite(reg.loss_) and reg.n_iter_ == sk.n_iter_ == 30
    with pytest.raises(ValueError, match=r"non-finite.*learning_rate_init=1000\b"):
        MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1000.0, max_iter=30,
                     random_state=0).fit(X, y * 1e6)
    with pytest.raises(ValueError, match="learning_rate_init=0.5"):  # asked for: stop on a 2x explosion
        MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.5, momentum=0, explosion=2.0,
                     max_iter=30, random_state=0).fit(X, y)


def test_divergence_with_early_stopping_keeps_best_weights():
    X, y = load_iris(return_X_y=True)
    reg = MLPRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd", learning_rate_init=1, max_iter=20,
                       early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    assert np.isnan(reg.validation_scores_[-1]) and len(reg.validation_scores_) == reg.n_iter_
    assert np.all(np.isfinite(reg.model_.flat_values)) and np.all(np.isfinite(reg.predict(X)))


# -- sparse X ------------------------------------------------------------------------------------------
def _no_densifying(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse X was densified")
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_sparse_X_fits_like_dense_without_densifying(digits, monkeypatch, fmt, solver):
    X, y = digits
    kw = dict(hidden_layer_sizes=(12,), solver=solver, max_iter=15, random_state=0, dtype="float64")
    dense = MLPClassifier(**kw).fit(X, y)
    _no_densifying(monkeypatch)
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    sparse_fit = MLPClassifier(**kw).fit(Xs, y, sample_weight=np.ones(len(y)))
    for a, b in zip(sparse_fit.coefs_, dense.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(sparse_fit.predict(Xs), dense.predict(X))
    np.testing.assert_allclose(sparse_fit.predict_proba(Xs), dense.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_sparse_first_layer_gradients_equal_dense():
    import tunenet

    rng = np.random.default_rng(0)
    X = sp.random(30, 50, density=0.1, format="csr", random_state=1, dtype=np.float64)
    y = rng.integers(0, 3, size=30)
    model = tunenet.mlp(50, hidden=[7], n_out=3, seed=0, dtype=np.float64)
    J_sparse, _ = model.loss_and_grads(X, y, l2=0.1)
    g_sparse = model.flat_grads.copy()
    J_dense, _ = model.loss_and_grads(X.toarray(), y, l2=0.1)
    assert J_sparse == pytest.approx(J_dense, rel=1e-12)
    np.testing.assert_allclose(g_sparse, model.flat_grads, rtol=1e-10, atol=1e-14)


def test_one_hot_encoder_pipeline_on_a_categorical_table():
    """OneHotEncoder's default output is a sparse matrix: the MLP takes it as is."""
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    n = 300
    table = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], n),
                          "size": rng.choice(["S", "M", "L", "XL"], n),
                          "shop": rng.choice([f"shop{i}" for i in range(12)], n)})
    y = ((table.colour == "red") ^ table["size"].isin(["L", "XL"])).astype(int).to_numpy()
    pipe = make_pipeline(OneHotEncoder(), MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                                                        max_iter=300, random_state=0))
    assert sp.issparse(OneHotEncoder().fit_transform(table))
    assert cross_val_score(pipe, table, y, cv=3).mean() > 0.95  # y is an XOR of two columns: learnt exactly
    mixed = table.assign(price=rng.normal(size=n))
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["colour", "size", "shop"]),
                                                 remainder="passthrough", sparse_threshold=1.0),
                         MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0))
    assert pipe.fit(mixed, y).score(mixed, y) > 0.95


# -- L-BFGS accuracy against scikit-learn ---------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["breast_cancer", "iris"])
def test_lbfgs_cross_validated_accuracy_within_a_point_of_sklearn(dataset):
    """5-fold CV (shuffled, stratified), averaged over 5 random_state values: within 1 point (docs/estimators.md)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = (load_breast_cancer if dataset == "breast_cancer" else load_iris)(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)

    def accuracy(Est):
        return np.mean([cross_val_score(make_pipeline(StandardScaler(), Est(solver="lbfgs", random_state=seed)),
                                        X, y, cv=cv).mean() for seed in range(5)])

    ours, theirs = accuracy(MLPClassifier), accuracy(SkMLPClassifier)
    assert abs(ours - theirs) <= 0.01, (ours, theirs)
    assert ours > (0.95 if dataset == "breast_cancer" else 0.93)


def test_lbfgs_has_no_partial_fit_and_records_its_iterations(digits):
    X, y = digits
    clf = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=25, tol=0.0, random_state=0)
    assert not hasattr(clf, "partial_fit") and hasattr(MLPClassifier(), "partial_fit")
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf.fit(X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == 25 and clf.loss_ == pytest.approx(clf.loss_curve_[-1])
    assert clf.score(X, y) > 0.95


def test_estimators_from_parallel_cross_validate_keep_training(digits):
    """cross_validate(n_jobs=2, return_estimator=True) sends fitted estimators back through pickle."""
    from sklearn.model_selection import cross_validate

    X, y = digits
    out = cross_validate(MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0), X, y, cv=2, n_jobs=2,
                         return_estimator=True)
    for est in out["estimator"]:
        reference = copy.deepcopy(est)
        before = est.coefs_[0].copy()
        est.partial_fit(X, y)
        reference.partial_fit(X, y)
        assert not np.array_equal(est.coefs_[0], before)
        np.testing.assert_array_equal(est.coefs_[0], reference.coefs_[0])


# -- loss='poisson' -----------------------------------------------------------------------------------
def test_poisson_regressor_predicts_exp_and_matches_a_poisson_glm():
    from sklearn.linear_model import PoissonRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(200, 2))
    y = rng.poisson(np.exp(X @ [1.0, -0.5] + 0.5))
    glm = PoissonRegressor(alpha=0, tol=1e-8).fit(X, y)
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(1,), activation="identity", alpha=0, solver="lbfgs",
                       tol=1e-8, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp" and np.all(reg.predict(X) > 0)
    np.testing.assert_allclose(reg.predict(X), glm.predict(X), rtol=1e-3)
    with pytest.raises(ValueError, match=">= 0"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, -np.ones(200))
