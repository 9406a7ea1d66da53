"""One training pass of a Dense -> ReLU chain with a softmax head, bound to one batch shape.

:meth:`Sequential.loss_and_grads` runs the fused passes layer by layer:
each Dense checks its input, looks up its work arrays, asks
:func:`tunenet.blas.matmul` which library to call, and so on, every step.
For the commonest model, ``Dense+ReLU, ..., Dense`` with a softmax
cross-entropy loss on integer labels, :class:`DenseReluStep` makes those
decisions once for a batch of ``m`` rows and keeps the result: the work
arrays, the kernels' constants and each product bound to its library
(:func:`tunenet.blas.bind`). A step is then the same calls in the same order
with the same arrays::

    forward   for each hidden layer l:  Z_l = A_{l-1} @ W_l ;  A_l = max(Z_l + b_l, 0)   (A_0 = X)
              Z_L = A_{L-1} @ W_L ; J, dZ_L, db_L, correct = softmax_cross_entropy(Z_L + b_L, y)
    backward  for l = L..1:  dW_l = A_{l-1}.T @ dZ_l ;  dA_{l-1} = dZ_l @ W_l.T  (l > 1)
                             dZ_{l-1}, db_{l-1} = dA_{l-1} * [A_{l-1} > 0], sum_rows(...)   (in place)

so the gradients are bit-identical to the layer-by-layer passes (tested).
What is gone is the Python between the products and, because each hidden
layer's mask kernel writes ``dZ`` over ``dA`` (:func:`relu_mask_db_inplace_kernel`),
one array's memory traffic per layer: 95 us of a 1260 us step of
784-256-128-10 at batch 128 (``docs/training.md``). The work arrays are the layers' own
(``Layer._buffer``), so the two paths share memory and the layers' caches
(``Dense._x``, ``ReLU._y``) hold what a hook reading them expects.

Shapes: ``X (m, n_0)`` C-contiguous in the model's dtype, ``W_l (n_{l-1}, n_l)``,
``b_l (n_l,)``, ``A_l``, ``Z_l``, ``dZ_l (m, n_l)``, ``y (m,)`` integers.
"""

from __future__ import annotations

import math

import numpy as np

from .. import blas, jit
from .layers import Dense, ReLU, bias_relu_kernel, relu_mask_db_inplace_kernel
from .losses import SoftmaxCrossEntropy


def chain(layers) -> list[Dense] | None:
    """The Dense layers of ``Dense(bias)+ReLU, ..., Dense(bias)``, or None for any other stack."""
    *hidden, last = layers
    if type(last) is not Dense or last.b is None or len(hidden) % 2:
        return None
    dense = []
    for layer, relu in zip(hidden[::2], hidden[1::2]):
        if type(layer) is not Dense or layer.b is None or type(relu) is not ReLU:
            return None
        dense.append(layer)
    return [*dense, last]


@jit.kernel()
def max_abs_kernel(x):
    """``max|x|`` of ``x (m, n)``, ``n >= 1``, kept per column so the loop stays vectorised (a batch's input bound)."""
    m, n = x.shape
    top = np.zeros(n, x.dtype)
    for i in range(m):
        for j in range(n):
            top[j] = max(top[j], abs(x[i, j]))
    return top.max()


def _block(layer: Dense, grads: np.ndarray) -> tuple[int, int] | None:
    """``(lo, hi)``: where ``layer``'s ``W`` and ``b`` sit side by side in the flat ``grads``, or None."""
    base, size = grads.__array_interface__["data"][0], grads.itemsize
    w = (layer.W.grad.__array_interface__["data"][0] - base) // size
    b = (layer.b.grad.__array_interface__["data"][0] - base) // size
    lo, hi = min(w, b), max(w + layer.W.size, b + layer.b.size)
    return (lo, hi) if hi - lo == layer.W.size + layer.b.size and 0 <= lo and hi <= grads.size else None


class DenseReluStep:
    """The training pass of ``layers`` (a :func:`chain`) on batches shaped like ``x``.

    :meth:`run` is :meth:`forward` then :meth:`backward`. Between them a
    trainer can look at the loss, and with :meth:`gradient_bound` know, before
    any gradient exists, that none of them can overflow; it may then have
    :meth:`backward` hand each layer's finished gradient block (``blocks``) to
    the optimiser at once, while it is still in cache (``docs/training.md``).
    """

    def __init__(self, layers, x: np.ndarray, grads: np.ndarray) -> None:
        dense = chain(layers)
        if dense is None:
            raise ValueError("not a Dense -> ReLU chain with a Dense head")
        m, dtype = x.shape[0], x.dtype
        self.grads = grads  # the flat gradient buffer the layers' W.grad / b.grad were views of when bound
        self.dense = dense
        relus = layers[1:-1:2]
        f = dtype.type
        self.bias_relu, self.relu_mask_db = jit.compiled(bias_relu_kernel), jit.compiled(relu_mask_db_inplace_kernel)
        self.max_abs = jit.compiled(max_abs_kernel)
        self.one, self.zero = f(1), f(0)
        self.rows = m
        acts = [x]  # A_0 = x stands for every batch of this shape
        self.forward_passes = []
        for layer, relu in zip(dense[:-1], relus):
            z = layer._buffer("z", (m, layer.n_out), dtype)
            self.forward_passes.append((blas.bind(acts[-1], layer.W.value, z), z, layer.b.value, layer, relu))
            acts.append(z)
        self.act_max = [0.0] * len(dense)  # max|A_l|, l = 0..L-1, of the last forward (A_0's on demand)
        last = dense[-1]
        self.logits = last._buffer("z", (m, last.n_out), dtype)
        self.head = blas.bind(acts[-1], last.W.value, self.logits)
        self.last = last
        self.dlogits = last._buffer("dlogits", (m, last.n_out), dtype)
        self.b_last, self.db_last = last.b.value, last.b.grad
        # per layer above the first, last first: (dW product, its left operand, dA product, its left operand,
        # the arguments of the layer below's ReLU mask + db kernel, which turns dA into dZ in place)
        self.backward_passes = []
        dz = self.dlogits
        for i in range(len(dense) - 1, -1, -1):
            layer = dense[i]
            left = acts[i]
            grad_w = blas.bind(left.T, dz, layer.W.grad)                     # dW_l = A_{l-1}.T @ dZ_l
            if i == 0:
                self.grad_w_first = grad_w
                break
            dx = layer._buffer("dx", (m, layer.n_in), dtype)
            grad_x = blas.bind(dz, layer.W.value.T, dx)                     # dA_{l-1} = dZ_l @ W_l.T
            below = dense[i - 1]
            self.backward_passes.append((grad_w, left.T, grad_x, dz, (dx, left, below.b.grad)))
            dz = dx                                                         # dZ_{l-1}, in dA_{l-1}'s array
        # each layer's [W, b] in the flat buffers, last layer first; None unless they tile the buffers
        blocks = [_block(layer, grads) for layer in reversed(dense)]
        covered = sum(hi - lo for lo, hi in blocks) if None not in blocks else -1
        self.blocks = blocks if covered == grads.size and len({lo for lo, _ in blocks}) == len(blocks) else None
        self.safe_bound = math.sqrt(float(np.finfo(dtype).max) * 1e-6 / max(grads.size, 1))
        # the proof reads the batch once (max|x|) where the norm's check reads the gradients once: it pays
        # when the batch is the smaller of the two (measured: docs/training.md)
        self.layerwise_pays = self.blocks is not None and x.size < grads.size

    def run(self, x: np.ndarray, y: np.ndarray, loss: SoftmaxCrossEntropy) -> tuple[float, int]:
        """Forward, loss and backward on ``(x, y)``; fills the gradients, returns ``(J, correct)``."""
        result = self.forward(x, y, loss)
        self.backward(x)
        return result

    def forward(self, x: np.ndarray, y: np.ndarray, loss: SoftmaxCrossEntropy) -> tuple[float, int]:
        """The forward pass and the loss: returns ``(J, correct)``; fills ``dlogits`` and the head's ``db``."""
        zero, h, bias_relu, act_max = self.zero, x, self.bias_relu, self.act_max
        for k, (product, z, b, layer, relu) in enumerate(self.forward_passes, 1):
            product(h)
            act_max[k] = bias_relu(z, b, zero)
            layer._x, relu._y = h, z  # what forward_relu caches (an inference pass in between clears them)
            h = z
        self.head(h)
        self.last._x = h
        return loss.fused_data_loss(self.logits, self.b_last, y, self.dlogits, self.db_last)

    def backward(self, x: np.ndarray, update=None) -> list:
        """The backward pass after :meth:`forward` on the same ``x``: fills the flat gradients.

        ``update(lo, hi)``, if given, is called on each layer's block
        (``blocks``, last layer first) once its gradient is final and the
        pass no longer reads its weights; the results are returned in that
        order (``[]`` without ``update``).
        """
        one, zero, relu_mask_db = self.one, self.zero, self.relu_mask_db
        blocks, results = self.blocks, []
        for k, (grad_w, left_t, grad_x, dz, (dx, y_below, db_below)) in enumerate(self.backward_passes):
            grad_w(left_t)
            grad_x(dz)
            relu_mask_db(dx, y_below, db_below, one, zero)
            if update is not None:
                results.append(update(*blocks[k]))
        self.grad_w_first(x.T)
        if update is not None:
            results.append(update(*blocks[-1]))
        return results

    def gradient_bound(self, x: np.ndarray, weight_max: list[float]) -> float:
        """A bound on every ``|dZ_l|``, ``|dW_l|`` and ``|db_l|`` of the backward pass after :meth:`forward`.

        With ``weight_max[k] >= max|W|`` of the layers, last first (the
        ``max|w|`` :meth:`backward`'s updates return), ``a_l = max|A_l|``
        (``A_0 = x``) and ``|dZ_L| <= 1/m`` (softmax cross-entropy:
        ``dZ_L = (p - onehot)/m``), for ``l = L..1``::

            |dW_l| <= m a_{l-1} d_l      |db_l| <= m d_l      d_{l-1} = n_l d_l max|W_l|  (|dZ_{l-1}| <= d_{l-1})

        as each entry is a sum of at most ``m`` (``n_l``) products of bounded
        terms and the ReLU mask does not enlarge them. Returned: the sum of
        all these bounds (at least their maximum), in float64 with ``2/m`` for
        ``1/m`` to cover rounding, so an infinite or NaN term makes it inf or NaN.
        """
        m, act_max, dense = self.rows, self.act_max, self.dense
        act_max[0] = self.max_abs(x)
        d = 2.0 / m
        total = d
        for k in range(len(dense)):
            i = len(dense) - 1 - k  # dense[i] is layer l = i + 1; its input is A_i
            total += m * float(act_max[i]) * d + m * d
            if i:
                d = dense[i].n_out * d * weight_max[k]
                total += d
        return total

    def gradients_bounded(self, x: np.ndarray, weight_max: list[float]) -> bool:
        """Whether :meth:`gradient_bound` proves every gradient finite and ``sum(g**2)`` far from overflow.

        ``n`` gradients of at most ``G`` have ``sum(g**2) <= n G**2``; the
        step is safe when that is at most ``1e-6`` of the dtype's largest
        number (room for the rounding of the products and sums).
        """
        return self.gradient_bound(x, weight_max) <= self.safe_bound

    def weight_max(self) -> list[float]:
        """``max|W|`` of each layer, last first, from the weights as they are (a pass over them)."""
        return [float(np.max(np.abs(layer.W.value))) for layer in reversed(self.dense)]
