"""Datasets that need no download: scikit-learn's 8x8 digits and four generated 2-D problems.

Every generator takes ``n_samples``, ``noise`` and ``seed``; the randomness
comes from ``seed`` only (an explicit ``numpy.random.Generator``, or an int
``random_state`` for scikit-learn), never from global state.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .dataset import Dataset
from .encoding import array_encoding
from .validation import CLASSIFICATION

BUILT_IN = "built in"


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value >= 0:
        raise ConfigError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _seed(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {value!r}")
    return int(value)


def _points(name: str, X: np.ndarray, y: np.ndarray, description: str, n_classes: int) -> Dataset:
    class_names = [str(k) for k in range(n_classes)]
    ds = Dataset(name=name, X=np.ascontiguousarray(X, dtype=np.float32), y=y.astype(np.int64),
                 class_names=class_names, description=description, source=BUILT_IN)
    ds.encoding = array_encoding(ds.feature_names, CLASSIFICATION, list(range(n_classes)), class_names)
    return ds


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(pixels (1797, 64) float64 in 0..16, labels (1797,) int64) from scikit-learn's ``digits.csv.gz``.

    The file that ``sklearn.datasets.load_digits`` reads (64 pixel columns, then
    the label), read directly: importing ``sklearn.datasets`` loads SciPy's
    statistics and pandas, seconds of start-up for a 0.5 MB table.
    ``importlib.util.find_spec`` locates the package without importing it;
    when the file is not where scikit-learn keeps it, its loader is used.
    """
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        with gzip.open(path, "rt") as f:
            data = np.loadtxt(f, delimiter=",", dtype=np.float64)
        if data.shape == (1797, 65):
            return data[:, :-1], data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as sk_load_digits

    raw = sk_load_digits()
    return raw.data, raw.target.astype(np.int64)


def load_digits() -> Dataset:
    """scikit-learn's 1,797 handwritten digits, 8x8 pixels; values 0..16 divided by 16."""
    pixels, labels = _digits_arrays()
    class_names = [str(k) for k in range(10)]
    feature_names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]  # scikit-learn's names
    ds = Dataset(name="digits", X=(pixels / 16.0).astype(np.float32), y=labels,
                 class_names=class_names, feature_names=feature_names,
                 description="handwritten digits 0-9, 8x8 grey levels 0..16 scaled to [0, 1] (UCI, via scikit-learn)",
                 image_shape=(8, 8), source=BUILT_IN)
    ds.encoding = array_encoding(ds.feature_names, CLASSIFICATION, list(range(10)), class_names)
    return ds


def make_moons(n_samples: int = 1000, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``), 2 features."""
    from sklearn.datasets import make_moons as sk_make_moons

    X, y = sk_make_moons(n_samples=_positive_int("n_samples", n_samples, 2), noise=_non_negative("noise", noise),
                         random_state=_seed(seed))
    return _points("moons", X, y, f"two interleaving half moons, Gaussian noise {noise}", 2)


def make_circles(n_samples: int = 1000, noise: float = 0.1, factor: float = 0.5, seed: int = 0) -> Dataset:
    """A small circle inside a large one (scikit-learn's ``make_circles``), 2 features."""
    from sklearn.datasets import make_circles as sk_make_circles

    if not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise ConfigError(f"factor must be between 0 and 1 (exclusive), got {factor!r}")
    X, y = sk_make_circles(n_samples=_positive_int("n_samples", n_samples, 2), noise=_non_negative("noise", noise),
                           factor=factor, random_state=_seed(seed))
    return _points("circles", X, y, f"two concentric circles (radius ratio {factor}), Gaussian noise {noise}", 2)


def make_blobs(n_samples: int = 1000, n_classes: int = 3, n_features: int = 2, noise: float = 1.0,
               seed: int = 0) -> Dataset:
    """Isotropic Gaussian clusters, one per class (scikit-learn's ``make_blobs``); ``noise`` is their std."""
    from sklearn.datasets import make_blobs as sk_make_blobs

    n_classes = _positive_int("n_classes", n_classes, 2)
    X, y = sk_make_blobs(n_samples=_positive_int("n_samples", n_samples, n_classes), centers=n_classes,
                         n_features=_positive_int("n_features", n_features), cluster_std=_non_negative("noise", noise),
                         random_state=_seed(seed))
    return _points("blobs", X, y, f"{n_classes} Gaussian blobs in {n_features}-D, std {noise}", n_classes)


def make_spiral(n_samples: int = 1000, n_classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """The classic K-arm spiral (as in CS231n): arm k has radius r in [0, 1] and angle 4k + 4r + noise.

    Points per arm differ by at most one; ``noise`` is the standard deviation
    of the angle in radians. Not linearly separable: a good test of depth.
    """
    n_classes = _positive_int("n_classes", n_classes, 2)
    n_samples = _positive_int("n_samples", n_samples, n_classes)
    noise = _non_negative("noise", noise)
    rng = np.random.default_rng(_seed(seed))
    counts = np.full(n_classes, n_samples // n_classes)
    counts[: n_samples % n_classes] += 1
    X = np.empty((n_samples, 2))
    y = np.repeat(np.arange(n_classes), counts)
    start = 0
    for k, n in enumerate(counts):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n) + rng.normal(0.0, noise, n)
        X[start:start + n] = np.column_stack([r * np.sin(t), r * np.cos(t)])
        start += n
    return _points("spiral", X, y, f"{n_classes}-arm spiral, angular noise {noise}", n_classes)
