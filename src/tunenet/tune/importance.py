"""Hyperparameter importance with fANOVA (Optuna's evaluator).

The share of the variance of the objective explained by each
hyperparameter alone, estimated with a random forest over the completed
trials of the first (widest) round: the course claims the learning rate
matters most; this measures it on the user's own problem.

A random forest fitted to a handful of points ranks noise as readily as
signal (fANOVA from 4 trials once printed "batchnorm 0.27" as fact), so every
ranking travels with the number of trials it rests on
(:func:`importance_basis`), and below :data:`MIN_TRIALS` it is marked
indicative wherever it is shown.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState


def display_name(param: str) -> str:
    """The user's name of an Optuna parameter: ``1-beta@2`` (round 2's ``beta``) -> ``beta``."""
    param = param.split("@", 1)[0]
    return param[2:] if param.startswith("1-") else param


#: fewer completed trials than this and an importance ranking is "indicative", not a measurement
MIN_TRIALS = 20


def _round_trials(study: optuna.Study, round_index: int) -> list:
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("round", 0) == round_index and t.value is not None]


def importance_basis(study: optuna.Study, round_index: int = 0) -> dict:
    """What a ranking rests on: ``{"round", "trials", "minimum", "indicative"}`` (trials: completed in the round)."""
    n = len(_round_trials(study, round_index))
    return {"round": round_index + 1, "trials": n, "minimum": MIN_TRIALS, "indicative": n < MIN_TRIALS}


def describe_basis(basis: dict) -> str:
    """``"fANOVA over 12 trials of round 1; indicative: fewer than 20"``: the words of the CLI, best.yaml, report."""
    text = f"fANOVA over {basis['trials']} trials of round {basis['round']}"
    return text + (f"; indicative: fewer than {basis['minimum']}" if basis["indicative"] else "")


def importance(study: optuna.Study, round_index: int = 0, seed: int = 0) -> dict[str, float]:
    """Normalised fANOVA importance per hyperparameter (empty with fewer than 4 completed trials)."""
    trials = _round_trials(study, round_index)
    if len(trials) < 4:
        return {}
    scratch = optuna.create_study(direction=study.direction)
    scratch.add_trials(trials)
    try:
        raw = optuna.importance.get_param_importances(
            scratch, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
    except (ValueError, RuntimeError):
        return {}
    return {display_name(k): float(v) for k, v in sorted(raw.items(), key=lambda kv: -kv[1])}
