"""The doctor on the scikit-learn estimators: ``human_error``, ``monitor_health`` and ``diagnose``."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError

from tunenet.estimators import MLPClassifier, MLPRegressor, load_estimator
from tunenet.estimators.doctor import train_error


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, random_state=0)


def _problems(findings):
    return [(f.severity, f.kind) for f in findings if f.severity in ("error", "warning")]


def test_parameters_follow_scikit_learn_conventions(tmp_path, digits):
    clf = MLPClassifier(human_error=0.05, monitor_health=10)
    assert clf.get_params()["human_error"] == 0.05 and clf.get_params()["monitor_health"] == 10
    assert clone(clf).get_params() == clf.get_params()
    assert clf.set_params(human_error=None).human_error is None
    assert MLPRegressor().get_params()["human_error"] is None
    for bad in (dict(human_error=1.5), dict(human_error=-0.1), dict(human_error="low"), dict(monitor_health=0)):
        name = next(iter(bad))
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
            MLPClassifier(max_iter=1, **bad).fit(*digits[::2])
    fitted = MLPClassifier((8,), max_iter=2, human_error=0.02, monitor_health=True, random_state=0).fit(
        digits[0], digits[2])
    fitted.save(tmp_path / "m.safetensors")
    back = load_estimator(tmp_path / "m.safetensors")
    assert back.human_error == 0.02 and back.monitor_health is True


def test_a_tiny_network_is_diagnosed_high_bias_and_a_healthy_one_is_not(digits):
    X, X_dev, y, y_dev = digits
    tiny = MLPClassifier((2,), max_iter=30, random_state=0).fit(X, y)
    findings = tiny.diagnose(X_dev, y_dev)
    assert _problems(findings)[0] == ("warning", "high bias")
    bias = findings[0]
    assert f"over {len(y_dev)} dev rows" in bias.evidence and "measured against a perfect model" in bias.evidence
    assert train_error(tiny) == pytest.approx(1 - tiny.history_.last["train_accuracy"])
    assert abs(train_error(tiny) - (1 - tiny.score(X, y))) < 0.05  # the running epoch accuracy tracks the real one
    healthy = MLPClassifier((64,), max_iter=60, random_state=0).fit(X, y)
    assert _problems(healthy.diagnose(X_dev, y_dev)) == []


def test_human_error_at_the_noise_rate_stops_the_false_high_bias():
    """20% of the labels flipped on a separable problem: no model can beat 20% error on them, and the doctor
    says high bias only while it measures against a perfect model."""
    X, y = make_classification(2000, 20, n_informative=10, class_sep=2.0, flip_y=0.0, random_state=0)
    flip = np.random.default_rng(0).random(len(y)) < 0.2
    y = np.where(flip, 1 - y, y)
    X, X_dev, y, y_dev = train_test_split(X, y, test_size=0.5, random_state=0)
    params = dict(hidden_layer_sizes=(64,), max_iter=50, early_stopping=True, random_state=0)
    blind = MLPClassifier(**params).fit(X, y)
    assert ("warning", "high bias") in _problems(blind.diagnose(X_dev, y_dev))
    told = MLPClassifier(human_error=0.2, **params).fit(X, y)
    findings = told.diagnose(X_dev, y_dev)
    assert not any(kind == "high bias" for _, kind in _problems(findings))
    assert any(f.kind == "high bias" and "human-level 20.0%" in f.evidence for f in findings)  # as information
    np.testing.assert_array_equal(told.predict(X_dev), blind.predict(X_dev))  # training ignores human_error


def test_without_held_out_data_the_early_stopping_split_is_the_dev_set(digits):
    X, _, y, _ = digits
    clf = MLPClassifier((2,), max_iter=30, early_stopping=True, random_state=0).fit(X, y)
    bias = next(f for f in clf.diagnose() if f.kind == "high bias")
    n_val = int(np.ceil(0.1 * len(y)))
    assert f"over {n_val} dev rows" in bias.evidence
    assert f"dev error {1 - clf.best_validation_score_:.1%}" in bias.evidence
    no_dev = MLPClassifier((2,), max_iter=5, random_state=0).fit(X, y)
    assert not any(f.kind == "high bias" for f in no_dev.diagnose())  # nothing to measure the dev error on


def test_monitor_health_lets_the_doctor_see_vanishing_gradients(digits):
    X, X_dev, y, y_dev = digits
    params = dict(hidden_layer_sizes=(64,) * 5, activation="logistic", init="random", solver="sgd", momentum=0,
                  learning_rate_init=0.5, max_iter=3, random_state=0)
    plain = MLPClassifier(**params).fit(X, y)
    assert plain.health_ is None and len(plain._trainer.callbacks) == 1  # the default fit is untouched
    assert not any(f.kind == "vanishing gradients" for f in plain.diagnose(X_dev, y_dev))
    watched = MLPClassifier(monitor_health=5, **params).fit(X, y)
    assert watched.health_.every == 5 and len(watched.health_.steps) > 3
    findings = watched.diagnose(X_dev, y_dev)
    assert findings[0].kind == "vanishing gradients" and findings[0].severity == "error"
    assert "dense0" in findings[0].layer
    bias = next(f for f in findings if f.kind == "high bias")
    assert bias.severity == "info" and "consequence of the vanishing gradients" in bias.evidence


def test_regressor_errors_are_one_minus_r2():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(1500, 2))
    y = 2 * X[:, 0] + 3 * np.sin(2 * X[:, 1])  # the sine is what a one-unit network cannot bend to
    X, X_dev, y, y_dev = train_test_split(X, y, test_size=0.3, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(1,), max_iter=40, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert abs(train_error(reg) - (1 - reg.score(X, y))) < 0.05
    bias = next(f for f in reg.diagnose(X_dev, y_dev) if f.kind == "high bias")
    assert bias.severity == "warning" and f"dev error {1 - reg.score(X_dev, y_dev):.1%}" in bias.evidence
    assert "standard error" not in bias.evidence  # 1 - R^2 has no binomial standard error
