"""Input normalisation fitted on the training set only, saved with the model.

- :class:`Standardizer`: ``x' = (x - mean) / std`` per feature (population std,
  ddof = 0), so the training features have mean 0 and standard deviation 1;
- :class:`MinMaxScaler`: ``x' = (x - min) / (max - min)``, the training
  features span [0, 1] (dev/test values may fall outside; they are not clipped);
- :class:`NoScaling`: the identity, for inputs already on a good scale;
- :class:`ScaleOnly`: ``x' = x / scale``, not centred, what a scipy.sparse ``X``
  gets for ``standard`` (the std, as scikit-learn's ``StandardScaler(with_mean=False)``)
  and ``minmax`` (the largest ``|x|``, as ``MaxAbsScaler``): subtracting a mean or
  a minimum would turn every stored zero into a value, making ``X`` dense.

A feature that is constant on the training set (zero variance or zero range)
gets scale 1, so it maps to 0 instead of dividing by zero. Statistics are
accumulated in float64; ``transform`` returns a new float32 array.
``to_dict()`` gives a JSON-able dict stored in the model's metadata and
:func:`scaler_from_dict` rebuilds the same transform for prediction.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..errors import ConfigError, DataError
from .validation import ArrayWhere, check_features, check_n_features

CONSTANT_TOLERANCE = 1e-12  # a scale below this * max(1, |offset|) counts as zero


def _safe_scale(scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    constant = scale <= CONSTANT_TOLERANCE * np.maximum(1.0, np.abs(offset))
    return np.where(constant, 1.0, scale)


class _AffineScaler:
    """``x' = (x - offset) / scale`` per feature; subclasses fit offset and scale."""

    kind = ""

    def __init__(self) -> None:
        self.offset_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    @property
    def n_features_(self) -> int:
        self._check_fitted()
        return len(self.offset_)

    def _check_fitted(self) -> None:
        if self.offset_ is None:
            raise ConfigError(f"this {type(self).__name__} is not fitted yet: call fit(X_train) first")

    def _fit_statistics(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit(self, X: np.ndarray):
        """Learn the per-feature statistics of ``X`` (the training set), shape (m, n); returns self."""
        X = check_features(X, ArrayWhere("X_train"))
        offset, scale = self._fit_statistics(X)
        self.offset_ = offset
        self.scale_ = _safe_scale(scale, offset)
        return self

    def transform(self, X: np.ndarray, copy: bool = True) -> np.ndarray:
        """Apply the fitted transform: float32 array of the same shape (m, n).

        A new array, unless ``copy=False`` and ``X`` is a writeable float32
        array: then ``X`` itself is transformed in place (no second copy of a
        large dataset).
        """
        self._check_fitted()
        if sparse.issparse(X):
            raise DataError(f"X is a sparse {X.shape[0]:,} x {X.shape[1]:,} matrix, but the model's inputs were "
                            f"{'standardised' if self.kind == 'standard' else 'min-max scaled'} on dense training X "
                            "(centred), which would densify it: pass dense X, or train on sparse X")
        X = check_features(X)
        check_n_features(X, len(self.offset_))
        if copy or X.dtype != np.float32 or not X.flags.writeable:
            out = X - self.offset_.astype(np.float32)
        else:
            out = X
            out -= self.offset_.astype(np.float32)
        out *= (1.0 / self.scale_).astype(np.float32)
        return out

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform` (float32, same shape)."""
        self._check_fitted()
        X = check_features(X)
        check_n_features(X, len(self.offset_))
        return (X * self.scale_.astype(np.float32) + self.offset_.astype(np.float32)).astype(np.float32)

    def to_dict(self) -> dict:
        """JSON-able parameters: ``{"type": ..., "offset": [...], "scale": [...]}``."""
        self._check_fitted()
        return {"type": self.kind, "offset": self.offset_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict):
        """Rebuild a fitted scaler from :meth:`to_dict` output."""
        if not isinstance(d, dict) or d.get("type") != cls.kind:
            raise DataError(f"not a saved {cls.kind!r} scaler: {str(d)[:80]}")
        try:
            offset = np.asarray(d["offset"], dtype=np.float64)
            scale = np.asarray(d["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"saved {cls.kind!r} scaler is malformed ({exc})") from None
        if offset.ndim != 1 or offset.shape != scale.shape or not (np.isfinite(offset).all()
                                                                   and np.isfinite(scale).all() and (scale > 0).all()):
            raise DataError(f"saved {cls.kind!r} scaler is malformed (offset and scale must be equal-length "
                            "finite lists, scale > 0)")
        scaler = cls()
        scaler.offset_, scaler.scale_ = offset, scale
        return scaler

    def __repr__(self) -> str:
        fitted = f"fitted on {len(self.offset_)} features" if self.offset_ is not None else "not fitted"
        return f"{type(self).__name__}({fitted})"


class Standardizer(_AffineScaler):
    """Per-feature ``(x - mean) / std`` with mean and std of the training set.

    Attributes
    ----------
    mean_ : ndarray of float64, shape (n,)
    scale_ : ndarray of float64, shape (n,)
        The population std; 1 for constant features.
    """

    kind = "standard"

    @property
    def mean_(self) -> np.ndarray | None:
        return self.offset_

    def _fit_statistics(self, X, chunk_rows: int = 1024):  # two float64 chunks of 1024 x 784: 13 MB
        mean = X.mean(axis=0, dtype=np.float64)
        squares = np.zeros_like(mean)
        for start in range(0, len(X), chunk_rows):  # two-pass variance in float64, bounded memory
            d = X[start:start + chunk_rows].astype(np.float64) - mean
            squares += np.einsum("ij,ij->j", d, d)
        return mean, np.sqrt(squares / len(X))


class MinMaxScaler(_AffineScaler):
    """Per-feature ``(x - min) / (max - min)`` with min and max of the training set.

    Attributes
    ----------
    min_ : ndarray of float64, shape (n,)
    scale_ : ndarray of float64, shape (n,)
        ``max - min``; 1 for constant features.
    """

    kind = "minmax"

    @property
    def min_(self) -> np.ndarray | None:
        return self.offset_

    def _fit_statistics(self, X):
        low = X.min(axis=0).astype(np.float64)
        return low, X.max(axis=0).astype(np.float64) - low


class NoScaling:
    """The identity transform, with the scaler interface (``make_scaler("none")``)."""

    kind = "none"

    def fit(self, X: np.ndarray):
        if not sparse.issparse(X):  # a sparse X was checked when it was read
            check_features(X, ArrayWhere("X_train"))
        return self

    def transform(self, X: np.ndarray, copy: bool = True) -> np.ndarray:
        if sparse.issparse(X):
            return X.tocsr().astype(np.float32, copy=copy)
        X = check_features(X)
        return X.copy() if copy else X

    def describe(self) -> str:
        return "normalize none: X as read"

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        return check_features(X).copy()

    def to_dict(self) -> dict:
        return {"type": self.kind}

    @classmethod
    def from_dict(cls, d: dict):
        if not isinstance(d, dict) or d.get("type") != cls.kind:
            raise DataError(f"not a saved 'none' scaler: {str(d)[:80]}")
        return cls()

    def __repr__(self) -> str:
        return "NoScaling()"


class ScaleOnly:
    """Per-feature ``x' = x / scale``, not centred: zeros stay zeros, so a sparse ``X`` stays sparse.

    ``basis="standard"``: ``scale`` is the training column's population std,
    ``sqrt(mean((x - mean)^2))``, computed over all ``m`` rows (stored values and
    implicit zeros) without densifying, as ``StandardScaler(with_mean=False)``;
    ``basis="minmax"``: ``scale = max |x|`` (training values in [-1, 1]), as
    ``MaxAbsScaler``. A constant or all-zero column gets scale 1. ``transform``
    takes CSR/CSC or dense ``X`` and returns the same kind in float32
    (CSR for sparse input); ``copy=False`` scales a float32 CSR matrix's stored values in place.
    """

    kind = "scale"

    def __init__(self, basis: str = "standard") -> None:
        if basis not in ("standard", "minmax"):
            raise ConfigError(f"ScaleOnly basis must be 'standard' or 'minmax', got {basis!r}")
        self.basis = basis
        self.scale_: np.ndarray | None = None

    def fit(self, X):
        """Learn ``scale`` from the training rows ``X`` (m, n), sparse or dense; returns self."""
        m, n = X.shape
        if sparse.issparse(X):
            X = X.tocsr()
            cols, values = X.indices, X.data.astype(np.float64)
            if self.basis == "standard":
                mean = np.bincount(cols, values, minlength=n) / max(m, 1)
                stored = np.bincount(cols, minlength=n)
                d = values - mean[cols]
                scale = np.sqrt((np.bincount(cols, d * d, minlength=n) + (m - stored) * mean * mean) / max(m, 1))
            else:
                scale = np.zeros(n)
                np.maximum.at(scale, cols, np.abs(values))
        else:
            X = check_features(X, ArrayWhere("X_train"))
            scale = (X.std(axis=0, dtype=np.float64) if self.basis == "standard"
                     else np.abs(X).max(axis=0).astype(np.float64) if m else np.zeros(n))
        self.scale_ = _safe_scale(scale, np.zeros_like(scale))
        return self

    def transform(self, X, copy: bool = True):
        if self.scale_ is None:
            raise ConfigError("this ScaleOnly is not fitted yet: call fit(X_train) first")
        inverse = (1.0 / self.scale_).astype(np.float32)
        if sparse.issparse(X):
            if X.shape[1] != len(self.scale_):
                raise DataError(f"X has {X.shape[1]} features; expected {len(self.scale_)}")
            out = X.tocsr().astype(np.float32, copy=copy)  # in place only for a float32 CSR X and copy=False
            out.data *= inverse[out.indices]
            return out
        X = check_features(X)
        check_n_features(X, len(self.scale_))
        return X * inverse

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def describe(self) -> str:
        """One line for the data summary: what was done to X and why."""
        what = "divided by its training std" if self.basis == "standard" else "divided by its largest |x|"
        like = "StandardScaler(with_mean=False)" if self.basis == "standard" else "MaxAbsScaler"
        return (f"normalize {self.basis} on sparse X: each feature {what}, not centred (as scikit-learn's {like}): "
                "subtracting a mean would turn every stored zero into a value and X dense")

    def to_dict(self) -> dict:
        if self.scale_ is None:
            raise ConfigError("this ScaleOnly is not fitted yet: call fit(X_train) first")
        return {"type": self.kind, "basis": self.basis, "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict):
        if not isinstance(d, dict) or d.get("type") != cls.kind:
            raise DataError(f"not a saved 'scale' scaler: {str(d)[:80]}")
        try:
            scaler = cls(d.get("basis", "standard"))
            scale = np.asarray(d["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise DataError(f"saved 'scale' scaler is malformed ({exc})") from None
        if scale.ndim != 1 or not (np.isfinite(scale).all() and (scale > 0).all()):
            raise DataError("saved 'scale' scaler is malformed (scale must be a list of finite values > 0)")
        scaler.scale_ = scale
        return scaler

    def __repr__(self) -> str:
        fitted = f"fitted on {len(self.scale_)} features" if self.scale_ is not None else "not fitted"
        return f"ScaleOnly({self.basis!r}, {fitted})"


SCALERS = {cls.kind: cls for cls in (Standardizer, MinMaxScaler, NoScaling)}
#: every saved scaler type, ScaleOnly included (it is chosen for sparse X, not by name)
SAVED_SCALERS = {**SCALERS, ScaleOnly.kind: ScaleOnly}


def make_scaler(name: str | None):
    """A new, unfitted scaler: ``"standard"``, ``"minmax"`` or ``"none"`` (None means "none")."""
    key = "none" if name is None else str(name).lower()
    if key not in SCALERS:
        raise ConfigError(f"unknown scaler {name!r}; expected one of {', '.join(SCALERS)}")
    return SCALERS[key]()


def scaler_from_dict(d: dict):
    """Rebuild a fitted scaler from any scaler's ``to_dict()`` output."""
    kind = d.get("type") if isinstance(d, dict) else None
    if kind not in SAVED_SCALERS:
        raise DataError(f"unknown saved scaler type {kind!r}; expected one of {', '.join(SAVED_SCALERS)}")
    return SAVED_SCALERS[kind].from_dict(d)


def sparse_scaler(name: str | None):
    """The scaler for a scipy.sparse ``X``: :class:`ScaleOnly` for standard/minmax, NoScaling for none."""
    key = "none" if name is None else str(name).lower()
    if key not in SCALERS:
        raise ConfigError(f"unknown scaler {name!r}; expected one of {', '.join(SCALERS)}")
    return NoScaling() if key == "none" else ScaleOnly(key)
