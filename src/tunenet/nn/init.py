"""Weight initialisers.

Each initialiser is a function ``init(shape, rng, dtype) -> ndarray`` for a
Dense weight ``W`` of shape ``(n_in, n_out)`` (batch-first; the course writes
``W[l]`` as ``(n[l], n[l-1])``). Biases are always initialised to zero.

=========  ==========================  =====================================
name       distribution                why
=========  ==========================  =====================================
zeros      W = 0                       fails to break symmetry (a lesson)
random     N(0, 1) * 0.01              small: slow start, vanishing signal
large      N(0, 1) * 10                "large": saturation / explosion
xavier     N(0, 1/n_in)                tanh networks (Var = 1/n_in)
glorot     N(0, 2/(n_in + n_out))      Glorot & Bengio's average of fan in/out
he         N(0, 2/n_in)                ReLU networks (He et al. 2015)
=========  ==========================  =====================================

``normal(scale)`` builds a random-normal initialiser with any scale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ConfigError

Initializer = Callable[[tuple, np.random.Generator, np.dtype], np.ndarray]


def zeros(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """W = 0 (every unit computes the same function: symmetry is never broken)."""
    return np.zeros(shape, dtype=dtype)


def normal(scale: float) -> Initializer:
    """W ~ N(0, 1) * scale."""

    def init(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(dtype)

    init.__name__ = f"normal({scale:g})"
    return init


def _fan_scaled(variance: Callable[[int, int], float], label: str) -> Initializer:
    def init(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        n_in, n_out = shape
        return (rng.standard_normal(shape) * np.sqrt(variance(n_in, n_out))).astype(dtype)

    init.__name__ = label
    return init


xavier = _fan_scaled(lambda n_in, n_out: 1.0 / n_in, "xavier")
glorot = _fan_scaled(lambda n_in, n_out: 2.0 / (n_in + n_out), "glorot")
he = _fan_scaled(lambda n_in, n_out: 2.0 / n_in, "he")

INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "random": normal(0.01),
    "large": normal(10.0),
    "xavier": xavier,
    "glorot": glorot,
    "he": he,
}


def get_initializer(name: str) -> Initializer:
    """Look up an initialiser by name; ``"normal:0.5"`` gives N(0,1)*0.5."""
    if isinstance(name, str) and name.startswith("normal:"):
        try:
            return normal(float(name.split(":", 1)[1]))
        except ValueError:
            pass
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown init {name!r}; expected one of {', '.join(INITIALIZERS)} or 'normal:SCALE'"
        ) from None
