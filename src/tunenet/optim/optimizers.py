r"""Gradient-descent optimisers on one flat parameter buffer.

Every optimiser updates the whole model at once: the values, gradients and
per-coordinate state ("slots", e.g. Adam's ``v`` and ``s``) are 1-D arrays
of the same length, and a step is a few vectorised in-place NumPy operations
on preallocated work arrays, in the parameters' own dtype (float32 stays
float32). Notation in the docstrings: ``w`` weights, ``g`` gradient,
``t`` the step counter after increment (1 on the first step), all
operations element-wise.

The batch size given to the trainer decides whether plain :class:`SGD` is
batch gradient descent (batch = m), stochastic gradient descent (batch = 1)
or mini-batch gradient descent.

Each update exists twice: ``_update_numpy``, the NumPy formula (the
reference, and the path taken with ``TUNENET_KERNELS=0``), and a numba kernel
beside it that makes the same float operations in the same order in one pass
over the buffers, so its result is bit-identical (see :mod:`tunenet.jit`);
Adam's NumPy update reads and writes the 1-D buffers twelve times (and
once more to flush subnormal first moments, as Momentum's does).

State is explicit and keyed by parameter name, so it can be saved, restored
and inspected::

    {"type": "Adam", "hyper": {"lr": 0.001, "beta1": 0.9, ...}, "t": 10,
     "slots": {"v": {"dense0.W": array, ...}, "s": {...}}}
"""

from __future__ import annotations

import math

import numpy as np

from .. import jit
from ..errors import ConfigError
from ..nn.parameter import FlatParameters, flatten_parameters


def _positive(value) -> bool:
    return math.isfinite(value) and value > 0


def _unit(value) -> bool:
    return 0 <= value < 1


def _nonnegative(value) -> bool:
    return math.isfinite(value) and value >= 0


# name -> (test, accepted range as shown in error messages)
HYPER_RULES = {
    "lr": (_positive, "a finite number > 0"),
    "beta": (_unit, "a number in [0, 1)"),
    "beta1": (_unit, "a number in [0, 1)"),
    "beta2": (_unit, "a number in [0, 1)"),
    "eps": (_positive, "a finite number > 0"),
    "weight_decay": (_nonnegative, "a finite number >= 0"),
}


def check_hyper(name: str, value) -> float | bool:
    """``value`` as a float (bool for ``nesterov``), or a ConfigError naming ``name`` and its range."""
    if name == "nesterov":
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"nesterov must be true or false, got {value!r}")
        return bool(value)
    test, accepted = HYPER_RULES[name]
    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be {accepted}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {accepted}, got {value!r}") from None
    if not test(number):
        raise ConfigError(f"{name} must be {accepted}, got {value!r}")
    return number


def _flat(params) -> FlatParameters:
    """The flat buffers of a Sequential (``.flat``), a FlatParameters or a list of Parameters."""
    if isinstance(params, FlatParameters):
        return params
    flat = getattr(params, "flat", None)
    if isinstance(flat, FlatParameters):
        return flat
    try:
        return flatten_parameters(list(params))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"an optimiser needs a model or a non-empty list of Parameters: {exc}") from None


def _average(avg: np.ndarray, x: np.ndarray, beta: float, f, work: np.ndarray) -> None:
    """In place: ``avg = beta*avg + (1-beta)*x``, leaving ``(1-beta)*x`` in ``work`` (which may be ``x``)."""
    avg *= f(beta)
    np.multiply(x, f(1.0 - beta), out=work)
    avg += work


class Optimizer:
    """Base class: hyperparameters, the step counter, slots and their state dict.

    Parameters
    ----------
    params : Sequential or list of Parameter
        A model (its ``flat`` buffers are used) or parameters, which are then
        rebound to views of one new buffer.
    lr : float
        Learning rate, > 0; a settable (validated) attribute, which the
        trainer sets from the schedule before each step.

    Subclasses declare ``slot_names`` (per-coordinate state, zero at start),
    ``n_work`` (scratch arrays) and implement ``_update_numpy(w, g, f)``, where
    ``f`` converts a Python float to the parameters' dtype, and
    ``_update_kernel(w, g, f)``, the same update in one numba kernel
    (:meth:`step` takes it when :func:`tunenet.jit.enabled`).
    """

    slot_names: tuple[str, ...] = ()
    n_work: int = 1

    def __init__(self, params, lr: float, **hyper) -> None:
        self.flat = _flat(params)
        self.dtype = self.flat.values.dtype
        if self.dtype.kind != "f":
            raise ConfigError(f"parameters must be floating point, got dtype {self.dtype}")
        self.lr = lr
        self.hyper_names = ("lr", *hyper)
        for name, value in hyper.items():
            setattr(self, name, check_hyper(name, value))
        self.t = 0
        values = self.flat.values
        self.slots = {name: np.zeros_like(values) for name in self.slot_names}
        self._work = [np.empty_like(values) for _ in range(self.n_work)]
        self._tiny = self.dtype.type(np.finfo(self.dtype).tiny)  # the smallest normal number of the dtype

    def _flush_subnormal(self, v: np.ndarray) -> None:
        """In place: ``v = 0`` where ``|v| < tiny``, the dtype's smallest normal number (NaN and inf are kept).

        For a first moment (momentum's and Adam's ``v``): a coordinate whose
        gradient stays 0 has its ``v`` decay by ``beta`` a step into the
        subnormal range and stay there (``0.9`` times the smallest subnormal
        rounds back to itself), where arithmetic costs several times normal
        arithmetic; the step such a ``v`` makes is below half an ulp of any
        weight that is not itself almost 0, so the weights do not change.
        """
        np.copyto(v, 0, where=np.abs(v) < self._tiny)

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_hyper("lr", value)

    def step(self) -> None:
        """One update of ``flat.values`` from the current ``flat.grads``."""
        self.t += 1
        self._update(self.flat.values, self.flat.grads, self.dtype.type)

    def _update(self, w: np.ndarray, g: np.ndarray, f) -> None:
        if jit.enabled():
            self._update_kernel(w, g, f)
        else:
            self._update_numpy(w, g, f)

    def _update_numpy(self, w: np.ndarray, g: np.ndarray, f) -> None:
        raise NotImplementedError

    def _update_kernel(self, w: np.ndarray, g: np.ndarray, f) -> None:
        self._update_numpy(w, g, f)

    def zero_grad(self) -> None:
        self.flat.grads.fill(0)

    # -- state ------------------------------------------------------------
    @property
    def hyper(self) -> dict:
        return {name: getattr(self, name) for name in self.hyper_names}

    def state_dict(self) -> dict:
        """Type, hyperparameters, step counter and copies of the slots per parameter name.

        Everything but the slot arrays is JSON-able.
        """
        slices = self.flat.slices()
        slots = {slot: {p.name: buf[slices[p.name]].reshape(p.shape).copy() for p in self.flat.params}
                 for slot, buf in self.slots.items()}
        return {"type": type(self).__name__, "hyper": self.hyper, "t": int(self.t), "slots": slots}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output; ConfigError if it does not fit this optimiser or model."""
        kind = type(self).__name__
        if not isinstance(state, dict) or state.get("type") != kind:
            found = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ConfigError(f"optimiser state is for {found!r}, not {kind!r}")
        hyper = state.get("hyper", {})
        unknown = set(hyper) - set(self.hyper_names)
        if unknown:
            raise ConfigError(f"unknown {kind} hyperparameters in state: {sorted(unknown)}; "
                              f"expected {list(self.hyper_names)}")
        hyper = {name: check_hyper(name, value) for name, value in hyper.items()}
        t = state.get("t")
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ConfigError(f"optimiser step counter t must be an integer >= 0, got {t!r}")
        slots = state.get("slots", {})
        if set(slots) != set(self.slot_names):
            raise ConfigError(f"{kind} state needs slots {sorted(self.slot_names)}, got {sorted(slots)}")
        slices = self.flat.slices()
        names = set(slices)
        for slot, arrays in slots.items():
            if set(arrays) != names:
                missing, extra = sorted(names - set(arrays)), sorted(set(arrays) - names)
                raise ConfigError(f"optimiser slot {slot!r} does not match the model's parameters "
                                  f"(missing {missing}, unexpected {extra})")
            for p in self.flat.params:
                shape = np.shape(arrays[p.name])
                if shape != p.shape:
                    raise ConfigError(f"optimiser slot {slot!r} for {p.name!r} has shape {shape}, "
                                      f"the parameter has {p.shape}")
        for name, value in hyper.items():  # everything validated: now mutate
            setattr(self, name, value)
        self.t = int(t)
        for slot, arrays in slots.items():
            for p in self.flat.params:
                self.slots[slot][slices[p.name]] = np.asarray(arrays[p.name]).reshape(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.hyper.items())})"


@jit.kernel()
def sgd_kernel(w, g, lr):
    """``w -= g*lr`` in one pass (SGD's NumPy update: ``u = g*lr; w -= u``)."""
    for i in range(w.size):
        w[i] -= g[i] * lr


class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr*g``."""

    def __init__(self, params, lr: float = 0.01) -> None:
        super().__init__(params, lr)

    def _update_numpy(self, w, g, f):
        u = self._work[0]
        np.multiply(g, f(self.lr), out=u)
        w -= u

    def _update_kernel(self, w, g, f):
        sgd_kernel(w, g, f(self.lr))


@jit.kernel()
def momentum_kernel(w, g, v, beta, one_minus_beta, lr, nesterov, tiny):
    """Momentum's update in one pass, in the NumPy update's operation order.

    ``v = v*beta + g*(1-beta)``, flushed to +0 where ``|v| < tiny``
    (:meth:`Optimizer._flush_subnormal`); classic: ``w -= v*lr``; Nesterov:
    ``w -= (g*(1-beta) + v*beta)*lr`` (with the new ``v``).
    """
    zero = tiny - tiny  # +0 in the dtype of the buffers (tiny * 0 would be float64 in numba)
    if nesterov:
        for i in range(w.size):
            u = g[i] * one_minus_beta
            vi = v[i] * beta + u
            vi = zero if abs(vi) < tiny else vi
            v[i] = vi
            w[i] -= (u + vi * beta) * lr
    else:
        for i in range(w.size):
            vi = v[i] * beta + g[i] * one_minus_beta
            vi = zero if abs(vi) < tiny else vi
            v[i] = vi
            w[i] -= vi * lr


class Momentum(Optimizer):
    """Gradient descent with momentum (an exponentially weighted average of gradients).

    ``v = beta*v + (1-beta)*g`` (``v`` starts at 0), then

    - classic: ``w -= lr*v``
    - Nesterov (``nesterov=True``): ``w -= lr*(beta*v + (1-beta)*g)`` with the
      updated ``v`` (a look-ahead: the step the next average would take).

    No bias correction, as in the course: the first steps are ``1-beta``
    times shorter than plain SGD's.

    A ``v`` below the dtype's smallest normal number in magnitude is set to
    0 (:meth:`Optimizer._flush_subnormal`): the step it would make,
    ``lr*v``, is below half an ulp of every weight larger than
    ``2**24*tiny*lr`` (2e-31 lr in float32), so the weights do not change.
    """

    slot_names = ("v",)
    n_work = 2

    def __init__(self, params, lr: float = 0.01, beta: float = 0.9, nesterov: bool = False) -> None:
        super().__init__(params, lr, beta=beta, nesterov=nesterov)

    def _update_numpy(self, w, g, f):
        v, u, u2 = self.slots["v"], self._work[0], self._work[1]
        _average(v, g, self.beta, f, u)                 # v = beta v + (1-beta) g; u = (1-beta) g
        self._flush_subnormal(v)                        # v = 0 where |v| < tiny
        if self.nesterov:
            np.multiply(v, f(self.beta), out=u2)
            u += u2                                     # u = beta v + (1-beta) g
            u *= f(self.lr)
        else:
            np.multiply(v, f(self.lr), out=u)
        w -= u

    def _update_kernel(self, w, g, f):
        momentum_kernel(w, g, self.slots["v"], f(self.beta), f(1.0 - self.beta), f(self.lr), self.nesterov,
                        self._tiny)


@jit.kernel()
def rmsprop_kernel(w, g, s, beta, one_minus_beta, eps, lr):
    """RMSprop's update in one pass: ``s = s*beta + (g*g)*(1-beta)``; ``w -= (g/(sqrt(s) + eps))*lr``."""
    for i in range(w.size):
        gi = g[i]
        si = s[i] * beta + (gi * gi) * one_minus_beta
        s[i] = si
        w[i] -= (gi / (np.sqrt(si) + eps)) * lr


class RMSprop(Optimizer):
    """Root mean square propagation.

    ``s = beta*s + (1-beta)*g**2`` ; ``w -= lr*g/(sqrt(s) + eps)`` (``s`` starts at 0).
    """

    slot_names = ("s",)

    def __init__(self, params, lr: float = 0.001, beta: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(params, lr, beta=beta, eps=eps)

    def _update_numpy(self, w, g, f):
        s, u = self.slots["s"], self._work[0]
        np.multiply(g, g, out=u)
        _average(s, u, self.beta, f, u)                 # s = beta s + (1-beta) g^2
        np.sqrt(s, out=u)
        u += f(self.eps)
        np.divide(g, u, out=u)
        u *= f(self.lr)
        w -= u

    def _update_kernel(self, w, g, f):
        rmsprop_kernel(w, g, self.slots["s"], f(self.beta), f(1.0 - self.beta), f(self.eps), f(self.lr))


@jit.kernel()
def adam_kernel(w, g, v, s, beta1, one_minus_beta1, beta2, one_minus_beta2, eps_c2, step, mask, decay, tiny):
    """Adam's (and AdamW's) update in one pass, in the NumPy update's operation order.

    ``w -= (w*mask)*decay`` (AdamW only: ``decay = lr*weight_decay != 0``), then
    ``v = v*beta1 + g*(1-beta1)``, flushed to +0 where ``|v| < tiny`` (the
    smallest normal number: see :meth:`Optimizer._flush_subnormal`),
    ``s = s*beta2 + (g*g)*(1-beta2)``,
    ``w -= (v/(sqrt(s) + eps_c2))*step`` with ``eps_c2 = eps*c2`` and
    ``step = lr*c2/c1`` (``c1 = 1-beta1**t``, ``c2 = sqrt(1-beta2**t)``): the
    bias-corrected ``lr*v_hat/(sqrt(s_hat) + eps)``.
    """
    zero = tiny - tiny  # +0 in the dtype of the buffers (tiny * 0 would be float64 in numba)
    if decay != 0:
        for i in range(w.size):
            w[i] -= (w[i] * mask[i]) * decay
    for i in range(w.size):
        gi = g[i]
        vi = v[i] * beta1 + gi * one_minus_beta1
        vi = zero if abs(vi) < tiny else vi  # a select, not a branch: the loop stays vectorised
        si = s[i] * beta2 + (gi * gi) * one_minus_beta2
        v[i] = vi
        s[i] = si
        w[i] -= (vi / (np.sqrt(si) + eps_c2)) * step


class Adam(Optimizer):
    """Adaptive moment estimation: momentum and RMSprop, both bias-corrected.

    | ``v = beta1*v + (1-beta1)*g`` ; ``s = beta2*s + (1-beta2)*g**2`` (both start at 0)
    | ``v_hat = v/(1-beta1**t)`` ; ``s_hat = s/(1-beta2**t)``
    | ``w -= lr*v_hat/(sqrt(s_hat) + eps)``

    A ``v`` below the dtype's smallest normal number in magnitude is set to
    0 (:meth:`Optimizer._flush_subnormal`): its contribution to the step,
    ``lr*v_hat/(sqrt(s_hat) + eps)``, is below ``lr*tiny/(eps*(1-beta1))``
    (1.2e-29 lr with the defaults), far below half an ulp of any weight that
    is not itself almost 0, so the weights come out the same as without the
    flush (tested against the unflushed formula); only ``v`` differs.
    """

    slot_names = ("v", "s")

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, **hyper) -> None:
        super().__init__(params, lr, beta1=beta1, beta2=beta2, eps=eps, **hyper)

    def _corrections(self) -> tuple[float, float]:
        """``c1 = 1-beta1**t``, ``c2 = sqrt(1-beta2**t)``."""
        return 1.0 - self.beta1 ** self.t, math.sqrt(1.0 - self.beta2 ** self.t)

    def _update_numpy(self, w, g, f):
        v, s, u = self.slots["v"], self.slots["s"], self._work[0]
        _average(v, g, self.beta1, f, u)                # v = beta1 v + (1-beta1) g
        self._flush_subnormal(v)                        # v = 0 where |v| < tiny
        np.multiply(g, g, out=u)
        _average(s, u, self.beta2, f, u)                # s = beta2 s + (1-beta2) g^2
        # lr v_hat/(sqrt(s_hat) + eps) = (lr c2/c1) v/(sqrt(s) + eps c2), c1 = 1-beta1^t, c2 = sqrt(1-beta2^t)
        c1, c2 = self._corrections()
        np.sqrt(s, out=u)
        u += f(self.eps * c2)
        np.divide(v, u, out=u)
        u *= f(self.lr * c2 / c1)
        w -= u

    def _update_kernel(self, w, g, f, mask=None, decay=0.0):
        c1, c2 = self._corrections()
        adam_kernel(w, g, self.slots["v"], self.slots["s"], f(self.beta1), f(1.0 - self.beta1), f(self.beta2),
                    f(1.0 - self.beta2), f(self.eps * c2), f(self.lr * c2 / c1),
                    w if mask is None else mask, f(decay), self._tiny)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before the Adam step, regularised coordinates (``m = flat.regularized``:
    weights, not biases or batch-norm gamma/beta) decay towards zero:

    | ``w -= lr*weight_decay*m*w`` (with the weights before this step)
    | ``w -= lr*v_hat/(sqrt(s_hat) + eps)`` (the Adam step above)

    Unlike an L2 penalty in the loss, the decay is not rescaled by
    ``sqrt(s_hat)``, so every weight decays at the same relative rate.
    """

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, beta1, beta2, eps, weight_decay=weight_decay)
        self._mask = self.flat.regularized.astype(self.dtype)

    def _update_numpy(self, w, g, f):
        if self.weight_decay:
            u = self._work[0]
            np.multiply(w, self._mask, out=u)
            u *= f(self.lr * self.weight_decay)
            w -= u
        super()._update_numpy(w, g, f)

    def _update_kernel(self, w, g, f):
        super()._update_kernel(w, g, f, self._mask, self.lr * self.weight_decay if self.weight_decay else 0.0)


OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
_CLASSES = {"sgd": SGD, "momentum": Momentum, "nesterov": Momentum, "rmsprop": RMSprop, "adam": Adam,
            "adamw": AdamW}
_ACCEPTS = {"sgd": ("lr",), "momentum": ("lr", "beta", "nesterov"), "nesterov": ("lr", "beta"),
            "rmsprop": ("lr", "beta", "eps"), "adam": ("lr", "beta1", "beta2", "eps"),
            "adamw": ("lr", "beta1", "beta2", "eps", "weight_decay")}


def make_optimizer(name: str, params, lr: float | None = None, **kwargs) -> Optimizer:
    """The optimiser called ``name`` (one of :data:`OPTIMIZERS`) over ``params``.

    ``lr=None`` takes the optimiser's default. ``"nesterov"`` is
    ``Momentum(nesterov=True)``. Unknown names or keyword arguments raise a
    ConfigError listing what is accepted.
    """
    key = str(name).strip().lower()
    if key not in _CLASSES:
        raise ConfigError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    unknown = sorted(set(kwargs) - set(_ACCEPTS[key]))
    if unknown:
        raise ConfigError(f"optimizer {key!r} does not take {', '.join(unknown)}; "
                          f"it accepts {', '.join(_ACCEPTS[key])}")
    if lr is not None:
        kwargs["lr"] = lr
    if key == "nesterov":
        kwargs["nesterov"] = True
    return _CLASSES[key](params, **kwargs)
