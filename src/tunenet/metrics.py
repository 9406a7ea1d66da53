"""Scores of predictions against true values, in the target's own units.

Classification: accuracy. Regression, as scikit-learn's ``r2_score``,
``root_mean_squared_error`` and ``mean_absolute_error`` (the defaults: outputs
averaged uniformly)::

    R^2  = 1 - SSE / SST,  SSE = sum_i (y_i - yhat_i)^2,  SST = sum_i (y_i - mean(y))^2
    RMSE = sqrt(mean_i (y_i - yhat_i)^2)
    MAE  = mean_i |y_i - yhat_i|

For a target of shape (m, k) each column gets its own R^2, RMSE and MAE and the
score is their mean. R^2 is 1 for a perfect fit, 0 for always predicting the
mean of ``y`` and negative for worse; it is unchanged by an affine rescaling
of ``y`` and ``yhat`` together (standardising the target), RMSE and MAE are
not, so they are computed in original units. A column that is constant in
``y`` scores R^2 = 1 when predicted exactly and 0 otherwise (scikit-learn's
``force_finite``).

These functions depend on NumPy only: the trainer, the run pipeline, the
tuner and ``tunenet evaluate`` all call them.
"""

from __future__ import annotations

import math

import numpy as np

#: the regression scores, in the order they are printed; True = higher is better
REGRESSION_SCORES = {"r2": True, "rmse": False, "mae": False}
#: how each score is written for people
SCORE_LABELS = {"loss": "loss", "accuracy": "accuracy", "r2": "R²", "rmse": "RMSE", "mae": "MAE"}


def _columns(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    y, p = (a[:, None] if a.ndim == 1 else a.reshape(a.shape[0], -1) for a in (y, p))
    if y.shape != p.shape:
        raise ValueError(f"y_true has shape {y.shape} and y_pred {p.shape}")
    return y, p


def r2_per_column(sse: np.ndarray, sst: np.ndarray) -> np.ndarray:
    """``1 - SSE/SST`` per column; a constant column (SST 0) gives 1 if SSE is 0, else 0."""
    sse, sst = np.asarray(sse, dtype=np.float64), np.asarray(sst, dtype=np.float64)
    safe = np.where(sst > 0, sst, 1.0)
    return np.where(sst > 0, 1.0 - sse / safe, np.where(sse == 0, 1.0, 0.0))


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination, uniformly averaged over outputs (NaN for no samples)."""
    y, p = _columns(y_true, y_pred)
    if y.shape[0] == 0:
        return math.nan
    sse = ((y - p) ** 2).sum(axis=0)
    sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    return float(r2_per_column(sse, sst).mean())


def regression_scores(y_true, y_pred) -> dict[str, float]:
    """``{"r2", "rmse", "mae"}`` of predictions ``y_pred`` for targets ``y_true``, shape (m,) or (m, k)."""
    y, p = _columns(y_true, y_pred)
    if y.shape[0] == 0:
        return {name: math.nan for name in REGRESSION_SCORES}
    err = y - p
    return {"r2": r2_score(y, p), "rmse": float(np.sqrt((err ** 2).mean(axis=0)).mean()),
            "mae": float(np.abs(err).mean(axis=0).mean())}


def accuracy_score(y_true, y_pred) -> float:
    """Fraction of equal labels (NaN for no samples)."""
    y, p = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} labels and y_pred {p.size}")
    return float(np.mean(y == p)) if y.size else math.nan


def higher_is_better(metric: str) -> bool:
    """Whether a metric name such as ``dev_r2`` or ``test_loss`` improves upwards."""
    name = metric.split("_", 1)[1] if metric.startswith(("train_", "dev_", "test_")) else metric
    if name == "accuracy":
        return True
    if name in REGRESSION_SCORES:
        return REGRESSION_SCORES[name]
    if name == "loss":
        return False
    raise ValueError(f"unknown metric {metric!r}")


def metric_label(metric: str) -> str:
    """``"dev_r2"`` -> ``"dev R²"``, ``"dev_accuracy"`` -> ``"dev accuracy"``."""
    split, _, name = metric.partition("_") if metric.startswith(("train_", "dev_", "test_")) else ("", "", metric)
    label = SCORE_LABELS.get(name, name)
    return f"{split} {label}" if split else label


__all__ = ["REGRESSION_SCORES", "SCORE_LABELS", "accuracy_score", "higher_is_better", "metric_label",
           "r2_per_column", "r2_score", "regression_scores"]
