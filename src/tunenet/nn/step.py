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


class DenseReluStep:
    """The training pass of ``layers`` (a :func:`chain`) on batches shaped like ``x``."""

    def __init__(self, layers, x: np.ndarray, grads: np.ndarray) -> None:
        dense = chain(layers)
        if dense is None:
            raise ValueError("not a Dense -> ReLU chain with a Dense head")
        m, dtype = x.shape[0], x.dtype
        self.grads = grads  # the flat gradient buffer the layers' W.grad / b.grad were views of when bound
        relus = layers[1:-1:2]
        f = dtype.type
        self.bias_relu, self.relu_mask_db = jit.compiled(bias_relu_kernel), jit.compiled(relu_mask_db_inplace_kernel)
        self.one, self.zero = f(1), f(0)
        acts = [x]  # A_0 = x stands for every batch of this shape
        self.forward = []
        for layer, relu in zip(dense[:-1], relus):
            z = layer._buffer("z", (m, layer.n_out), dtype)
            self.forward.append((blas.bind(acts[-1], layer.W.value, z), z, layer.b.value, layer, relu))
            acts.append(z)
        last = dense[-1]
        self.logits = last._buffer("z", (m, last.n_out), dtype)
        self.head = blas.bind(acts[-1], last.W.value, self.logits)
        self.last = last
        self.dlogits = last._buffer("dlogits", (m, last.n_out), dtype)
        self.b_last, self.db_last = last.b.value, last.b.grad
        # per layer above the first, last first: (dW product, its left operand, dA product, its left operand,
        # the arguments of the layer below's ReLU mask + db kernel, which turns dA into dZ in place)
        self.backward = []
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
            self.backward.append((grad_w, left.T, grad_x, dz, (dx, left, below.b.grad)))
            dz = dx                                                         # dZ_{l-1}, in dA_{l-1}'s array

    def run(self, x: np.ndarray, y: np.ndarray, loss: SoftmaxCrossEntropy) -> tuple[float, int]:
        """Forward, loss and backward on ``(x, y)``; fills the gradients, returns ``(J, correct)``."""
        zero, h, bias_relu = self.zero, x, self.bias_relu
        for product, z, b, layer, relu in self.forward:
            product(h)
            bias_relu(z, b, zero)
            layer._x, relu._y = h, z  # what forward_relu caches (an inference pass in between clears them)
            h = z
        self.head(h)
        self.last._x = h
        value, correct = loss.fused_data_loss(self.logits, self.b_last, y, self.dlogits, self.db_last)
        one, relu_mask_db = self.one, self.relu_mask_db
        for grad_w, left_t, grad_x, dz, (dx, y_below, db_below) in self.backward:
            grad_w(left_t)
            grad_x(dz)
            relu_mask_db(dx, y_below, db_below, one, zero)
        self.grad_w_first(x.T)
        return value, correct
