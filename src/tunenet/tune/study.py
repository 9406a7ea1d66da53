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
process is known to be dead) as FAIL and enqueues another attempt with the
same hyperparameters, until they have lost :data:`MAX_LOSSES` workers.
Optuna's own heartbeat only exists for RDB storages; this
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


def existing_storage(spec: str, storage: str | None, study_dir: Path, root: str | os.PathLike = "studies"):
    """The storage of a study that must exist already (resume, show, export, dashboard).

    With the default journal storage, a missing ``study_dir/journal.log`` is a one-line error naming where it
    looked, and nothing is created (:func:`make_storage` would start an empty journal there).
    """
    journal = study_dir / "journal.log"
    if storage is None and not journal.is_file():
        raise ConfigError(f"no study {spec!r}: no {journal} (`tunenet study list --root {root}` lists the studies "
                          "there; --storage URL for one in a database)")
    return make_storage(storage, study_dir)


def make_storage(storage: str | None, study_dir: Path):
    """Optuna storage: the journal file in ``study_dir`` by default, else the given URL."""
    if storage is None or storage.startswith(("journal:", "file:")) or storage.endswith(".log"):
        path = Path(storage.split(":", 1)[1] if storage and ":" in storage else storage) if storage \
            else study_dir / "journal.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        try:
            return JournalStorage(JournalFileBackend(str(path), lock_obj=FlockJournalLock(str(path) + ".flock")))
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


class FlockJournalLock:
    """The journal file's writer lock as an ``fcntl.flock``, which the kernel drops when its holder dies.

    Optuna's own file locks (``O_EXCL`` or symlink files) outlive a worker
    killed while holding one, and every other process then waits out a 30 s
    grace period; a SIGKILLed worker never stalls the study with this one.
    Each acquisition opens its own descriptor, so the threads of one process
    (a worker and its heartbeat) exclude each other as well.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def acquire(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._local.fd = fd
        return True

    def release(self) -> None:
        fd = getattr(self._local, "fd", None)
        if fd is not None:
            self._local.fd = None
            os.close(fd)  # drops the flock


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


#: a trial's hyperparameters are re-queued until they have lost this many workers (then given up)
MAX_LOSSES = 4


def origin_of(t) -> int:
    """The number of the trial a retry repeats (its own number for a first attempt)."""
    return int(t.user_attrs.get("retry_of", t.number))


def index_for(study: optuna.Study, number: int) -> int:
    """The index of fresh trial ``number`` (what seeds its values and training): its number less the trials
    before it that are retries or "surplus" claims. Both are created before the trial, so the index is fixed
    once the trial exists, whichever worker asks."""
    skipped = sum(1 for t in study.get_trials(deepcopy=False) if t.number < number and (
        "retry_of" in t.user_attrs or str(t.user_attrs.get("fail_reason", "")).startswith("surplus")))
    return number - skipped


def requeue(study: optuna.Study, t, lost: bool) -> int | None:
    """Queue another attempt at trial ``t``'s hyperparameters (``retry_of``, ``attempt``, ``losses``).

    Lost workers count against :data:`MAX_LOSSES` (``lost=True``); an interrupted
    attempt (Ctrl-C, or its coordinator gone) does not: it was not the trial's
    fault. Returns the queued trial's id, None when the trial is given up. A
    queued retry waits (state WAITING) and is the next trial any worker asks
    for, on a ``--resume`` too.
    """
    from optuna.trial import create_trial

    attrs = t.user_attrs
    losses = int(attrs.get("losses", 0)) + int(lost)
    if losses >= MAX_LOSSES:
        study._storage.set_trial_user_attr(t._trial_id, "gave_up",
                                           f"its worker was lost {losses} times; not retried")
        return None
    attempt = int(attrs.get("attempt", 1)) + 1
    carry = {k: attrs[k] for k in ("warm_start",) if k in attrs}
    template = create_trial(state=TrialState.WAITING, system_attrs={"fixed_params": dict(t.params)},
                            user_attrs={**carry, "round": attrs.get("round", 0), "retry_of": origin_of(t),
                                        "index": int(attrs.get("index", index_for(study, t.number))),
                                        "attempt": attempt, "losses": losses})
    return study._storage.create_new_trial(study._study_id, template_trial=template)


def fail_and_requeue(study: optuna.Study, t, reason: str, lost: bool) -> bool:
    """Fail a RUNNING trial with ``reason`` and queue its next attempt; False if it had finished meanwhile.

    The order keeps the round's count of active trials from dipping, so no
    worker claims a fresh trial in the gap: mark the trial (``requeued``),
    queue the retry, then fail the trial. If the trial finished first (its
    worker completed it, or another reaper got there), the queued retry is
    withdrawn so the hyperparameters are never evaluated twice.
    """
    storage = study._storage
    try:
        storage.set_trial_user_attr(t._trial_id, "fail_reason", reason)
        storage.set_trial_user_attr(t._trial_id, "requeued", True)
    except (UpdateFinishedTrialError, RuntimeError):
        return False
    retry_id = requeue(study, t, lost)
    if retry_id is None:  # given up: its place in the round is free again
        storage.set_trial_user_attr(t._trial_id, "requeued", False)
    try:
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    except (UpdateFinishedTrialError, RuntimeError):
        if retry_id is not None:
            try:
                storage.set_trial_user_attr(retry_id, "fail_reason", "surplus: withdrawn, the trial had finished")
                storage.set_trial_state_values(retry_id, TrialState.FAIL)
            except (UpdateFinishedTrialError, RuntimeError):
                pass
        return False
    return True


def _pid_gone(pid) -> bool:
    """A process of this host that no longer exists (or is a zombie)."""
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def reap_stale_trials(study: optuna.Study, grace: float = GRACE_SECONDS, dead_pids: set[int] | None = None,
                      now: float | None = None) -> list[int]:
    """Fail RUNNING trials whose worker is lost and re-queue their hyperparameters (bounded, :func:`requeue`).

    A worker is lost when its heartbeat is older than ``grace`` seconds, when
    it is one of ``dead_pids`` on this host, or when it ran on this host and
    its process no longer exists. Returns the numbers of the trials failed;
    each keeps its own record (``fail_reason``, ``attempt``), so every attempt
    at a set of hyperparameters stays in the study.
    """
    now = time.time() if now is None else now
    host = socket.gethostname()
    failed = []
    for t in study.get_trials(deepcopy=False):
        if t.state != TrialState.RUNNING:
            continue
        beat = t.user_attrs.get("heartbeat", t.datetime_start.timestamp() if t.datetime_start else now)
        local = t.user_attrs.get("host") == host
        pid = t.user_attrs.get("pid")
        dead = local and ((dead_pids is not None and pid in dead_pids) or _pid_gone(pid))
        if not dead and now - beat <= grace:
            continue
        reason = "worker process died" if dead else f"worker lost: no heartbeat for {now - beat:.0f} s"
        if fail_and_requeue(study, t, reason, lost=True):  # False: finished meanwhile, or another reaper was first
            failed.append(t.number)
    return failed


def count_trials(study: optuna.Study, states=DONE, round_index: int | None = None) -> int:
    trials = study.get_trials(deepcopy=False, states=states)
    if round_index is not None:
        trials = [t for t in trials if t.user_attrs.get("round", 0) == round_index]
    return len(trials)
