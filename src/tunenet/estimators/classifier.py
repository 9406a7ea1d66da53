"""``MLPClassifier``: scikit-learn's MLP classifier on the tunenet engine."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ..nn.losses import Loss
from .base import _BaseMLP
from .parameters import ATTRIBUTES_DOC, PARAMETERS_DOC


class _MultilabelLogLoss(Loss):
    """Independent sigmoids + binary cross-entropy per label, as scikit-learn's multilabel MLP.

    ``J = (1/m) sum_i sum_j [max(z_ij, 0) - z_ij*y_ij + log(1 + exp(-|z_ij|))]``,
    ``dJ/dz = (sigmoid(z) - y) / m``; logits and labels ``(m, k)``.
    """

    name = "multilabel_log_loss"

    def data_loss(self, logits, y, sample_weight=None):
        if sample_weight is not None:
            return self.weighted(logits, y, sample_weight)
        m, z = logits.shape[0], logits
        y = np.asarray(y, dtype=logits.dtype)
        value = float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) / m)
        return value, (expit(z) - y) / logits.dtype.type(m)

    def predict_proba(self, logits):
        return expit(logits)

    def per_sample(self, logits, y):
        z, y = logits, np.asarray(y, dtype=logits.dtype)
        return np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=1), expit(z) - y

class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained by tunenet: a drop-in for scikit-learn's.

    Binary targets train one sigmoid unit with binary cross-entropy, multi-class
    targets a softmax with cross-entropy, multilabel indicator targets one
    sigmoid per label (as :class:`sklearn.neural_network.MLPClassifier`).
    {PARAMETERS_DOC}{ATTRIBUTES_DOC}
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from tunenet.estimators import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((64,), max_iter=30, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    def _output_layer(self) -> tuple[int, str]:
        if self._target == "binary":
            return 1, "sigmoid"
        return len(self.classes_), "softmax" if self._target == "multiclass" else "linear"

    def _loss(self):
        return _MultilabelLogLoss() if self._target == "multilabel" else None

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, dtype=self._input_dtype, reset=reset,
                             accept_sparse=["csr", "csc"])
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self.classes_ = unique_labels(y)
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental and set(classes) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the previous "
                                 f"call to fit. Previously got {self.classes_}, `y` has {classes}")
            if len(np.setdiff1d(classes, self.classes_)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        target = "multilabel" if y.ndim == 2 else "binary" if len(self.classes_) == 2 else "multiclass"
        if not reset and getattr(self, "_target", target) != target:
            raise ValueError(f"y is a {target} target; the model was fitted on a {self._target} one")
        self._target = target
        if target == "multilabel":
            return X, y.astype(np.int8)
        return X, np.searchsorted(self.classes_, y).astype(np.int64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` for up to ``max_iter`` epochs (or L-BFGS iterations).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs (scipy.sparse CSR/CSC stays sparse in the first layer).
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or a multilabel indicator matrix. One class is allowed
            (every prediction is then that class).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights: each loss is their weighted mean.

        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(lambda est: not est._lbfgs)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels (a subset of ``classes``).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call only.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        if _check_partial_fit_first_call(self, classes) and np.ndim(y) == 2 and np.shape(y)[1] > 1:
            self.classes_ = unique_labels(y)  # multilabel: the indicator's columns are the classes
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _predict_index(self, logits: np.ndarray) -> np.ndarray:
        proba = self._proba(logits)
        if self._target == "multilabel":
            return (proba > 0.5).astype(np.int64)
        return np.minimum(proba.argmax(axis=1), len(self.classes_) - 1)  # one class: always index 0

    def _proba(self, logits: np.ndarray) -> np.ndarray:
        if self._target == "binary":
            p = expit(logits[:, 0])
            return np.stack([1 - p, p], axis=1)
        return expit(logits) if self._target == "multilabel" else softmax(logits, axis=1)

    def _encoded_score(self, X, y, sample_weight=None) -> float:
        pred = self._predict_index(self._forward(X))
        return float(np.average(np.all(pred == y, axis=1) if pred.ndim == 2 else pred == y, weights=sample_weight))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels from ``classes_`` (an indicator matrix for multilabel targets).
        """
        index = self._predict_index(self._logits(X))
        return index if self._target == "multilabel" else self.classes_[index]

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` order, in ``dtype``.
        """
        return self._proba(self._logits(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags
