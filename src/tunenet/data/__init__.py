"""Data: datasets, splits, preprocessing, augmentation, batches, input checks."""

from .batches import MiniBatches

__all__ = ["MiniBatches"]
