"""The reference model: an estimate of the achievable error on the run's own split, fitted only when cheap."""

import numpy as np
import pytest

from tunenet.diagnose.reference import CHEAP_SECONDS, fit_reference, reference_seconds, wanted


def blobs(n, overlap, seed):
    """Two Gaussian classes in 5-D whose means are 2*overlap apart on one axis: Bayes error Phi(-overlap)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 5)) * 30 + 500  # unscaled: the reference standardises itself
    X[:, 0] += (2 * y - 1) * overlap * 30
    return X.astype(np.float32), y


def test_reference_error_is_near_the_bayes_error_of_overlapping_blobs():
    from scipy.stats import norm

    X, y = blobs(4000, 0.5, 0)
    X_dev, y_dev = blobs(2000, 0.5, 1)
    r = fit_reference(X, y, X_dev, y_dev, seed=0)
    bayes = norm.cdf(-0.5)  # 30.9%
    assert abs(r["dev_error"] - bayes) < 0.03 and abs(r["train_error"] - bayes) < 0.03
    assert r["n_dev"] == 2000 and r["model"] == "logistic regression" and "proxy" in r["label"]


def test_reference_of_a_single_class_predicts_it():
    X = np.ones((10, 2), np.float32)
    r = fit_reference(X, np.zeros(10, int), X[:4], np.array([0, 0, 1, 1]))
    assert r["train_error"] == 0 and r["dev_error"] == 0.5


def test_auto_fits_only_without_a_human_error_and_when_cheap():
    small = reference_seconds(1000, 64, 10)
    big = reference_seconds(60000, 784, 10)
    assert small < CHEAP_SECONDS < big
    assert wanted("auto", None, small, 0.01)
    assert not wanted("auto", 0.05, small, 0.01)  # the human-level error is the reference
    assert not wanted("auto", None, big, 60.0) and wanted("auto", None, big, 100 * big)
    assert wanted("on", 0.05, big, 0.0) and not wanted("off", None, small, 100.0)


@pytest.mark.parametrize("mode, fitted", [("auto", True), ("off", False)])
def test_train_run_records_the_reference_and_the_dev_rows(tmp_path, mode, fitted):
    from tunenet.config import RunConfig
    from tunenet.run import train_run

    config = RunConfig(data="digits", hidden=(16,), epochs=2, reference=mode, threads=1, early_stopping=0)
    result = train_run(config, tmp_path / "run", progress=False, report=False)
    m = result.metrics
    assert m["n_dev"] == sum(map(sum, m["confusion_matrix"]["matrix"])) and m["human_error"] is None
    assert ("reference" in m) == fitted
    if fitted:
        assert m["reference"]["dev_error"] < 0.1  # logistic regression on digits: about 3%
        assert m["bias_variance"]["reference"] == "reference"


def test_a_nearest_neighbour_reference_shows_what_a_linear_one_cannot():
    from sklearn.datasets import make_circles

    from tunenet.diagnose.bias_variance import reference_proxy, run_bias_variance

    X, y = make_circles(1200, noise=0.05, factor=0.5, random_state=0)
    r = fit_reference(X[:900], y[:900], X[900:], y[900:])
    assert r["dev_error"] > 0.3 and r["knn_dev_error"] < 0.05  # a circle inside a circle is not linear
    assert reference_proxy(r, 300) == r["knn_dev_error"]
    # a tiny network at 27% error on it is told high bias, not "fine against a 50% reference"
    assert run_bias_variance(0.27, 0.27, {"n_dev": 300, "reference": r}).verdict == "high bias"


def test_knn_predict_agrees_with_scikit_learn():
    from sklearn.neighbors import KNeighborsClassifier

    from tunenet.diagnose.reference import knn_predict

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(300, 4)), rng.integers(0, 3, 300)
    Q = rng.normal(size=(700, 4))
    ours = knn_predict(X, y, Q, 3, chunk=64)
    theirs = KNeighborsClassifier(5).fit(X, y).predict(Q)
    assert np.mean(ours == theirs) > 0.99  # equal up to vote ties
