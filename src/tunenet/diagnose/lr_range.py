"""The learning-rate range test: train briefly while raising the learning rate exponentially.

On a copy of the model, step ``i = 0..steps-1`` uses

    lr_i = lr_min * (lr_max / lr_min) ** (i / (steps - 1))

on a fresh mini-batch (reshuffled every pass over the data, from a Generator
seeded by ``seed``). The mini-batch losses are smoothed with the
bias-corrected exponentially weighted average ``v_t / (1 - beta^t)``. The
test stops when the smoothed loss exceeds ``diverge`` times its minimum (or
turns NaN): past that point the learning rate is too high.

The smoothed loss against ``log lr`` falls slowly at tiny rates (too small to
learn), steeply over the useful range, bottoms out and then explodes. The
suggestion is the learning rate of the minimum divided by 10: at the minimum
the rate is already at the edge of stability, and the EWA lags the raw loss
by about ``beta / (1 - beta)`` steps, so the minimum shows at a rate somewhat
above the true one. (The rate of the steepest descent of the smoothed curve,
the other classic rule, is reported too, but it is noisy: on one seed it
lands on the first steps, where the EWA averages only a few batches.) The
search range for the tuner is ``[suggested / 10, suggested * 3]`` (capped at
the minimum's rate), to be sampled on a log scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import blas
from ..cores import available_cores
from ..data.batches import MiniBatches
from ..errors import ConfigError, DataError
from ..nn.model import Sequential
from ..optim import ExponentialAverage, make_optimizer


@dataclass
class LRRangeResult:
    """What the range test measured and what it suggests.

    Unpacks as ``lrs, losses, suggested, search_range``.

    Attributes
    ----------
    lrs, losses : ndarray
        The learning rate and raw mini-batch loss of every step run.
    smoothed : ndarray
        The bias-corrected EWA of ``losses`` (``beta``).
    suggested : float
        The suggested learning rate.
    search_range : (float, float)
        A log-scale range around it for the tuner.
    min_lr : float
        The learning rate at the minimum of the smoothed loss.
    steepest_lr : float
        The learning rate where the smoothed loss falls fastest per decade.
    stopped_early : bool
        Whether the loss exploded before ``lr_max`` was reached.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested: float
    search_range: tuple[float, float]
    min_lr: float
    steepest_lr: float
    stopped_early: bool
    settings: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.lrs, self.losses, self.suggested, self.search_range))

    def to_dict(self) -> dict:
        def num(v):
            return float(v) if math.isfinite(v) else None

        return {"suggested": self.suggested, "search_range": list(self.search_range), "min_lr": self.min_lr,
                "steepest_lr": self.steepest_lr, "stopped_early": self.stopped_early, "settings": self.settings,
                "lrs": [float(v) for v in self.lrs], "losses": [num(v) for v in self.losses],
                "smoothed": [num(v) for v in self.smoothed]}

    def summary(self) -> str:
        lo, hi = self.search_range
        return (f"suggested learning rate {self.suggested:.3g} (smoothed loss lowest at lr {self.min_lr:.3g}, "
                f"steepest at {self.steepest_lr:.3g}); search range [{lo:.3g}, {hi:.3g}] on a log scale")


def _check_positive(name: str, value, integer: bool = False):
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.floating))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"lr_range_test: {name} must be a positive {'integer' if integer else 'number'}, "
                          f"got {value!r}")
    return value


def check_settings(lr_min: float, lr_max: float, steps: int, batch_size: int = 1, diverge: float = 4.0) -> None:
    """ConfigError naming the first bad setting of the range test (called before any data is loaded)."""
    _check_positive("lr_min", lr_min)
    _check_positive("lr_max", lr_max)
    _check_positive("steps", steps, integer=True)
    _check_positive("batch_size", batch_size, integer=True)
    _check_positive("diverge", diverge)
    if lr_min >= lr_max:
        raise ConfigError(f"lr_range_test: lr_min ({lr_min:g}) must be below lr_max ({lr_max:g})")
    if steps < 3:
        raise ConfigError(f"lr_range_test: steps must be at least 3, got {steps}")


def suggest(lrs: np.ndarray, smoothed: np.ndarray, warmup: int = 0) -> tuple[float, float, float, tuple[float, float]]:
    """(suggested, lr at the minimum, lr of the steepest descent, search range) from a smoothed curve.

    ``warmup`` leading points are skipped for the steepest descent (the
    first EWA values still average only a few noisy batches).
    """
    finite = np.isfinite(smoothed)
    if finite.sum() < 3:
        raise DataError("the learning-rate range test needs at least 3 finite losses; "
                        "lower lr_min or check the data")
    lrs, smoothed = lrs[finite], smoothed[finite]
    i_min = int(np.argmin(smoothed))
    min_lr = float(lrs[i_min])
    start = min(warmup, max(i_min - 2, 0))
    if i_min - start >= 2:
        slope = np.gradient(smoothed[start:i_min + 1], np.log10(lrs[start:i_min + 1]))
        steepest_lr = float(lrs[start + int(np.argmin(slope))])
    else:
        steepest_lr = min_lr
    suggested = max(min_lr / 10, float(lrs[0]))
    return suggested, min_lr, steepest_lr, (suggested / 10, min(suggested * 3, min_lr))


def lr_range_test(model: Sequential, X: np.ndarray, y: np.ndarray, lr_min: float = 1e-6, lr_max: float = 10.0,
                  steps: int = 100, batch_size: int = 64, optimizer: str | Callable = "adam", seed: int = 0,
                  beta: float = 0.9, diverge: float = 4.0, l2: float = 0.0, threads: int | None = None,
                  **optimizer_kwargs) -> LRRangeResult:
    """Run the range test on a copy of ``model`` (left untouched); see the module docstring.

    Parameters
    ----------
    X : ndarray, shape (m, n_in)
    y : ndarray, labels or targets for ``model.loss``
    lr_min, lr_max : float
        The first and last learning rate (``0 < lr_min < lr_max``).
    steps : int
        Optimisation steps at most (one mini-batch each).
    optimizer : str or callable
        Any name :func:`tunenet.optim.make_optimizer` accepts (``optimizer_kwargs``
        go to it: ``beta1=0.9`` ...), or a factory ``optimizer(model, lr)``
        returning an optimiser over ``model`` (the pipeline passes one built
        from the run configuration).
    beta : float
        Smoothing of the loss curve (bias-corrected EWA).
    diverge : float
        Stop once the smoothed loss exceeds this multiple of its minimum.
    threads : int or None
        BLAS threads (default: all cores, as in training).
    """
    check_settings(lr_min, lr_max, steps, batch_size, diverge)
    X = model.check_input(X)
    y = np.asarray(y)
    if X.shape[0] == 0 or y.shape[0] != X.shape[0]:
        raise DataError(f"lr_range_test: X has {X.shape[0]} samples and y {y.shape[0]}; need the same, at least 1")
    net = model.copy()
    rng = np.random.default_rng(seed)
    net.set_rng(rng)
    if callable(optimizer):
        opt = optimizer(net, lr_min)
        name = type(opt).__name__.lower()
    else:
        opt = make_optimizer(optimizer, net, lr_min, **optimizer_kwargs)
        name = str(optimizer)
    batches = MiniBatches(X, y, batch_size, rng)
    schedule = lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))
    average = ExponentialAverage(beta)
    lrs, losses, smoothed = [], [], []
    best, stopped = math.inf, False
    with blas.thread_limit(threads or available_cores()), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while len(lrs) < steps and not stopped:
            for xb, yb in batches:
                lr = float(schedule[len(lrs)])
                opt.lr = lr
                value, _ = net.loss_and_grads(xb, yb, l2=l2)
                lrs.append(lr)
                losses.append(value)
                if not math.isfinite(value) or not np.all(np.isfinite(net.flat_grads)):
                    smoothed.append(math.nan)
                    stopped = True
                    break
                current = float(average.update(value))
                smoothed.append(current)
                best = min(best, current)
                if current > diverge * best:
                    stopped = True
                    break
                opt.step()
                if len(lrs) >= steps:
                    break
    lrs_a, smooth_a = np.asarray(lrs), np.asarray(smoothed, dtype=np.float64)
    suggested, min_lr, steepest_lr, search = suggest(lrs_a, smooth_a, warmup=int(round(2 / (1 - beta))))
    settings = {"lr_min": lr_min, "lr_max": lr_max, "steps": steps, "batch_size": batch_size,
                "optimizer": name, "seed": seed, "beta": beta, "diverge": diverge, "l2": l2, **optimizer_kwargs}
    return LRRangeResult(lrs_a, np.asarray(losses, dtype=np.float64), smooth_a, suggested, search, min_lr,
                         steepest_lr, stopped, settings)
