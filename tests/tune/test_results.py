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


def near_tie_study():
    """#20 has the highest dev accuracy, #22 is within one SE (360 dev rows) with a lower dev loss."""
    import optuna

    study = optuna.create_study(direction="maximize")
    for number in range(23):
        value, loss = {20: (0.9861, 0.071), 22: (0.9833, 0.0523)}.get(number, (0.90 + number * 0.001, 0.3))
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={"dev_loss": loss, "dev_rows": 360}))
    return study


def test_why_best_explains_a_choice_below_the_highest_dev_score():
    from tunenet.tune.results import best_trial, why_best

    study = near_tie_study()
    best = best_trial(study)
    assert best.number == 22
    assert why_best(study, best) == ("#22 at 0.9833 chosen over #20 at 0.9861: within one standard error "
                                     "(0.0062), lower dev loss (0.0523 against 0.0710)")
    top = next(t for t in study.trials if t.number == 20)
    assert why_best(study, top) is None  # the highest score needs no explanation


def test_importance_says_how_many_trials_it_rests_on():
    import optuna

    from tunenet.tune.importance import MIN_TRIALS, describe_basis, importance_basis

    study = optuna.create_study(direction="maximize")
    for i in range(6):
        study.add_trial(optuna.trial.create_trial(value=0.5 + i / 100, user_attrs={"round": 0}))
    study.add_trial(optuna.trial.create_trial(value=0.9, user_attrs={"round": 1}))
    basis = importance_basis(study)
    assert basis == {"round": 1, "trials": 6, "minimum": MIN_TRIALS, "indicative": True}
    assert describe_basis(basis) == f"fANOVA over 6 trials of round 1; indicative: fewer than {MIN_TRIALS}"
    for _ in range(MIN_TRIALS):
        study.add_trial(optuna.trial.create_trial(value=0.6, user_attrs={"round": 0}))
    assert describe_basis(importance_basis(study)) == f"fANOVA over {6 + MIN_TRIALS} trials of round 1"


def test_the_cli_summary_prints_why_and_the_importance_basis(capsys, tmp_path):
    from tunenet.commands.tuning import print_summary

    summary = {"study": "s", "study_dir": str(tmp_path), "importance": {"lr": 0.6, "l2": 0.4},
               "importance_basis": {"round": 1, "trials": 6, "minimum": 20, "indicative": True},
               "best": {"trial": 22, "values": {"lr": 0.01}, "retrained": False, "refit": None,
                        "why": "#22 at 0.9833 chosen over #20 at 0.9861: within one standard error (0.0062), "
                               "lower dev loss (0.0523 against 0.0710)",
                        "metrics": {"train_accuracy": 1.0, "dev_accuracy": 0.9833, "test_accuracy": 0.97}}}
    print_summary(summary)
    out = " ".join(capsys.readouterr().out.split())
    assert "why trial #22: #22 at 0.9833 chosen over #20 at 0.9861: within one standard error (0.0062)" in out
    assert "importance (fANOVA over 6 trials of round 1; indicative: fewer than 20): lr 0.60, l2 0.40" in out
