"""Bias / variance from train and dev error, against a reference and against noise.

    avoidable bias = train error - reference error   (reference: a human-level error
                     when given, else an estimate of the achievable error, else 0)
    variance       = dev error - train error
    reducible      = dev error - max(train error, reference error)
    data mismatch  = dev error - train-dev error   (when a train-dev error is given;
                     the variance is then train-dev - train)

The reducible part of the variance is what regularisation can win back: a
network whose train error is below the achievable error cannot bring its dev
error below it either, so a gap between train error and the reference is not
variance that any option can remove.

A dev error measured on ``n_dev`` rows is a binomial proportion with the
standard error

    SE = sqrt(p (1 - p) / n_dev),   p = (errors + 1) / (n_dev + 2)

(the Laplace estimate, so a perfect dev score still has an uncertainty). A gap
is "high" when it exceeds ``threshold`` (default 2 percentage points), stands
clear of the noise (exceeds ``z`` = 2 standard errors: of the dev error for
the variance, and for the bias when the reference is itself measured on the
dev set) and is at least a quarter of the other gap; both are high when each
is. The course's basic recipe, as next steps:

* high (avoidable) bias -> a bigger network (more units or layers), train
  longer or with a better optimiser, less regularisation, another architecture;
* high variance -> regularisation (L2, dropout), more (or augmented) data,
  early stopping, another architecture;
* data mismatch -> make the training data more like the dev data.

Fix the bias first: a network that cannot fit its training set gains nothing
from regularisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError

DOMINANCE = 4.0  # a gap more than 4x the other makes the smaller one a side issue
Z = 2.0  # a gap must exceed this many standard errors of the dev error to be called
REFERENCE_Z = 3.0  # the reference overfits when its own train/dev gap exceeds this many standard errors
HIGH_BIAS, HIGH_VARIANCE, BOTH, FINE = "high bias", "high variance", "high bias and high variance", "fine"
MISMATCH = "data mismatch"


@dataclass
class BiasVariance:
    train_error: float
    dev_error: float
    human_error: float
    avoidable_bias: float
    variance: float
    data_mismatch: float | None
    verdict: str
    advice: list[str] = field(default_factory=list)
    #: problem ("high bias", "high variance", "data mismatch") -> the next steps for it
    recipe: dict[str, str] = field(default_factory=dict)
    #: what the reference error is ("human-level", or "reference (logistic regression, a proxy ...)")
    reference: str = "human-level"
    #: dev rows behind the dev error, and its standard error (None when the row count is unknown)
    n_dev: int | None = None
    se_dev: float | None = None
    #: dev error - max(train error, reference error): the part of the variance regularisation can remove
    reducible_variance: float = 0.0
    #: gaps above the threshold that the noise of the dev set does not let us call
    within_noise: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: the verdict, the numbers behind it and the first step to take."""
        se = f" ± {self.se_dev:.1%}" if self.se_dev is not None else ""
        text = (f"{self.verdict}: train error {self.train_error:.1%}, dev error {self.dev_error:.1%}{se} "
                f"(avoidable bias {self.avoidable_bias:.1%}, variance {self.variance:.1%}")
        if self.data_mismatch is not None:
            text += f", data mismatch {self.data_mismatch:.1%}"
        text += ")"
        first = next(iter(self.recipe.values()), None) or (self.advice[0] if self.advice else None)
        return text + (f"; {first}" if first else "")

    def to_dict(self) -> dict:
        return {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items()}


def _check(name: str, value) -> float | None:
    """``value`` as a float in [0, 1] (None passes), or a ConfigError naming the parameter."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= value <= 1:
        raise ConfigError(f"{name} must be an error rate in [0, 1], got {value!r}")
    return float(value)


def dev_standard_error(dev_error: float, n_dev: int) -> float:
    """The standard error of an error rate measured on ``n_dev`` rows (Laplace-smoothed binomial, see above)."""
    p = (dev_error * n_dev + 1) / (n_dev + 2)
    return math.sqrt(p * (1 - p) / n_dev)


def bias_variance(train_error: float, dev_error: float, human_error: float | None = None,
                  train_dev_error: float | None = None, threshold: float = 0.02, *, n_dev: int | None = None,
                  reference_error: float | None = None, reference: str | None = None,
                  z: float = Z) -> BiasVariance:
    """Diagnose bias and variance and say what to try next.

    Parameters
    ----------
    train_error, dev_error : float
        Error rates (fractions in [0, 1], e.g. ``1 - accuracy``).
    human_error : float, optional
        Human-level (Bayes proxy) error. It takes precedence over ``reference_error``.
    train_dev_error : float, optional
        Error on held-out data from the training distribution; separates
        variance (train-dev - train) from data mismatch (dev - train-dev).
    threshold : float
        The gap (in error-rate units) above which bias, variance or mismatch is "high".
    n_dev : int, optional
        Dev rows behind ``dev_error``: a gap must also exceed ``z`` standard errors of it.
    reference_error : float, optional
        An estimate of the achievable error measured on the same dev rows (a
        reference model's dev error), used when ``human_error`` is not given.
    reference : str, optional
        How to name ``reference_error`` in the advice (default "reference").
    """
    train_error, dev_error = _check("train_error", train_error), _check("dev_error", dev_error)
    human_error, train_dev_error = _check("human_error", human_error), _check("train_dev_error", train_dev_error)
    reference_error = _check("reference_error", reference_error)
    if train_error is None or dev_error is None:
        raise ConfigError("train_error and dev_error are required error rates in [0, 1]")
    if not threshold > 0:
        raise ConfigError(f"threshold must be a positive error-rate gap, got {threshold!r}")
    if n_dev is not None and (isinstance(n_dev, bool) or not isinstance(n_dev, (int, np.integer)) or n_dev < 1):
        raise ConfigError(f"n_dev must be a positive number of dev rows, got {n_dev!r}")
    if human_error is not None or reference_error is None:
        human, label, ref_noisy = human_error or 0.0, "human", False
    else:
        human, label, ref_noisy = reference_error, reference or "reference", True
    se = dev_standard_error(dev_error, int(n_dev)) if n_dev is not None else None
    noise = z * se if se is not None else 0.0
    bias = max(train_error - human, 0.0)
    if train_dev_error is not None:
        variance = max(train_dev_error - train_error, 0.0)
        reducible = max(train_dev_error - max(train_error, human), 0.0)
        mismatch = dev_error - train_dev_error
    else:
        variance = max(dev_error - train_error, 0.0)
        reducible = max(dev_error - max(train_error, human), 0.0)
        mismatch = None
    # a gap is high above the threshold (not on rounding noise), clear of the dev set's noise, unless the other
    # gap dwarfs it (over 4x): train 3% / dev 43% is a variance problem, not "both"
    bias_noise = noise if ref_noisy else 0.0
    big_bias = bias > threshold + 1e-9 and bias * DOMINANCE >= reducible
    big_variance = reducible > threshold + 1e-9 and reducible * DOMINANCE >= bias
    high_bias = big_bias and bias > bias_noise
    high_variance = big_variance and reducible > noise
    within = [name for name, big, high in ((HIGH_BIAS, big_bias, high_bias), (HIGH_VARIANCE, big_variance,
                                                                              high_variance)) if big and not high]
    if high_bias and high_variance:
        verdict = BOTH
    elif high_bias:
        verdict = HIGH_BIAS
    elif high_variance:
        verdict = HIGH_VARIANCE
    else:
        verdict = FINE
    recipe = {}
    if high_bias:
        recipe[HIGH_BIAS] = ("try a bigger network (more hidden units or layers), train longer or with a better "
                             "optimiser (Adam), reduce regularisation, or another architecture")
    if high_variance:
        recipe[HIGH_VARIANCE] = ("add L2 (try lambda in [1e-4, 1e-1] on a log scale) or dropout (keep_prob 0.8), "
                                 "get more data or augment it, or try early stopping")
    if mismatch is not None and mismatch > max(threshold, noise) + 1e-9:
        recipe[MISMATCH] = "make the training data more like the dev data (collect or synthesise similar examples)"
    gaps = {HIGH_BIAS: f"train error {train_error:.1%} vs {label} {human:.1%}"}
    if train_dev_error is None:
        gaps[HIGH_VARIANCE] = f"dev error {dev_error:.1%} vs train {train_error:.1%}"
    else:
        gaps[HIGH_VARIANCE] = f"train-dev error {train_dev_error:.1%} vs train {train_error:.1%}"
        gaps[MISMATCH] = f"dev error {dev_error:.1%} vs train-dev {train_dev_error:.1%}"
    if human > train_error and HIGH_VARIANCE in recipe:
        gaps[HIGH_VARIANCE] += f" ({reducible:.1%} above the {label} {human:.1%})"
    advice = [f"{problem}: {gaps[problem]}; {steps}" for problem, steps in recipe.items()]
    if not advice:
        if within:
            advice.append(f"the gaps are within the noise of {n_dev} dev rows (2 standard errors = {noise:.1%}); "
                          "a larger dev set would tell")
        elif variance > max(threshold, noise) + 1e-9 and human > train_error:
            # a real train/dev gap that the achievable-error estimate takes in: say so, not "both low"
            gap = f"{gaps[HIGH_VARIANCE]}, a gap of {variance:.1%}"
            if label == "human":
                advice.append(f"{gap}, but the dev error is within {max(dev_error - human, 0.0):.1%} of the "
                              f"human-level {human:.1%}: regularisation cannot win back the rest; tune for the "
                              "last points or test on the test set")
            else:
                where = "below" if dev_error <= human else f"only {dev_error - human:.1%} above"
                advice.append(f"{gap}; the dev error is {where} the {label} error {human:.1%}, so the reference "
                              "cannot show how much of it regularisation would win back: give the achievable "
                              "error (--human-error) to judge it")
        else:
            advice.append("bias and variance are both low; tune for the last points or test on the test set")
    return BiasVariance(train_error, dev_error, human, bias, variance, mismatch, verdict, advice, recipe,
                        "human-level" if label == "human" else label,
                        None if n_dev is None else int(n_dev), se, reducible, within)


def n_dev_of(metrics: dict) -> int | None:
    """Dev rows behind a run's dev accuracy: ``n_dev``, else the sum of its dev confusion matrix."""
    if isinstance(metrics.get("n_dev"), int) and metrics["n_dev"] > 0:
        return metrics["n_dev"]
    cm = metrics.get("confusion_matrix")
    if isinstance(cm, dict) and cm.get("split") == "dev":
        try:
            n = int(np.sum(np.asarray(cm["matrix"], dtype=np.int64)))
        except (KeyError, TypeError, ValueError):
            return None
        return n if n > 0 else None
    return None


def reference_proxy(ref: dict, n_dev: int | None) -> float | None:
    """The achievable-error estimate from a reference model's train and dev errors.

    Its dev error, when the reference itself generalises (its own train/dev
    gap within ``REFERENCE_Z`` = 3 standard errors of the dev error; a
    clear overfit only, as the two errors are not independent): then no simple model
    does better on new data. When the reference overfits too (few training
    rows for many features), its dev error measures the shortage of data, not
    the task, and its train error is the estimate. A k-nearest-neighbour
    reference's dev error (``knn_dev_error``), when lower, is the estimate
    instead: a linear model cannot show how far a non-linear task can go.
    """
    dev, train, knn = ref.get("dev_error"), ref.get("train_error"), ref.get("knn_dev_error")
    if dev is None:
        return None
    if train is None or n_dev is None:
        estimate = float(dev)
    else:
        estimate = float(dev) if dev - train <= REFERENCE_Z * dev_standard_error(dev, n_dev) else float(train)
    return min(estimate, float(knn)) if knn is not None else estimate


def run_bias_variance(train_error: float, dev_error: float, metrics: dict | None) -> BiasVariance:
    """:func:`bias_variance` with what a run's ``metrics.json`` knows.

    ``human_error`` when set; else the reference model's dev error
    (``metrics["reference"]``, see :mod:`tunenet.diagnose.reference`); the dev
    row count for the standard error; ``train_dev_error`` when present.
    """
    m = metrics or {}
    ref = m.get("reference") if isinstance(m.get("reference"), dict) else None
    n_dev = n_dev_of(m)
    ref_error = reference_proxy(ref, n_dev) if ref and m.get("human_error") is None else None
    return bias_variance(min(max(train_error, 0.0), 1.0), min(max(dev_error, 0.0), 1.0), m.get("human_error"),
                         m.get("train_dev_error"), n_dev=n_dev, reference_error=ref_error,
                         reference="reference")
