"""Study storage, settings, heartbeats and the reaping of lost trials.

A study lives in Optuna storage: by default a journal file
``studies/NAME/journal.log`` (safe for many processes on one machine), or
any ``sqlite:///...`` / ``postgresql://...`` URL (many machines). tunenet's
settings for the study (base config, search space of each round, budgets,
sampler, pruner, master seed) are stored with it as the study user attribute
``tunenet`` so any worker, on any machine, can join knowing only the name and
the storage.

Crash safety: a worker writes a heartbeat (``user_attrs["heartbeat"]``) for
its running trial every few seconds. :func:`reap_stale_trials` marks a
RUNNING trial whose heartbeat is older than the grace period (or whose worker
process is known to be dead) as FAIL and enqueues one retry with the same
hyperparameters. Optuna's own heartbeat only exists for RDB storages; this
mechanism covers the journal file too, and runs in the coordinator's monitor
loop, so a lost trial is failed within the grace period even when no other
worker asks for a new trial.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from pathlib import Path

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from ..errors import ConfigError

SETTINGS_ATTR = "tunenet"
HEARTBEAT_SECONDS = 5.0
GRACE_SECONDS = 30.0
ACTIVE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
DONE = (TrialState.COMPLETE, TrialState.PRUNED)

optuna.logging.set_verbosity(optuna.logging.WARNING)


STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def check_study_name(name: str) -> str:
    """A study name is one path component: letters, digits, ``. _ + -``, not starting with a dot or dash.

    So ``studies/NAME`` stays inside ``--root`` (no ``..``, ``/`` or absolute
    path) and the study can be found again by name to resume or show.
    """
    if not isinstance(name, str) or not STUDY_NAME.fullmatch(name):
        raise ConfigError(f"--study {name!r}: a study name is 1 to 128 letters, digits, '.', '_', '+' or '-', "
                          "starting with a letter or digit (no '/', no '..'); it names a directory inside --root")
    return name


def study_dir_for(name: str, root: str | os.PathLike = "studies") -> Path:
    return Path(root) / check_study_name(name)


def make_storage(storage: str | None, study_dir: Path):
    """Optuna storage: the journal file in ``study_dir`` by default, else the given URL."""
    if storage is None or storage.startswith(("journal:", "file:")) or storage.endswith(".log"):
        path = Path(storage.split(":", 1)[1] if storage and ":" in storage else storage) if storage \
            else study_dir / "journal.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        try:
            return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
        except (RecursionError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: not a readable study journal ({type(exc).__name__}); "
                              "it was not written by Optuna's journal storage") from None
    if storage.startswith(("sqlite:", "postgresql:", "postgresql+", "mysql:", "mysql+")):
        try:
            return optuna.storages.RDBStorage(storage, engine_kwargs={"pool_pre_ping": True})
        except Exception as exc:  # a wrong URL, an unreachable server, a missing driver
            raise ConfigError(f"--storage {_redact(storage)}: cannot open ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0]})") from None
    raise ConfigError(f"--storage {_redact(storage)}: expected a journal file path, sqlite:///FILE or "
                      "postgresql://USER:PASSWORD@HOST/DB")


def _redact(url: str) -> str:
    """A storage URL without its password."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}:***@{host}"
    return url


def create_study(name: str, storage, settings: dict, direction: str) -> optuna.Study:
    """A new study holding ``settings``; an existing one of the same name is an error."""
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction=direction)
    except optuna.exceptions.DuplicatedStudyError:
        raise ConfigError(f"study {name!r} already exists; resume it with --resume {name} or pick another "
                          "--study name") from None
    study.set_user_attr(SETTINGS_ATTR, json.dumps(settings))
    return study


def load_study(name: str, storage, sampler=None, pruner=None) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        raise ConfigError(f"no study named {name!r} in this storage") from None
    except RecursionError:
        raise ConfigError(f"study {name!r}: its storage holds JSON nested too deeply to be Optuna's") from None


SETTINGS_TYPES = {"base": dict, "sampler": str, "prune": str, "seed": int, "task": str, "direction": str,
                  "rounds": list}


def settings_of(study: optuna.Study) -> dict:
    """The study's tunenet settings (a JSON object), refused in one line if they are not one."""
    raw = study.user_attrs.get(SETTINGS_ATTR)
    if raw is None:
        raise ConfigError(f"study {study.study_name!r} was not created by tunenet (no settings)")
    try:
        settings = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        settings = None
    if not isinstance(settings, dict):
        raise ConfigError(f"study {study.study_name!r}: its tunenet settings are malformed (not a JSON object); "
                          "it was not written by tunenet")
    return settings


def check_settings(settings: dict, name: str) -> dict:
    """Settings read back from storage (a resume) must have the fields and types :func:`create_study` stored."""
    bad = [k for k, kind in SETTINGS_TYPES.items() if not isinstance(settings.get(k), kind)]
    if bad or not all(isinstance(r, dict) and isinstance(r.get("trials"), int) for r in settings["rounds"]):
        raise ConfigError(f"study {name!r}: its tunenet settings are malformed "
                          f"({'field ' + repr(bad[0]) if bad else 'rounds'}); it was not written by tunenet")
    return settings


def save_settings(study: optuna.Study, settings: dict) -> None:
    study.set_user_attr(SETTINGS_ATTR, json.dumps(settings))


def worker_identity() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


class Heartbeat:
    """A daemon thread stamping ``user_attrs["heartbeat"]`` of a running trial."""

    def __init__(self, storage, trial_id: int, interval: float = HEARTBEAT_SECONDS) -> None:
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 1)

    def beat(self) -> None:
        try:
            self.storage.set_trial_user_attr(self.trial_id, "heartbeat", time.time())
        except UpdateFinishedTrialError:
            self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()


def reap_stale_trials(study: optuna.Study, grace: float = GRACE_SECONDS, dead_pids: set[int] | None = None,
                      now: float | None = None) -> list[int]:
    """Fail RUNNING trials with a stale heartbeat (or a dead local worker); retry each once.

    Returns the numbers of the trials failed.
    """
    now = time.time() if now is None else now
    host = socket.gethostname()
    storage = study._storage
    failed = []
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    for t in trials:
        if t.state != TrialState.RUNNING:
            continue
        beat = t.user_attrs.get("heartbeat", t.datetime_start.timestamp() if t.datetime_start else now)
        dead = dead_pids and t.user_attrs.get("host") == host and t.user_attrs.get("pid") in dead_pids
        if not dead and now - beat <= grace:
            continue
        reason = "worker process died" if dead else f"worker lost: no heartbeat for {now - beat:.0f} s"
        try:
            storage.set_trial_user_attr(t._trial_id, "fail_reason", reason)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except (UpdateFinishedTrialError, RuntimeError):
            continue
        failed.append(t.number)
        if t.user_attrs.get("retry_of") is None and t.number not in retried:
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number, "round": t.user_attrs.get("round", 0)})
    return failed


def count_trials(study: optuna.Study, states=DONE, round_index: int | None = None) -> int:
    trials = study.get_trials(deepcopy=False, states=states)
    if round_index is not None:
        trials = [t for t in trials if t.user_attrs.get("round", 0) == round_index]
    return len(trials)
