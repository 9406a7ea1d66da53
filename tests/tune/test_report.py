"""The study report's wording and numbers: a sentence on the trials, 4 digits, only the optimiser's own settings."""

from types import SimpleNamespace

import pytest

from tunenet.config import RunConfig, unused_hyperparameters
from tunenet.tune.report import config_rows, fmt, fmt_text, trial_parameters, trials_sentence, useful_band


def test_trials_sentence():
    assert trials_sentence({"complete": 30}) == "30 trials: 30 completed."
    text = trials_sentence({"complete": 27, "pruned": 2, "fail": 1})
    assert text.startswith("30 trials: 27 completed, 2 pruned, 1 failed.") and "reason" in text


def test_four_significant_digits():
    assert fmt(0.98611111) == "0.9861" and fmt(0.000202512) == "0.0002025" and fmt(256) == "256"
    assert fmt_text("loguniform(0.0001206, 3.16228)") == "loguniform(0.0001206, 3.162)"
    assert fmt_text("beta(0.959123, 0.99971)") == "beta(0.9591, 0.9997)"


def test_only_the_optimisers_own_hyperparameters():
    assert unused_hyperparameters("adam") == {"beta", "weight_decay"}
    assert unused_hyperparameters("momentum") == {"beta1", "beta2", "eps", "weight_decay"}
    assert unused_hyperparameters("adamw") == {"beta"} and unused_hyperparameters("unknown") == set()
    shown = config_rows(RunConfig(optimizer="adam").to_dict())
    assert {"beta1", "beta2", "eps", "lr"} <= set(shown) and not {"beta", "weight_decay"} & set(shown)
    trial = SimpleNamespace(params={"lr": 0.01, "1-beta": 0.05, "optimizer": "adam", "units@2": 64}, user_attrs={})
    assert trial_parameters(trial) == {"lr": 0.01, "optimizer": "adam", "units": 64}
    trial.params["optimizer"] = "momentum"
    assert trial_parameters(trial)["beta"] == pytest.approx(0.95)


def test_useful_band_leaves_out_a_diverged_trial():
    values = [0.95, 0.96, 0.97, 0.965, 0.955, 0.10, 0.958, 0.962]
    lo, hi = useful_band(values, maximize=True)
    assert 0.9 < lo < 0.955 and 0.97 < hi < 0.98
    lo, hi = useful_band([0.2, 0.25, 0.3, 9.0], maximize=False)  # a loss: the best is the lowest
    assert lo < 0.2 and hi < 9.0  # the outlier is outside the band
    assert useful_band([], maximize=True) is None
