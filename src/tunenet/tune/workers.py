"""Workers ("caviar": many models in parallel) and the coordinator that watches them.

``tunenet tune --workers N`` starts N worker processes (``tunenet worker``),
each trial limited to the study's BLAS thread count (``--threads``, default 1,
the same whatever N: a matrix product's last bits depend on the thread
count, so trials are reproduced only with the same one), and watches them:
it reaps lost trials (a worker killed with SIGKILL loses only its running
trial, failed at once when the coordinator sees the process die, or after
the heartbeat grace period on another machine) and queues them again,
replaces dead workers (up to a limit), shows a live table, and stops cleanly
on Ctrl-C keeping every finished trial. Workers end with their coordinator,
even when it is killed with SIGKILL (:mod:`.lifeline`).
On other machines, ``tunenet worker --study NAME --storage postgresql://...``
joins the same study.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..config import RunConfig
from ..errors import TunenetError
from .search import PRUNE_MIN_TRIALS, claim_trial, make_pruner, make_sampler, run_trial
from .study import load_study, make_storage, reap_stale_trials, settings_of

DATA_FIELDS = ("data", "target", "dev", "test", "stratify", "normalize", "split_seed")


def data_cache():
    """``data_for(config)``: prepared data shared by trials with the same data options."""
    from ..run import prepare_data

    cache: dict = {}

    def data_for(config: RunConfig):
        key = tuple(getattr(config, f) for f in DATA_FIELDS)
        if key not in cache:
            cache[key] = prepare_data(config)
        return cache[key]

    return data_for


def worker_loop(study_name: str, storage_spec: str | None, study_dir: Path, worker_index: int = 0,
                max_trials: int | None = None) -> int:
    """Claim and run trials until the study's budget (or deadline) is reached; returns trials run."""
    storage = make_storage(storage_spec, study_dir)
    settings = settings_of(load_study(study_name, storage))
    study = load_study(study_name, storage, make_sampler(settings["sampler"], settings["seed"], worker_index),
                       make_pruner(settings["prune"], settings["base"]["epochs"],
                                   settings.get("prune_min_trials", PRUNE_MIN_TRIALS)))
    data_for = data_cache()
    try:  # ready before the first claim: a trial is held only while it trains
        data_for(RunConfig(**{**settings["base"], "hidden": tuple(settings["base"]["hidden"])}))
    except TunenetError:
        pass  # each trial fails with the reason
    done = 0
    while max_trials is None or done < max_trials:
        settings = settings_of(study)
        if settings.get("deadline") and time.time() > settings["deadline"]:
            break
        reap_stale_trials(study)
        trial, r = claim_trial(study, settings)
        if trial is None:
            if r is None:
                break
            time.sleep(0.5)
            continue
        run_trial(study, trial, r, settings, data_for, study_dir)
        done += 1
    return done


def worker_command(study_name: str, storage_spec: str | None, study_dir: Path, index: int) -> list[str]:
    cmd = [sys.executable, "-m", "tunenet.cli", "worker", "--study", study_name, "--study-dir", str(study_dir),
           "--worker-index", str(index)]
    if storage_spec:
        cmd += ["--storage", storage_spec]
    return cmd


def start_worker(index: int, study_name: str, storage_spec: str | None, study_dir: Path,
                 threads: int) -> subprocess.Popen:
    """One worker process with ``threads`` BLAS threads, bound to this process (:mod:`.lifeline`)."""
    from .lifeline import ENV

    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env[ENV] = str(os.getpid())
    log_dir = study_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"worker-{index}.log", "ab") as log:
        return subprocess.Popen(worker_command(study_name, storage_spec, study_dir, index), env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def launch_workers(n: int, study_name: str, storage_spec: str | None, study_dir: Path,
                   threads: int) -> list[subprocess.Popen]:
    """Start ``n`` worker processes with ``threads`` BLAS threads each."""
    return [start_worker(i, study_name, storage_spec, study_dir, threads) for i in range(n)]


class WorkerPool:
    """The coordinator's worker processes: a worker that dies is replaced, up to ``max_restarts`` in a row.

    ``start(index) -> Popen`` starts worker ``index``; ``needed()`` says
    whether the study still wants workers (not finished, deadline not passed);
    ``progress()`` counts the finished trials. A worker that exits with status
    0 found nothing left to do and is not replaced; one that dies (a signal,
    an error) is, while trials remain. The limit counts replacements since the
    last finished trial: a study that progresses between deaths (workers
    killed now and then) goes on; workers that die before finishing anything
    (a broken environment) stop after ``max_restarts`` futile replacements.
    """

    def __init__(self, procs: list[subprocess.Popen], start, max_restarts: int, progress=lambda: 0) -> None:
        self.procs, self.start, self.max_restarts, self.progress = list(procs), start, max_restarts, progress
        self.restarts = 0  # in all
        self.futile = 0  # since the last finished trial
        self._finished = progress()
        self.deaths: list[int] = []  # return codes of the workers that died
        self.dead: set[int] = set()

    def check(self, needed) -> None:
        for i, p in enumerate(self.procs):
            code = p.poll()
            if code is None or code == 0 or p.pid in self.dead:
                continue
            self.dead.add(p.pid)
            self.deaths.append(code)
            finished = self.progress()
            if finished > self._finished:
                self._finished, self.futile = finished, 0
            if self.futile < self.max_restarts and needed():
                self.restarts += 1
                self.futile += 1
                self.procs[i] = self.start(i)

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]


def monitor(study, pool: WorkerPool, on_tick=None, interval: float = 1.0, needed=lambda: True) -> None:
    """Watch workers until all exit: replace dead ones, reap their trials and stale heartbeats, refresh.

    Ctrl-C is forwarded to the workers, who mark their running trial failed
    ("interrupted"), queue it again for ``--resume`` and exit; finished trials are untouched.
    """
    try:
        while True:
            pool.check(needed)
            reap_stale_trials(study, dead_pids=pool.dead)
            if on_tick:
                on_tick()
            if not pool.alive():
                pool.check(needed)  # one that died in the last interval is still replaced
                if not pool.alive():
                    break
            time.sleep(interval)
    except KeyboardInterrupt:
        procs = pool.procs
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.time() + 30
        for p in procs:
            try:
                p.wait(timeout=max(deadline - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()
                pool.dead.add(p.pid)
        reap_stale_trials(study, dead_pids=pool.dead | {p.pid for p in procs})
        raise
