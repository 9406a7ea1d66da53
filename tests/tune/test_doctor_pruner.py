"""The doctor's pruner: broken trials stop with their finding as the reason; healthy ones run on; counts reported."""

import json
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from tunenet.config import RunConfig
from tunenet.diagnose.kinds import DEAD, EXPLODING, FROZEN, LR_HIGH, SATURATION, VANISHING
from tunenet.errors import ConfigError
from tunenet.run import prepare_data, train_run
from tunenet.tune import SearchSpace
from tunenet.tune.doctor_pruner import DoctorPruner, DoctorStopped, doctor_sentence, split_prune
from tunenet.tune.search import make_pruner
from tunenet.tune.space import Choice, IntRange, LogUniform

BASE = RunConfig(data="digits", hidden=(32,), epochs=8, early_stopping=0, threads=1)


def test_prune_names_combine_the_doctor_with_optunas_pruners():
    assert split_prune("doctor") == ("none", True) and split_prune("asha+doctor") == ("asha", True)
    assert split_prune("doctor+median") == ("median", True) and split_prune("hyperband") == ("hyperband", False)
    assert isinstance(make_pruner("asha+doctor", 16), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(make_pruner("doctor", 16), optuna.pruners.NopPruner)
    for bad in ("doctor+doctor", "asha+median", "early+doctor", "+doctor", ""):
        with pytest.raises(ConfigError, match="--prune must be one of .*asha\\+doctor"):
            split_prune(bad)


def _train(**changes):
    config = BASE.replace(**changes)
    return train_run(config, None, callbacks=[DoctorPruner(after=2)], progress=False, data=prepare_data(config),
                     report=False)


@pytest.mark.parametrize("changes,kinds", [
    ({"init": "zeros", "activation": "tanh"}, {FROZEN}),
    ({"lr": 1.0}, {LR_HIGH}),
    ({"init": "large", "hidden": (64, 64, 64)}, {EXPLODING}),
    ({"activation": "sigmoid", "hidden": (32,) * 6}, {VANISHING}),
])
def test_a_broken_run_is_stopped_with_the_finding_that_shows_it(changes, kinds):
    with pytest.raises(DoctorStopped) as stopped:
        _train(**changes)
    assert stopped.value.finding.kind in kinds and stopped.value.epoch in (2, 3)
    assert str(stopped.value).startswith(f"doctor: {stopped.value.finding.kind} at epoch {stopped.value.epoch}: ")
    assert isinstance(stopped.value, optuna.TrialPruned)


def test_a_healthy_run_is_not_stopped():
    for changes in ({}, {"hidden": (64, 64, 64)}, {"optimizer": "sgd", "lr": 0.05}):
        result = _train(**changes)
        assert len(result.history) == BASE.epochs and result.metrics["dev_accuracy"] > 0.85


def _bad_causes(values: dict) -> set:
    """The finding kinds each bad region of the space may rightly be stopped with."""
    allowed = set()
    if values["lr"] >= 0.1:
        allowed |= {LR_HIGH, EXPLODING, DEAD, SATURATION}
    if values["init"] == "large":
        allowed |= {EXPLODING, SATURATION, DEAD, LR_HIGH}
    if values["activation"] == "sigmoid" and values["layers"] >= 4:
        allowed |= {VANISHING, SATURATION}
    return allowed


def test_a_study_over_bad_regions_stops_the_broken_trials_and_counts_them(tmp_path, capsys):
    """lr up to 10, init large, deep sigmoid: stopped with the right reasons; healthy trials complete; counted."""
    from tunenet.cli import main
    from tunenet.tune.study import load_study, make_storage
    from tunenet.tune.tuner import tune
    from tunenet.tune.workers import worker_loop

    space = SearchSpace({"lr": LogUniform(1e-3, 10), "init": Choice(("he", "large")),
                         "activation": Choice(("relu", "sigmoid")), "layers": IntRange(1, 6)})
    tune(BASE, space, trials=14, rounds=1, workers=0, root=tmp_path, study_name="bad", prune="doctor", seed=0)
    worker_loop("bad", None, tmp_path / "bad")
    study = load_study("bad", make_storage(None, tmp_path / "bad"))
    trials = study.get_trials()
    stopped = [t for t in trials if t.user_attrs.get("doctor")]
    assert len(stopped) >= 5
    for t in stopped:
        values = t.user_attrs["values"]
        assert t.state == TrialState.PRUNED
        assert t.user_attrs["doctor"] in _bad_causes(values), (values, t.user_attrs["pruned"])
        assert t.user_attrs["pruned"].startswith(f"doctor: {t.user_attrs['doctor']} at epoch ")
    healthy = [t for t in trials if t.user_attrs["values"]["init"] == "he" and t.user_attrs["values"]["lr"] <= 0.02
               and t.user_attrs["values"]["activation"] == "relu"]
    assert healthy and all(t.state == TrialState.COMPLETE for t in healthy)
    # the study's summary, its report and `study show` count the trials stopped per finding
    from tunenet.tune.results import finalize

    summary = finalize(study, tmp_path / "bad")
    counts = Counter(t.user_attrs["doctor"] for t in stopped)
    assert summary["doctor"] == dict(counts)
    assert json.loads((tmp_path / "bad" / "summary.json").read_text())["doctor"] == dict(counts)
    sentence = doctor_sentence(summary["doctor"])
    assert sentence.startswith(f"The doctor stopped {len(stopped)} trials: ")
    assert all(f"{n} {kind}" in sentence for kind, n in counts.items())
    assert sentence in (tmp_path / "bad" / "report.html").read_text()
    assert main(["study", "show", str(tmp_path / "bad")]) == 0
    assert sentence in capsys.readouterr().out


@pytest.mark.parametrize("prune,doctor", [("none", False), ("asha", False), ("asha+doctor", True)])
def test_the_doctor_stops_a_trial_only_when_asked(tmp_path, prune, doctor):
    from tunenet.tune.study import load_study, make_storage
    from tunenet.tune.tuner import tune
    from tunenet.tune.workers import worker_loop

    space = SearchSpace({"activation": Choice(("sigmoid",)), "layers": IntRange(6, 6)})
    tune(BASE.replace(epochs=4), space, trials=1, rounds=1, workers=0, root=tmp_path, study_name="n", seed=0,
         prune=prune)
    worker_loop("n", None, tmp_path / "n")
    [trial] = load_study("n", make_storage(None, tmp_path / "n")).get_trials()
    if doctor:
        assert trial.state == TrialState.PRUNED and trial.user_attrs["doctor"] == VANISHING
    else:
        assert trial.state == TrialState.COMPLETE and "doctor" not in trial.user_attrs
