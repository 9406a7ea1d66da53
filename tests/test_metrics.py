"""tunenet.metrics against scikit-learn's definitions (the scores `score` and `r2_score` report)."""

import math

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from tunenet.metrics import accuracy_score, higher_is_better, metric_label, regression_scores
from tunenet.metrics import r2_score as tn_r2


@pytest.mark.parametrize("k", [1, 3])
def test_regression_scores_match_scikit_learn(rng, k):
    y = rng.normal(100, 30, size=(50, k))
    pred = y + rng.normal(0, 10, size=(50, k))
    got = regression_scores(y.squeeze() if k == 1 else y, pred)
    assert got["r2"] == pytest.approx(r2_score(y, pred), rel=1e-12)
    assert got["rmse"] == pytest.approx(root_mean_squared_error(y, pred), rel=1e-12)
    assert got["mae"] == pytest.approx(mean_absolute_error(y, pred), rel=1e-12)


def test_r2_is_invariant_to_standardising_the_target_but_rmse_is_not(rng):
    y = rng.normal(150, 70, size=200)
    pred = 0.8 * y + rng.normal(0, 20, size=200)
    mean, std = y.mean(), y.std()
    scaled = regression_scores((y - mean) / std, (pred - mean) / std)
    raw = regression_scores(y, pred)
    assert scaled["r2"] == pytest.approx(raw["r2"], rel=1e-12)
    assert raw["rmse"] == pytest.approx(scaled["rmse"] * std, rel=1e-12)


def test_r2_reference_points_and_constant_columns():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert tn_r2(y, y) == 1.0
    assert tn_r2(y, np.full(4, y.mean())) == 0.0
    assert tn_r2(y, y[::-1]) < 0
    assert tn_r2(np.ones(3), np.ones(3)) == 1.0 and tn_r2(np.ones(3), np.zeros(3)) == 0.0
    assert math.isnan(tn_r2(np.zeros(0), np.zeros(0)))
    with pytest.raises(ValueError, match="shape"):
        regression_scores(np.zeros((4, 2)), np.zeros((4, 1)))


def test_accuracy_direction_and_labels():
    assert accuracy_score([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    assert higher_is_better("dev_r2") and higher_is_better("dev_accuracy")
    assert not higher_is_better("dev_loss") and not higher_is_better("test_rmse")
    with pytest.raises(ValueError):
        higher_is_better("dev_speed")
    assert metric_label("dev_r2") == "dev R²" and metric_label("test_rmse") == "test RMSE"
