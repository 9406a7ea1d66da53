"""--warm-start: a new study's first trials are another study's best, measured again."""

import pytest
from optuna.trial import TrialState

from tunenet import ConfigError
from tunenet.config import RunConfig
from tunenet.tune.space import Beta, Choice, IntRange, LogUniform, SearchSpace
from tunenet.tune.study import load_study, make_storage
from tunenet.tune.tuner import tune
from tunenet.tune.warm import fixed_params
from tunenet.tune.workers import worker_loop

BASE = RunConfig(data="moons", hidden=(8,), epochs=3, early_stopping=0)
SPACE = SearchSpace({"lr": LogUniform(1e-3, 1e-1), "units": IntRange(4, 16), "optimizer": Choice(("adam", "sgd"))})


def run_study(root, name, trials, **kwargs):
    tune(BASE, SPACE, trials=trials, rounds=1, workers=0, root=root, study_name=name, **kwargs)
    worker_loop(name, None, root / name)
    return load_study(name, make_storage(None, root / name))


def test_a_warm_started_study_begins_with_the_other_studys_best_trials(tmp_path):
    short = run_study(tmp_path, "short", 4)
    best = max((t for t in short.trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    longer = run_study(tmp_path, "longer", 6, warm_start=str(tmp_path / "short"))
    first = min(longer.trials, key=lambda t: t.number)
    assert first.user_attrs["warm_start"] == f"short #{best.number}"
    assert first.user_attrs["values"] == best.user_attrs["values"]  # the same hyperparameters, trained again
    assert first.state == TrialState.COMPLETE and first.user_attrs["round"] == 0
    assert sum(t.state == TrialState.COMPLETE for t in longer.trials) == 6  # counted in the budget
    assert len([t for t in longer.trials if "warm_start" in t.user_attrs]) <= 6 // 3
    others = [t for t in longer.trials if "warm_start" not in t.user_attrs]
    assert all(t.user_attrs["values"] != best.user_attrs["values"] for t in others)  # the rest are sampled


def test_warm_start_values_are_clipped_into_the_new_space_and_unknown_choices_sampled():
    space = SearchSpace({"lr": LogUniform(1e-3, 1e-2), "units": IntRange(8, 32), "beta": Beta(0.9, 0.99),
                         "optimizer": Choice(("adam", "momentum"))})
    params = fixed_params({"lr": 0.05, "units": 4, "beta": 0.999, "optimizer": "sgd", "l2": 0.1}, space)
    assert params == {"lr": 1e-2, "units": 8, "1-beta": pytest.approx(0.01)}


def test_warm_start_errors_name_the_study(tmp_path):
    with pytest.raises(ConfigError, match="--warm-start nowhere: no study there"):
        tune(BASE, SPACE, trials=2, rounds=1, workers=0, root=tmp_path, study_name="x", warm_start="nowhere")
    assert not (tmp_path / "x").exists()  # refused before the new study was created
    with pytest.raises(ConfigError, match="cannot be combined with --resume"):
        tune(BASE, SPACE, resume=str(tmp_path / "x"), warm_start="nowhere", workers=0, root=tmp_path)
