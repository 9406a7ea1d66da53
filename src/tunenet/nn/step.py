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

The pass also bounds the gradient's squared norm from above, with the sums
of squares ``S(.)`` of arrays it has just written (so still in cache) and
``S(X)``, which the gather adds up as it copies the batch
(:func:`tunenet.data.batches.gather_rows_kernel`)::

    sum(g**2) <= B = sum_l (S(A_{l-1}) + m) * S(dZ_l)

since ``dW_l = A_{l-1}.T @ dZ_l`` gives ``||dW_l||^2 <= ||A_{l-1}||^2 ||dZ_l||^2``
(Cauchy-Schwarz, entry by entry) and ``db_l = sum_rows(dZ_l)`` gives
``||db_l||^2 <= m ||dZ_l||^2``. A finite ``B`` far below the dtype's largest
number proves every gradient finite before anyone reads them: the trainer
then needs no pass over the gradients before the update, and takes their
norm from Adam's kernel (:meth:`tunenet.optim.Optimizer.step_sum_squares`).
A NaN or inf anywhere makes ``B`` NaN or inf, and the trainer checks the
gradients as before.
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


def sum_squares(a: np.ndarray) -> float:
    """The formula :func:`sum_squares_kernel` replaces: ``sum(a**2)`` of a 1-D array, as BLAS's dot product."""
    return float(np.dot(a, a))


@jit.kernel(fastmath={"reassoc"})
def sum_squares_kernel(a):
    """``sum(a**2)`` of a 1-D array in its dtype, reassociated (which vectorises it; a bound needs no more).

    About twice as fast as BLAS's dot product on the work arrays of a step
    (measured in ``docs/training.md``); it rounds differently, so it agrees
    with :func:`sum_squares` to a relative ``a.size * eps``, not bit for bit.
    """
    acc = a[0] - a[0]  # 0 in a's dtype
    for i in range(a.size):
        acc += a[i] * a[i]
    return acc


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
            self.forward.append((blas.bind(acts[-1], layer.W.value, z), z, z.reshape(-1), layer.b.value, layer, relu))
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
        self.m = float(m)
        # the bound reads A_1..A_{L-1}, dZ_1..dZ_L: worth it only where that is less than a pass over the gradient
        summed = m * (2 * sum(layer.n_out for layer in dense[:-1]) + last.n_out)
        self.bounds = summed < grads.size
        self.sum_squares = jit.compiled(sum_squares_kernel)
        self.no_sums = [np.inf] * len(dense)
        self.dlogits_flat = self.dlogits.reshape(-1)
        self.bound_above, self.s_dz_first = np.inf, np.inf  # B's terms of layers 2..L, and S(dZ_1), of the last run
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
            self.backward.append((grad_w, left.T, grad_x, dz, (dx, left, below.b.grad), dx.reshape(-1)))
            dz = dx                                                         # dZ_{l-1}, in dA_{l-1}'s array

    def run(self, x: np.ndarray, y: np.ndarray, loss: SoftmaxCrossEntropy) -> tuple[float, int]:
        """Forward, loss and backward on ``(x, y)``; fills the gradients and the bound's terms, returns ``(J, correct)``."""
        zero, h, bias_relu, bounds, sum_squares = self.zero, x, self.bias_relu, self.bounds, self.sum_squares
        s_acts = []  # S(A_l) for l = 1 .. L-1, each taken while A_l is in cache
        for product, z, z_flat, b, layer, relu in self.forward:
            product(h)
            bias_relu(z, b, zero)
            if bounds:
                s_acts.append(float(sum_squares(z_flat)))
            layer._x, relu._y = h, z  # what forward_relu caches (an inference pass in between clears them)
            h = z
        self.head(h)
        self.last._x = h
        value, correct = loss.fused_data_loss(self.logits, self.b_last, y, self.dlogits, self.db_last)
        m, one, relu_mask_db = self.m, self.one, self.relu_mask_db
        s_dz = float(sum_squares(self.dlogits_flat)) if bounds else np.inf
        above = 0.0
        s_lefts = reversed(s_acts) if bounds else self.no_sums
        for (grad_w, left_t, grad_x, dz, mask_args, dx_flat), s_left in zip(self.backward, s_lefts):
            grad_w(left_t)
            grad_x(dz)
            relu_mask_db(*mask_args, one, zero)
            if bounds:
                above += (s_left + m) * s_dz  # layer l's term, S(A_{l-1}) and S(dZ_l)
                s_dz = float(sum_squares(dx_flat))
        self.grad_w_first(x.T)
        self.bound_above, self.s_dz_first = above, s_dz
        return value, correct

    def grad_bound(self, s_x: float) -> float:
        """``B`` of the last :meth:`run`, given ``s_x >= S(x)`` (NaN or inf when anything was not finite)."""
        return self.bound_above + (s_x + self.m) * self.s_dz_first
