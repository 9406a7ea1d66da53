"""An estimate of the achievable error: a quick reference model on the same split.

Avoidable bias is measured against the error the task allows (the Bayes
error). Without a human-level error (``human_error``), tunenet estimates it
with a reference model, trained on the run's own training split and scored
on its own dev split: multinomial logistic regression on standardised inputs
(scikit-learn's objective and defaults, L-BFGS from ``scipy.optimize``, C = 1,
at most 200 iterations, at most
:data:`MAX_ROWS` training rows drawn with the run's seed). A model reached
its dev error, so the Bayes error is no higher: "avoidable bias" against it
is bias that a linear model has already shown avoidable. A linear model is a
weak reference on a non-linear task (a spiral: 50%), so a 5-nearest-neighbour
classifier on the same standardised split is fitted too where its cost
(``n_train * n_dev * d`` distance terms, at most 2e9) is small, and the lower
of the two estimates is used (:func:`~tunenet.diagnose.bias_variance.reference_proxy`).
Every report names it as a proxy.

Cost. One L-BFGS iteration evaluates the loss and gradient, about
``4 n d k`` flops for ``n`` rows, ``d`` features and ``k`` classes, so the
reference costs at most ``200 * 4 n' d k`` flops (``n'`` the capped row count),
estimated at :data:`FLOPS` per second (a conservative single-core rate; digits
takes 0.1 s). With ``reference: auto`` (the default) it is fitted when no
``human_error`` is given and the estimate is at most :data:`CHEAP` of the
training's measured time, or at most :data:`CHEAP_SECONDS` (a run's fixed
cost of loading, evaluating and writing is larger than that). ``reference:
on`` fits it regardless, ``off`` never.
"""

from __future__ import annotations

import time

import numpy as np

MAX_ITER = 200
KNN_K, KNN_BUDGET = 5, 2e9  # the k-NN reference runs when n_train * n_dev * d is at most this
MAX_ROWS = 20_000
CHEAP = 0.1
CHEAP_SECONDS = 1.0
FLOPS = 2e9
NAME = "logistic regression"
LABEL = "logistic regression on the same split, a proxy for the achievable error"


def reference_seconds(n_train: int, n_features: int, n_classes: int) -> float:
    """The reference's estimated worst-case seconds (see the module docstring)."""
    return MAX_ITER * 4.0 * min(n_train, MAX_ROWS) * n_features * max(n_classes, 2) / FLOPS


def wanted(mode: str, human_error: float | None, estimate: float, train_seconds: float) -> bool:
    """Whether to fit the reference: ``on``; ``auto`` without a human-level error and when it is cheap."""
    if mode == "on":
        return True
    return mode == "auto" and human_error is None and estimate <= max(CHEAP_SECONDS, CHEAP * train_seconds)


def _softmax_regression(X: np.ndarray, y: np.ndarray, k: int, C: float = 1.0, max_iter: int = MAX_ITER):
    """Multinomial logistic regression by L-BFGS (``scipy.optimize``), scikit-learn's objective::

        J(W, b) = C * sum_i -log softmax(x_i W + b)[y_i] + ||W||_F^2 / 2     (b not penalised)

    ``X`` (n, d) standardised, ``y`` (n,) in 0..k-1; returns ``(W (d, k), b (k,))``.
    Written here, not taken from scikit-learn, because importing
    ``sklearn.linear_model`` costs about a second of every run's start-up.
    """
    from scipy.optimize import minimize

    n, d = X.shape
    X = X.astype(np.float64)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0

    def objective(theta):
        W, b = theta[:d * k].reshape(d, k), theta[d * k:]
        Z = X @ W + b
        Z -= Z.max(axis=1, keepdims=True)
        log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        dZ = C * (np.exp(log_p) - onehot)
        value = -C * float(np.sum(log_p * onehot)) + 0.5 * float(np.vdot(W, W))
        return value, np.concatenate([(X.T @ dZ + W).ravel(), dZ.sum(axis=0)])

    result = minimize(objective, np.zeros(d * k + k), jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter, "gtol": 1e-4})
    return result.x[:d * k].reshape(d, k), result.x[d * k:]


def fit_reference(X_train: np.ndarray, y_train: np.ndarray, X_dev: np.ndarray, y_dev: np.ndarray,
                  seed: int = 0) -> dict:
    """Train and dev error of the reference model (classification labels ``y`` as integers).

    Returns ``{"model", "label", "train_error", "dev_error", "n_train", "n_dev", "seconds"}``.
    """
    start = time.perf_counter()
    y_train, y_dev = np.asarray(y_train).ravel(), np.asarray(y_dev).ravel()
    if len(X_train) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X_train), MAX_ROWS, replace=False))
        X_fit, y_fit = X_train[rows], y_train[rows]
    else:
        X_fit, y_fit = X_train, y_train
    classes, codes = np.unique(y_fit, return_inverse=True)
    if len(classes) < 2:  # one class: the reference predicts it
        train_error = float(np.mean(y_train != y_fit[0]))
        dev_error = float(np.mean(y_dev != y_fit[0]))
    else:
        mean = X_fit.mean(axis=0, dtype=np.float64)
        std = X_fit.std(axis=0, dtype=np.float64)
        std[std == 0] = 1.0
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # (n, d) @ (d, k) with k ~ 10: more BLAS threads only spin
            W, b = _softmax_regression((X_fit - mean) / std, codes, len(classes))

        def predict(X):
            return classes[np.argmax(((X - mean) / std) @ W + b, axis=1)]

        train_error = float(np.mean(predict(X_train) != y_train))
        dev_error = float(np.mean(predict(X_dev) != y_dev)) if len(X_dev) else float("nan")
    out = {"model": NAME, "label": LABEL, "train_error": train_error, "dev_error": dev_error,
           "n_train": int(len(X_fit)), "n_dev": int(len(X_dev))}
    if len(classes) > 1 and len(X_dev) and len(X_fit) > KNN_K and \
            len(X_fit) * len(X_dev) * X_fit.shape[1] <= KNN_BUDGET:
        Z_fit, Z_dev = (X_fit - mean) / std, (X_dev - mean) / std
        out["knn_dev_error"] = float(np.mean(classes[knn_predict(Z_fit, codes, Z_dev, len(classes))] != y_dev))
    out["seconds"] = time.perf_counter() - start
    return out


def knn_predict(X_fit: np.ndarray, codes: np.ndarray, X: np.ndarray, n_classes: int, k: int = KNN_K,
                chunk: int = 256) -> np.ndarray:
    """Majority vote of the ``k`` nearest training rows (Euclidean), ``||x - z||^2 = |x|^2 + |z|^2 - 2 x.z``.

    ``X_fit`` (n, d), ``codes`` (n,) class indices, ``X`` (m, d) -> (m,) class indices; ties go to the
    lowest index. Dev rows are taken ``chunk`` at a time, so memory is ``chunk * n`` floats.
    """
    sq = np.einsum("ij,ij->i", X_fit, X_fit)
    out = np.empty(len(X), dtype=np.int64)
    for i in range(0, len(X), chunk):
        Q = X[i:i + chunk]
        d2 = sq[None, :] - 2.0 * (Q @ X_fit.T)  # |q|^2 is the same for every training row: left out
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        votes = np.zeros((len(Q), n_classes), dtype=np.int64)
        np.add.at(votes, (np.repeat(np.arange(len(Q)), k), codes[near].ravel()), 1)
        out[i:i + chunk] = np.argmax(votes, axis=1)
    return out
