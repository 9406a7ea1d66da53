"""CLI: ``tunenet tune``, ``tunenet worker``, ``tunenet study show|list|export``, ``tunenet dashboard``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_tune_arguments(p: argparse.ArgumentParser) -> None:
    from ..cli import add_config_arguments

    p.add_argument("--space", help="search space file (YAML/TOML: option: loguniform(1e-4, 1e-1) ...); "
                                   "default: the course's space (lr, beta, batch size, units, layers, decay, ...)")
    p.add_argument("--config", help="base configuration file; flags below fix options for every trial")
    p.add_argument("--trials", type=int, default=None,
                   help="trials to finish (completed or pruned) over all rounds; failed ones do not count: a trial "
                        "whose worker was lost runs again, one that failed (diverged) is replaced (default: 30)")
    p.add_argument("--rounds", type=int, default=None, help="coarse-to-fine rounds (default: 2)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core; "
                                                              "0 only creates the study for remote workers)")
    p.add_argument("--sampler", default=None, help="random (default) or tpe")
    p.add_argument("--prune", default=None,
                   help="none (default), median, asha, hyperband, or doctor: stop a trial the doctor finds broken "
                        "(diverging, frozen, vanishing, dead, saturated) with its finding as the reason; combine "
                        "with +: asha+doctor")
    p.add_argument("--prune-min-trials", dest="prune_min_trials", type=int, default=None,
                   help="median pruner: judge an epoch only against at least this many completed trials that "
                        "reached it (default: 3)")
    p.add_argument("--time", help="time budget of the study, e.g. 30m or 2h: no trial starts after it, and "
                                   "running trials stop at the end of their epoch, keeping their best epoch")
    p.add_argument("--max-restarts", dest="max_restarts", type=int, default=None,
                   help="dead worker processes replaced in a row without a trial finishing, before the study "
                        "stops short (default: 10)")
    p.add_argument("--study", help="study name (default: DATA-TIMESTAMP)")
    p.add_argument("--storage", help="journal file (default: studies/NAME/journal.log), sqlite:///FILE or "
                                     "postgresql://USER:PASSWORD@HOST/DB")
    p.add_argument("--root", default="studies", help="folder of study directories (default: studies)")
    p.add_argument("--resume", metavar="STUDY",
                   help="continue a study (its directory or name) to its own budget, with its own space and base "
                        "configuration (--trials, --space, --lr, ... are refused; see --warm-start)")
    p.add_argument("--warm-start", dest="warm_start", metavar="STUDY",
                   help="start a new study with another study's best trials (its directory or name): a longer "
                        "search builds on a shorter one")
    p.add_argument("--refit", action="store_true",
                   help="test the best configuration trained again on train + dev for its best epoch count, "
                        "not its trial's model (with --resume on a finished study: only refit)")
    p.add_argument("--quiet", action="store_true", help="one line per trial instead of the live table")
    p.add_argument("--objective", help="dev metric trials are ranked by: dev_accuracy (default for classifiers) "
                                       "or dev_loss; dev_r2 (default for regression) or dev_loss")
    add_config_arguments(p)


#: ``tunenet tune`` options that shape a new study; a resumed study keeps its own (its stored settings)
NEW_STUDY_OPTIONS = ("trials", "rounds", "sampler", "prune", "prune_min_trials", "space", "objective", "config",
                     "study", "warm_start")


def refuse_new_study_options(args: argparse.Namespace) -> None:
    """``--resume`` with ``--trials``, ``--space``, ``--lr``...: one line saying it keeps its settings, exit 2.

    Silently ignoring them would run a study other than the one asked for.
    """
    from ..cli import config_overrides
    from ..errors import ConfigError

    given = [name for name in NEW_STUDY_OPTIONS if getattr(args, name, None) is not None]
    given += list(config_overrides(args))
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise ConfigError(f"{flag} applies to a new study; tunenet tune --resume {args.resume} continues the study "
                          "with its own budget, space and base configuration (see tunenet study show "
                          f"{args.resume}); to search further from it, start a new one: tunenet tune --warm-start "
                          f"{args.resume} --trials N")


def tune_defaults():
    """Fixed options for every trial unless given: 30 epochs with early stopping after 6."""
    return {"epochs": 30, "early_stopping": 6}


def run_tune(args: argparse.Namespace) -> int:
    from ..cli import config_from_args
    from ..config import read_config_file
    from ..tune import SearchSpace, default_space, tune
    from ..tune.tuner import parse_duration

    if args.study is not None:
        from ..tune.study import check_study_name

        check_study_name(args.study)  # before any work: the name becomes a directory inside --root
    if args.resume:
        refuse_new_study_options(args)
    base = config_from_args(args, tune_defaults())
    seed = base.seed
    space = SearchSpace.from_dict(read_config_file(args.space), source=args.space) if args.space \
        else default_space()
    from ..cli import print_data_summary

    summary = tune(base, space, trials=30 if args.trials is None else args.trials,
                   rounds=2 if args.rounds is None else args.rounds, workers=args.workers,
                   sampler=args.sampler or "random", prune=args.prune or "none", seed=seed,
                   time_budget=parse_duration(args.time), study_name=args.study,
                   storage=args.storage, root=args.root, resume=args.resume, live=False if args.quiet else None,
                   refit=args.refit, warm_start=args.warm_start, objective=args.objective,
                   max_restarts=args.max_restarts, on_data=print_data_summary,
                   **({} if args.prune_min_trials is None else {"prune_min_trials": args.prune_min_trials}))
    short = summary.get("stopped_short")
    if short:  # not finalised: the best of a partial study is not tested as if the search were done
        print(f"error: study {summary['study']} stopped short: {short['finished']} of {short['total']} trials "
              f"finished ({short['why']}); the test set was not evaluated; continue with: tunenet tune --resume "
              f"{summary['study_dir']}", file=sys.stderr)
        return STOPPED_SHORT
    print_summary(summary, args.storage)
    return 0


#: exit status of a study that stopped before its budget (2 is a user mistake, 130 Ctrl-C)
STOPPED_SHORT = 3


def print_summary(summary: dict, storage: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..config import unused_hyperparameters
    from ..tune.report import model_origin

    console = Console()
    if summary.get("created"):
        import shlex

        from ..tune.study import _redact, study_dir_for

        storage = storage or str(Path(summary["study_dir"]) / "journal.log")
        words = ["tunenet", "worker", "--study", summary["study"], "--storage", _redact(storage)]
        if Path(summary["study_dir"]) != study_dir_for(summary["study"]):
            words += ["--study-dir", summary["study_dir"]]
        command = shlex.join(words)
        print(f"created study {summary['study']}; start workers with:\n{command}"
              + ("\n(with the database password in place of ***)" if _redact(storage) != storage else ""))
        return
    best = summary.get("best")
    if not best:
        console.print(f"study {summary.get('study')}: no trial completed")
        return
    study_dir = Path(summary["study_dir"])
    print(f"best configuration: trial #{best['trial']}", flush=True)  # a line, not a title wrapped to the table
    table = Table()
    table.add_column("option")
    table.add_column("value")
    hidden = unused_hyperparameters((best.get("config") or best["values"]).get("optimizer"))  # no beta by beta1
    for k, v in best["values"].items():
        if k in hidden:
            continue
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    console.print(table)
    r = best["metrics"]
    if best.get("refit"):
        console.print(model_origin(best), soft_wrap=True)
    if "test_accuracy" in r:
        dev = f", dev {r['dev_accuracy']:.4f}" if "dev_accuracy" in r else ""
        console.print(f"best model: train accuracy {r['train_accuracy']:.4f}{dev}, "
                      f"[bold]test {r['test_accuracy']:.4f}[/]")
    elif "test_r2" in r:
        dev = f", dev R² {r['dev_r2']:.4f}" if "dev_r2" in r else ""
        console.print(f"best model: train R² {r['train_r2']:.4f}{dev}, [bold]test R² {r['test_r2']:.4f}[/], "
                      f"test RMSE {r['test_rmse']:.4g}, MAE {r['test_mae']:.4g} (target units)", highlight=False,
                      soft_wrap=True)
    elif "test_loss" in r:
        console.print(f"best model: test loss {r['test_loss']:.4f}")
    if best.get("why"):
        console.print(f"why trial #{best['trial']}: {best['why']}", markup=False, soft_wrap=True)
    if summary.get("importance"):
        from ..tune.importance import describe_basis

        ranking = ", ".join(f"{k} {v:.2f}" for k, v in list(summary["importance"].items())[:5])
        basis = summary.get("importance_basis")
        console.print(f"importance ({describe_basis(basis) if basis else 'fANOVA'}): {ranking}", markup=False,
                      soft_wrap=True)
    print(f"report: {study_dir / 'report.html'}", flush=True)  # a path is never wrapped


def add_worker_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, help="name of the study to join")
    p.add_argument("--storage", help="the study's storage (journal file, sqlite:///..., postgresql://...)")
    p.add_argument("--study-dir", dest="study_dir", help="local study directory (default: studies/NAME)")
    p.add_argument("--worker-index", dest="worker_index", type=int, default=0, help=argparse.SUPPRESS)


def run_worker(args: argparse.Namespace) -> int:
    from ..tune.lifeline import bind_to_coordinator
    from ..tune.study import study_dir_for
    from ..tune.tuner import run_worker as worker

    bound = bind_to_coordinator()  # started by `tunenet tune`: end with it, even if it is killed with SIGKILL
    study_dir = Path(args.study_dir) if args.study_dir else study_dir_for(args.study)
    try:
        n = worker(args.study, args.storage, study_dir, args.worker_index)
    except KeyboardInterrupt:
        if not bound:
            raise
        # the trial is recorded and queued again; skip the interpreter's shutdown (seconds of module teardown
        # on a busy machine, during which the forced-exit threads can no longer run)
        print("interrupted", file=sys.stderr, flush=True)
        os._exit(130)
    print(f"worker done: {n} trials", file=sys.stderr)
    return 0


def add_study_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "list", "export"])
    p.add_argument("study", nargs="?", help="study name or directory (show, export)")
    p.add_argument("--storage", help="storage URL (default: the study directory's journal)")
    p.add_argument("--root", default="studies")
    p.add_argument("--output", "-o", help="export: CSV file (default: stdout)")


def run_study(args: argparse.Namespace) -> int:
    import optuna
    from rich.console import Console
    from rich.table import Table

    from ..errors import ConfigError
    from ..tune.study import existing_storage, load_study, make_storage, study_dir_for

    console = Console()
    if args.action == "list":
        if args.storage:
            storage = make_storage(args.storage, Path("."))
            found = [(s.study_name, storage) for s in optuna.get_all_study_summaries(storage)]
        else:
            found = [(p.name, make_storage(None, p)) for p in sorted(Path(args.root).glob("*"))
                     if (p / "journal.log").is_file()]
        if not found:
            where = "in that storage" if args.storage else f"in {args.root}/"
            print(f"no studies {where}; `tunenet tune` creates one")
            return 0
        for name, storage in found:
            print(study_line(load_study(name, storage)))
        return 0
    if not args.study:
        raise ConfigError(f"tunenet study {args.action} needs a study name")
    study_dir = Path(args.study) if Path(args.study).is_dir() else study_dir_for(args.study, args.root)
    study = load_study(study_dir.name, existing_storage(args.study, args.storage, study_dir, args.root))
    if args.action == "export":
        text = study.trials_dataframe().to_csv(index=False)
        if args.output:
            from ..fileio import atomic_write_text

            atomic_write_text(args.output, text)
        else:
            sys.stdout.write(text)
        return 0
    from ..tune.doctor_pruner import doctor_counts, doctor_sentence
    from ..tune.search import trial_note
    from ..tune.tuner import _params

    table = Table(title=f"study {study.study_name}")
    for col in ("trial", "round", "state", "value", "hyperparameters", "note"):
        table.add_column(col)
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        table.add_row(str(t.number), str(t.user_attrs.get("round", 0) + 1), t.state.name.lower(),
                      "" if t.value is None else f"{t.value:.4f}", _params(t),
                      trial_note(t))
    console.print(table)
    stopped = doctor_sentence(doctor_counts(study.get_trials(deepcopy=False)))
    if stopped:
        print(stopped)
    return 0


def study_line(study) -> str:
    """``NAME: 30 trials (28 complete, 2 pruned); best dev_accuracy 0.9833 (trial #22)``."""
    from collections import Counter

    from ..tune.results import best_trial
    from ..tune.search import objective_metric
    from ..tune.study import settings_of

    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name.lower() for t in trials)
    line = f"{study.study_name}: {len(trials)} trials"
    if trials:
        line += " (" + ", ".join(f"{n} {state}" for state, n in states.most_common()) + ")"
    try:
        settings = settings_of(study)
        metric = settings.get("objective") or objective_metric(settings["task"])[0]
    except (KeyError, ValueError):
        metric = "value"
    best = best_trial(study)  # the trial the study reports (one-standard-error rule)
    if best is not None:
        line += f"; best {metric} {best.value:.4f} (trial #{best.number})"
    else:
        line += "; no completed trial yet"
    return line


def add_dashboard_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", help="study name or directory")
    p.add_argument("--storage")
    p.add_argument("--root", default="studies")
    p.add_argument("--port", type=int, default=8080)


def run_dashboard(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..tune.study import existing_storage, study_dir_for

    study_dir = Path(args.study) if Path(args.study).is_dir() else study_dir_for(args.study, args.root)
    storage = existing_storage(args.study, args.storage, study_dir, args.root)  # a missing study: its own error
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise ConfigError("the dashboard needs optuna-dashboard: pip install 'tunenet[dashboard]'") from None
    run_server(storage, host="127.0.0.1", port=args.port)
    return 0


COMMANDS = {
    "tune": (add_tune_arguments, run_tune, "search hyperparameters (random, coarse to fine, parallel workers)"),
    "worker": (add_worker_arguments, run_worker, "join a study as a worker (any machine sharing its storage)"),
    "study": (add_study_arguments, run_study, "show, list or export studies"),
    "dashboard": (add_dashboard_arguments, run_dashboard, "open optuna-dashboard on a study"),
}
