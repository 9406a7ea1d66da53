"""Sequential models and the ``mlp`` builder.

A :class:`Sequential` chains layers; its ``output`` (``"softmax"``,
``"sigmoid"`` or ``"linear"``) says how logits become predictions and which
loss trains it. All parameters of a model live in one contiguous buffer
(``flat_values``) and all gradients in another (``flat_grads``); each
:class:`~tunenet.nn.parameter.Parameter` holds views into them, so an optimiser
can update the whole model with a few vectorised operations.

Training passes (``forward(training=True)``, ``backward``, ``loss_and_grads``)
follow a plan made once per model: in a float32 model (when
:func:`tunenet.jit.enabled`) each ``Dense`` with a bias followed by a ``ReLU``
runs as one fused pair (:meth:`Dense.forward_relu` / :meth:`Dense.backward_relu`),
and a softmax output's last bias, loss, gradient, ``db`` and accuracy are one
kernel (:meth:`SoftmaxCrossEntropy.fused_data_loss`). The results are those of
the layer-by-layer NumPy passes (bit-identical for the pairs, within a few ulp
for the softmax); float64 models (gradient checking) take the NumPy passes.
"""

from __future__ import annotations

import copy
import functools
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .. import blas, jit
from ..errors import ConfigError, DataError
from ..memory import check_bytes
from .layers import BatchNorm, Dense, Dropout, Layer, ReLU, layer_from_config
from .layers import activation as make_activation
from .losses import (
    Loss,
    SoftmaxCrossEntropy,
    add_penalty_grad,
    l2_grad_kernel,
    loss_for_output,
    penalty,
    regularized_segments,
)
from .parameter import Parameter, flatten_parameters
from .step import DenseReluStep, chain

OUTPUTS = ("softmax", "sigmoid", "linear")


#: rows per chunk when predicting or evaluating: a 1024-row chunk's activations are 1 MB per 256 float32
#: units, and inference products of 1024 rows run at the same GFLOP/s as 4096; 4096-row chunks held about
#: 12 MB of transient activations at the peak of a Fashion-MNIST ``tunenet train`` run
INFERENCE_ROWS = 1024


class Sequential:
    """A stack of layers applied in order.

    Parameters
    ----------
    layers : list of Layer
    output : {"softmax", "sigmoid", "linear"}
        How the final logits are read: class probabilities, a binary
        probability, or real values (regression).
    """

    #: a float32 model's training step of ``rows * parameters`` at most this computes in float64 (see
    #: :meth:`loss_and_grads`); 0, the default, keeps every step in float32. The estimators set it.
    float64_step_limit = 0

    def __init__(self, layers: Sequence[Layer], output: str = "softmax") -> None:
        if output not in OUTPUTS:
            raise ConfigError(f"unknown output {output!r}; expected one of {', '.join(OUTPUTS)}")
        if not layers:
            raise ConfigError("a model needs at least one layer")
        self.layers = list(layers)
        self.output = output
        counts: Counter[str] = Counter()
        for layer in self.layers:
            layer.set_name(f"{layer.kind}{counts[layer.kind]}")
            counts[layer.kind] += 1
            layer.propagate = True
        self.layers[0].propagate = False
        dense = [layer for layer in self.layers if isinstance(layer, Dense)]
        if not dense:
            raise ConfigError("a model needs at least one Dense layer")
        self.n_in = dense[0].n_in
        self.n_out = self.output_dim()
        self.loss = loss_for_output(output)
        self.metadata: dict = {}
        self._flatten()

    # -- parameters -------------------------------------------------------
    def _flatten(self) -> None:
        """Move every parameter into one value buffer and one gradient buffer."""
        try:
            self.flat = flatten_parameters(self.parameters())
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.dtype = self.flat.values.dtype
        self.flat_values, self.flat_grads = self.flat.values, self.flat.grads
        self._l2_segments = regularized_segments(self.flat)
        self._plan()

    def _plan(self) -> None:
        """The training passes: one (forward, backward) per layer, or per fused Dense -> ReLU pair."""
        fuse = jit.enabled() and self.dtype == np.float32
        self._fused_penalty = jit.enabled()  # bit-identical to add_penalty_grad, so float64 models take it too
        forward, backward = [], []
        layers, i = self.layers, 0
        while i < len(layers):
            layer, nxt = layers[i], layers[i + 1] if i + 1 < len(layers) else None
            if fuse and isinstance(layer, Dense) and layer.b is not None and type(nxt) is ReLU:
                forward.append(functools.partial(layer.forward_relu, relu=nxt))
                backward.append(functools.partial(layer.backward_relu, relu=nxt))
                i += 2
            else:
                forward.append(functools.partial(layer.forward, training=True))
                backward.append(layer.backward)
                i += 1
        self._train_forward, self._train_backward = forward, backward[::-1]
        last = layers[-1]
        # the fused softmax head: every pass but the last Dense's, which the loss kernel finishes
        self._fused_head = fuse and self.output == "softmax" and isinstance(last, Dense) and last.b is not None
        self._head_forward, self._head_backward = forward[:-1], backward[::-1][1:]
        self._chain = chain(layers) if self._fused_head else None
        self._steps: dict[tuple[int, bool], DenseReluStep] = {}  # bound to the arrays of this plan

    def __getstate__(self) -> dict:
        """The plan (bound methods) is rebuilt on unpickling or copying, not stored."""
        state = self.__dict__.copy()
        for key in ("_train_forward", "_train_backward", "_head_forward", "_head_backward", "_chain", "_steps"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        """After unpickling or ``copy.deepcopy``: re-link parameters to one value and one gradient buffer.

        Pickle stores each parameter's array on its own, so without this the
        optimiser would update a buffer the layers no longer read.
        """
        self.__dict__.update(state)
        self._flatten()

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> dict[str, Parameter]:
        return {p.name: p for p in self.parameters()}

    def state(self) -> dict[str, np.ndarray]:
        """Non-trainable buffers, keyed ``"bn0.running_mean"`` etc."""
        return {f"{layer.name}.{k}": v for layer in self.layers for k, v in layer.state().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        own = self.state()
        for key, value in state.items():
            if key not in own:
                raise ConfigError(f"unknown state entry {key!r}")
            own[key][...] = value

    def zero_grad(self) -> None:
        self.flat_grads.fill(0)

    @property
    def n_parameters(self) -> int:
        return int(self.flat_values.size)

    # -- computation ------------------------------------------------------
    def forward(self, X: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Logits of shape ``(m, n_out)`` for ``X`` of shape ``(m, n_in)``.

        In training mode the result is the last layer's work array, overwritten
        by the next training-mode forward pass (copy it to keep it); inference
        returns a new array.
        """
        out = X
        if training:
            for forward in self._train_forward:
                out = forward(out)
            return out
        for layer in self.layers:
            out = layer.forward(out, training=False)
        return out

    def backward(self, dlogits: np.ndarray) -> None:
        """Fill every parameter's gradient from ``dL/dlogits`` (shape ``(m, n_out)``)."""
        grad = dlogits
        for backward in self._train_backward:
            grad = backward(grad)

    def _fused_loss(self, X, y, loss, sample_weight) -> bool:
        """Whether the softmax loss kernel finishes this step: the fused head, integer labels, no weights."""
        return self._fused_head and type(loss) is SoftmaxCrossEntropy and sample_weight is None \
            and getattr(y, "shape", None) == (X.shape[0],) and y.dtype.kind in "iu"

    def _bound_step(self, X) -> DenseReluStep | None:
        """The :class:`~tunenet.nn.step.DenseReluStep` for this batch's shape (made on first use), or None.

        Only for a :func:`~tunenet.nn.step.chain` model (the caller has checked :meth:`_fused_loss`) and a
        C-contiguous ``X`` in the model's dtype; one step per batch size and BLAS mode.
        """
        if self._chain is None or type(X) is not np.ndarray or X.dtype != self.dtype \
                or not X.flags.c_contiguous or X.ndim != 2 or X.shape[1] != self.n_in:
            return None
        key = (X.shape[0], blas.in_single_thread())
        step = self._steps.get(key)
        if step is None or step.grads is not self.flat_grads:  # rebound buffers (an unpickled estimator)
            if len(self._steps) >= 4:  # a full batch and the last partial one, in either BLAS mode
                self._steps.clear()
            step = self._steps[key] = DenseReluStep(self.layers, X, self.flat_grads)
        return step

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0, l1: float = 0.0,
                       loss: Loss | None = None, sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """One training-mode forward and backward pass; gradients include the penalty.

        Returns ``(J, logits)``: ``J = data_loss + penalty`` on the batch and the
        logits ``(m, n_out)`` it was computed from (a work array, valid until
        the next training step). Also sets ``last_data_loss`` (``J`` without
        the penalty) and ``last_correct``: the number of correctly classified
        rows when the fused softmax kernel computed it, else None. With
        ``sample_weight`` ``w`` the data loss is the weighted mean and the
        penalty's ``m`` is ``sum(w)`` (see :mod:`tunenet.nn.losses`).

        Small float64 steps. When a float32 model's ``m * n_parameters`` is at
        most ``float64_step_limit``, ``X`` is cast to float64 and the same
        passes (fused kernels included) run in float64 over the float32
        weights: logits, loss, ``dZ`` and every reduction (``dW = X.T @ dZ``,
        ``db = sum_rows(dZ)``) in float64, the gradients rounded to float32
        once, into ``flat_grads``. A product of two float32 numbers is exact in
        float64, so the gradient then depends on the rows and their weights,
        not on the batch's size, order or how BLAS blocks a narrow product
        (float32 GEMM rows of an ``(m, 100) @ (100, 3)`` product change in
        their last bit with ``m``): a row of weight 2 and two copies of it give
        the same float32 gradient. The logits are then float64.
        """
        loss = loss or self.loss
        m = X.shape[0]
        if self.dtype == np.float32 and m * self.n_parameters <= self.float64_step_limit:
            X = X.astype(np.float64)  # a small step: float64 passes over the float32 weights
        fused_loss = self._fused_loss(X, y, loss, sample_weight)
        step = self._bound_step(X) if fused_loss else None
        if step is not None:
            data_loss, self.last_correct = step.run(X, y, loss)
            logits = step.logits
        elif fused_loss:
            out = X
            for forward in self._head_forward:
                out = forward(out)
            last = self.layers[-1]
            logits = last.forward_product(out)
            dlogits = last._buffer("dlogits", logits.shape, logits.dtype)
            db = last.b.grad if logits.dtype == last.b.grad.dtype else last._buffer("db", last.b.grad.shape,
                                                                                      logits.dtype)
            data_loss, self.last_correct = loss.fused_data_loss(logits, last.b.value, y, dlogits, db)
            if db is not last.b.grad:
                last.b.grad[...] = db
            grad = last.backward_products(dlogits)
            for backward in self._head_backward:
                grad = backward(grad)
        else:
            logits = self.forward(X, training=True)
            if sample_weight is None:
                data_loss, dlogits = loss.data_loss(logits, y)
            else:
                data_loss, dlogits = loss.data_loss(logits, y, sample_weight=sample_weight)
                m = float(np.sum(sample_weight))
            self.last_correct = None
            self.backward(dlogits)
        self.last_data_loss = data_loss  # J without the penalty, for the trainer's train_loss
        params = self.flat.params
        if l2 and not l1 and self._fused_penalty:  # the L2 gradient over the flat buffer in one kernel call
            l2_grad_kernel(self.flat_values, self.flat_grads, self._l2_segments, self.dtype.type(l2 / m))
        else:
            add_penalty_grad(params, l2, l1, m)
        return data_loss + penalty(params, l2, l1, m), logits

    def check_input(self, X, name: str = "X") -> np.ndarray:
        """``X`` as a 2-D finite array of the model's width and dtype, or a DataError (scipy.sparse: CSR)."""
        if sparse.issparse(X):
            if X.shape[1] != self.n_in:
                raise DataError(f"{name} has {X.shape[1]} features; the model expects {self.n_in}")
            if X.dtype.kind not in "biuf":
                raise DataError(f"{name} must be numeric, got dtype {X.dtype}")
            X = X.tocsr()
            if not np.all(np.isfinite(X.data)):
                raise DataError(f"{name} has a non-finite stored value")
            return X.astype(self.dtype, copy=False)
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise DataError(f"{name} must be numeric, got dtype {X.dtype}")
        if X.ndim != 2:
            raise DataError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
        if X.shape[1] != self.n_in:
            raise DataError(f"{name} has {X.shape[1]} features; the model expects {self.n_in}")
        bad = np.argwhere(~np.isfinite(X))
        if bad.size:
            r, c = bad[0]
            raise DataError(f"{name} has a non-finite value ({X[r, c]}) at row {r}, column {c}")
        return X.astype(self.dtype, copy=False)

    def predict_proba(self, X: np.ndarray, batch_size: int = INFERENCE_ROWS) -> np.ndarray:
        """Class probabilities ``(m, k)`` (softmax, sigmoid) or values (linear)."""
        X = self.check_input(X)
        chunks = [self.loss.predict_proba(self.forward(X[i:i + batch_size], training=False))
                  for i in range(0, X.shape[0], batch_size)]
        return np.concatenate(chunks) if chunks else np.empty((0, self.n_out), self.dtype)

    def predict(self, X: np.ndarray, batch_size: int = INFERENCE_ROWS) -> np.ndarray:
        """Class indices ``(m,)`` for classifiers, values ``(m, k)`` for regression."""
        out = self.predict_proba(X, batch_size)
        return out if self.output == "linear" else out.argmax(axis=1)

    # -- description ------------------------------------------------------
    def output_dim(self) -> int:
        n = self.layers[0].n_in if isinstance(self.layers[0], Dense) else self.n_in
        for layer in self.layers:
            n = layer.output_dim(n)
        return n

    def config(self) -> dict:
        return {"output": self.output, "layers": [layer.config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict, dtype=np.float32) -> Sequential:
        """An architecture from :meth:`config` (weights zero until loaded)."""
        try:
            layers = [layer_from_config(c, dtype) for c in config["layers"]]
            return cls(layers, output=config["output"])
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"malformed model architecture: {exc}") from None

    def astype(self, dtype) -> Sequential:
        """A deep copy of the model (same layer classes) with arrays in ``dtype``."""
        layers = copy.deepcopy(self.layers)
        for layer in layers:
            layer.cast(dtype)
        clone = type(self)(layers, output=self.output)
        clone.metadata = copy.deepcopy(self.metadata)
        return clone

    def copy(self) -> Sequential:
        return self.astype(self.dtype)

    def set_rng(self, rng: np.random.Generator) -> None:
        """Draw every dropout mask from ``rng``."""
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng

    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts."""
        rows = [("layer", "type", "output shape", "params")]
        n = self.n_in
        for layer in self.layers:
            n = layer.output_dim(n)
            count = sum(p.size for p in layer.parameters())
            rows.append((layer.name, repr(layer), f"(None, {n})", f"{count:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "  ".join("-" * w for w in widths)
        out = [f"Sequential  input (None, {self.n_in})  output {self.output}", line]
        for i, r in enumerate(rows):
            out.append("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
            if i == 0:
                out.append(line)
        out.append(line)
        trainable = self.n_parameters
        buffers = sum(v.size for v in self.state().values())
        out.append(f"trainable parameters: {trainable:,}   non-trainable buffers: {buffers:,}   dtype: {self.dtype}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"Sequential({self.layers!r}, output={self.output!r})"


def count_parameters(n_in: int, hidden: Sequence[int], n_out: int, batchnorm: bool | str = False) -> int:
    """Trainable parameters of :func:`mlp`'s network: ``sum_l (n_{l-1} + 1) n_l``, plus batch norm's.

    Batch norm adds gamma and beta per hidden unit; before the activation it
    also removes the Dense layer's bias (beta takes its role).
    """
    widths = [int(n_in), *map(int, hidden), int(n_out)]
    units = sum(map(int, hidden))
    extra = {False: 0, True: units, "before": units, "after": 2 * units}[batchnorm]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:])) + extra


def check_model_memory(n_in: int, hidden: Sequence[int], n_out: int, batchnorm: bool | str = False,
                       dtype=np.float32) -> None:
    """Refuse, before allocating, a network whose weights, gradients and two optimiser moments exceed memory.

    ``4 * parameters * itemsize`` bytes is a lower bound on what training it
    takes (Adam keeps two moments per weight); the error names ``hidden``.
    """
    n = count_parameters(n_in, hidden, n_out, batchnorm)
    check_bytes(4 * n * np.dtype(dtype).itemsize,
                f"option 'hidden' {list(hidden)}: a network of {n:,} parameters (weights, gradients and "
                f"optimiser state for {n_in} inputs and {n_out} outputs)", ConfigError,
                "choose smaller hidden layers")


def mlp(n_in: int, hidden: Sequence[int] = (256, 128), n_out: int = 10, activation: str = "relu",
        init: str = "he", batchnorm: bool | str = False, keep_prob: float | Sequence[float] = 1.0,
        output: str = "softmax", seed: int = 0, dtype=np.float32,
        rng: np.random.Generator | None = None) -> Sequential:
    """Build a fully connected network.

    Each hidden layer is ``Dense -> [BatchNorm] -> activation -> [Dropout]``
    (``batchnorm="after"`` puts batch norm after the activation instead). A
    Dense layer followed directly by batch norm has no bias. The output layer
    is a Dense layer to ``n_out`` logits; ``output`` picks softmax, sigmoid
    (``n_out`` must be 1) or linear. Weights are drawn from
    ``rng`` or ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    keep_prob : float or list of float
        Dropout keep probability after each hidden layer (1.0 = no dropout).
    """
    hidden = list(hidden)
    if any(not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
        raise ConfigError(f"hidden layer sizes must be positive integers, got {hidden!r}")
    if batchnorm not in (False, True, "before", "after"):
        raise ConfigError(f"batchnorm must be false, true, 'before' or 'after', got {batchnorm!r}")
    if output not in OUTPUTS:
        raise ConfigError(f"unknown output {output!r}; expected one of {', '.join(OUTPUTS)}")
    if output == "sigmoid" and n_out != 1:
        raise ConfigError(f"a sigmoid output has one unit; got n_out={n_out}")
    keep = list(keep_prob) if isinstance(keep_prob, (list, tuple)) else [keep_prob] * len(hidden)
    if len(keep) != len(hidden):
        raise ConfigError(f"keep_prob has {len(keep)} values for {len(hidden)} hidden layers")
    position = "before" if batchnorm is True else batchnorm
    check_model_memory(n_in, hidden, n_out, position, dtype)
    rng = rng if rng is not None else np.random.default_rng(seed)
    layers: list[Layer] = []
    width = n_in
    for units, kp in zip(hidden, keep):
        activation_layer = make_activation(activation)
        layers.append(Dense(width, units, init=init, bias=position != "before", rng=rng, dtype=dtype))
        if position == "before":
            layers.append(BatchNorm(units, dtype=dtype))
        layers.append(activation_layer)
        if position == "after":
            layers.append(BatchNorm(units, dtype=dtype))
        if kp != 1.0:
            layers.append(Dropout(kp, rng=rng))
        width = units
    layers.append(Dense(width, n_out, init=init, rng=rng, dtype=dtype))
    return Sequential(layers, output=output)
