"""Bias / variance from train and dev error, with the course's basic recipe.

    avoidable bias = train error - human (Bayes proxy) error   (human = 0 if unknown)
    variance       = dev error - train error
    data mismatch  = dev error - train-dev error   (when a train-dev error is given;
                     the variance is then train-dev - train)

A gap is "high" when it exceeds ``threshold`` (default 2 percentage points)
and is at least a quarter of the other gap; both are high when each is. The course's basic recipe, as next steps:

* high (avoidable) bias -> a bigger network (more units or layers), train
  longer or with a better optimiser, less regularisation, another architecture;
* high variance -> regularisation (L2, dropout), more (or augmented) data,
  early stopping, another architecture;
* data mismatch -> make the training data more like the dev data.

Fix the bias first: a network that cannot fit its training set gains nothing
from regularisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError

DOMINANCE = 4.0  # a gap more than 4x the other makes the smaller one a side issue
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

    def summary(self) -> str:
        """One line: the verdict, the numbers behind it and the first step to take."""
        text = (f"{self.verdict}: train error {self.train_error:.1%}, dev error {self.dev_error:.1%} "
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


def bias_variance(train_error: float, dev_error: float, human_error: float | None = None,
                  train_dev_error: float | None = None, threshold: float = 0.02) -> BiasVariance:
    """Diagnose bias and variance and say what to try next.

    Parameters
    ----------
    train_error, dev_error : float
        Error rates (fractions in [0, 1], e.g. ``1 - accuracy``).
    human_error : float, optional
        Human-level (Bayes proxy) error; 0 when unknown.
    train_dev_error : float, optional
        Error on held-out data from the training distribution; separates
        variance (train-dev - train) from data mismatch (dev - train-dev).
    threshold : float
        The gap (in error-rate units) above which bias, variance or mismatch is "high".
    """
    train_error, dev_error = _check("train_error", train_error), _check("dev_error", dev_error)
    human_error, train_dev_error = _check("human_error", human_error), _check("train_dev_error", train_dev_error)
    if train_error is None or dev_error is None:
        raise ConfigError("train_error and dev_error are required error rates in [0, 1]")
    if not threshold > 0:
        raise ConfigError(f"threshold must be a positive error-rate gap, got {threshold!r}")
    human = human_error or 0.0
    bias = max(train_error - human, 0.0)
    if train_dev_error is not None:
        variance = max(train_dev_error - train_error, 0.0)
        mismatch = dev_error - train_dev_error
    else:
        variance = max(dev_error - train_error, 0.0)
        mismatch = None
    # a gap is high above the threshold (not on rounding noise) unless the other gap dwarfs it (over 4x):
    # train 3% / dev 43% is a variance problem, not "both"
    high_bias = bias > threshold + 1e-9 and bias * DOMINANCE >= variance
    high_variance = variance > threshold + 1e-9 and variance * DOMINANCE >= bias
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
    if mismatch is not None and mismatch > threshold + 1e-9:
        recipe[MISMATCH] = "make the training data more like the dev data (collect or synthesise similar examples)"
    gaps = {HIGH_BIAS: f"train error {train_error:.1%} vs human {human:.1%}"}
    if train_dev_error is None:
        gaps[HIGH_VARIANCE] = f"dev error {dev_error:.1%} vs train {train_error:.1%}"
    else:
        gaps[HIGH_VARIANCE] = f"train-dev error {train_dev_error:.1%} vs train {train_error:.1%}"
        gaps[MISMATCH] = f"dev error {dev_error:.1%} vs train-dev {train_dev_error:.1%}"
    advice = [f"{problem}: {gaps[problem]}; {steps}" for problem, steps in recipe.items()]
    if not advice:
        advice.append("bias and variance are both low; tune for the last points or test on the test set")
    return BiasVariance(train_error, dev_error, human, bias, variance, mismatch, verdict, advice, recipe)
