"""The doctor for a fitted estimator: :meth:`MLPClassifier.diagnose` / :meth:`MLPRegressor.diagnose`.

The findings are :func:`tunenet.diagnose.diagnose`'s, from what the fit left behind:

* the per-epoch history (``history_``: training loss, the per-step losses, the
  learning rate), for the loss curve, divergence and stalls;
* the per-layer health record (``health_``) when ``monitor_health`` was on,
  for vanishing/exploding gradients, dead and saturated units, slow layers;
* the weights (``model_``), for a frozen or symmetric network;
* bias and variance from a train error and a dev error, against
  ``human_error`` when it is set (else against 0, a perfect model, and the
  finding says so).

**Train error.** The training accuracy of the fit's last epoch (of the
epoch early stopping restored), as the trainer counted it while it trained:
the mean over the epoch's mini-batches, in training mode (dropout on), at no
extra cost. For the regressor (squared error) it is ``1 - R^2`` from the
epoch's mean training loss ``J = SSE/(2m)``: ``2 J / sum_j Var(y_j)``, the
fraction of the targets' variance left unexplained.

**Dev error.** ``1 - score(X, y)`` on the given held-out ``(X, y)``, else
``1 - best_validation_score_`` on ``early_stopping``'s validation split.
Classifiers state its standard error ``sqrt(e (1 - e) / n_dev)`` and call a
gap only clear of 2 of them (:func:`~tunenet.diagnose.bias_variance.bias_variance`);
the regressor's ``1 - R^2`` has no binomial standard error and is judged
against the 2-point threshold alone.

No reference model is fitted (the estimator keeps no training data): set
``human_error`` to the error the task allows (the label-noise rate, a human's
error) or read the high-bias verdict as "against a perfect model".
"""

from __future__ import annotations

import math

import numpy as np

from ..diagnose import diagnose
from ..diagnose.kinds import Finding
from ..nn.layers import Dense


def _train_row(est) -> dict | None:
    """The history row of the weights the estimator holds: the epoch early stopping restored, else the last."""
    rows = est.history_.epochs if getattr(est, "history_", None) is not None else []
    if not rows:
        return None
    scores = est.validation_scores_
    if scores:
        finite = [s if math.isfinite(s) else -math.inf for s in scores]
        best = int(np.argmax(finite))  # the first best epoch, the one SklearnStopping kept
        index = best - (len(scores) - len(rows))  # validation_scores_ spans every warm-started fit
        if 0 <= index < len(rows):
            return rows[index]
    return rows[-1]


def train_error(est) -> float | None:
    """The fit's train error (see the module docstring), or None when the fit recorded none."""
    row = _train_row(est)
    if row is None:
        return None
    if est._target == "regression":
        var = getattr(est, "_target_variance", None)
        if getattr(est, "loss", "squared_error") != "squared_error" or not var or not math.isfinite(
                row.get("train_loss", math.nan)):
            return None
        return float(min(max(2.0 * row["train_loss"] / var, 0.0), 1.0))
    acc = row.get("train_accuracy", math.nan)
    return None if not math.isfinite(acc) else 1.0 - float(acc)


def dev_error(est, X, y) -> tuple[float | None, int | None]:
    """(dev error, dev rows): from ``(X, y)``, else early stopping's validation split, else (None, None)."""
    if X is not None:
        if y is None:
            raise ValueError("diagnose(X, y) needs y with X (the held-out labels or targets)")
        score = float(est.score(X, y))
        n = int(X.shape[0]) if hasattr(X, "shape") else len(X)
    elif est.early_stopping and est.best_validation_score_ is not None \
            and math.isfinite(est.best_validation_score_):
        score = float(est.best_validation_score_)
        stopper = est.__dict__.get("_trainer")
        X_val = getattr(stopper.callbacks[0], "X_val", None) if stopper is not None else None
        n = int(X_val.shape[0]) if X_val is not None else None
    else:
        return None, None
    return float(min(max(1.0 - score, 0.0), 1.0)), n


def estimator_findings(est, X=None, y=None) -> list[Finding]:
    """The doctor's findings for the fitted estimator ``est`` (errors first); see the module docstring."""
    train, (dev, n_dev) = train_error(est), dev_error(est, X, y)
    metrics = None
    if train is not None and dev is not None:
        metrics = {"train_accuracy": 1.0 - train, "dev_accuracy": 1.0 - dev, "human_error": est.human_error}
        if est._target != "regression" and n_dev:
            metrics["n_dev"] = n_dev
        row = _train_row(est)
        if row is not None:  # the epoch of the weights held: early stopping's restored one, else the last
            metrics["best_epoch" if est.validation_scores_ else "epochs"] = int(row["epoch"])
    weights = {layer.name: layer.W.value for layer in est.model_.layers if isinstance(layer, Dense)}
    return diagnose(est.history_, getattr(est, "health_", None), metrics, weights=weights)
