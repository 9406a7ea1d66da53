"""Losses on the logits, with the L2/L1 penalty.

Each loss is called as ``loss(logits, y, params=(), l2=0.0, l1=0.0)`` and
returns ``(J, dJ/dlogits)``; the penalty over the *regularised* parameters
(weights; not biases, gamma or beta) is added to ``J``:

    J = data_loss + l2 / (2m) * sum_l ||W_l||_F**2 + l1 / m * sum_l |W_l|_1

Its gradient (``dW += l2/m * W + l1/m * sign(W)``, "weight decay") is added by
:func:`add_penalty_grad` after the backward pass, because it does not flow
through the logits. ``m`` is the number of samples in the batch.

Logits have shape ``(m, k)``. Labels are integer class indices ``(m,)`` (or
one-hot ``(m, k)`` for softmax), ``{0, 1}`` of shape ``(m,)`` or ``(m, 1)`` for
the sigmoid, real targets ``(m, k)`` or ``(m,)`` for mean squared error.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.special import expit

from ..errors import ConfigError, DataError
from .parameter import Parameter


def penalty(params: Iterable[Parameter], l2: float, l1: float, m: int) -> float:
    """``l2/(2m) * sum ||W||_F^2 + l1/m * sum |W|`` over regularised parameters."""
    if not l2 and not l1:
        return 0.0
    total = 0.0
    for p in params:
        if p.regularized:
            w = p.value
            if l2:
                total += l2 / (2 * m) * float(np.vdot(w, w))
            if l1:
                total += l1 / m * float(np.abs(w).sum())
    return total


def add_penalty_grad(params: Iterable[Parameter], l2: float, l1: float, m: int) -> None:
    """``dW += l2/m * W + l1/m * sign(W)`` in place, for regularised parameters."""
    if not l2 and not l1:
        return
    for p in params:
        if p.regularized:
            if l2:
                p.grad += p.value * p.value.dtype.type(l2 / m)
            if l1:
                p.grad += np.sign(p.value) * p.value.dtype.type(l1 / m)


class Loss:
    """Base class: ``__call__`` adds the penalty to :meth:`data_loss`."""

    name = "loss"
    output = "linear"

    def __call__(self, logits: np.ndarray, y: np.ndarray, params: Iterable[Parameter] = (),
                 l2: float = 0.0, l1: float = 0.0) -> tuple[float, np.ndarray]:
        value, dlogits = self.data_loss(logits, y)
        return value + penalty(params, l2, l1, logits.shape[0]), dlogits

    def data_loss(self, logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """The model's output distribution (or value) from its logits."""
        return logits


def _class_indices(y: np.ndarray, k: int, loss: str) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError(f"{loss}: labels must be integer class indices, got non-integer values")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iub":
        raise DataError(f"{loss}: labels must be integer class indices, got dtype {y.dtype}")
    bad = np.flatnonzero((y < 0) | (y >= k))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{loss}: label {y[i].item()!r} at index {i} is out of range; expected 0..{k - 1} for {k} outputs"
        )
    return y


class SoftmaxCrossEntropy(Loss):
    """Softmax + cross-entropy, computed stably with log-sum-exp.

    ``J = (1/m) sum_i [logsumexp(z_i) - z_i[y_i]]``,
    ``dJ/dz = (softmax(z) - onehot(y)) / m``.
    """

    name = "softmax_cross_entropy"
    output = "softmax"

    def data_loss(self, logits, y):
        m, k = logits.shape
        y = np.asarray(y)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        log_sums = np.log(sums)
        probs = exp / sums
        if y.ndim == 2:
            if y.shape != logits.shape:
                raise DataError(f"{self.name}: one-hot labels have shape {y.shape}, logits {logits.shape}")
            value = float(np.sum(y * (log_sums - shifted)) / m)
            return value, (probs - y).astype(logits.dtype, copy=False) / logits.dtype.type(m)
        if y.shape != (m,):
            raise DataError(f"{self.name}: labels have shape {y.shape}; expected ({m},)")
        y = _class_indices(y, k, self.name)
        rows = np.arange(m)
        value = float(np.mean(log_sums[:, 0] - shifted[rows, y]))
        probs[rows, y] -= 1
        probs /= logits.dtype.type(m)
        return value, probs

    def predict_proba(self, logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)


class SigmoidBinaryCrossEntropy(Loss):
    """Sigmoid + binary cross-entropy, computed stably.

    ``J = (1/m) sum [max(z, 0) - z*y + log(1 + exp(-|z|))]``,
    ``dJ/dz = (sigmoid(z) - y) / m``.  Logits ``(m, 1)`` or ``(m,)``.
    """

    name = "sigmoid_binary_cross_entropy"
    output = "sigmoid"

    def data_loss(self, logits, y):
        m = logits.shape[0]
        y = _class_indices(np.asarray(y).reshape(-1), 2, self.name).reshape(logits.shape).astype(logits.dtype)
        z = logits
        value = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
        return value, (expit(z) - y) / logits.dtype.type(m)

    def predict_proba(self, logits):
        p = expit(logits.reshape(-1))
        return np.stack([1 - p, p], axis=1)


class MeanSquaredError(Loss):
    """Mean squared error ``J = (1/2m) sum_i ||z_i - y_i||^2``; ``dJ/dz = (z - y) / m``.

    The 1/2 matches scikit-learn's MLPRegressor and makes the gradient clean.
    """

    name = "mean_squared_error"
    output = "linear"

    def data_loss(self, logits, y):
        m = logits.shape[0]
        y = np.asarray(y, dtype=logits.dtype).reshape(m, -1)
        if y.shape != logits.shape:
            raise DataError(f"{self.name}: targets have shape {y.shape}; the model outputs {logits.shape}")
        diff = logits - y
        return float(0.5 * np.vdot(diff, diff) / m), diff / logits.dtype.type(m)


LOSSES: dict[str, type[Loss]] = {
    "softmax": SoftmaxCrossEntropy,
    "sigmoid": SigmoidBinaryCrossEntropy,
    "linear": MeanSquaredError,
}


def loss_for_output(output: str) -> Loss:
    """The loss that goes with a model's output: softmax, sigmoid or linear."""
    try:
        return LOSSES[output]()
    except KeyError:
        raise ConfigError(f"unknown output {output!r}; expected one of {', '.join(LOSSES)}") from None
