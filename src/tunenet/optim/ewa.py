"""Exponentially weighted averages, with bias correction.

| ``v_0 = 0`` ; ``v_t = beta*v_{t-1} + (1-beta)*x_t`` for ``t = 1, 2, ...``
| corrected: ``v_t / (1 - beta**t)``

``v_t`` averages roughly the last ``1/(1-beta)`` values (beta = 0.9: ten).
Because ``v_0 = 0`` the raw average starts too low (``v_1 = (1-beta)*x_1``);
dividing by ``1 - beta**t`` (the sum of the weights so far) removes that
bias, so the first corrected estimate is ``x_1`` itself and the correction
fades as ``beta**t -> 0``. Momentum and RMSprop use the raw average, Adam the
corrected one; smoothed loss curves use the corrected one.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def _check_beta(beta) -> float:
    try:
        b = float(beta)
    except (TypeError, ValueError):
        b = float("nan")
    if not 0 <= b < 1:
        raise ConfigError(f"beta must be a number in [0, 1), got {beta!r}")
    return b


class ExponentialAverage:
    """A running exponentially weighted average of scalars or arrays.

    >>> avg = ExponentialAverage(0.9)
    >>> avg.update(10.0)          # bias-corrected: the first estimate is the first value
    10.0
    """

    def __init__(self, beta: float, bias_correction: bool = True) -> None:
        self.beta = _check_beta(beta)
        self.bias_correction = bool(bias_correction)
        self.reset()

    def reset(self) -> None:
        self.t, self.v = 0, 0.0

    def update(self, x):
        """Fold in ``x_t`` and return the current estimate."""
        self.t += 1
        self.v = self.beta * self.v + (1.0 - self.beta) * x
        return self.value

    @property
    def value(self):
        """The current estimate: ``v_t/(1 - beta**t)`` (or ``v_t`` without correction); 0.0 before any update."""
        if self.bias_correction and self.t:
            return self.v / (1.0 - self.beta ** self.t)
        return self.v


def ewa(series, beta: float, bias_correction: bool = True) -> np.ndarray:
    """The exponentially weighted average of ``series`` at every position, along axis 0, as float64.

    ``out[t-1]`` is ``v_t`` (bias-corrected when ``bias_correction``) for
    ``t = 1..len(series)``. A NaN propagates to every later position.
    """
    beta = _check_beta(beta)
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 0:
        raise ConfigError("ewa needs a sequence of values, got a scalar")
    if x.shape[0] == 0:
        return x.copy()
    # the recursion itself, v_t = beta v_{t-1} + (1-beta) x_t: a few ms for the 10^4 steps of a long run
    # (scipy.signal.lfilter computes the same, but importing scipy.signal costs 0.7 s of every run's start-up)
    if x.ndim == 1:
        out, acc, a = [], 0.0, 1.0 - beta
        for value in x.tolist():
            acc = beta * acc + a * value
            out.append(acc)
        v = np.array(out, dtype=np.float64)
    else:
        v = np.empty_like(x)
        acc = np.zeros(x.shape[1:])
        for t in range(x.shape[0]):
            acc = beta * acc + (1.0 - beta) * x[t]
            v[t] = acc
    if bias_correction:
        t = np.arange(1, x.shape[0] + 1, dtype=np.float64)
        v /= (1.0 - beta ** t).reshape((-1,) + (1,) * (x.ndim - 1))
    return v
