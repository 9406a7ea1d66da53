"""Bias / variance from train and dev error, with the course's basic recipe.

    avoidable bias = train error - human (Bayes proxy) error   (human = 0 if unknown)
    variance       = dev error - train error
    data mismatch  = dev error - train-dev error   (when a train-dev error is given;
                     the variance is then train-dev - train)

A gap is "high" when it exceeds ``threshold`` (default 2 percentage points)
and is the larger of the two; both are high when each exceeds the threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ConfigError

HIGH_BIAS, HIGH_VARIANCE, BOTH, FINE = "high bias", "high variance", "high bias and high variance", "fine"


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

    def summary(self) -> str:
        """One line: the verdict, the numbers behind it and the first step to take."""
        text = (f"{self.verdict}: train error {self.train_error:.1%}, dev error {self.dev_error:.1%} "
                f"(avoidable bias {self.avoidable_bias:.1%}, variance {self.variance:.1%}")
        if self.data_mismatch is not None:
            text += f", data mismatch {self.data_mismatch:.1%}"
        text += ")"
        return text + (f"; {self.advice[0]}" if self.advice else "")

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _check(name: str, value: float | None) -> None:
    if value is not None and (not isinstance(value, (int, float)) or not 0 <= value <= 1 or math.isnan(value)):
        raise ConfigError(f"{name} must be an error rate in [0, 1], got {value!r}")


def bias_variance(train_error: float, dev_error: float, human_error: float | None = None,
                  train_dev_error: float | None = None, threshold: float = 0.02) -> BiasVariance:
    """Diagnose bias and variance and say what to try next (errors are fractions in [0, 1])."""
    for name, value in (("train_error", train_error), ("dev_error", dev_error), ("human_error", human_error),
                        ("train_dev_error", train_dev_error)):
        _check(name, value)
    human = human_error or 0.0
    bias = max(train_error - human, 0.0)
    if train_dev_error is not None:
        variance = max(train_dev_error - train_error, 0.0)
        mismatch = dev_error - train_dev_error
    else:
        variance = max(dev_error - train_error, 0.0)
        mismatch = None
    high_bias, high_variance = bias > threshold, variance > threshold
    if high_bias and high_variance:
        verdict = BOTH
    elif high_bias:
        verdict = HIGH_BIAS
    elif high_variance:
        verdict = HIGH_VARIANCE
    else:
        verdict = FINE
    advice = []
    if high_bias:
        advice.append(f"high bias: train error {train_error:.1%} vs human {human:.1%}; try a bigger network "
                      "(more hidden units or layers), train longer or with a better optimiser (Adam), "
                      "reduce regularisation, or another architecture")
    if high_variance:
        advice.append(f"high variance: dev error {dev_error:.1%} vs train {train_error:.1%}; add L2 "
                      "(try lambda in [1e-4, 1e-1] on a log scale) or dropout (keep_prob 0.8), get more data "
                      "or augment it, or try early stopping")
    if mismatch is not None and mismatch > threshold:
        advice.append(f"data mismatch: dev error {dev_error:.1%} vs train-dev {train_dev_error:.1%}; make the "
                      "training data more like the dev data (collect or synthesise similar examples)")
    if not advice:
        advice.append("bias and variance are both low; tune for the last points or test on the test set")
    return BiasVariance(train_error, dev_error, human, bias, variance, mismatch, verdict, advice)
