"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` on the tunenet engine.

Drop-in replacements for :class:`sklearn.neural_network.MLPClassifier` and
:class:`~sklearn.neural_network.MLPRegressor` (same parameter names where the
meaning is the same, same fitted attributes, same stopping rule) with what
scikit-learn's MLP does not offer: tunenet's optimisers (momentum, Nesterov,
RMSprop, Adam, AdamW), initialisations, batch norm, dropout, L1, learning-rate
schedules, gradient clipping and float32 training::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tunenet.estimators import MLPClassifier

    clf = make_pipeline(StandardScaler(), MLPClassifier((128,), optimizer="rmsprop", keep_prob=0.8))
    clf.fit(X_train, y_train).score(X_test, y_test)

Regularisation. scikit-learn's cost on a mini-batch of ``m`` samples is
``J = data_loss + alpha/(2m) * sum_l ||W_l||_F^2`` (``_backprop`` adds
``0.5 * alpha * ||W||^2 / m``; the gradient gets ``alpha/m * W``), which is
tunenet's L2 convention ``l2/(2m) * sum_l ||W_l||_F^2`` with ``l2 = alpha``:
the two are the same function of the weights, biases excluded in both.

Training runs through :class:`tunenet.train.Trainer`; scikit-learn's
stopping rule (``tol``/``n_iter_no_change`` on the training loss, or on the
validation score with ``early_stopping``) and its ``learning_rate`` options
are a tunenet :class:`~tunenet.train.Callback`, :class:`SklearnStopping`.
``save``/``load`` write a safetensors file through :mod:`tunenet.nn.io`,
with the estimator's parameters and classes in its JSON metadata (no pickle).
"""

from __future__ import annotations

import os

from .base import _BaseMLP
from .classifier import MLPClassifier
from .regressor import MLPRegressor
from .stopping import SklearnStopping

__all__ = ["MLPClassifier", "MLPRegressor", "SklearnStopping", "load_estimator"]


def load_estimator(path: str | os.PathLike) -> MLPClassifier | MLPRegressor:
    """Read a classifier or regressor written by ``save`` (whichever the file holds)."""
    return _BaseMLP.load(path)
