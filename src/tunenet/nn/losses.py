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

Sample weights. Every ``data_loss`` takes an optional ``sample_weight`` ``w``
of shape ``(m,)`` (finite, >= 0, positive sum) and then returns the weighted
mean of the per-sample losses ``l_i`` and its gradient:

    J = sum_i w_i l_i / sum_i w_i,    dJ/dz_i = w_i / sum_j w_j * dl_i/dz_i

(``w = 1`` is the plain mean). The penalty's ``m`` becomes ``sum_i w_i``, as in
scikit-learn, so integer weights equal repeated rows. Each loss states its
``l_i`` and ``dl_i/dz_i`` in :meth:`Loss.per_sample`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy.special import expit

from .. import jit
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


def regularized_segments(flat) -> np.ndarray:
    """The ``[start, stop)`` ranges of a :class:`~tunenet.nn.parameter.FlatParameters`' regularised parameters.

    Shape ``(k, 2)``, int64, in buffer order: what :func:`l2_grad_kernel` walks.
    """
    rows = [(flat.offsets[p.name], flat.offsets[p.name] + p.size) for p in flat.params if p.regularized]
    return np.array(rows, np.int64).reshape(-1, 2)


@jit.kernel()
def l2_grad_kernel(w, g, segments, l2_over_m):
    """:func:`add_penalty_grad`'s L2 term over the flat buffers in one call: ``g += w*(l2/m)`` on each segment.

    ``w``, ``g`` are a model's flat value and gradient buffers, ``segments``
    the ``(k, 2)`` ranges of :func:`regularized_segments` and ``l2_over_m``
    is ``l2/m`` in the buffers' dtype. The same two roundings per element as
    ``p.grad += p.value * dtype(l2/m)`` (the product, then the sum), so the
    result is bit-identical, without NumPy's temporary array per parameter
    and its second pass. The loop runs over slices so its index starts at 0
    (numba then drops the negative-index check and vectorises it).
    """
    for k in range(segments.shape[0]):
        ws = w[segments[k, 0]:segments[k, 1]]
        gs = g[segments[k, 0]:segments[k, 1]]
        for i in range(gs.size):
            gs[i] += ws[i] * l2_over_m


class Loss:
    """Base class: ``__call__`` adds the penalty to :meth:`data_loss`."""

    name = "loss"
    output = "linear"

    def __call__(self, logits: np.ndarray, y: np.ndarray, params: Iterable[Parameter] = (),
                 l2: float = 0.0, l1: float = 0.0) -> tuple[float, np.ndarray]:
        value, dlogits = self.data_loss(logits, y)
        return value + penalty(params, l2, l1, logits.shape[0]), dlogits

    def data_loss(self, logits: np.ndarray, y: np.ndarray,
                  sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def per_sample(self, logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(l, dl)``: each sample's loss ``l_i`` ``(m,)`` and its gradient ``dl_i/dz_i`` ``(m, k)`` (not / m)."""
        raise NotImplementedError

    def weighted(self, logits: np.ndarray, y: np.ndarray, sample_weight) -> tuple[float, np.ndarray]:
        """``J = sum_i w_i l_i / sum_i w_i`` and ``dJ/dz_i = w_i dl_i / sum_j w_j`` from :meth:`per_sample`."""
        m = logits.shape[0]
        w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if w.shape != (m,):
            raise DataError(f"{self.name}: sample_weight has shape {w.shape}; expected ({m},)")
        total = float(w.sum())
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and total > 0):
            raise DataError(f"{self.name}: sample_weight must be finite, >= 0 and not all zero")
        losses, dl = self.per_sample(logits, y)
        c = w / total
        dlogits = dl * c.astype(logits.dtype).reshape((m,) + (1,) * (dl.ndim - 1))
        return float(np.dot(c, losses.astype(np.float64))), dlogits.astype(logits.dtype, copy=False)

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

    def data_loss(self, logits, y, sample_weight=None):
        if sample_weight is not None:
            return self.weighted(logits, y, sample_weight)
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

    def fused_data_loss(self, z: np.ndarray, b: np.ndarray, y: np.ndarray, dz: np.ndarray,
                        db: np.ndarray) -> tuple[float, int]:
        """:meth:`data_loss` of the logits ``z + b`` in one kernel (:func:`softmax_cross_entropy_kernel`).

        ``z (m, k)`` becomes the logits in place; fills ``dz = dJ/dz (m, k)``
        and ``db = sum_rows(dz) (k,)``; returns ``(J, correct)``, the number of
        rows whose argmax is the label. ``y`` must be integer class indices
        ``(m,)``; one out of range raises the same DataError as :meth:`data_loss`.
        """
        value, correct, bad = softmax_cross_entropy_kernel(z, b, y, dz, db, z.dtype.type(z.shape[0]))
        if bad >= 0:
            _class_indices(y, z.shape[1], self.name)  # raises, naming the label and its index
        return value, correct

    def predict_proba(self, logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)

    def per_sample(self, logits, y):
        """``l_i = logsumexp(z_i) - z_i . onehot(y_i)``, ``dl_i = softmax(z_i) - onehot(y_i)``."""
        m, k = logits.shape
        y = np.asarray(y)
        if y.ndim == 1:
            if y.shape != (m,):
                raise DataError(f"{self.name}: labels have shape {y.shape}; expected ({m},)")
            onehot = np.zeros_like(logits)
            onehot[np.arange(m), _class_indices(y, k, self.name)] = 1
        elif y.shape != logits.shape:
            raise DataError(f"{self.name}: one-hot labels have shape {y.shape}, logits {logits.shape}")
        else:
            onehot = y.astype(logits.dtype)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_sums = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return np.sum(onehot * (log_sums - shifted), axis=1), np.exp(shifted - log_sums) - onehot


@jit.kernel()
def softmax_cross_entropy_kernel(z, b, y, dz, db, m_scale):
    """Bias + softmax cross-entropy + its gradient + ``db`` + accuracy, one pass over the logits.

    For ``z (m, k)`` (``X @ W`` without the bias), ``b (k,)``, integer labels
    ``y (m,)``, it computes, per row ``i``, in ``z``'s dtype::

        z_i += b                      (in place: the logits)
        s_i = z_i - max(z_i), e_i = exp(s_i), l_i = log(sum(e_i))
        loss_i = l_i - s_i[y_i]
        dz_i = (e_i / sum(e_i) - onehot(y_i)) / m_scale
        db += dz_i

    and returns ``(sum_i loss_i / m, number of rows with argmax(z_i) == y_i,
    -1)``, the loss summed in float64; or ``(nan, 0, i)`` for the first row
    ``i`` whose label is outside ``0..k-1`` (the caller then raises the error
    :func:`_class_indices` gives). ``m_scale`` is ``m`` in ``z``'s dtype. The
    same maths as :meth:`SoftmaxCrossEntropy.data_loss`, with numba's
    ``exp``/``log`` and a sequential sum instead of NumPy's SIMD functions
    and pairwise sum: equal within a few float32 ulp.
    """
    m, k = z.shape
    one = m_scale / m_scale  # 1 and 0 in z's dtype (a Python literal would make numba compute in float64)
    zero = m_scale - m_scale
    for j in range(k):
        db[j] = zero
    total = 0.0
    correct = 0
    for i in range(m):
        label = y[i]
        if label < 0 or label >= k:
            return math.nan, 0, i
        top = z[i, 0] + b[0]
        z[i, 0] = top
        best = 0
        for j in range(1, k):
            v = z[i, j] + b[j]
            z[i, j] = v
            if v > top:  # the first maximum, as argmax; a NaN logit makes the loss NaN below
                top = v
                best = j
        acc = zero
        for j in range(k):
            e = np.exp(z[i, j] - top)
            dz[i, j] = e
            acc += e
        total += np.log(acc) - (z[i, label] - top)
        if best == label:
            correct += 1
        for j in range(k):
            p = dz[i, j] / acc
            if j == label:
                p -= one
            p /= m_scale
            dz[i, j] = p
            db[j] += p
    return total / m, correct, -1


class SigmoidBinaryCrossEntropy(Loss):
    """Sigmoid + binary cross-entropy, computed stably.

    ``J = (1/m) sum [max(z, 0) - z*y + log(1 + exp(-|z|))]``,
    ``dJ/dz = (sigmoid(z) - y) / m``.  Logits ``(m, 1)`` or ``(m,)``.
    """

    name = "sigmoid_binary_cross_entropy"
    output = "sigmoid"

    def data_loss(self, logits, y, sample_weight=None):
        if sample_weight is not None:
            return self.weighted(logits, y, sample_weight)
        m = logits.shape[0]
        y = _class_indices(np.asarray(y).reshape(-1), 2, self.name).reshape(logits.shape).astype(logits.dtype)
        z = logits
        value = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
        return value, (expit(z) - y) / logits.dtype.type(m)

    def predict_proba(self, logits):
        p = expit(logits.reshape(-1))
        return np.stack([1 - p, p], axis=1)

    def per_sample(self, logits, y):
        """``l_i = max(z_i, 0) - z_i y_i + log(1 + exp(-|z_i|))``, ``dl_i = sigmoid(z_i) - y_i``."""
        y = _class_indices(np.asarray(y).reshape(-1), 2, self.name).reshape(logits.shape).astype(logits.dtype)
        z = logits
        losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return losses.reshape(z.shape[0], -1).sum(axis=1), expit(z) - y


class MeanSquaredError(Loss):
    """Mean squared error ``J = (1/2m) sum_i ||z_i - y_i||^2``; ``dJ/dz = (z - y) / m``.

    The 1/2 matches scikit-learn's MLPRegressor and makes the gradient clean.
    """

    name = "mean_squared_error"
    output = "linear"

    def data_loss(self, logits, y, sample_weight=None):
        if sample_weight is not None:
            return self.weighted(logits, y, sample_weight)
        m = logits.shape[0]
        y = np.asarray(y, dtype=logits.dtype).reshape(m, -1)
        if y.shape != logits.shape:
            raise DataError(f"{self.name}: targets have shape {y.shape}; the model outputs {logits.shape}")
        diff = logits - y
        return float(0.5 * np.vdot(diff, diff) / m), diff / logits.dtype.type(m)

    def per_sample(self, logits, y):
        """``l_i = ||z_i - y_i||^2 / 2``, ``dl_i = z_i - y_i``."""
        y = np.asarray(y, dtype=logits.dtype).reshape(logits.shape[0], -1)
        if y.shape != logits.shape:
            raise DataError(f"{self.name}: targets have shape {y.shape}; the model outputs {logits.shape}")
        diff = logits - y
        return 0.5 * np.sum(diff * diff, axis=1), diff


class PoissonDeviance(Loss):
    """Half the Poisson deviance with a log link (scikit-learn's ``loss='poisson'``): predictions ``exp(z)``.

    ``l_i = sum_k [y_ik log(y_ik / exp(z_ik)) - y_ik + exp(z_ik)]`` (``0 log 0 = 0``),
    ``dl_i/dz_i = exp(z_i) - y_i``; ``J = (1/m) sum_i l_i``. Targets must be >= 0.
    """

    name = "poisson_deviance"
    output = "linear"

    def per_sample(self, logits, y):
        y = np.asarray(y, dtype=logits.dtype).reshape(logits.shape[0], -1)
        if y.shape != logits.shape:
            raise DataError(f"{self.name}: targets have shape {y.shape}; the model outputs {logits.shape}")
        if np.any(y < 0):
            raise DataError(f"{self.name}: targets must be >= 0 for the Poisson loss")
        mu = np.exp(logits)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(y > 0, y * (np.log(np.where(y > 0, y, 1)) - logits), 0)
        return np.sum(term - y + mu, axis=1), mu - y

    def data_loss(self, logits, y, sample_weight=None):
        if sample_weight is None:
            sample_weight = np.ones(logits.shape[0])
        return self.weighted(logits, y, sample_weight)

    def predict_proba(self, logits):
        return np.exp(logits)


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
