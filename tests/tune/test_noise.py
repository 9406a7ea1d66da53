"""The one-standard-error rule: standard errors of dev accuracies, the top set and the beaten trials."""

import math

import optuna
import pytest

from tunenet.tune.noise import near_best, standard_error, top_and_beaten


def trial(value, rows=360, **attrs):
    return optuna.trial.create_trial(value=value, user_attrs={"dev_rows": rows, **attrs})


def test_standard_error_of_a_dev_accuracy_is_the_binomial_one():
    assert standard_error(trial(0.98, rows=400)) == pytest.approx(math.sqrt(0.98 * 0.02 / 400))
    assert standard_error(trial(0.5, rows=None)) is None  # a study from before dev_rows was recorded
    assert standard_error(trial(0.3, rows=None, dev_se=0.01)) == 0.01


def test_near_best_is_every_trial_within_one_standard_error():
    trials = [trial(v) for v in (0.9861, 0.9833, 0.9806, 0.9778, 0.95)]
    near, se = near_best(trials, maximize=True)
    assert se == pytest.approx(0.00617, abs=1e-5)  # 360 dev rows at 0.986
    assert sorted(t.value for t in near) == [0.9806, 0.9833, 0.9861]


def test_top_set_has_at_least_three_trials_and_falls_back_to_a_fraction_without_an_se():
    clear = [trial(v, rows=100000) for v in (0.99, 0.9, 0.8, 0.7, 0.6)]
    top, beaten, se = top_and_beaten(clear, maximize=True)
    assert [t.value for t in top] == [0.99, 0.9, 0.8] and len(beaten) == 2 and se < 1e-3
    losses = [optuna.trial.create_trial(value=v) for v in (0.5, 0.1, 0.3, 0.2, 0.4)]
    top, beaten, se = top_and_beaten(losses, maximize=False)
    assert se is None and [t.value for t in top] == [0.1, 0.2, 0.3]
