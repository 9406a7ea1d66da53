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
