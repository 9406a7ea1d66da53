"""``MLPRegressor``: scikit-learn's MLP regressor on the tunenet engine."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import column_or_1d, validate_data

from ..nn.losses import PoissonDeviance
from .base import _BaseMLP
from .parameters import ATTRIBUTES_DOC, PARAMETERS_DOC


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained by tunenet: a drop-in for scikit-learn's.

    A linear output layer trained on half the squared error,
    ``J = 1/(2m) * sum_i ||f(x_i) - y_i||^2`` (plus the penalties), one or several targets;
    or, with ``loss='poisson'``, predictions ``exp(z)`` trained on half the Poisson deviance
    (:class:`tunenet.nn.losses.PoissonDeviance`), as scikit-learn's.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson'}}, default='squared_error'
        The training loss; 'poisson' needs targets >= 0 and predicts ``exp`` of the output unit.
    {PARAMETERS_DOC.split("----------", 1)[1].strip()}
{ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from tunenet.estimators import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)
    >>> reg.fit(X, X[:, 0] ** 2).predict(X[:3]).shape
    (3,)
    """

    _target = "regression"
    _parameter_constraints: dict = {**_BaseMLP._parameter_constraints,
                                    "loss": [StrOptions({"squared_error", "poisson"})]}

    # scikit-learn's MLPRegressor takes ``loss`` first
    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, optimizer=None, beta=0.9,
                 weight_decay=0.01, init="glorot", batchnorm=False, keep_prob=1.0, l1=0.0, lr_schedule=None,
                 clip_norm=None, explosion=None, dtype="float32", human_error=None, monitor_health=False):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, optimizer=optimizer, beta=beta,
            weight_decay=weight_decay, init=init,
            batchnorm=batchnorm, keep_prob=keep_prob, l1=l1, lr_schedule=lr_schedule, clip_norm=clip_norm,
            explosion=explosion, dtype=dtype, human_error=human_error, monitor_health=monitor_health)
        self.loss = loss

    def _output_layer(self) -> tuple[int, str]:
        return self._n_targets, "linear"

    def _loss(self):
        return PoissonDeviance() if self.loss == "poisson" else None

    def _output(self, out: np.ndarray) -> np.ndarray:
        """Predictions from the output units: ``exp(z)`` for the Poisson loss, ``z`` otherwise."""
        return np.exp(out) if self.loss == "poisson" else out

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=self._input_dtype,
                             reset=reset, accept_sparse=["csr", "csc"])
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if not reset and hasattr(self, "n_outputs_") and n_targets != self.n_outputs_:
            raise ValueError(f"y has {n_targets} targets; the model was fitted with {self.n_outputs_}")
        self._n_targets = n_targets
        return X, y.astype(self._input_dtype, copy=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` for up to ``max_iter`` epochs (or L-BFGS iterations).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs (scipy.sparse CSR/CSC stays sparse in the first layer).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights: the loss is their weighted mean.

        Returns
        -------
        self : MLPRegressor
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(lambda est: not est._lbfgs)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _encoded_score(self, X, y, sample_weight=None) -> float:
        return float(r2_score(y, self._output(self._forward(X)).reshape(y.shape), sample_weight=sample_weight))

    def predict(self, X):
        """Predicted values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, in ``dtype`` (one column is returned as a 1-D array).
        """
        out = self._output(self._logits(X))
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags
