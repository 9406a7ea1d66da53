"""Coarse to fine finds better values; pruners and samplers are built from their names."""

import math

import numpy as np
import optuna
import pytest

from tunenet import ConfigError
from tunenet.tune.search import TrialSeededRandomSampler, best_trials, derive_seed, make_pruner, make_sampler
from tunenet.tune.space import LogUniform, SearchSpace, Uniform


def objective(v):
    """A narrow optimum at lr = 3e-3, weight_decay = 0.3 (minimise)."""
    return (math.log10(v["lr"]) - math.log10(3e-3)) ** 2 + 4 * (v["weight_decay"] - 0.3) ** 2


def run_round(space, n, seed, offset):
    """Objective values (sorted) and the tuner's pick of the best trials' values."""
    study = optuna.create_study(sampler=TrialSeededRandomSampler(seed))
    results = []
    for i in range(offset + n):
        trial = study.ask()
        if i < offset:  # keep trial numbers distinct from the previous round's
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        v = space.sample(trial)
        trial.set_user_attr("values", v)
        results.append(objective(v))
        study.tell(trial, results[-1])
    best = [t.user_attrs["values"] for t in best_trials(study.trials, "minimize")]
    return sorted(results), best


def test_second_round_finds_a_better_value():
    """Over ten seeds, round 2 (zoomed on round 1's best, as the tuner picks them) beats round 1."""
    wins = 0
    for seed in range(10):
        coarse = SearchSpace({"lr": LogUniform(1e-6, 1.0), "weight_decay": Uniform(0.0, 10.0)})
        round1, best = run_round(coarse, 20, seed, 0)
        fine = coarse.shrink(best)
        assert fine.distributions["lr"].low >= 1e-6 and fine.distributions["weight_decay"].high <= 10.0
        round2, _ = run_round(fine, 20, seed, 20)
        wins += round2[0] < round1[0]
        assert np.median(round2) < np.median(round1)
    assert wins >= 9


def test_derived_seeds_differ_and_repeat():
    assert derive_seed(0, 1) == derive_seed(0, 1)
    assert len({derive_seed(0, i) for i in range(100)}) == 100


@pytest.mark.parametrize("name,cls", [("none", optuna.pruners.NopPruner), ("median", optuna.pruners.MedianPruner),
                                      ("asha", optuna.pruners.SuccessiveHalvingPruner),
                                      ("hyperband", optuna.pruners.HyperbandPruner)])
def test_pruners(name, cls):
    assert isinstance(make_pruner(name, 20), cls)


def test_unknown_names_are_refused():
    with pytest.raises(ConfigError, match="--prune must be one of"):
        make_pruner("early", 10)
    with pytest.raises(ConfigError, match="--sampler must be one of"):
        make_sampler("grid", 0)



def test_a_trial_running_at_the_deadline_stops_with_its_best_epoch(tmp_path):
    """--time bounds the study: a trial still training when it runs out completes after that epoch."""
    from tunenet.config import RunConfig
    from tunenet.tune.search import claim_trial, run_trial, trial_note
    from tunenet.tune.study import load_study, make_storage, save_settings, settings_of
    from tunenet.tune.tuner import tune
    from tunenet.tune.workers import data_cache

    base = RunConfig(data="moons", hidden=(8,), epochs=50)
    space = SearchSpace({"lr": LogUniform(1e-3, 1e-2)})
    tune(base, space, trials=2, rounds=1, workers=0, root=tmp_path, study_name="budget")
    study = load_study("budget", make_storage(None, tmp_path / "budget"))
    settings = settings_of(study)
    settings["deadline"] = 0.0  # the budget ran out long ago: stop after the first epoch
    save_settings(study, settings)
    trial, r = claim_trial(study, settings)
    state = run_trial(study, trial, r, settings, data_cache(), tmp_path / "budget")
    done = study.get_trials()[0]
    assert state == optuna.trial.TrialState.COMPLETE and done.value is not None
    assert done.user_attrs["epochs"] == 1
    assert trial_note(done) == "time budget reached: stopped after epoch 1"
