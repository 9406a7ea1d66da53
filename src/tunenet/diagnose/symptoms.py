"""Symptoms the gradient-flow and learning-rate checks miss: frozen or symmetric networks, inputs off scale.

=================  ===========================================================
frozen network     a layer whose weight gradient is exactly 0 on every sampled
                   step and whose weight norm never changed (zero
                   initialisation of a tanh/ReLU network: 0/0 gradient ratios
                   would otherwise drop out of the checks); or a *symmetric*
                   layer, all of whose units have identical incoming weights
                   at the end of training (constant initialisation: identical
                   units get identical gradients and stay identical). Error.
unscaled inputs    the network's inputs (after the run's preprocessing,
                   ``metrics["input_scale"]``) have a column standard deviation
                   or mean above 10 (error from 100), or every column's spread
                   below 0.01; healthy standardised inputs sit at 1.
=================  ===========================================================

Each finding carries its ``magnitude``: how far past its warning threshold it
is, on a log scale where 1 is the error threshold (0 at the warning threshold).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse

from .health import HealthLog
from .kinds import ERROR, FROZEN, INPUT_SCALE, WARNING, Finding

INPUT_WARNING, INPUT_SEVERE, INPUT_TINY = 10.0, 100.0, 0.01
SYMMETRY_TOLERANCE = 1e-6


def log_magnitude(value: float, warning: float, error: float) -> float:
    """0 at ``warning``, 1 at ``error``, on a log scale (either direction: error < warning for small-is-bad)."""
    if not (value > 0 and math.isfinite(value)):
        return 1.0
    return math.log(value / warning) / math.log(error / warning)


def frozen_layers(health: HealthLog) -> list[str]:
    """Layers whose weight gradient is exactly 0 on every sampled step and whose weights never changed."""
    frozen = []
    for name in health.layer_names:
        grads = health.series(name, "grad_norm")
        norms = health.series(name, "weight_norm")
        grads, norms = grads[np.isfinite(grads)], norms[np.isfinite(norms)]
        if grads.size and np.all(grads == 0) and (norms.size == 0 or np.ptp(norms) <= 1e-12 * max(1.0, norms.max())):
            frozen.append(name)
    return frozen


def symmetric_layers(weights: dict[str, np.ndarray]) -> list[str]:
    """Hidden layers (``name -> W`` of shape (n_in, n_out), n_out > 1) whose units all have the same weights."""
    out = []
    for name, W in weights.items():
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2 or W.shape[1] < 2:
            continue
        spread = np.max(np.ptp(W, axis=1))
        if spread <= SYMMETRY_TOLERANCE * max(float(np.max(np.abs(W))), 1e-12):
            out.append(name)
    return out


def frozen_network(health: HealthLog | None, weights: dict[str, np.ndarray] | None = None) -> list[Finding]:
    """The frozen-network finding (see the module docstring), or nothing."""
    frozen = frozen_layers(health) if health is not None and len(health) else []
    hidden = {n: W for n, W in (weights or {}).items()}
    if health is not None and health.layer_names:
        hidden = {n: W for n, W in hidden.items() if n != health.layer_names[-1]}
    symmetric = [n for n in symmetric_layers(hidden) if n not in frozen]
    if not frozen and not symmetric:
        return []
    parts = []
    if frozen:
        zero = [n for n in frozen if abs(_last(health, n, "weight_norm")) == 0]
        parts.append(f"the weight gradients of {', '.join(frozen)} are exactly 0 on all {len(health)} sampled steps "
                     f"and their weights never changed" + (f" ({', '.join(zero)} all zero)" if zero else ""))
    if symmetric:
        parts.append(f"every unit of {', '.join(symmetric)} has the same incoming weights, so all get the same "
                     "gradient and they can never become different")
    layers = frozen + symmetric
    f = Finding(FROZEN, ERROR, ", ".join(layers), health.epochs[0] if health is not None and len(health) else None,
                "; ".join(parts) + ": the network cannot learn (zero or constant initialisation).",
                "initialise with random weights (--init he for ReLU, xavier for tanh/sigmoid): identical or zero "
                "weights get identical or zero gradients, so the units never become different")
    f.magnitude = 1.0 + len(layers)
    return [f]


def _last(health: HealthLog, layer: str, metric: str) -> float:
    values = health.series(layer, metric)
    values = values[np.isfinite(values)]
    return float(values[-1]) if values.size else math.nan


def input_scale(metrics: dict | None, health: HealthLog | None = None) -> list[Finding]:
    """The unscaled-inputs finding from ``metrics["input_scale"]`` (see the module docstring), or nothing."""
    scale = (metrics or {}).get("input_scale")
    if not isinstance(scale, dict):
        return []
    big = max(float(scale.get("max_std") or 0.0), float(scale.get("max_abs_mean") or 0.0))
    spread = float(scale.get("max_std") or 0.0)
    first = health.layer_names[0] if health is not None and health.layer_names else None
    act = float(np.nanmedian(health.series(first, "act_std"))) if first and len(health) and \
        np.isfinite(health.series(first, "act_std")).any() else math.nan
    acts = f"; the first layer's activations have a standard deviation of {act:.3g} (healthy: about 1)" \
        if math.isfinite(act) else ""
    if big > INPUT_WARNING:
        severity = ERROR if big >= INPUT_SEVERE else WARNING
        f = Finding(INPUT_SCALE, severity, first, None,
                    f"the network's inputs are far from unit scale: column standard deviations up to "
                    f"{scale.get('max_std', math.nan):.3g} (median {scale.get('median_std', math.nan):.3g}) and "
                    f"means up to {scale.get('max_abs_mean', math.nan):.3g} in absolute value{acts}. Large inputs "
                    "make the first layer's pre-activations and gradients large and the loss surface badly "
                    "conditioned; L2 or dropout do not help.",
                    "standardise the inputs (--normalize standard) or add batch normalisation (--batchnorm)")
        f.magnitude = log_magnitude(big, INPUT_WARNING, INPUT_SEVERE)
        return [f]
    if 0 < spread < INPUT_TINY:
        f = Finding(INPUT_SCALE, WARNING, first, None,
                    f"the network's inputs are tiny: the largest column standard deviation is {spread:.2g}{acts}, so "
                    "the first layer's weight gradients (X^T dZ) are tiny too and it barely learns.",
                    "standardise the inputs (--normalize standard) or add batch normalisation (--batchnorm)")
        f.magnitude = log_magnitude(spread, INPUT_TINY, INPUT_TINY / 10)
        return [f]
    return []


def _column_mean_std(X: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Column means and (population) standard deviations of a dense ``(m, n)`` X, in float64.

    Two passes over row chunks: ``mean = sum_i x_i / m``, then ``std = sqrt(sum_i (x_i - mean)^2 / m)``,
    so the float64 work array is one ``chunk x n`` block (3.2 MB for 784 columns) instead of a float64
    copy of X (125 MB for 20,000 Fashion-MNIST rows, which was the CLI run's peak memory).
    """
    m = X.shape[0]
    total = np.zeros(X.shape[1])
    for start in range(0, m, chunk):
        total += X[start:start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / m
    squares = np.zeros(X.shape[1])
    for start in range(0, m, chunk):
        d = X[start:start + chunk].astype(np.float64)
        d -= mean
        squares += np.einsum("ij,ij->j", d, d)
    return mean, np.sqrt(squares / m)


def input_statistics(X: np.ndarray) -> dict:
    """``{"median_std", "max_std", "max_abs_mean"}`` over the columns of ``X`` (constant columns ignored for std).

    ``X`` may be scipy.sparse: the column means and stds then come from the stored values and the
    count of implicit zeros, without densifying.
    """
    if X.shape[0] == 0 or X.shape[1] == 0:
        return {}
    X = X[: 20_000]
    if sparse.issparse(X):
        X = X.tocsr()
        m, n = X.shape
        cols, values = X.indices, X.data.astype(np.float64)
        mean = np.bincount(cols, values, minlength=n) / m
        d = values - mean[cols]
        zeros = m - np.bincount(cols, minlength=n)
        std = np.sqrt((np.bincount(cols, d * d, minlength=n) + zeros * mean * mean) / m)
    else:
        mean, std = _column_mean_std(X)
    live = std[std > 0]
    return {"median_std": float(np.median(live)) if live.size else 0.0, "max_std": float(std.max()),
            "max_abs_mean": float(np.max(np.abs(mean)))}
