"""The dev metric's sampling noise, and the one-standard-error rule built on it.

A dev accuracy ``p`` measured on ``n`` dev rows is a binomial proportion: its
standard error is

    SE = sqrt(p (1 - p) / n)

(on 360 dev rows at p = 0.98, SE = 0.0074: two or three rows). Trials whose
dev accuracies differ by less than one SE are not told apart by the dev set,
so the tuner treats them as a tie everywhere it ranks trials:

- :func:`near_best`: the trials within one SE of the best value -- the
  best-trial choice breaks that tie by dev loss
  (:func:`~tunenet.tune.results.best_trial`), and coarse to fine zooms into
  the region they span (:func:`top_and_beaten`);
- a trial more than one SE below the best is *beaten*.

For an objective without a known SE (a loss, or trials of a study that
predates ``dev_rows``) there is no band: the top ``fraction`` of the trials
(at least ``minimum``) stands in for it.
"""

from __future__ import annotations

import math

from optuna.trial import TrialState


def binomial_se(p: float, n: int) -> float:
    """``sqrt(p (1 - p) / n)``: the standard error of a proportion ``p`` measured on ``n`` rows."""
    return math.sqrt(p * (1.0 - p) / n)


def standard_error(trial) -> float | None:
    """SE of a trial's dev metric: ``sqrt(p (1 - p) / n)`` for a dev accuracy ``p`` on ``n`` rows.

    A trial may also carry its own ``dev_se`` (user attribute); None when neither is known.
    """
    se = trial.user_attrs.get("dev_se")
    if se is not None:
        return float(se)
    rows = trial.user_attrs.get("dev_rows")
    p = trial.value
    if not rows or p is None or not 0.0 <= p <= 1.0:
        return None
    return binomial_se(p, rows)


def completed(trials) -> list:
    return [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)]


def near_best(trials, maximize: bool) -> tuple[list, float | None]:
    """(trials within one SE of the best value, that SE); ``([], None)`` without completed trials.

    The SE is the best trial's (the noise of the value everyone is compared
    with). Without one, only the best trial itself is returned, with SE None.
    """
    done = completed(trials)
    if not done:
        return [], None
    top = max(done, key=lambda t: t.value) if maximize else min(done, key=lambda t: t.value)
    se = standard_error(top) if maximize else top.user_attrs.get("dev_se")
    if se is None:
        return [top], None
    near = [t for t in done if (t.value >= top.value - se if maximize else t.value <= top.value + se)]
    return near, float(se)


def top_and_beaten(trials, maximize: bool, minimum: int = 3, fraction: float = 0.1) -> tuple[list, list, float | None]:
    """Split a round's completed trials into the top set and the beaten ones; returns (top, beaten, SE).

    The top set is every trial within one SE of the best (:func:`near_best`),
    and at least the ``minimum`` best trials (fewer points do not outline a
    region). Without an SE it is the best ``fraction`` of the trials (at least
    ``minimum``). Every other completed trial is beaten.
    """
    done = sorted(completed(trials), key=lambda t: t.value, reverse=maximize)
    near, se = near_best(done, maximize)
    if se is None:
        count = max(minimum, int(len(done) * fraction))
    else:
        count = max(minimum, len(near))
    return done[:count], done[count:], se
