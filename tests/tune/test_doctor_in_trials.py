"""The doctor's settings travel with a study: every trial measures bias against the study's human-level error."""

import json

import optuna

from tunenet.config import RunConfig
from tunenet.tune import SearchSpace
from tunenet.tune.space import LogUniform


def test_human_error_of_the_base_configuration_reaches_every_trial(tmp_path):
    from tunenet.tune.search import claim_trial, run_trial, trial_dir
    from tunenet.tune.study import load_study, make_storage, settings_of
    from tunenet.tune.tuner import tune
    from tunenet.tune.workers import data_cache

    base = RunConfig(data="moons", hidden=(8,), epochs=2, human_error=0.125)
    tune(base, SearchSpace({"lr": LogUniform(1e-3, 1e-2)}), trials=1, rounds=1, workers=0, root=tmp_path,
         study_name="h")
    study = load_study("h", make_storage(None, tmp_path / "h"))
    settings = settings_of(study)
    trial, r = claim_trial(study, settings)
    assert run_trial(study, trial, r, settings, data_cache(), tmp_path / "h") == optuna.trial.TrialState.COMPLETE
    metrics = json.loads((trial_dir(tmp_path / "h", trial.number) / "metrics.json").read_text())
    assert metrics["human_error"] == 0.125 and "reference" not in metrics
    assert metrics["bias_variance"]["human_error"] == 0.125
