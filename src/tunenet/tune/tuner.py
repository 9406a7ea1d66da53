"""``tune()``: create (or resume) a study, run workers, watch them, report.

    settings = base config + search space per round + budgets + sampler/pruner + seed
    workers  = N processes claiming trials until the budget is met; every trial trains with the study's
               BLAS thread count (--threads, default 1) whatever N is, so N does not change the trials
    finalize = best trial's model (or a retrain) tested once, best.yaml, importance, plots, report.html
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from ..config import RunConfig
from ..cores import available_cores
from ..errors import ConfigError
from .importance import display_name
from .results import finalize
from .search import (
    PRUNE_MIN_TRIALS,
    SAMPLERS,
    failed_trials,
    failure_limit,
    make_pruner,
    objective_metric,
    study_done,
    trial_note,
)
from .space import SearchSpace
from .study import (
    check_settings,
    count_trials,
    create_study,
    existing_storage,
    load_study,
    make_storage,
    save_settings,
    settings_of,
    study_dir_for,
)
from .warm import enqueue_warm_start, open_warm_study
from .workers import WorkerPool, launch_workers, monitor, start_worker, worker_loop

if TYPE_CHECKING:
    from ..data import Dataset


def split_budget(trials: int, rounds: int) -> list[int]:
    """Trials per round: equal shares, the remainder to the first (widest) round."""
    if rounds < 1 or trials < rounds:
        raise ConfigError(f"--trials ({trials}) must be at least --rounds ({rounds}) and --rounds at least 1")
    share = trials // rounds
    return [share + trials - share * rounds] + [share] * (rounds - 1)


def parse_duration(text: str | None) -> float | None:
    """``"30m"``, ``"2h"``, ``"90s"`` or seconds -> seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise ConfigError(f"--time must look like 30m, 2h or 90s, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"--time must be positive, got {text!r}")
    return value


def new_settings(base: RunConfig, space: SearchSpace, trials: int, rounds: int, sampler: str, prune: str,
                 seed: int, task: str, prune_min_trials: int = PRUNE_MIN_TRIALS,
                 objective: str | None = None) -> dict:
    if sampler not in SAMPLERS:
        raise ConfigError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    make_pruner(prune, base.epochs, prune_min_trials)  # refuses a bad --prune-min-trials before the study exists
    objective, direction = objective_metric(task, objective)
    budget = split_budget(trials, rounds)
    return {"base": base.to_dict(), "sampler": sampler, "prune": prune, "prune_min_trials": prune_min_trials,
            "seed": seed, "task": task, "objective": objective, "direction": direction, "deadline": None,
            "rounds": [{"trials": n, "space": space.to_dict() if i == 0 else None} for i, n in enumerate(budget)]}


def tune(base: RunConfig, space: SearchSpace, *, trials: int = 40, rounds: int = 2, workers: int | None = None,
         sampler: str = "random", prune: str = "none", seed: int = 0, time_budget: float | None = None,
         study_name: str | None = None, storage: str | None = None, root: str | os.PathLike = "studies",
         resume: str | None = None, live: bool | None = None, finalize_study: bool = True,
         refit: bool = False, prune_min_trials: int = PRUNE_MIN_TRIALS, warm_start: str | None = None,
         objective: str | None = None, max_restarts: int | None = None,
         on_data: Callable[[Dataset], None] | None = None) -> dict:
    """Run a study to its budget and return the summary of :func:`~tunenet.tune.results.finalize`.

    ``on_data``: called with the study's dataset (loaded with its base configuration's table options, a
    resumed study's stored one) before any worker starts: the CLI prints what was read and inferred.

    ``warm_start``: another study (name or directory) whose best trials are this new study's first
    (:mod:`~tunenet.tune.warm`).
    ``prune_min_trials``: the median pruner's minimum of completed trials at an epoch (:func:`make_pruner`).
    ``refit``: test the best configuration refit on train + dev instead of its trial's model (a setting of
    the study; ``resume=..., refit=True`` turns it on for a study already run, which then only refits).
    ``objective``: the dev metric trials are ranked by (default: dev_accuracy, or dev_r2 for regression).
    ``max_restarts``: how many dead workers are replaced in a row without a trial finishing (default 10).

    A study whose workers stop before ``trials`` trials have finished (and before its deadline) is not
    finalised -- the test set is not touched -- and the summary holds ``stopped_short``: how many trials
    finished and why it stopped.
    """
    workers = workers if workers is not None else available_cores()
    if workers < 0:
        raise ConfigError(f"--workers must be >= 0, got {workers}")
    if resume and warm_start:
        raise ConfigError("--warm-start starts a new study; it cannot be combined with --resume")
    if resume:
        study_name = Path(resume).name
        study_dir = Path(resume) if Path(resume).is_dir() else study_dir_for(study_name, root)
        study = load_study(study_name, existing_storage(resume, storage, study_dir, root))
        settings = check_settings(settings_of(study), study_name)
        if on_data is not None:
            from ..config import from_dict
            from ..data import load as load_dataset
            from ..run import table_options

            stored = from_dict(settings["base"], source=f"study {study_name}'s base configuration")
            on_data(load_dataset(stored.data, **table_options(stored)))
    else:
        from ..data import load as load_dataset
        from ..run import table_options

        dataset = load_dataset(base.data, **table_options(base))
        task = dataset.task
        if on_data is not None:
            on_data(dataset)
        del dataset
        threads = base.threads or 1  # not cores // workers: a product's last bits depend on the thread count
        base = base.replace(threads=threads, split_seed=base.split_seed if base.split_seed is not None else seed)
        name_root = Path(base.data).stem if ("/" in base.data or "." in base.data) else base.data
        name_root = re.sub(r"[^A-Za-z0-9._+-]", "_", name_root).lstrip(".-_+") or "study"  # a valid study name
        study_name = study_name or f"{name_root}-{time.strftime('%Y%m%d-%H%M%S')}"
        study_dir = study_dir_for(study_name, root)
        settings = new_settings(base, space, trials, rounds, sampler, prune, seed, task, prune_min_trials,
                                objective)
        warm = open_warm_study(warm_start, storage, root) if warm_start else None
        study = create_study(study_name, make_storage(storage, study_dir), settings, settings["direction"])
        if warm is not None:
            used = enqueue_warm_start(study, warm, space, settings["rounds"][0]["trials"])
            settings["warm_start"] = {"study": warm.study_name, "trials": used}
        name_objective(study, settings["objective"])
    settings["deadline"] = time.time() + time_budget if time_budget else None
    settings["refit"] = bool(refit or settings.get("refit"))
    save_settings(study, settings)
    if workers == 0:
        return {"study": study_name, "study_dir": str(study_dir), "created": True}
    threads = settings["base"].get("threads") or 1
    total = sum(r["trials"] for r in settings["rounds"])
    limit = MAX_RESTARTS if max_restarts is None else max_restarts
    if limit < 0:
        raise ConfigError(f"--max-restarts must be >= 0, got {limit}")
    pool = WorkerPool(launch_workers(workers, study_name, storage, study_dir, threads=threads),
                      lambda i: start_worker(i, study_name, storage, study_dir, threads), limit,
                      progress=lambda: count_trials(study))
    display = LiveTable(study, live)
    try:
        with display:
            monitor(study, pool, on_tick=display.refresh, needed=lambda: still_running(study))
    except KeyboardInterrupt:
        print(f"interrupted: finished trials are kept and the interrupted ones run again on resume; "
              f"continue with tunenet tune --resume {study_dir}", file=sys.stderr)
        raise
    if still_running(study):
        return {"study": study_name, "study_dir": str(study_dir),
                "stopped_short": stopped_short(study, pool, total, limit)}
    summary = finalize(study, study_dir) if finalize_study else {}
    summary["study_dir"] = str(study_dir)
    return summary


#: dead workers replaced in a row without a trial finishing, before the study stops short
MAX_RESTARTS = 10


def still_running(study) -> bool:
    """The study wants more trials: fewer than its budget finished and its deadline (if any) not passed."""
    settings = settings_of(study)
    deadline = settings.get("deadline")
    return not study_done(study) and not (deadline and time.time() >= deadline)


def stopped_short(study, pool: WorkerPool, total: int, limit: int) -> dict:
    """How far a study got when its workers stopped before its budget, and why."""
    settings = settings_of(study)
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    failed = failed_trials(trials)
    if len(failed) >= failure_limit(settings):
        why = (f"{len(failed)} trials failed, the most a study replaces; the last: "
               f"{failed[-1].user_attrs.get('fail_reason', 'no reason recorded')}")
    elif pool.deaths:
        codes = sorted(set(pool.deaths))
        why = (f"{len(pool.deaths)} worker processes died (exit status {', '.join(map(str, codes))}), "
               f"{pool.restarts} replaced, the last {pool.futile} in a row without a trial finishing "
               f"(--max-restarts {limit}); their logs are in logs/")
    else:
        why = "its workers stopped"
    return {"finished": finished, "total": total, "why": why}


def name_objective(study, metric: str) -> None:
    """Name the study's objective after the monitored metric, so optuna-dashboard shows it, not "Objective 0"."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([metric])


def run_worker(study_name: str, storage: str | None, study_dir: Path, worker_index: int = 0) -> int:
    """The body of ``tunenet worker``."""
    return worker_loop(study_name, storage, study_dir, worker_index)


class LiveTable:
    """A live table of trials with a progress bar (rich) on a terminal; one line per trial otherwise."""

    def __init__(self, study, live: bool | None) -> None:
        self.study = study
        self.live = sys.stdout.isatty() if live is None else live
        self._printed: set[int] = set()
        self._live = None
        self._metric: str | None = None

    def __enter__(self):
        if self.live:
            from rich.live import Live

            self._live = Live(self._render(), refresh_per_second=2, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(*exc)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            return
        for t in sorted(self.study.get_trials(deepcopy=False), key=lambda t: t.number):
            if t.number in self._printed or t.state in (TrialState.RUNNING, TrialState.WAITING):
                continue
            self._printed.add(t.number)
            value = "" if t.value is None else f"{self.metric()} {t.value:.4f}"
            print(f"trial {t.number:>3} {t.state.name.lower():<8} {value}  {_params(t)}  "
                  f"{trial_note(t)}".rstrip(), flush=True)

    def metric(self) -> str:
        """The name of the dev metric trials are ranked by (dev_accuracy, dev_r2, dev_loss)."""
        if self._metric is None:
            settings = settings_of(self.study)
            self._metric = objective_metric(settings["task"], settings.get("objective"))[0]
        return self._metric

    def _render(self):
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        settings = settings_of(self.study)
        total = sum(r["trials"] for r in settings["rounds"])
        trials = sorted(self.study.get_trials(deepcopy=False), key=lambda t: t.number)
        done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
        maximize = settings["direction"] == "maximize"
        best = (max if maximize else min)(complete, key=lambda t: t.value) if complete else None
        table = Table(title=f"study {self.study.study_name}: {len(done)}/{total} trials"
                            + (f", best #{best.number} = {best.value:.4f}" if best else ""))
        for col in ("trial", "round", "state", self.metric(), "hyperparameters"):
            table.add_column(col)
        for t in trials[-12:]:
            value = "" if t.value is None else f"{t.value:.4f}"
            style = "bold green" if best is not None and t.number == best.number else None
            table.add_row(str(t.number), str(t.user_attrs.get("round", 0) + 1), t.state.name.lower(), value,
                          _params(t), style=style)
        return Group(table, ProgressBar(total=max(total, 1), completed=len(done), width=60))


def _params(t) -> str:
    parts = []
    for k, v in t.params.items():
        v = 1 - v if k.startswith("1-") else v
        parts.append(f"{display_name(k)}={v:.3g}" if isinstance(v, float) and math.isfinite(v) else
                     f"{display_name(k)}={v}")
    return " ".join(parts)
