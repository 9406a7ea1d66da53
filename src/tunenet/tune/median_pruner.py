"""The median pruner with the dev set's sampling noise: prune only a trial clearly below the median.

Optuna's median rule stops a trial at epoch ``e`` when its dev value is below
the median of the completed trials' values at ``e``. On a dev accuracy that
median is itself a measurement with sampling noise: a proportion ``p`` on
``n`` dev rows has standard error

    SE = sqrt(p (1 - p) / n)

(800 MNIST-1D dev rows at p = 0.68: SE = 0.016). Coarse to fine's later
rounds sample near the earlier rounds' best region, so about half of their
trials fall a few rows below the median at the first judged epoch and the
plain rule stops them on noise (6 of 8 round-2 trials of one MNIST-1D study
at epoch 12, each within 1.6 points of the median; one round-1 trial 4
points below the median there went on to 0.85). This pruner applies the same
one-standard-error rule as the rest of the tuner (:mod:`.noise`): a trial is
stopped only when it sits more than one SE below the median,

    prune  <=>  value_e < median_e - sqrt(median_e (1 - median_e) / n_dev),

and, for an objective without a known SE (a loss, R^2) or a trial without
``dev_rows``, exactly when Optuna's median rule says so.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
from optuna.pruners import BasePruner, MedianPruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from .noise import binomial_se


class NoiseAwareMedianPruner(BasePruner):
    """Optuna's :class:`~optuna.pruners.MedianPruner`, plus a margin of one SE of the median dev accuracy.

    Parameters are Optuna's (``n_startup_trials``, ``n_warmup_steps``,
    ``n_min_trials``); the running trial's user attribute ``dev_rows`` (set
    by :func:`~tunenet.tune.search.run_trial` before it trains) gives ``n``.
    """

    def __init__(self, n_startup_trials: int = 4, n_warmup_steps: int = 0, n_min_trials: int = 1) -> None:
        self.median = MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps,
                                   n_min_trials=n_min_trials)

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        if not self.median.prune(study, trial):
            return False
        step, rows = trial.last_step, trial.user_attrs.get("dev_rows")
        if step is None or not rows or study.direction != StudyDirection.MAXIMIZE:
            return True
        value = trial.intermediate_values[step]
        at_step = [t.intermediate_values[step] for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                   if step in t.intermediate_values]
        median = float(np.nanmedian(at_step)) if at_step else math.nan
        if not (0.0 <= median <= 1.0 and 0.0 <= value <= 1.0):  # not a proportion: no binomial SE
            return True
        return value < median - binomial_se(median, rows)
