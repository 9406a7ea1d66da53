"""Hyperparameter importance with fANOVA (Optuna's evaluator).

The share of the variance of the objective explained by each
hyperparameter alone, estimated with a random forest over the completed
trials of the first (widest) round: the course claims the learning rate
matters most; this measures it on the user's own problem.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState


def display_name(param: str) -> str:
    """The user's name of an Optuna parameter: ``1-beta@2`` (round 2's ``beta``) -> ``beta``."""
    param = param.split("@", 1)[0]
    return param[2:] if param.startswith("1-") else param


def importance(study: optuna.Study, round_index: int = 0, seed: int = 0) -> dict[str, float]:
    """Normalised fANOVA importance per hyperparameter (empty with fewer than 4 completed trials)."""
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if t.user_attrs.get("round", 0) == round_index and t.value is not None]
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
