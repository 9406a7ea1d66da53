"""scikit-learn estimators: scikit-learn's own estimator checks, pipelines and searches, and
equivalence with sklearn.neural_network's MLP (penalty, optimisers, stopping rule)."""

import copy
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from tunenet.errors import CheckpointError
from tunenet.estimators import MLPClassifier, MLPRegressor, load_estimator
from tunenet.estimators.base import _seeds

# short max_iter values are the point of these tests, not a convergence problem
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The machine's few cores are shared: one BLAS thread keeps every test cheap."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def digits_data():
    X, y = load_digits(return_X_y=True)
    return X, y


# -- scikit-learn's estimator checks ------------------------------------------------------------
# max_iter=100 is what scikit-learn's own test suite passes to its MLPs; everything else is default.
# The second pair trains in float64 (the precision scikit-learn's MLP uses on these float64 inputs),
# the third turns on tunenet's own features. The sample-weight checks run on every configuration and
# pass in float32 and float64 without dropout; the only expected failures are listed, with their reason, in
# _expected_failed_checks. The only skips come from scikit-learn itself
# (check_decision_proba_consistency: "does not have a decision_function method", like sklearn's
# MLPClassifier; check_array_api_input: "SCIPY_ARRAY_API is not set", run with it set by
# test_array_api_check_runs_with_scipy_array_api below).
CHECKED = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier(max_iter=100, dtype="float64"),
    MLPRegressor(max_iter=100, dtype="float64"),
    MLPClassifier(max_iter=100, optimizer="rmsprop", batchnorm=True, keep_prob=0.9, dtype="float64",
                  lr_schedule="exponential:0.99", clip_norm=5.0, l1=1e-5, init="he", human_error=0.05,
                  monitor_health=7),
    MLPRegressor(max_iter=100, optimizer="nesterov", learning_rate_init=0.01, batchnorm="after", keep_prob=[0.9],
                 clip_norm=5.0, init="xavier"),
]


def _expected_failed_checks(estimator):
    """Checks that cannot pass, with the reason: the sample-weight equivalence checks with dropout only.

    The default float32 estimators pass them: their small training steps compute in float64
    (``FLOAT64_STEP_LIMIT``), so 15 weighted rows and the same rows repeated give the same float32
    gradients (test_float64_steps_make_weights_equal_repeated_rows). Dropout draws different masks for a
    repeated row than for a weighted one (and batch norm's batch statistics count rows, not weights), so
    those configurations fail them in any precision; scikit-learn's MLPs have neither.
    """
    if estimator.get_params()["keep_prob"] != 1.0:
        reason = "dropout masks differ between repeated and weighted rows"
        return {"check_sample_weight_equivalence_on_dense_data": reason,
                "check_sample_weight_equivalence_on_sparse_data": reason}
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [MLPClassifier(max_iter=100, solver="lbfgs"),
                                       MLPRegressor(max_iter=100, solver="sgd", tol=1e-2, random_state=42)],
                         ids=["classifier-lbfgs", "regressor-sgd"])
@pytest.mark.parametrize("sparse_data", [False, True], ids=["dense", "sparse"])
def test_sample_weight_checks_pass_with_sklearns_own_mlp_parameters(estimator, sparse_data):
    """The parameters scikit-learn's PER_ESTIMATOR_CHECK_PARAMS gives its own MLPs for these checks, default dtype."""
    from sklearn.utils.estimator_checks import (
        check_sample_weight_equivalence_on_dense_data,
        check_sample_weight_equivalence_on_sparse_data,
    )
    assert estimator.get_params()["dtype"] == "float32"
    check = check_sample_weight_equivalence_on_sparse_data if sparse_data else \
        check_sample_weight_equivalence_on_dense_data
    check(type(estimator).__name__, estimator)


def test_array_api_check_runs_with_scipy_array_api():
    """The check scikit-learn skips without SCIPY_ARRAY_API=1 (read when scipy is imported): run it in a child."""
    builds = ", ".join(f"{type(e).__name__}(**{e.get_params()!r})" for e in CHECKED)
    code = (
        "from sklearn.utils.estimator_checks import estimator_checks_generator\n"
        "from tunenet.estimators import MLPClassifier, MLPRegressor\n"
        "ran = 0\n"
        f"for est in ({builds},):\n"
        "    for e, check in estimator_checks_generator(est):\n"
        "        if 'array_api' in getattr(check, 'func', check).__name__:\n"
        "            check(e)\n"
        "            ran += 1\n"
        "print(ran)\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) == len(CHECKED)


# -- must show: Pipeline, cross_val_score, RandomizedSearchCV on digits -----------------------------
def test_pipeline_cross_val_score_digits(digits_data):
    X, y = digits_data
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier((64,), max_iter=20, optimizer="rmsprop", keep_prob=0.9, random_state=0))])
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.mean() > 0.85  # unshuffled folds of digits are hard: sklearn MLP scores about the same


def test_randomized_search_loguniform_learning_rate_digits(digits_data):
    X, y = digits_data
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier((32,), max_iter=15, random_state=0))])
    search = RandomizedSearchCV(
        pipe, {"mlp__learning_rate_init": loguniform(1e-4, 1e-1), "mlp__optimizer": ["adam", "rmsprop", "nesterov"],
               "mlp__alpha": loguniform(1e-6, 1e-2)},
        n_iter=4, cv=3, random_state=0)
    search.fit(X, y)
    lrs = [p["mlp__learning_rate_init"] for p in search.cv_results_["params"]]
    assert len(set(lrs)) == 4 and all(1e-4 <= lr <= 1e-1 for lr in lrs)
    assert search.best_score_ > 0.85
    assert search.best_estimator_.score(X, y) > 0.9


# -- equivalence with scikit-learn's MLP ---------------------------------------------------------------
def _copy_weights(src, dst):
    for a, b in zip(src.coefs_ + src.intercepts_, dst.coefs_ + dst.intercepts_, strict=True):
        b[...] = a


@pytest.mark.parametrize("solver_kw,rtol", [
    (dict(solver="sgd", momentum=0.0), 1e-10),
    (dict(solver="sgd", momentum=0.9, nesterovs_momentum=True), 1e-10),
    (dict(solver="sgd", momentum=0.8, nesterovs_momentum=False), 1e-10),
    # scikit-learn adds epsilon to sqrt(v) before bias correction, tunenet to sqrt(v_hat) (Adam's paper):
    # identical updates when epsilon is negligible, as here
    (dict(solver="adam", epsilon=1e-20), 1e-10),
])
def test_same_steps_and_loss_curve_as_sklearn(digits_data, solver_kw, rtol):
    """From the same weights, full-batch steps (alpha = tunenet's l2) give scikit-learn's weights and losses."""
    X, y = digits_data[0][:300] / 16, digits_data[1][:300]
    common = dict(hidden_layer_sizes=(20,), alpha=0.5, batch_size=300, learning_rate_init=0.05, max_iter=1,
                  warm_start=True, tol=0.0, n_iter_no_change=1000, random_state=0, **solver_kw)
    sk = SkMLPClassifier(**common).fit(X, y)
    ours = MLPClassifier(dtype="float64", **common).fit(X, y)
    _copy_weights(sk, ours)
    sk.set_params(max_iter=5).fit(X, y)  # warm start: same weights, fresh optimiser, 5 full-batch steps
    ours.set_params(max_iter=5).fit(X, y)
    for a, b in zip(sk.coefs_ + sk.intercepts_, ours.coefs_ + ours.intercepts_, strict=True):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(ours.loss_curve_[1:], sk.loss_curve_[1:], rtol=rtol)


def test_alpha_is_tunenet_l2():
    """scikit-learn's alpha/(2m)*||W||^2 per batch is tunenet's l2/(2m) convention with l2 = alpha."""
    from tunenet.nn.losses import penalty

    X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(3,), alpha=0.7, max_iter=1, dtype="float64", random_state=0).fit(X, y)
    expected = 0.7 / (2 * 50) * sum(float(np.sum(W ** 2)) for W in reg.coefs_)
    assert penalty(reg.model_.parameters(), reg.alpha, 0.0, 50) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("Est,SkEst", [(MLPClassifier, SkMLPClassifier), (MLPRegressor, SkMLPRegressor)])
def test_tol_n_iter_no_change_stop_like_sklearn(digits_data, Est, SkEst):
    X, y = digits_data[0][:200] / 16, digits_data[1][:200]
    kw = dict(hidden_layer_sizes=(8,), tol=1e9, n_iter_no_change=3, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopping early is convergence: no warning
        ours, sk = Est(**kw).fit(X, y), SkEst(**kw).fit(X, y)
    # epoch 1 sets best_loss_; epochs 2..5 do not improve by tol: count 4 > n_iter_no_change = 3
    assert ours.n_iter_ == sk.n_iter_ == 5
    assert len(ours.loss_curve_) == 5 and ours.best_loss_ == min(ours.loss_curve_)
    assert ours.validation_scores_ is None and ours.best_validation_score_ is None


def test_max_iter_reached_warns(digits_data):
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((8,), max_iter=2, random_state=0).fit(*digits_data)


def test_early_stopping_scores_and_restores_best_weights(digits_data):
    X, y = digits_data[0] / 16, digits_data[1]
    clf = MLPClassifier((32,), early_stopping=True, n_iter_no_change=3, tol=0.01, max_iter=60,
                        learning_rate_init=0.01, random_state=3).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_) < 60
    assert clf.best_validation_score_ == max(clf.validation_scores_) and clf.best_loss_ is None
    # the held-out split is scikit-learn's train_test_split seeded from random_state; like scikit-learn's
    # MLP (which stratifies its one-column binarised target only) a multiclass target is not stratified
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1, random_state=_seeds(3, 3)[2])
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_)


def test_warm_start_may_switch_early_stopping(digits_data):
    X, y = digits_data[0][:300] / 16, digits_data[1][:300]
    clf = MLPClassifier((8,), max_iter=2, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(early_stopping=True, validation_fraction=0.2).fit(X, y)
    assert len(clf.validation_scores_) == 2 and clf.best_loss_ is None
    clf.set_params(early_stopping=False).fit(X, y)
    assert clf.validation_scores_ is None and clf.best_loss_ == min(clf.loss_curve_[-2:])


def test_partial_fit_not_with_early_stopping(digits_data):
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(*digits_data, classes=np.arange(10))


def test_adaptive_learning_rate_divides_by_five_then_stops_like_sklearn(digits_data):
    X, y = digits_data[0][:200] / 16, digits_data[1][:200]
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", momentum=0.0, learning_rate="adaptive", learning_rate_init=1e-4,
              tol=1e9, n_iter_no_change=1, max_iter=100, random_state=0)
    clf, sk = MLPClassifier(**kw).fit(X, y), SkMLPClassifier(**kw).fit(X, y)
    # count > 1 after epochs 3, 5, 7, 9: lr 1e-4 -> 2e-5 -> 4e-6 -> 8e-7 <= 1e-6, then stop
    np.testing.assert_allclose([row["lr"] for row in clf.history_.epochs], [1e-4] * 3 + [2e-5] * 2 + [4e-6] * 2
                               + [8e-7] * 2)
    assert clf.n_iter_ == sk.n_iter_ == 9


def test_invscaling_learning_rate(digits_data):
    X, y = digits_data[0][:100] / 16, digits_data[1][:100]
    clf = MLPClassifier((8,), solver="sgd", momentum=0.5, learning_rate="invscaling", power_t=0.5,
                        learning_rate_init=0.01, max_iter=3, tol=0.0, random_state=0).fit(X, y)
    expected = [0.01 / (1 - 0.5) / (e * 100 + 1) ** 0.5 for e in range(3)]  # tunenet lr = sklearn lr / (1-mu)
    np.testing.assert_allclose([row["lr"] for row in clf.history_.epochs], expected)
    assert clf.t_ == 300


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression", "regression2"])
def test_fitted_attributes_match_sklearn_shapes(kind):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    if kind == "multilabel":
        X, y = make_multilabel_classification(n_samples=60, n_features=5, n_classes=3, random_state=0)
    elif kind.startswith("regression"):
        y = X @ rng.normal(size=(5, 2)) if kind == "regression2" else X[:, 0]
    else:
        y = np.array(["a", "b", "c"] if kind == "multiclass" else ["no", "yes"])[rng.randint(0, 3 if
                                                                                             kind == "multiclass"
                                                                                             else 2, 60)]
    Ours, Sk = (MLPRegressor, SkMLPRegressor) if kind.startswith("regression") else (MLPClassifier, SkMLPClassifier)
    kw = dict(hidden_layer_sizes=(7, 4), max_iter=3, random_state=0)
    ours, sk = Ours(**kw).fit(X, y), Sk(**kw).fit(X, y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in sk.coefs_]
    assert [c.shape for c in ours.intercepts_] == [c.shape for c in sk.intercepts_]
    for attr in ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_", "n_iter_", "t_"):
        assert getattr(ours, attr) == getattr(sk, attr), attr
    assert ours.predict(X).shape == sk.predict(X).shape
    assert len(ours.loss_curve_) == 3 and np.isfinite(ours.loss_)
    if Ours is MLPClassifier:
        np.testing.assert_array_equal(ours.classes_, sk.classes_)
        assert set(np.unique(ours.predict(X))) <= set(np.unique(sk.classes_ if kind != "multilabel" else [0, 1]))
        proba = ours.predict_proba(X)
        assert proba.shape == sk.predict_proba(X).shape and proba.dtype == np.float64
        if kind != "multilabel":
            np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(ours.predict_log_proba(X), np.log(proba))


def test_feature_names_in_(digits_data):
    X = pd.DataFrame(digits_data[0][:100], columns=[f"px{i}" for i in range(64)])
    clf = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, digits_data[1][:100])
    assert list(clf.feature_names_in_) == list(X.columns)


def test_partial_fit_continues_and_warm_start_keeps_weights(digits_data):
    X, y = digits_data[0] / 16, digits_data[1]
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    clf = MLPClassifier((32,), random_state=0)
    for _ in range(5):
        clf.partial_fit(X, y, classes=np.arange(10))
    assert clf.n_iter_ == 1 and clf.t_ == 5 * len(X) and len(clf.loss_curve_) == 5
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf._trainer.optimizer.t == 5 * int(np.ceil(len(X) / 200))  # one optimiser throughout
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :10], y)
    warm = MLPClassifier((32,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    first, untrained = warm.loss_curve_[-1], warm._trainer.first_loss
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 6 and warm.loss_curve_[3] < first + 0.05
    # the new run's divergence guard still measures against the untrained network's first loss
    assert warm._trainer.first_loss == untrained > first


@pytest.mark.parametrize("params,match", [
    (dict(alpha=-1.0), "'alpha' parameter"),
    (dict(activation="softplus"), "'activation' parameter"),
    (dict(solver="newton"), "'solver' parameter"),
    (dict(optimizer="adagrad"), "'optimizer' parameter"),
    (dict(init="normal:wide"), "'init' parameter"),
    (dict(lr_schedule="cosine"), "'lr_schedule' parameter"),
    (dict(keep_prob=0.0), "'keep_prob' parameter"),
    (dict(batch_size=0), "'batch_size' parameter"),
    (dict(momentum=1.0), "'momentum' parameter"),
    (dict(dtype="float16"), "'dtype' parameter"),
    (dict(clip_norm=0), "'clip_norm' parameter"),
    (dict(batchnorm="middle"), "'batchnorm' parameter"),
])
def test_parameter_table_raises_sklearn_errors(digits_data, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        MLPClassifier(**params).fit(*digits_data)


@pytest.mark.parametrize("params,match", [
    (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(10, 5), keep_prob=[0.5]), "keep_prob"),
    (dict(solver="sgd", learning_rate="adaptive", lr_schedule="exponential:0.9"), "use one of them"),
    (dict(early_stopping=True, validation_fraction=0.01), "validation set is too small"),
])
def test_inconsistent_parameters_raise_value_error(digits_data, params, match):
    with pytest.raises(ValueError, match=match):
        MLPRegressor(max_iter=1, **params).fit(digits_data[0][:100], digits_data[1][:100])


def test_one_class_fits_and_predicts_it():
    """As scikit-learn: a one-class y fits and predicts that class (probability 1, one column per class)."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    clf = MLPClassifier((4,), max_iter=20, random_state=0).fit(X, np.full(20, "only"))
    assert list(clf.classes_) == ["only"] and set(clf.predict(X)) == {"only"}
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((20, 1)))
    assert clf.score(X, np.full(20, "only")) == 1.0


def test_tunenet_features_reach_the_engine(digits_data):
    X, y = digits_data[0] / 16, digits_data[1]
    clf = MLPClassifier((32, 16), optimizer="adamw", weight_decay=0.05, batchnorm=True, keep_prob=[0.8, 0.9],
                        init="he", lr_schedule="staircase:0.5:2", clip_norm=1.0, l1=1e-4, dtype="float64",
                        learning_rate_init=0.01, max_iter=4, random_state=0).fit(X, y)
    kinds = [type(layer).__name__ for layer in clf.model_.layers]
    assert kinds == ["Dense", "BatchNorm", "ReLU", "Dropout", "Dense", "BatchNorm", "ReLU", "Dropout", "Dense"]
    assert type(clf._trainer.optimizer).__name__ == "AdamW" and clf._trainer.optimizer.weight_decay == 0.05
    assert [row["lr"] for row in clf.history_.epochs] == pytest.approx([1e-2, 1e-2, 5e-3, 5e-3])
    assert clf.coefs_[0].dtype == np.float64 and clf._trainer.l1 == 1e-4
    assert not np.any(clf.intercepts_[0])  # batch norm's beta replaces the Dense bias
    assert clf.score(X, y) > 0.8


def test_verbose_prints_sklearn_lines(digits_data, capsys):
    MLPClassifier((8,), max_iter=2, verbose=True, random_state=0).fit(*digits_data)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Iteration 1, loss = ") and out[1].startswith("Iteration 2, loss = ")


def test_default_dtype_is_float32_and_outputs_follow_X(digits_data):
    X, y = digits_data[0][:200] / 16, digits_data[1][:200]
    clf = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float64
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_same_random_state_same_model_none_differs(digits_data):
    X, y = digits_data[0][:200] / 16, digits_data[1][:200]

    def weights(rs):
        return MLPClassifier((8,), max_iter=2, keep_prob=0.8, random_state=rs).fit(X, y).coefs_[0].copy()

    np.testing.assert_array_equal(weights(7), weights(7))
    assert not np.array_equal(weights(None), weights(None))
    np.testing.assert_array_equal(weights(np.random.RandomState(5)), weights(np.random.RandomState(5)))


# -- persistence ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted_string_classifier(digits_data):
    X, y = digits_data[0] / 16, digits_data[1]
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    clf = MLPClassifier((16,), batchnorm=True, keep_prob=0.9, max_iter=5, random_state=0)
    with threadpool_limits(limits=1):
        clf.fit(pd.DataFrame(X, columns=[f"px{i}" for i in range(64)]), labels)
    return clf, pd.DataFrame(X, columns=[f"px{i}" for i in range(64)]), labels


@pytest.mark.parametrize("copier", [lambda e: pickle.loads(pickle.dumps(e)), copy.deepcopy])
def test_pickle_and_deepcopy_round_trip_then_continue_identically(fitted_string_classifier, copier):
    clf, X, labels = fitted_string_classifier
    original, clone = copy.deepcopy(clf), copier(clf)
    np.testing.assert_array_equal(clone.predict_proba(X), original.predict_proba(X))
    original.partial_fit(X, labels)
    clone.partial_fit(X, labels)  # same weights, optimiser state and random stream: the same step
    assert clone.t_ == clf.t_ + len(X) and clone._trainer.optimizer.t > clf._trainer.optimizer.t
    np.testing.assert_array_equal(clone.predict_proba(X), original.predict_proba(X))
    assert not np.array_equal(clone.predict_proba(X), clf.predict_proba(X))  # the step reached the layers


def test_save_load_safetensors(tmp_path, fitted_string_classifier):
    clf, X, labels = fitted_string_classifier
    path = tmp_path / "clf.safetensors"
    clf.save(path)
    assert b"pickle" not in path.read_bytes()[:8] and path.read_bytes()[8:9] == b"{"  # a safetensors header
    back = MLPClassifier.load(path)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.classes_.dtype == clf.classes_.dtype
    assert list(back.feature_names_in_) == list(clf.feature_names_in_)
    assert back.get_params() == clf.get_params()
    assert back.loss_curve_ == clf.loss_curve_ and back.n_iter_ == clf.n_iter_
    assert type(load_estimator(path)) is MLPClassifier
    back.partial_fit(X, labels)  # a fresh optimiser continues training
    with pytest.raises(CheckpointError, match="MLPClassifier, not a MLPRegressor"):
        MLPRegressor.load(path)


def test_save_load_regressor_and_tampering(tmp_path):
    X, y = make_regression(n_samples=80, n_features=3, n_targets=2, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=0).fit(X, y)
    path = tmp_path / "reg.safetensors"
    reg.save(path)
    back = load_estimator(path)
    assert type(back) is MLPRegressor
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        MLPRegressor.load(path)
