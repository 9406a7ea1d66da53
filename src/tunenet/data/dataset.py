"""The :class:`Dataset` record that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import CLASSIFICATION


@dataclass(eq=False)
class Dataset:
    """Features, targets and what is known about them.

    Attributes
    ----------
    name : str
        ``"fashion-mnist"``, ``"moons"``, or the file name.
    X : ndarray of float32, shape (m, n)
        One sample per row. Images are flattened row-major (see ``image_shape``);
        their pixels are scaled to [0, 1] (uint8 values divided by 255).
    y : ndarray, shape (m,)
        int64 class indices 0..k-1 for classification, float32 for regression.
    task : {"classification", "regression"}
    X_test, y_test : ndarray or None
        The official test split, when the dataset has one (kept as the test
        set by :func:`tunenet.data.split_dataset`); None otherwise.
    class_names : list of str or None
        ``class_names[i]`` names class index ``i``; None for regression.
    feature_names : list of str, length n
    description : str
    image_shape : tuple of int or None
        ``(height, width)`` when rows are flattened images, e.g. ``(28, 28)``.
    encoding : dict
        JSON-able description of how raw inputs map to ``X`` and ``y`` (one-hot
        categories, class labels); :func:`tunenet.data.encode_features` applies
        it to new files at prediction time.
    source : str
        Where the data came from (a path, a directory, or ``"built in"``).
    notes, warnings : list of str
        What the reader inferred (``"delimiter ';' (detected)"``) and what looks
        wrong (an id-like column); printed at the start of a run.
    """

    name: str
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    task: str = CLASSIFICATION
    X_test: np.ndarray | None = field(default=None, repr=False)
    y_test: np.ndarray | None = field(default=None, repr=False)
    class_names: list[str] | None = None
    feature_names: list[str] = field(default_factory=list, repr=False)
    description: str = ""
    image_shape: tuple[int, ...] | None = None
    encoding: dict = field(default_factory=dict, repr=False)
    source: str = ""
    notes: list[str] = field(default_factory=list, repr=False)
    warnings: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.feature_names:
            self.feature_names = [f"x{j}" for j in range(self.X.shape[1])]

    @property
    def n_samples(self) -> int:
        """Rows in ``X`` (the official test set not counted)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int | None:
        """Number of classes, or None for regression."""
        return len(self.class_names) if self.class_names is not None else None

    @property
    def has_test(self) -> bool:
        """Whether the dataset comes with an official test split."""
        return self.X_test is not None

    def __repr__(self) -> str:
        test = f", test {self.X_test.shape[0]:,}" if self.X_test is not None else ""
        classes = f", {self.n_classes} classes" if self.class_names is not None else ""
        return f"Dataset({self.name!r}, {self.n_samples:,} x {self.n_features}{test}{classes}, {self.task})"
