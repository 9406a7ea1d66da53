"""Layers: the forward and backward maths of a fully-connected network.

Conventions (see ``shared/DESIGN.md``): arrays are batch-first, ``x`` has shape
``(m, n_in)``; a Dense layer computes ``Z = X @ W + b`` with ``W`` of shape
``(n_in, n_out)`` (the course's ``W[l]`` is the transpose, acting on columns).

Every layer follows one protocol:

* ``forward(x, *, training) -> y``
* ``backward(dout) -> dx``: fills the layer's parameter gradients from
  ``dout = dL/dy`` and returns ``dL/dx``; ``dout`` is never modified in place.
  A layer whose ``propagate`` flag is False (the first layer of a model) skips
  computing ``dx`` and returns ``None``.
* ``parameters() -> list[Parameter]`` (trainable), ``state() -> dict`` for
  non-trainable buffers (batch-norm running statistics), ``load_state(dict)``.
* ``config() -> dict`` (JSON) and ``output_dim(n_in) -> n_out`` for
  saving and summaries.

Work arrays. In training mode (``training=True``) and in ``backward`` a layer
writes its result into a work array that it keeps and reuses on the next step
(:meth:`Layer._buffer`, one array per shape, so the last, smaller mini-batch of
an epoch has its own): a training step allocates nothing after the first.
Such a result is valid until the same layer's next training-mode ``forward``
(or next ``backward``); copy it to keep it. Inference (``training=False``)
returns freshly allocated arrays. The caches the health monitor reads keep
their meaning: ``Dense._x`` is the layer's input, ``ReLU/Tanh/Sigmoid._y`` the
activation's output, ``LeakyReLU._positive`` the mask ``x > 0``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.special import expit

from .. import blas, jit
from ..errors import ConfigError, DataError
from .init import get_initializer
from .parameter import Parameter

#: at most this many work arrays per layer; the oldest is dropped first (see Layer._buffer)
MAX_BUFFERS = 16


def sum_rows(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[...] = a.sum(axis=0)``, accumulated in ``a``'s precision (float64 ``a`` into a float32 ``out``).

    Returns the sum in ``a``'s precision (``out`` itself when the dtypes agree).
    ``np.add.reduce(a, axis=0, out=out)`` alone would accumulate in ``out``'s dtype.
    """
    if a.dtype == out.dtype:
        return np.add.reduce(a, axis=0, out=out)
    total = np.add.reduce(a, axis=0)
    out[...] = total
    return total


class Layer:
    """Base class: a parameter-free, state-free identity-shaped layer."""

    kind = "layer"

    def __init__(self) -> None:
        self.name = self.kind
        self.propagate = True

    def set_name(self, name: str) -> None:
        """Give the layer its model-wide name and its parameters dotted names."""
        self.name = name
        for attr, p in self._named_parameters():
            p.name = f"{name}.{attr}"

    def _named_parameters(self) -> list[tuple[str, Parameter]]:
        return []

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self._named_parameters()]

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for key, value in state.items():
            self.state()[key][...] = value

    def output_dim(self, n_in: int) -> int:
        return n_in

    def cast(self, dtype) -> None:
        """Convert parameters (and buffers) to ``dtype``, gradients reset to zero."""
        for p in self.parameters():
            p.value = p.value.astype(dtype)
            p.grad = np.zeros_like(p.value)

    def config(self) -> dict:
        return {"type": type(self).__name__}

    def _buffer(self, key: str, shape: tuple[int, ...], dtype, zero: bool = False) -> np.ndarray:
        """A work array called ``key`` of ``shape`` and ``dtype``, created once and reused across steps.

        ``zero=True`` returns an array of zeros, which callers only read.
        """
        index = (key, shape, dtype)
        try:  # the hot path: one dict look-up (steps ask for the same few arrays every time)
            return self._buffers[index]
        except (AttributeError, KeyError):
            pass
        buffers = self.__dict__.setdefault("_buffers", {})
        index = (key, shape, np.dtype(dtype))
        buf = buffers.get(index)
        if buf is None:
            if len(buffers) >= MAX_BUFFERS:
                del buffers[next(iter(buffers))]
            buf = buffers[index] = np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
        return buf

    def __getstate__(self) -> dict:
        """Copies (``copy.deepcopy``) leave the work arrays behind; they are recreated on use."""
        state = self.__dict__.copy()
        state.pop("_buffers", None)
        return state

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer ``Z = X @ W + b``.

    Shapes: ``X (m, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``Z (m, n_out)``.
    Backward: ``dW = X.T @ dZ``, ``db = sum_rows(dZ)``, ``dX = dZ @ W.T``.
    ``bias=False`` when batch norm follows (its beta plays the bias's role).
    The products are single BLAS calls (:func:`tunenet.blas.matmul`: MKL when
    training on one thread, else NumPy's) writing into preallocated arrays
    (``Z``, ``dX``: work arrays; ``dW``, ``db``: the flat gradient buffer).
    A scipy.sparse ``X`` (CSR/CSC, first layer only) is never densified:
    ``X @ W`` and ``X.T @ dZ`` are sparse-dense products.
    """

    kind = "dense"

    def __init__(self, n_in: int, n_out: int, init: str = "he", bias: bool = True,
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        super().__init__()
        for label, n in (("n_in", n_in), ("n_out", n_out)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ConfigError(f"Dense {label} must be a positive integer, got {n!r}")
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init
        initializer = get_initializer(init)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.W = Parameter.create("W", initializer((self.n_in, self.n_out), rng, dtype))
        self.b = Parameter.create("b", np.zeros(self.n_out, dtype), regularized=False) if bias else None
        self._x: np.ndarray | None = None

    def _named_parameters(self):
        return [("W", self.W)] + ([("b", self.b)] if self.b is not None else [])

    def forward(self, x: np.ndarray, *, training: bool) -> np.ndarray:
        z = self.forward_product(x, training=training)
        if self.b is not None:
            z += self.b.value
        return z

    def forward_product(self, x: np.ndarray, *, training: bool = True) -> np.ndarray:
        """``X @ W`` without the bias (into the work array ``z`` in training mode).

        Training mode caches ``X`` for the backward pass; inference keeps no reference to it (a chunk of a
        caller's array would keep the whole array alive after ``predict`` returns).
        """
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise DataError(
                f"{self.name}: expected input of shape (n_samples, {self.n_in}), got {x.shape}"
            )
        self._x = x if training else None
        W = self.W.value
        if sparse.issparse(x):  # first layer on scipy.sparse input: X @ W without densifying X
            return np.asarray(x @ W, dtype=np.result_type(x.dtype, W.dtype))
        if training:
            return blas.matmul(x, W, self._buffer("z", (x.shape[0], self.n_out), np.result_type(x, W)))
        return x @ W

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        if self.b is not None:
            sum_rows(dout, self.b.grad)                             # db = sum_rows(dZ)
        return self.backward_products(dout)

    def backward_products(self, dz: np.ndarray) -> np.ndarray | None:
        """``dW = X.T @ dZ`` and (if ``propagate``) ``dX = dZ @ W.T``; ``db`` is the caller's."""
        W = self.W.value
        if sparse.issparse(self._x) or dz.dtype != self.W.grad.dtype:
            self.W.grad[...] = self._x.T @ dz                       # dW = X.T @ dZ (X sparse, or in dZ's precision)
        else:
            blas.matmul(self._x.T, dz, self.W.grad)                 # dW = X.T @ dZ
        if not self.propagate:
            return None
        dx = self._buffer("dx", (dz.shape[0], self.n_in), np.result_type(dz, W))
        return blas.matmul(dz, W.T, dx)                             # dX = dZ @ W.T

    def forward_relu(self, x: np.ndarray, relu: ReLU) -> np.ndarray:
        """Training-mode ``relu.forward(self.forward(x))`` with the bias and the ReLU in one kernel.

        ``Y = max(X @ W + b, 0)`` is written over the work array ``z`` (the
        pre-activation is not needed by the backward pass) and cached as
        ``relu._y``, as :meth:`ReLU.forward` would.
        """
        z = self.forward_product(x)
        bias_relu_kernel(z, self.b.value, z.dtype.type(0))
        relu._y = z
        return z

    def backward_relu(self, dout: np.ndarray, relu: ReLU) -> np.ndarray | None:
        """``self.backward(relu.backward(dout))`` with the ReLU mask and ``db`` in one kernel."""
        y = relu._y
        dz = self._buffer("dz", y.shape, np.result_type(dout, y))
        f = dz.dtype.type
        db = self.b.grad if dz.dtype == self.b.grad.dtype else self._buffer("db", self.b.grad.shape, dz.dtype)
        relu_mask_db_kernel(dout, y, dz, db, f(1), f(0))
        if db is not self.b.grad:  # a float64 pass over float32 weights accumulates db in float64
            self.b.grad[...] = db
        return self.backward_products(dz)

    def output_dim(self, n_in: int) -> int:
        return self.n_out

    def config(self) -> dict:
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out,
                "init": self.init, "bias": self.b is not None}


class ReLU(Layer):
    """``y = max(0, x)``; ``dx = dout * [y > 0]``.

    ``max(x, 0)`` is taken against an array of zeros: NumPy's loop for two
    arrays is vectorised better than the one for an array and a scalar (about
    2x faster), with the same result. ``dx`` is ``dout`` times the boolean mask,
    plus 0 so that masked entries are +0.0 (not -0.0) exactly as
    ``where(y > 0, dout, 0)``.
    """

    kind = "relu"

    def forward(self, x, *, training):
        if training:
            zeros = self._buffer("zeros", x.shape, x.dtype, zero=True)
            self._y = np.maximum(x, zeros, out=self._buffer("y", x.shape, x.dtype))
        else:
            self._y = np.maximum(x, 0)
        return self._y

    def backward(self, dout):
        y = self._y
        positive = np.greater(y, 0, out=self._buffer("positive", y.shape, bool))
        dx = np.multiply(dout, positive, out=self._buffer("dx", dout.shape, dout.dtype))
        dx += 0
        return dx


@jit.kernel()
def bias_relu_kernel(z, b, zero):
    """In place ``z = max(z + b, 0)``, ``z (m, n)``, ``b (n,)``: Dense's ``z += b`` then ReLU's ``maximum(z, 0)``.

    ``maximum`` keeps NaN and returns its first argument on ties (``-0.0``
    stays ``-0.0``), so the comparison is ``v >= 0 or v != v``: the result is
    bit-identical to the two NumPy passes. ``zero`` is 0 in ``z``'s dtype.
    """
    m, n = z.shape
    for i in range(m):
        for j in range(n):
            v = z[i, j] + b[j]
            z[i, j] = v if (v >= 0 or v != v) else zero


@jit.kernel()
def relu_mask_db_kernel(dout, y, dz, db, one, zero):
    """``dz = dout * [y > 0] + 0`` (ReLU's backward) and ``db = sum_rows(dz)`` (Dense's) in one pass.

    The mask multiplies as ``one`` or ``zero`` (1 and 0 in ``dz``'s dtype) and
    +0 turns ``-0.0`` into ``+0.0``, as in :meth:`ReLU.backward`; ``db`` accumulates row after row, the order of
    ``np.add.reduce(dz, axis=0)``, so both are bit-identical to NumPy.
    """
    m, n = dout.shape
    for j in range(n):
        db[j] = zero
    for i in range(m):
        for j in range(n):
            d = dout[i, j] * (one if y[i, j] > 0 else zero) + zero
            dz[i, j] = d
            db[j] += d


@jit.kernel()
def relu_mask_db_inplace_kernel(d, y, db, one, zero):
    """:func:`relu_mask_db_kernel` with ``dz`` written over ``dout``: ``d = d * [y > 0] + 0``, ``db = sum_rows(d)``.

    The same operations in the same order, so bit-identical to it; it saves the
    third array's traffic (a step's ``dA``, just written by the ``dZ @ W.T``
    product, becomes ``dZ`` in place: :class:`tunenet.nn.step.DenseReluStep`).
    Calling the out-of-place kernel with ``dz is dout`` gives the same numbers
    but runs unvectorised (numba cannot rule out the overlap), 2-3x slower.
    """
    m, n = d.shape
    for j in range(n):
        db[j] = zero
    for i in range(m):
        for j in range(n):
            v = d[i, j] * (one if y[i, j] > 0 else zero) + zero
            d[i, j] = v
            db[j] += v


class LeakyReLU(Layer):
    """``y = x if x > 0 else slope * x``; ``dx = dout * (1 if x > 0 else slope)``."""

    kind = "leaky_relu"

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        if not 0 <= slope < 1:
            raise ConfigError(f"LeakyReLU slope must be in [0, 1), got {slope!r}")
        self.slope = float(slope)

    def forward(self, x, *, training):
        slope = x.dtype.type(self.slope)
        if not training:
            self._positive = x > 0
            return np.where(self._positive, x, x * slope)
        # max(x, slope*x) equals where(x > 0, x, slope*x) for 0 <= slope < 1
        self._positive = np.greater(x, 0, out=self._buffer("positive", x.shape, bool))
        y = np.multiply(x, slope, out=self._buffer("y", x.shape, x.dtype))
        return np.maximum(x, y, out=y)

    def backward(self, dout):
        return np.where(self._positive, dout, dout * dout.dtype.type(self.slope))

    def config(self):
        return {"type": "LeakyReLU", "slope": self.slope}


class Tanh(Layer):
    """``y = tanh(x)``; ``dx = dout * (1 - y**2)``."""

    kind = "tanh"

    def forward(self, x, *, training):
        self._y = np.tanh(x, out=self._buffer("y", x.shape, x.dtype)) if training and x.dtype.kind == "f" \
            else np.tanh(x)
        return self._y

    def backward(self, dout):
        y = self._y
        local = np.multiply(y, y, out=self._buffer("local", y.shape, y.dtype))
        np.subtract(1, local, out=local)                            # 1 - y**2
        return np.multiply(dout, local, out=self._buffer("dx", dout.shape, np.result_type(dout, local)))


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))`` (computed stably); ``dx = dout * y * (1 - y)``."""

    kind = "sigmoid"

    def forward(self, x, *, training):
        self._y = expit(x, out=self._buffer("y", x.shape, x.dtype)) if training and x.dtype.kind == "f" else expit(x)
        return self._y

    def backward(self, dout):
        y = self._y
        local = np.subtract(1, y, out=self._buffer("local", y.shape, y.dtype))
        local *= y                                                  # y * (1 - y)
        return np.multiply(dout, local, out=self._buffer("dx", dout.shape, np.result_type(dout, local)))


class Identity(Layer):
    """``y = x`` (a linear activation); ``dx = dout``."""

    kind = "identity"

    def forward(self, x, *, training):
        return x

    def backward(self, dout):
        return dout


class Dropout(Layer):
    """Inverted dropout with keep probability ``keep_prob``.

    Training: ``mask ~ Bernoulli(keep_prob) / keep_prob``, ``y = x * mask``, so
    ``E[y] = x`` and nothing needs rescaling at test time; ``dx = dout * mask``.
    Inference: ``y = x``. The mask is drawn from ``self.rng``, an explicit
    ``numpy.random.Generator`` (set by the model or trainer). ``frozen = True``
    reuses the last mask (gradient checking needs a fixed function).
    """

    kind = "dropout"

    def __init__(self, keep_prob: float = 1.0, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(keep_prob, (int, float)) or isinstance(keep_prob, bool) or not 0 < keep_prob <= 1:
            raise ConfigError(f"keep_prob must be in (0, 1], got {keep_prob!r}")
        self.keep_prob = float(keep_prob)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.frozen = False
        self._mask: np.ndarray | None = None

    def forward(self, x, *, training):
        self._active = training and self.keep_prob < 1.0
        if not self._active:
            return x
        if not (self.frozen and self._mask is not None and self._mask.shape == x.shape):
            uniform = np.float32 if x.dtype == np.float32 else np.float64
            keep = self.rng.random(dtype=uniform, out=self._buffer("uniform", x.shape, uniform))
            mask = np.less(keep, self.keep_prob, out=self._buffer("mask", x.shape, x.dtype))  # 1.0 or 0.0
            mask *= x.dtype.type(1.0 / self.keep_prob)
            self._mask = mask
        return np.multiply(x, self._mask, out=self._buffer("y", x.shape, x.dtype))

    def backward(self, dout):
        if not self._active:
            return dout
        return np.multiply(dout, self._mask, out=self._buffer("dx", dout.shape, np.result_type(dout, self._mask)))

    def config(self):
        return {"type": "Dropout", "keep_prob": self.keep_prob}


class BatchNorm(Layer):
    """Batch normalisation of each feature over the mini-batch.

    Training, for a batch ``x`` of shape ``(m, n)``::

        mu = mean(x, 0), var = mean((x - mu)**2, 0)        (biased variance)
        x_hat = (x - mu) / sqrt(var + eps),  y = gamma * x_hat + beta
        running = momentum * running + (1 - momentum) * batch_stat

    Inference uses the running mean and variance instead of the batch's.
    ``momentum`` follows Keras (0.9 keeps 90% of the old value); PyTorch's
    ``momentum=0.1`` means the same thing from the other side.

    Backward (``g = gamma``): ``dgamma = sum(dout * x_hat)``, ``dbeta = sum(dout)``,
    ``dx = g / sqrt(var + eps) * (dout - dbeta / m - x_hat * dgamma / m)``.
    gamma and beta are not regularised; running statistics live in ``state()``.
    """

    kind = "bn"

    def __init__(self, n_features: int, momentum: float = 0.9, eps: float = 1e-5, dtype=np.float32) -> None:
        super().__init__()
        if not 0 <= momentum < 1:
            raise ConfigError(f"BatchNorm momentum must be in [0, 1), got {momentum!r}")
        if not eps > 0:
            raise ConfigError(f"BatchNorm eps must be > 0, got {eps!r}")
        self.n_features, self.momentum, self.eps = int(n_features), float(momentum), float(eps)
        self.gamma = Parameter.create("gamma", np.ones(self.n_features, dtype), regularized=False)
        self.beta = Parameter.create("beta", np.zeros(self.n_features, dtype), regularized=False)
        self.running_mean = np.zeros(self.n_features, dtype)
        self.running_var = np.ones(self.n_features, dtype)

    def _named_parameters(self):
        return [("gamma", self.gamma), ("beta", self.beta)]

    def state(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def cast(self, dtype) -> None:
        super().cast(dtype)
        self.running_mean = self.running_mean.astype(dtype)
        self.running_var = self.running_var.astype(dtype)

    def forward(self, x, *, training):
        if not training:
            scale = self.gamma.value / np.sqrt(self.running_var + self.eps)
            return (x - self.running_mean) * scale + self.beta.value
        mu = x.mean(axis=0)
        xc = np.subtract(x, mu, out=self._buffer("x_hat", x.shape, np.result_type(x, mu)))
        var = np.mean(np.multiply(xc, xc, out=self._buffer("work", xc.shape, xc.dtype)), axis=0)
        self._inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self._x_hat = np.multiply(xc, self._inv_std, out=xc)         # x_hat overwrites xc in place
        m = self.momentum
        self.running_mean *= m
        self.running_mean += (1 - m) * mu
        self.running_var *= m
        self.running_var += (1 - m) * var
        gamma, beta = self.gamma.value, self.beta.value
        y = np.multiply(self._x_hat, gamma, out=self._buffer("y", x.shape, np.result_type(xc, gamma)))
        y += beta
        return y

    def backward(self, dout):
        m = dout.shape[0]
        x_hat = self._x_hat
        work = np.multiply(dout, x_hat, out=self._buffer("work", dout.shape, np.result_type(dout, x_hat)))
        dgamma = sum_rows(work, self.gamma.grad)                    # dgamma = sum(dout * x_hat)
        dbeta = sum_rows(dout, self.beta.grad)                      # dbeta = sum(dout)
        if not self.propagate:
            return None
        # dx = gamma / sqrt(var + eps) * (dout - dbeta/m - x_hat * dgamma/m), with the sums in dout's precision
        np.multiply(x_hat, dgamma / m, out=work)
        dx = np.subtract(dout, dbeta / m, out=self._buffer("dx", dout.shape, work.dtype))
        dx -= work
        dx *= self.gamma.value * self._inv_std
        return dx

    def config(self):
        return {"type": "BatchNorm", "n_features": self.n_features,
                "momentum": self.momentum, "eps": self.eps}


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "linear": Identity,
}

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (Dense, ReLU, LeakyReLU, Tanh, Sigmoid, Identity, Dropout, BatchNorm)
}


def activation(name: str) -> Layer:
    """The activation layer called ``name`` (relu, leaky_relu, tanh, sigmoid, linear)."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"
        ) from None


def layer_from_config(config: dict, dtype=np.float32) -> Layer:
    """Rebuild a layer from :meth:`Layer.config` (weights are loaded separately)."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in LAYER_TYPES:
        raise ConfigError(f"unknown layer type {kind!r} in model architecture")
    cls = LAYER_TYPES[kind]
    if cls is Dense:
        init = config.pop("init", "he")
        layer = Dense(dtype=dtype, init="zeros", **config)
        layer.init = init
        return layer
    if cls is BatchNorm:
        return BatchNorm(dtype=dtype, **config)
    return cls(**config)
