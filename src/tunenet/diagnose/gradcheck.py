"""Gradient checking: the backward pass against two-sided finite differences.

For each checked coordinate ``theta_i`` of a parameter::

    g_approx_i = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)

and for a set of coordinates (one parameter, or all)::

    diff = ||g - g_approx|| / (||g|| + ||g_approx||)

Verdict: ``diff < 1e-7`` correct; ``diff < 1e-3`` look closer (around 1e-5 is
typical of a kink such as ReLU's at 0, or of float noise); ``diff >= 1e-3`` bug.

The check runs on a float64 copy of the model, includes the L2/L1 penalty,
freezes dropout masks (drawn once) and keeps batch norm on one fixed batch
(training-mode statistics of that batch, so the function is deterministic).
Large parameters are checked on a random sample of coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..nn.layers import Dropout
from ..nn.model import Sequential

CORRECT, LOOK_CLOSER, BUG = "correct", "look closer", "bug"


def verdict(diff: float) -> str:
    """Map a relative difference to correct / look closer / bug."""
    if not np.isfinite(diff) or diff >= 1e-3:
        return BUG
    return CORRECT if diff < 1e-7 else LOOK_CLOSER


def relative_difference(g: np.ndarray, g_approx: np.ndarray, resolution: float = 0.0) -> float:
    """``||g - g_approx|| / (||g|| + ||g_approx||)``.

    When both norms are below ``resolution`` (what finite differences can
    resolve), the gradient is zero as far as the check can tell and the
    difference is 0: a Dense bias followed by batch norm has a true gradient of
    exactly zero, and dividing rounding noise by rounding noise means nothing.
    """
    denom = np.linalg.norm(g) + np.linalg.norm(g_approx)
    if denom <= resolution or denom == 0:
        return 0.0
    return float(np.linalg.norm(g - g_approx) / denom)


def finite_difference_resolution(cost: float, eps: float, n: int) -> float:
    """The smallest gradient norm two-sided differences resolve over ``n`` coordinates.

    Each difference carries rounding error about ``u * |J| / eps`` (``u`` the
    float64 unit roundoff); a factor of 100 leaves a margin.
    """
    return 100 * np.finfo(np.float64).eps * (1 + abs(cost)) / eps * np.sqrt(n)


@dataclass
class ParameterCheck:
    name: str
    shape: tuple
    checked: int
    diff: float
    grad_norm: float
    verdict: str


@dataclass
class GradCheckResult:
    """Per-parameter rows, the overall difference and the verdict."""

    parameters: list[ParameterCheck]
    diff: float
    verdict: str
    worst: str
    eps: float
    details: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict != BUG

    def table(self) -> str:
        lines = [f"{'parameter':<16} {'shape':<12} {'checked':>7} {'rel. diff':>10}  verdict"]
        for row in self.parameters:
            lines.append(f"{row.name:<16} {str(row.shape):<12} {row.checked:>7} {row.diff:>10.2e}  {row.verdict}")
        lines.append(f"overall diff {self.diff:.2e}: {self.verdict} (worst: {self.worst})")
        return "\n".join(lines)


def gradient_check(model: Sequential, X: np.ndarray, y: np.ndarray, l2: float = 0.0, l1: float = 0.0,
                   eps: float = 1e-6, max_per_parameter: int = 64, seed: int = 0) -> GradCheckResult:
    """Compare ``model``'s backward pass to finite differences on ``(X, y)``.

    Parameters
    ----------
    model : Sequential
        Left untouched: the check runs on a float64 copy.
    X : ndarray, shape (m, n_in)
    y : ndarray, labels or targets for ``model.loss``
    max_per_parameter : int
        At most this many coordinates of each parameter are perturbed
        (sampled with ``numpy.random.default_rng(seed)``); 0 checks all.
    """
    X = model.check_input(X).astype(np.float64)
    if X.shape[0] == 0:
        raise DataError("gradient check needs at least one sample in X")
    net = model.astype(np.float64)
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(rng.integers(2**63))
            layer.frozen = True
    net.loss_and_grads(X, y, l2=l2, l1=l1)  # draws the frozen masks
    base_cost, _ = net.loss_and_grads(X, y, l2=l2, l1=l1)
    analytic = net.flat_grads.copy()
    params = net.parameters()

    def cost() -> float:
        logits = net.forward(X, training=True)
        value, _ = net.loss(logits, y, params, l2=l2, l1=l1)
        return value

    rows, all_g, all_approx = [], [], []
    offset = 0
    for p in params:
        flat = p.value.reshape(-1)
        n = flat.size
        idx = np.arange(n) if not max_per_parameter or n <= max_per_parameter else \
            np.sort(rng.choice(n, max_per_parameter, replace=False))
        approx = np.empty(idx.size)
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            plus = cost()
            flat[i] = old - eps
            minus = cost()
            flat[i] = old
            approx[j] = (plus - minus) / (2 * eps)
        g = analytic[offset + idx]
        offset += n
        diff = relative_difference(g, approx, finite_difference_resolution(base_cost, eps, idx.size))
        rows.append(ParameterCheck(p.name, p.shape, int(idx.size), diff, float(np.linalg.norm(g)), verdict(diff)))
        all_g.append(g)
        all_approx.append(approx)
    overall = relative_difference(np.concatenate(all_g), np.concatenate(all_approx))
    worst = max(rows, key=lambda r: (r.diff if np.isfinite(r.diff) else np.inf)).name
    final = BUG if any(r.verdict == BUG for r in rows) else verdict(overall)
    return GradCheckResult(rows, overall, final, worst, eps)
