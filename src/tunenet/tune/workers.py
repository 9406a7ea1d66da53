"""Workers ("caviar": many models in parallel) and the coordinator that watches them.

``tunenet tune --workers N`` starts N worker processes (``tunenet worker``),
each trial limited to the study's BLAS thread count (``--threads``, default 1,
the same whatever N: a matrix product's last bits depend on the thread
count, so trials are reproduced only with the same one), and watches them:
it reaps lost trials (a worker killed with SIGKILL loses only its running
trial, failed at once when the coordinator sees the process die, or after
the heartbeat grace period on another machine), shows a live table, and
stops cleanly on Ctrl-C keeping every finished trial.
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


def launch_workers(n: int, study_name: str, storage_spec: str | None, study_dir: Path,
                   threads: int) -> list[subprocess.Popen]:
    """Start ``n`` worker processes with ``threads`` BLAS threads each."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    log_dir = study_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for i in range(n):
        log = open(log_dir / f"worker-{i}.log", "ab")  # noqa: SIM115 - owned by the process
        procs.append(subprocess.Popen(worker_command(study_name, storage_spec, study_dir, i), env=env,
                                      stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        log.close()
    return procs


def monitor(study, procs: list[subprocess.Popen], on_tick=None, interval: float = 1.0) -> None:
    """Watch workers until all exit: reap trials of dead workers and stale heartbeats, refresh the display.

    Ctrl-C is forwarded to the workers, who mark their running trial failed
    ("interrupted") and exit; finished trials are untouched.
    """
    dead: set[int] = set()
    try:
        while True:
            for p in procs:
                if p.poll() is not None and p.returncode != 0:
                    dead.add(p.pid)
            reap_stale_trials(study, dead_pids=dead)
            if on_tick:
                on_tick()
            if all(p.poll() is not None for p in procs):
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.time() + 30
        for p in procs:
            try:
                p.wait(timeout=max(deadline - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()
                dead.add(p.pid)
        reap_stale_trials(study, dead_pids=dead | {p.pid for p in procs})
        raise
