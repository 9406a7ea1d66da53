"""Standardising a regression target, fitted on the training set and stored with the model.

``y' = (y - mean) / std`` per output column (population std, ddof = 0; a
constant column gets std 1). The network trains on ``y'``, so its loss,
gradients and learning rates do not depend on the target's units (diabetes'
target runs 25..346: unscaled, its 1/2 MSE starts near 15,000 and reads as
exploding gradients); predictions are mapped back with
``y = y' * std + mean``. :func:`target_scaler_from_dict` rebuilds the scaler
from the model's metadata (``target_preprocessing``) so ``tunenet predict``
answers in the original units.
"""

from __future__ import annotations

import numpy as np

from ..errors import CheckpointError


class TargetStandardizer:
    """Per-column standardisation of a float target of shape (m,) or (m, k)."""

    kind = "standard"

    def __init__(self, mean=None, std=None) -> None:
        self.mean_ = None if mean is None else np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std_ = None if std is None else np.asarray(std, dtype=np.float64).reshape(-1)

    def fit(self, y: np.ndarray) -> TargetStandardizer:
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(y.shape[0], -1)
        self.mean_ = y.mean(axis=0)
        std = y.std(axis=0)
        self.std_ = np.where(std > 1e-12 * np.maximum(1.0, np.abs(self.mean_)), std, 1.0)
        return self

    def _shaped(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = np.asarray(y)
        if y.ndim == 1:
            return self.mean_[0], self.std_[0]
        return self.mean_, self.std_

    def transform(self, y: np.ndarray) -> np.ndarray:
        """``(y - mean) / std``, float32, same shape as ``y``."""
        mean, std = self._shaped(y)
        return ((np.asarray(y, dtype=np.float64) - mean) / std).astype(np.float32)

    def inverse_transform(self, y: np.ndarray) -> np.ndarray:
        """``y * std + mean`` in float64 (the model's outputs back in the target's units)."""
        mean, std = self._shaped(y)
        return np.asarray(y, dtype=np.float64) * std + mean

    def to_dict(self) -> dict:
        return {"kind": self.kind, "mean": self.mean_.tolist(), "std": self.std_.tolist()}


def target_scaler_from_dict(d: dict | None, source: str = "model") -> TargetStandardizer | None:
    """The scaler saved in a model's metadata, or None when the target was not scaled."""
    if not d:
        return None
    try:
        if d.get("kind") != "standard":
            raise ValueError(f"unknown kind {d.get('kind')!r}")
        mean, std = (np.asarray(d[k], dtype=np.float64).reshape(-1) for k in ("mean", "std"))
        if mean.shape != std.shape or not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("mean and std must be finite lists of one length, std > 0")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{source}: malformed target_preprocessing ({exc})") from None
    return TargetStandardizer(mean, std)


__all__ = ["TargetStandardizer", "target_scaler_from_dict"]
