"""Storage and crash safety: stale trials are failed and retried exactly once."""

import time

import pytest
from optuna.trial import TrialState

from tunenet import ConfigError
from tunenet.tune.study import Heartbeat, create_study, load_study, make_storage, reap_stale_trials, settings_of


@pytest.fixture
def study(tmp_path):
    storage = make_storage(None, tmp_path)
    return create_study("s", storage, {"hello": 1}, "maximize")


def test_settings_travel_with_the_study(tmp_path, study):
    again = load_study("s", make_storage(None, tmp_path))
    assert settings_of(again) == {"hello": 1}
    with pytest.raises(ConfigError, match="already exists"):
        create_study("s", make_storage(None, tmp_path), {}, "maximize")
    with pytest.raises(ConfigError, match="no study named 'other'"):
        load_study("other", make_storage(None, tmp_path))


def test_stale_trial_is_failed_and_retried_once(study):
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1.0, log=True)
    study._storage.set_trial_user_attr(trial._trial_id, "heartbeat", time.time() - 100)
    fresh = study.ask()
    study._storage.set_trial_user_attr(fresh._trial_id, "heartbeat", time.time())

    assert reap_stale_trials(study, grace=30) == [trial.number]
    trials = {t.number: t for t in study.get_trials()}
    assert trials[trial.number].state == TrialState.FAIL
    assert "no heartbeat" in trials[trial.number].user_attrs["fail_reason"]
    assert trials[fresh.number].state == TrialState.RUNNING
    waiting = [t for t in trials.values() if t.state == TrialState.WAITING]
    assert len(waiting) == 1 and waiting[0].user_attrs["retry_of"] == trial.number

    retry = study.ask()
    assert retry.number == waiting[0].number
    assert retry.suggest_float("lr", 1e-4, 1.0, log=True) == trial.params["lr"]
    study._storage.set_trial_user_attr(retry._trial_id, "heartbeat", time.time() - 100)
    assert reap_stale_trials(study, grace=30) == [retry.number]
    assert not [t for t in study.get_trials() if t.state == TrialState.WAITING], "a retry is not retried again"


def test_trial_of_a_dead_local_worker_is_failed_at_once(study):
    import os
    import socket

    trial = study.ask()
    for k, v in {"heartbeat": time.time(), "host": socket.gethostname(), "pid": os.getpid() + 10**6}.items():
        study._storage.set_trial_user_attr(trial._trial_id, k, v)
    assert reap_stale_trials(study, grace=30) == []
    assert reap_stale_trials(study, grace=30, dead_pids={os.getpid() + 10**6}) == [trial.number]
    assert study.get_trials()[0].user_attrs["fail_reason"] == "worker process died"


def test_heartbeat_keeps_a_long_trial_alive(study):
    trial = study.ask()
    with Heartbeat(study._storage, trial._trial_id, interval=0.05):
        time.sleep(0.3)
        assert reap_stale_trials(study, grace=0.2) == []


def test_bad_storage_urls_are_user_errors(tmp_path):
    with pytest.raises(ConfigError, match="expected a journal file path"):
        make_storage("redis://localhost", tmp_path)
    with pytest.raises(ConfigError, match=r"postgresql://u:\*\*\*@127.0.0.1:1/db: cannot open"):
        make_storage("postgresql://u:secret@127.0.0.1:1/db", tmp_path).get_all_studies()
