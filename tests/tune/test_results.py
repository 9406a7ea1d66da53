"""What a finished study reports: the refit's epoch count and configuration."""

import math
from types import SimpleNamespace

import pytest

from tunenet.config import RunConfig
from tunenet.errors import ConfigError
from tunenet.tune.results import best_epochs, refit_config


def trial(curve, epochs=None):
    return SimpleNamespace(user_attrs={"curve": curve, "epochs": epochs})


def test_best_epochs_is_one_past_the_first_best_value_of_the_curve():
    assert best_epochs(trial([0.5, 0.8, 0.7, 0.8, 0.6]), maximize=True) == 2
    assert best_epochs(trial([0.9, 0.4, 0.3, 0.35]), maximize=False) == 3
    assert best_epochs(trial([None, math.nan, 0.6, 0.7]), maximize=True) == 4
    assert best_epochs(trial([], epochs=7), maximize=True) == 7


def test_refit_config_trains_on_train_and_dev_for_a_fixed_number_of_epochs():
    config = refit_config(RunConfig(early_stopping=12, monitor="dev_accuracy", plateau=3, epochs=80), 58)
    assert (config.dev, config.epochs, config.early_stopping, config.plateau) == (0.0, 58, 0, 0)
    with pytest.raises(ConfigError, match="dev is 0"):
        config.replace(early_stopping=5, monitor="dev_accuracy")


def test_best_trial_breaks_near_ties_in_dev_accuracy_by_dev_loss():
    import optuna

    from tunenet.tune.results import best_trial

    study = optuna.create_study(direction="maximize")
    # 400 dev rows: one standard error at p = 0.98 is 0.007
    for value, loss in ((0.98, 0.09), (0.975, 0.05), (0.96, 0.01), (0.9775, 0.07)):
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={"dev_loss": loss, "dev_rows": 400}))
    assert best_trial(study).value == 0.975  # within noise of 0.98 and the lowest loss there; 0.96 is not
    study = optuna.create_study(direction="maximize")  # trials of an older study, without the attributes
    for value in (0.9, 0.95):
        study.add_trial(optuna.trial.create_trial(value=value))
    assert best_trial(study).value == 0.95
