"""Gradient clipping, in place on the flat gradient buffer.

- by global norm: if ``||g|| > max_norm`` then ``g *= max_norm/||g||``, with
  ``||g||`` the Euclidean norm over all parameters at once (the direction of
  the step is kept, only its length is capped);
- by value: ``g = clip(g, -clip_value, clip_value)`` coordinate by coordinate
  (cheaper, but it changes the direction).

A non-finite gradient (NaN or inf) is left as it is, so that the divergence
guard sees it rather than a silently zeroed or NaN-filled gradient.

``parse_clip("norm:5")`` / ``parse_clip("value:0.5")`` turn a config or CLI
spec into a :class:`Clip`; ``clip.apply(model.flat.grads)`` clips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

CLIP_KINDS = ("norm", "value")


def global_norm(grads: np.ndarray) -> float:
    """``sqrt(sum(g**2))`` over the whole array, without overflow for huge but finite gradients."""
    with np.errstate(over="ignore", invalid="ignore"):
        squared = float(np.dot(grads.ravel(), grads.ravel()))
    if math.isfinite(squared):
        return math.sqrt(squared)
    largest = float(np.max(np.abs(grads)))
    if not math.isfinite(largest):          # inf or NaN inside (np.max propagates NaN)
        return largest
    scaled = grads.ravel() / grads.dtype.type(largest)
    return largest * math.sqrt(float(np.dot(scaled, scaled)))


def clip_by_global_norm(grads: np.ndarray, max_norm: float) -> float:
    """In place: ``g *= max_norm/||g||`` when ``||g|| > max_norm``; returns the norm before clipping.

    Non-finite gradients are left unchanged (the returned norm is then inf or NaN).
    """
    norm = global_norm(grads)
    if math.isfinite(norm) and norm > max_norm:
        grads *= grads.dtype.type(max_norm / norm)
    return norm


def clip_by_value(grads: np.ndarray, clip_value: float) -> None:
    """In place: ``g = clip(g, -clip_value, clip_value)`` (NaN stays NaN)."""
    c = grads.dtype.type(clip_value)
    np.clip(grads, -c, c, out=grads)


@dataclass(frozen=True)
class Clip:
    """A clipping rule: ``kind`` ``"norm"`` (global norm) or ``"value"``, and its ``threshold`` > 0.

    ``str(clip)`` is its spec (``"norm:5.0"``), which :func:`parse_clip` reads back.
    """

    kind: str
    threshold: float

    def __post_init__(self) -> None:
        if self.kind not in CLIP_KINDS:
            raise ConfigError(f"unknown clipping kind {self.kind!r}; expected one of {', '.join(CLIP_KINDS)}")
        try:
            threshold = float(self.threshold)
        except (TypeError, ValueError):
            threshold = math.nan
        if not (math.isfinite(threshold) and threshold > 0):
            raise ConfigError(f"clipping threshold must be a finite number > 0, got {self.threshold!r}")
        object.__setattr__(self, "threshold", threshold)

    def apply(self, grads: np.ndarray) -> float:
        """Clip ``grads`` in place; returns the global gradient norm before clipping."""
        if self.kind == "norm":
            return clip_by_global_norm(grads, self.threshold)
        norm = global_norm(grads)
        clip_by_value(grads, self.threshold)
        return norm

    def __str__(self) -> str:
        return f"{self.kind}:{self.threshold!r}"


def parse_clip(spec) -> Clip | None:
    """A :class:`Clip` from ``"norm:5"``, ``"value:0.5"``, ``{"norm": 5}`` or a Clip; None for ``None``/``"none"``."""
    if spec is None or isinstance(spec, Clip):
        return spec
    forms = 'expected "norm:MAX_NORM", "value:CLIP_VALUE" or "none"'
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise ConfigError(f"bad clipping spec {spec!r}; {forms}, or a dict such as {{\"norm\": 5}}")
        ((kind, threshold),) = spec.items()
        return Clip(str(kind).lower(), threshold)
    if not isinstance(spec, str):
        raise ConfigError(f"bad clipping spec {spec!r}; {forms}")
    text = spec.strip().lower()
    if text in ("", "none"):
        return None
    kind, sep, threshold = text.partition(":")
    if not sep or kind not in CLIP_KINDS:
        raise ConfigError(f"bad clipping spec {spec!r}; {forms}")
    try:
        value = float(threshold)
    except ValueError:
        raise ConfigError(f"bad clipping spec {spec!r}: {threshold!r} is not a number; {forms}") from None
    return Clip(kind, value)
