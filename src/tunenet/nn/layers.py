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
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..errors import ConfigError, DataError
from .init import get_initializer
from .parameter import Parameter


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

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer ``Z = X @ W + b``.

    Shapes: ``X (m, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``Z (m, n_out)``.
    Backward: ``dW = X.T @ dZ``, ``db = sum_rows(dZ)``, ``dX = dZ @ W.T``.
    ``bias=False`` when batch norm follows (its beta plays the bias's role).
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
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise DataError(
                f"{self.name}: expected input of shape (n_samples, {self.n_in}), got {x.shape}"
            )
        self._x = x
        z = x @ self.W.value
        if self.b is not None:
            z += self.b.value
        return z

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        np.matmul(self._x.T, dout, out=self.W.grad)
        if self.b is not None:
            np.sum(dout, axis=0, out=self.b.grad)
        return dout @ self.W.value.T if self.propagate else None

    def output_dim(self, n_in: int) -> int:
        return self.n_out

    def config(self) -> dict:
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out,
                "init": self.init, "bias": self.b is not None}


class ReLU(Layer):
    """``y = max(0, x)``; ``dx = dout * [y > 0]``."""

    kind = "relu"

    def forward(self, x, *, training):
        self._y = np.maximum(x, 0)
        return self._y

    def backward(self, dout):
        return np.where(self._y > 0, dout, 0).astype(dout.dtype, copy=False)


class LeakyReLU(Layer):
    """``y = x if x > 0 else slope * x``; ``dx = dout * (1 if x > 0 else slope)``."""

    kind = "leaky_relu"

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        if not 0 <= slope < 1:
            raise ConfigError(f"LeakyReLU slope must be in [0, 1), got {slope!r}")
        self.slope = float(slope)

    def forward(self, x, *, training):
        self._positive = x > 0
        return np.where(self._positive, x, x * x.dtype.type(self.slope))

    def backward(self, dout):
        return np.where(self._positive, dout, dout * dout.dtype.type(self.slope))

    def config(self):
        return {"type": "LeakyReLU", "slope": self.slope}


class Tanh(Layer):
    """``y = tanh(x)``; ``dx = dout * (1 - y**2)``."""

    kind = "tanh"

    def forward(self, x, *, training):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dout):
        return dout * (1 - self._y * self._y)


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))`` (computed stably); ``dx = dout * y * (1 - y)``."""

    kind = "sigmoid"

    def forward(self, x, *, training):
        self._y = expit(x)
        return self._y

    def backward(self, dout):
        return dout * (self._y * (1 - self._y))


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
            keep = self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
            self._mask = (keep < self.keep_prob).astype(x.dtype) * x.dtype.type(1.0 / self.keep_prob)
        return x * self._mask

    def backward(self, dout):
        return dout * self._mask if self._active else dout

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
        xc = x - mu
        var = np.mean(xc * xc, axis=0)
        self._inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self._x_hat = xc * self._inv_std
        m = self.momentum
        self.running_mean *= m
        self.running_mean += (1 - m) * mu
        self.running_var *= m
        self.running_var += (1 - m) * var
        return self._x_hat * self.gamma.value + self.beta.value

    def backward(self, dout):
        m = dout.shape[0]
        np.sum(dout * self._x_hat, axis=0, out=self.gamma.grad)
        np.sum(dout, axis=0, out=self.beta.grad)
        if not self.propagate:
            return None
        return (self.gamma.value * self._inv_std) * (
            dout - self.beta.grad / m - self._x_hat * (self.gamma.grad / m)
        )

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
