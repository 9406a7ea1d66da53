"""Sampling, pruning, coarse-to-fine rounds and running one trial.

Random search samples each trial's hyperparameters from a Generator seeded by
``(master seed, trial index, parameter name)``: the trial index (its number,
less numbers used up by racing claims, :func:`trial_index`) alone fixes
what a trial tries, so parallel workers never draw identical trials and a
study is reproducible whatever the number of workers. A retry of a lost or
interrupted trial is queued with the index of the trial it repeats, and the
retries numbered before a trial do not count towards its index either: the
study that runs again after a loss is the one that would have run without
it, the same hyperparameters trained with the same seeds. ``--sampler tpe`` uses
Optuna's TPE (seeded per worker).

Coarse to fine: a study has rounds; round ``r`` has a search space and a trial
budget. When every trial of round ``r`` has finished, round ``r+1``'s space is
round ``r``'s refined around its best trials: every trial within one
standard error of the best (:func:`~tunenet.tune.noise.top_and_beaten`), with
ranges that narrow only as far as the round's sampling density justifies and
widen past an edge the best trials sit at
(:meth:`~tunenet.tune.space.SearchSpace.refine`); it is recorded in the study.
"""

from __future__ import annotations

import math
import signal
import time
import zlib

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from ..config import RunConfig
from ..errors import ConfigError, DivergenceError, TunenetError
from ..train.callbacks import Callback
from .doctor_pruner import DoctorPruner, DoctorStopped, default_after, split_prune
from .noise import top_and_beaten
from .space import SearchSpace
from .study import ACTIVE, DONE, Heartbeat, fail_and_requeue, index_for, save_settings, settings_of, worker_identity

SAMPLERS = ("random", "tpe")
PRUNERS = ("none", "median", "asha", "hyperband", "doctor")  # and "asha+doctor" etc. (:mod:`.doctor_pruner`)


def derive_seed(*keys: int) -> int:
    """A 32-bit seed derived from integers (master seed, trial number, ...)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(1)[0])


def trial_index(trial) -> int:
    """The trial's place in the study: its number, less the numbers used up by "surplus" claims.

    Two workers asking for a round's last slot at once both get a trial
    number; the loser's is failed as surplus (:func:`claim_trial`). Seeding by
    the index rather than the number keeps that race from shifting every later
    trial's values and seed, so ``--workers 1`` and ``--workers 2`` run the same trials.
    """
    return int(trial.user_attrs.get("index", trial.number))


class TrialSeededRandomSampler(optuna.samplers.BaseSampler):
    """Random search where trial ``n``'s values depend only on (seed, n, name); ``n``: :func:`trial_index`.

    Floats on a log scale are uniform in log space; integers likewise, then
    rounded; categorical options are equally likely.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, param_name, dist):
        rng = np.random.default_rng([self.seed, trial_index(trial), zlib.crc32(param_name.encode())])
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[int(rng.integers(len(dist.choices)))]
        if isinstance(dist, FloatDistribution):
            if dist.log:
                return float(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))))
            return float(rng.uniform(dist.low, dist.high))
        if isinstance(dist, IntDistribution):
            if dist.log:
                value = math.exp(rng.uniform(math.log(dist.low - 0.5), math.log(dist.high + 0.5)))
            else:
                value = rng.uniform(dist.low - 0.5, dist.high + 0.5)
            return int(min(max(round(value), dist.low), dist.high))
        raise TypeError(f"unsupported distribution {dist!r}")


def make_sampler(name: str, seed: int, worker_index: int = 0):
    if name == "random":
        return TrialSeededRandomSampler(seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=derive_seed(seed, worker_index), n_startup_trials=10)
    raise ConfigError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


#: the median pruner judges a trial at epoch e only against at least this many completed trials that reached e
PRUNE_MIN_TRIALS = 3


def make_pruner(name: str, epochs: int, min_trials: int = PRUNE_MIN_TRIALS):
    """Stop hopeless trials on their per-epoch dev accuracy.

    No trial is judged before an eighth of its epochs (at least one): the
    first epochs rank trials poorly (regularised or augmented ones start slow).
    The median pruner also waits until ``min_trials`` completed trials have
    reported the epoch at hand (Optuna's ``n_min_trials``): with early
    stopping few trials reach late epochs, and a median of one trial's value
    is that trial, not a median (``--prune-min-trials``), and prunes only a
    trial more than one standard error of the dev accuracy below that median
    (:class:`~tunenet.tune.median_pruner.NoiseAwareMedianPruner`).
    ``doctor`` (alone or as ``asha+doctor``) is not an Optuna pruner but a training callback
    (:class:`~tunenet.tune.doctor_pruner.DoctorPruner`, added by :func:`run_trial`); here it stands for
    the Optuna pruner beside it (none when alone).
    """
    from .doctor_pruner import split_prune

    name, _ = split_prune(name)
    warmup = max(1, epochs // 8)
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        if isinstance(min_trials, bool) or not isinstance(min_trials, int) or min_trials < 1:
            raise ConfigError(f"--prune-min-trials must be a positive integer, got {min_trials!r}")
        from .median_pruner import NoiseAwareMedianPruner

        return NoiseAwareMedianPruner(n_startup_trials=4, n_warmup_steps=warmup, n_min_trials=min_trials)
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=warmup, max_resource=max(epochs, 1), reduction_factor=3)
    raise ConfigError(f"--prune must be one of {', '.join(PRUNERS)}, got {name!r}")


class OptunaReporter(Callback):
    """Report each epoch's dev metric to the trial; raise TrialPruned when the pruner says so.

    With a ``deadline`` (the study's ``--time`` budget, a Unix time), a trial
    still training when the budget runs out stops after that epoch like an
    early-stopped one: it completes with its best epoch so far, and
    ``stopped_epoch`` records where it stopped, so ``--time`` bounds the whole
    study and not only the start of its last trials.
    """

    def __init__(self, trial, metric: str, deadline: float | None = None) -> None:
        self.trial, self.metric, self.deadline = trial, metric, deadline
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, trainer, logs):
        value = logs.get(self.metric, math.nan)
        if math.isfinite(value):
            self.trial.report(value, logs["epoch"])
            if self.trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {logs['epoch']} ({self.metric} {value:.4f})")
        if self.deadline is not None and time.time() >= self.deadline and not trainer.stop_training:
            trainer.stop_training = True
            self.stopped_epoch = logs["epoch"]


#: what ``--objective`` accepts per task; the first is the default
OBJECTIVES = {"classification": ("dev_accuracy", "dev_loss"), "regression": ("dev_r2", "dev_loss")}


def objective_metric(task: str, objective: str | None = None) -> tuple[str, str]:
    """(history column, direction): by default dev accuracy up for classifiers, dev R2 up for regression."""
    from ..metrics import higher_is_better

    choices = OBJECTIVES.get(task, OBJECTIVES["classification"])
    objective = objective or choices[0]
    if objective not in choices:
        raise ConfigError(f"--objective for {task} must be one of {', '.join(choices)}, got {objective!r}")
    return objective, "maximize" if higher_is_better(objective) else "minimize"


def study_objective(settings: dict) -> str:
    """The study's objective column (a study from before ``--objective`` optimised dev accuracy or dev loss)."""
    return settings.get("objective") or ("dev_accuracy" if settings["task"] == "classification" else "dev_loss")


# -- rounds ------------------------------------------------------------------
def current_round(study: optuna.Study, settings: dict) -> int | None:
    """The round new trials belong to, opening the next round when one is finished.

    Returns None when every round's budget is claimed (the study is full) and
    -1 when the current round is claimed but still running (wait).
    """
    rounds = settings["rounds"]
    trials = study.get_trials(deepcopy=False)
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    if waiting:  # a retry of a lost trial: asking pops it first
        return waiting[0].user_attrs.get("round", 0)
    for r, rnd in enumerate(rounds):
        in_round = [t for t in trials if t.user_attrs.get("round", 0) == r]
        active = [t for t in in_round if t.state in ACTIVE]
        if len(active) < rnd["trials"]:
            return r
        if any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in in_round):
            return -1
        if r + 1 < len(rounds) and rounds[r + 1].get("space") is None:
            open_next_round(study, settings, r)
    return None


def open_next_round(study: optuna.Study, settings: dict, r: int) -> None:
    """Record round r+1's space: round r's refined around its top trials (within one SE of the best)."""
    space = SearchSpace.from_dict(settings["rounds"][r]["space"])
    in_round = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("round", 0) == r]
    top, beaten, _ = top_and_beaten([t for t in in_round if "values" in t.user_attrs],
                                    settings["direction"] == "maximize")
    tried = sum(t.state in DONE and "values" in t.user_attrs for t in in_round)
    settings["rounds"][r + 1]["space"] = space.refine([t.user_attrs["values"] for t in top],
                                                      [t.user_attrs["values"] for t in beaten], tried).to_dict()
    save_settings(study, settings)


# -- one trial ---------------------------------------------------------------
def failure_limit(settings: dict) -> int:
    """How many failed trials (diverged, bad combinations) a study replaces before it stops short."""
    return max(10, sum(r["trials"] for r in settings["rounds"]))


def failed_trials(trials) -> list:
    """Trials that failed on their own account: not lost workers, interruptions or surplus claims."""
    return [t for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("requeued")
            and not str(t.user_attrs.get("fail_reason", "")).startswith(("surplus", "interrupted", "worker "))]


def claim_trial(study: optuna.Study, settings: dict):
    """Ask for a trial inside the budget; (trial, round) or (None, None) when full, (None, -1) to wait.

    ``--trials N`` asks for N finished (completed or pruned) trials: a failed
    trial does not count, and a new one takes its place, until
    :func:`failure_limit` failures say the search itself is broken (then
    (None, None): the study stops short).
    """
    if len(failed_trials(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))) >= failure_limit(settings):
        return None, None
    r = current_round(study, settings)
    if r is None or r == -1:
        return None, r
    trial = study.ask()
    r = trial.user_attrs.get("round", r)
    ahead = [t for t in study.get_trials(deepcopy=False, states=ACTIVE)  # a trial being re-queued has its retry
             if t.number < trial.number and t.user_attrs.get("round", 0) == r and not t.user_attrs.get("requeued")]
    if len(ahead) >= settings["rounds"][r]["trials"]:  # another worker claimed the last slot first
        study._storage.set_trial_user_attr(trial._trial_id, "fail_reason", "surplus: the round was full")
        study.tell(trial, state=TrialState.FAIL)
        return None, -1
    if "retry_of" not in trial.user_attrs:  # a retry was queued with the index of the trial it repeats
        trial.set_user_attr("index", index_for(study, trial.number))
    return trial, r


def trial_dir(study_dir, number: int):
    """Where a trial's run directory lives (model, history, curves; no checkpoint)."""
    return None if study_dir is None else study_dir / "trials" / f"{number:04d}"


def tell(study: optuna.Study, trial, value=None, state=None) -> bool:
    """``study.tell`` that accepts losing a race: a trial already failed by a reaper (its worker presumed
    lost on a starved machine) stays failed, its retry evaluates the hyperparameters once. False then."""
    from optuna.exceptions import UpdateFinishedTrialError

    try:
        study.tell(trial, value, state=state, skip_if_finished=True)
    except UpdateFinishedTrialError:
        return False
    return True


def run_trial(study: optuna.Study, trial, r: int, settings: dict, data_for, study_dir=None) -> TrialState:
    """Sample, train and tell one trial; divergence or a bad combination fails only this trial.

    A completed trial's model stays in ``study_dir/trials/NNNN`` so the best
    one need not be retrained.
    """
    from ..run import train_run

    storage = study._storage
    with Heartbeat(storage, trial._trial_id):
        try:
            # the worker's pid is recorded inside the try: a Ctrl-C that lands once a trial shows its pid
            # (as soon as the coordinator or a test can see whose trial it is) is caught as "interrupted" below
            for key, value in {**worker_identity(), "round": r}.items():
                storage.set_trial_user_attr(trial._trial_id, key, value)
            space = SearchSpace.from_dict(settings["rounds"][r]["space"])
            base = RunConfig(**{**settings["base"], "hidden": tuple(settings["base"]["hidden"])})
            metric = study_objective(settings)
            values = space.sample(trial, r)
            storage.set_trial_user_attr(trial._trial_id, "values", values)
            config = space.config_for(values, base).replace(seed=derive_seed(settings["seed"], trial_index(trial)))
            storage.set_trial_user_attr(trial._trial_id, "config", config.to_dict())
            reporter = OptunaReporter(trial, metric, deadline=settings.get("deadline"))
            doctor = [DoctorPruner(default_after(config.epochs))] if split_prune(settings["prune"])[1] else []
            data = data_for(config)
            # n of the binomial SE (the median pruner, best_trial); it holds for an accuracy only, not R2
            if metric == "dev_accuracy" and data.y_dev is not None:
                storage.set_trial_user_attr(trial._trial_id, "dev_rows", int(len(data.y_dev)))
            result = train_run(config, trial_dir(study_dir, trial.number), callbacks=[*doctor, reporter],
                               progress=False, data=data, checkpoint=False, report=False)
        except optuna.TrialPruned as exc:
            if isinstance(exc, DoctorStopped):  # the finding's kind, counted by the report and `study show`
                storage.set_trial_user_attr(trial._trial_id, "doctor", exc.finding.kind)
            storage.set_trial_user_attr(trial._trial_id, "pruned", str(exc))
            tell(study, trial, state=TrialState.PRUNED)
            return TrialState.PRUNED
        except (DivergenceError, TunenetError) as exc:
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", str(exc))
            tell(study, trial, state=TrialState.FAIL)
            return TrialState.FAIL
        except KeyboardInterrupt:  # Ctrl-C, or the coordinator gone (SIGTERM): the trial runs again on --resume
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the bookkeeping short
            fail_and_requeue(study, study._storage.get_trial(trial._trial_id), "interrupted", lost=False)
            raise
        metrics = result.metrics
        storage.set_trial_user_attr(trial._trial_id, "curve", [row.get(metric) for row in result.history.epochs])
        storage.set_trial_user_attr(trial._trial_id, "epochs", metrics["epochs"])
        if "dev_loss" in metrics:
            storage.set_trial_user_attr(trial._trial_id, "dev_loss", metrics["dev_loss"])
        if reporter.stopped_epoch is not None and reporter.stopped_epoch < config.epochs:
            storage.set_trial_user_attr(trial._trial_id, "stopped",
                                        f"time budget reached: stopped after epoch {reporter.stopped_epoch}")
        value = metrics.get(metric)
        if value is None or not math.isfinite(value):
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", f"no finite {metric}")
            tell(study, trial, state=TrialState.FAIL)
            return TrialState.FAIL
        tell(study, trial, value)
        return TrialState.COMPLETE


def trial_note(t) -> str:
    """Why a trial ended the way it did: its failure, pruning or time-budget stop; else where it came from.

    Attempts at one trial's hyperparameters say so: "retry of #12 (attempt 2)", and a failed attempt whether it
    was queued again or given up.
    """
    attrs = t.user_attrs
    warm = attrs.get("warm_start")
    note = str(attrs.get("fail_reason") or attrs.get("pruned") or attrs.get("stopped")
               or (f"warm start: the best values of {warm}" if warm else ""))
    if "retry_of" in attrs:
        note = f"retry of #{attrs['retry_of']} (attempt {attrs.get('attempt', 2)})" + (f"; {note}" if note else "")
    if attrs.get("gave_up"):
        note += f"; given up: {attrs['gave_up']}"
    elif attrs.get("requeued") is True and t.state == TrialState.FAIL:
        note += "; queued again"
    return note


def study_done(study: optuna.Study) -> bool:
    settings = settings_of(study)
    total = sum(r["trials"] for r in settings["rounds"])
    return len(study.get_trials(deepcopy=False, states=DONE)) >= total
