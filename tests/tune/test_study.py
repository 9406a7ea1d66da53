"""Storage and crash safety: lost trials are failed and queued again (bounded), every attempt recorded."""

import time

import pytest
from optuna.trial import TrialState

from tunenet import ConfigError
from tunenet.tune.search import trial_note
from tunenet.tune.study import (
    MAX_LOSSES,
    Heartbeat,
    create_study,
    fail_and_requeue,
    load_study,
    make_storage,
    origin_of,
    reap_stale_trials,
    settings_of,
)


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


def test_stale_trial_is_failed_and_requeued_until_it_has_lost_max_losses_workers(study):
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
    assert waiting[0].user_attrs["attempt"] == 2

    # each retry killed again is queued again, with the same hyperparameters, until MAX_LOSSES losses
    for attempt in range(2, MAX_LOSSES + 1):
        retry = study.ask()
        assert retry.user_attrs["attempt"] == attempt and retry.user_attrs["retry_of"] == trial.number
        assert retry.suggest_float("lr", 1e-4, 1.0, log=True) == trial.params["lr"]
        study._storage.set_trial_user_attr(retry._trial_id, "heartbeat", time.time() - 100)
        assert reap_stale_trials(study, grace=30) == [retry.number]
    attempts = [t for t in study.get_trials() if origin_of(t) == trial.number]
    assert [t.state for t in attempts] == [TrialState.FAIL] * MAX_LOSSES, "every attempt is recorded"
    assert trial_note(attempts[0]).endswith("no heartbeat for 100 s; queued again")
    assert trial_note(attempts[1]).startswith(f"retry of #{trial.number} (attempt 2); worker lost")
    assert "given up: its worker was lost 4 times" in trial_note(attempts[-1])
    assert not [t for t in study.get_trials() if t.state == TrialState.WAITING], "bounded: given up at last"
    assert "lost 4 times" in attempts[-1].user_attrs["gave_up"]


def test_an_interrupted_attempt_is_requeued_without_counting_as_a_loss(study):
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1.0, log=True)
    assert fail_and_requeue(study, study._storage.get_trial(trial._trial_id), "interrupted", lost=False)
    (retry,) = [t for t in study.get_trials() if t.state == TrialState.WAITING]
    assert retry.user_attrs["losses"] == 0 and retry.user_attrs["attempt"] == 2


def test_a_retry_is_withdrawn_when_the_trial_finished_first(study):
    """A reaper racing a worker that completes its trial must not leave a second attempt queued."""
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1.0, log=True)
    stale = study._storage.get_trial(trial._trial_id)  # what the reaper read: RUNNING
    study._storage.set_trial_user_attr(trial._trial_id, "requeued", False)
    study.tell(trial, 0.5)
    assert not fail_and_requeue(study, stale, "worker process died", lost=True)
    states = [t.state for t in study.get_trials()]
    assert states.count(TrialState.COMPLETE) == 1 and TrialState.WAITING not in states


def test_trial_of_a_dead_local_worker_is_failed_at_once(study):
    import os
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    alive, dead = study.ask(), study.ask()
    for trial, pid in ((alive, os.getpid()), (dead, int(gone))):
        for k, v in {"heartbeat": time.time(), "host": socket.gethostname(), "pid": pid}.items():
            study._storage.set_trial_user_attr(trial._trial_id, k, v)
    # a local pid that no longer exists is dead without waiting for the heartbeat's grace period
    assert reap_stale_trials(study, grace=30) == [dead.number]
    assert reap_stale_trials(study, grace=30, dead_pids={os.getpid()}) == [alive.number]
    assert {t.user_attrs.get("fail_reason") for t in study.get_trials()} >= {"worker process died"}


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
