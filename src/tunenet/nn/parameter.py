"""Trainable parameters.

A :class:`Parameter` couples a value with its gradient under a stable dotted
name (``"dense0.W"``, ``"bn1.gamma"``). Optimiser state and checkpoints are
keyed by that name. Once a layer is inside a :class:`~tunenet.nn.model.Sequential`
its ``value`` and ``grad`` are views into one contiguous buffer per model, so
code must update them in place (``p.value[...] = ...``), never rebind them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    name : str
        Dotted name, unique in a model (``"dense0.W"``).
    value : ndarray
        The current value.
    grad : ndarray
        dLoss/dvalue, same shape and dtype as ``value``; filled by ``backward``.
    regularized : bool
        Whether L2/L1 penalties apply (weights yes; biases, gamma, beta no).
    """

    name: str
    value: np.ndarray
    grad: np.ndarray
    regularized: bool = True

    @classmethod
    def create(cls, name: str, value: np.ndarray, regularized: bool = True) -> Parameter:
        """A parameter with a zero gradient of the same shape and dtype."""
        return cls(name, value, np.zeros_like(value), regularized)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return int(self.value.size)


@dataclass(eq=False)
class FlatParameters:
    """All values, gradients and the regularisation mask as three 1-D arrays.

    ``values[offsets[name]:offsets[name] + size]`` is parameter ``name``.
    Each Parameter's ``value``/``grad`` are views into these buffers.
    """

    params: list[Parameter]
    values: np.ndarray
    grads: np.ndarray
    regularized: np.ndarray
    offsets: dict[str, int]

    def slices(self) -> dict[str, slice]:
        return {p.name: slice(self.offsets[p.name], self.offsets[p.name] + p.size) for p in self.params}


def flatten_parameters(params: list[Parameter]) -> FlatParameters:
    """Views of ``params`` in one contiguous value buffer and one gradient buffer.

    When the parameters already are consecutive views of one buffer (as in a
    :class:`~tunenet.nn.model.Sequential`), that buffer is reused; otherwise
    the values are copied into a new buffer and each Parameter is rebound to
    views of it (so the caller's arrays stop being the live ones).
    """
    params = list(params)
    if not params:
        raise ValueError("no parameters to flatten")
    dtypes = {p.value.dtype for p in params}
    if len(dtypes) > 1:
        raise ValueError(f"all parameters must share one dtype, got {sorted(map(str, dtypes))}")
    dtype = dtypes.pop()
    total = sum(p.size for p in params)
    offsets, offset = {}, 0
    for p in params:
        offsets[p.name] = offset
        offset += p.size
    regularized = np.concatenate([np.full(p.size, p.regularized) for p in params])
    values, grads = _shared_buffers(params, total)
    if values is None:
        values, grads = np.empty(total, dtype), np.zeros(total, dtype)
        for p in params:
            sl = slice(offsets[p.name], offsets[p.name] + p.size)
            values[sl] = p.value.reshape(-1)
            grads[sl] = p.grad.reshape(-1)
            p.value = values[sl].reshape(p.shape)
            p.grad = grads[sl].reshape(p.shape)
    return FlatParameters(params, values, grads, regularized, offsets)


def _root(a: np.ndarray) -> np.ndarray | None:
    """The ndarray that owns ``a``'s memory (None when ``a`` owns it or it belongs to bytes, a memmap's mmap...)."""
    base = a.base
    if not isinstance(base, np.ndarray):
        return None
    while isinstance(base.base, np.ndarray):
        base = base.base
    return base


def _shared_buffers(params: list[Parameter], total: int):
    """The (values, grads) buffers if params are consecutive views of them, else (None, None)."""
    first = params[0]
    vbase, gbase = _root(first.value), _root(first.grad)
    if vbase is None or gbase is None or vbase.ndim != 1 or vbase.size != total or gbase.size != total \
            or not vbase.flags.writeable:
        return None, None
    item = vbase.itemsize
    offset = 0
    for p in params:
        vstart = (p.value.__array_interface__["data"][0] - vbase.__array_interface__["data"][0]) // item
        gstart = (p.grad.__array_interface__["data"][0] - gbase.__array_interface__["data"][0]) // item
        if vstart != offset or gstart != offset or not p.value.flags.c_contiguous:
            return None, None
        offset += p.size
    return vbase, gbase
