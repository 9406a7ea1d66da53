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

import math
import os
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from threadpoolctl import threadpool_info

from .errors import CheckpointError, TunenetError
from .nn import io as nn_io
from .nn.init import INITIALIZERS, get_initializer
from .nn.layers import Dense
from .nn.losses import Loss
from .nn.model import Sequential, mlp
from .optim import OPTIMIZERS, Clip, make_optimizer, make_schedule
from .train import Callback, History, Trainer

__all__ = ["MLPClassifier", "MLPRegressor", "SklearnStopping", "load_estimator"]

ESTIMATOR_FORMAT_VERSION = 1
_OUT_ACTIVATION = {"binary": "logistic", "multilabel": "logistic", "multiclass": "softmax", "regression": "identity"}
_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "linear": "linear", "sigmoid": "sigmoid", "leaky_relu": "leaky_relu"}


class _Parsed(Options):
    """A value that one of tunenet's parsers accepts (``"normal:0.5"``, ``"exponential:0.95"``)."""

    def __init__(self, types, parse, description: str) -> None:
        super().__init__(types, set())
        self.parse, self.description = parse, description

    def is_satisfied_by(self, val) -> bool:
        if not isinstance(val, self.type):
            return False
        try:
            self.parse(val)
        except (TunenetError, TypeError, ValueError):
            return False
        return True

    def __str__(self) -> str:
        return self.description


class _MultilabelLogLoss(Loss):
    """Independent sigmoids + binary cross-entropy per label, as scikit-learn's multilabel MLP.

    ``J = (1/m) sum_i sum_j [max(z_ij, 0) - z_ij*y_ij + log(1 + exp(-|z_ij|))]``,
    ``dJ/dz = (sigmoid(z) - y) / m``; logits and labels ``(m, k)``.
    """

    name = "multilabel_log_loss"

    def data_loss(self, logits, y):
        m, z = logits.shape[0], logits
        y = np.asarray(y, dtype=logits.dtype)
        value = float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) / m)
        return value, (expit(z) - y) / logits.dtype.type(m)

    def predict_proba(self, logits):
        return expit(logits)


def _blas_threads() -> int:
    """The BLAS thread count in force now, so that an enclosing ``threadpool_limits`` is respected."""
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return min(counts) if counts else (os.cpu_count() or 1)


def _seeds(random_state, n: int) -> list[int]:
    """``n`` independent integer seeds from ``random_state`` (int, RandomState or None).

    None draws fresh entropy from the OS; NumPy's global random state is never used.
    """
    if isinstance(random_state, np.random.RandomState):
        entropy = int(random_state.randint(np.iinfo(np.int32).max))
    else:
        entropy = None if random_state is None else int(random_state)
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(entropy).spawn(n)]


def _json_value(value):
    """A parameter value as JSON (tuples -> lists, NumPy scalars and types -> Python; None if impossible)."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (Integral, np.integer)):
        return int(value)
    if isinstance(value, (Real, np.floating)):
        return float(value)
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return None  # e.g. a RandomState instance: not representable, saved as None


class SklearnStopping(Callback):
    """scikit-learn's MLP bookkeeping, stopping rule and ``learning_rate`` as a tunenet callback.

    After each epoch (one of scikit-learn's iterations) on ``n`` training samples:

    - ``loss_ = sum_b m_b * J_b / n`` with ``J_b`` the cost of mini-batch ``b``
      (``m_b`` samples, penalty included) before its update; appended to ``loss_curve_``;
    - without ``early_stopping``: ``count += 1`` if ``loss_ > best_loss_ - tol``
      else ``count = 0``; ``best_loss_ = min(best_loss_, loss_)``;
    - with ``early_stopping``: ``score`` = accuracy (classifier) or R^2 (regressor)
      on the held-out ``(X_val, y_val)``, appended to ``validation_scores_``;
      ``count += 1`` if ``score < best_validation_score_ + tol`` else ``count = 0``;
      a new best score keeps a copy of the weights, restored when training ends;
    - when ``count > n_iter_no_change``: with ``learning_rate="adaptive"`` the
      learning rate is divided by 5 (training stops once it is <= 1e-6),
      otherwise training stops.

    With ``learning_rate="invscaling"`` each epoch runs at
    ``learning_rate_init / (t_ + 1)**power_t``, ``t_`` the samples seen so far.
    Both act through ``trainer.lr_factor``.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        Receives the fitted attributes (``loss_curve_``, ``n_iter_``, ...).
    X_val, y_val : ndarray or None
        Held-out data for ``early_stopping`` (encoded targets).
    """

    def __init__(self, estimator, X_val=None, y_val=None) -> None:
        self.estimator, self.X_val, self.y_val = estimator, X_val, y_val
        self.n_samples, self.batch_size = 1, 1
        self.stopped = False

    def on_train_begin(self, trainer):
        self.stopped = False

    def on_epoch_begin(self, trainer):
        self._sum, self._step = 0.0, 0
        est = self.estimator
        if est._sklearn_schedule == "invscaling":
            trainer.lr_factor = 1.0 / (est.t_ + 1) ** est.power_t

    def on_step_end(self, trainer, loss):
        m = min(self.batch_size, self.n_samples - self._step * self.batch_size)
        self._sum += loss * m
        self._step += 1

    def on_epoch_end(self, trainer, logs):
        est = self.estimator
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = self._sum / self.n_samples
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        if self.X_val is not None:
            score = est._encoded_score(self.X_val, self.y_val)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            est._no_improvement_count = est._no_improvement_count + 1 if (
                score < est.best_validation_score_ + est.tol) else 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best = (trainer.model.flat_values.copy(), {k: v.copy() for k, v in trainer.model.state().items()})
            what = "Validation score"
        else:
            est._no_improvement_count = est._no_improvement_count + 1 if (
                est.loss_ > est.best_loss_ - est.tol) else 0
            est.best_loss_ = min(est.best_loss_, est.loss_)
            what = "Training loss"
        if est._no_improvement_count > est.n_iter_no_change:
            msg = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            lr = est.learning_rate_init * trainer.lr_factor
            if est._sklearn_schedule == "adaptive" and lr > 1e-6:
                trainer.lr_factor /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{msg} Setting learning rate to {lr / 5.0:f}")
            else:
                trainer.stop_training = self.stopped = True
                if est.verbose:
                    print(f"{msg} Stopping.")

    def on_train_end(self, trainer):
        if self.X_val is not None and self.estimator._best is not None:
            values, state = self.estimator._best
            trainer.model.flat_values[...] = values
            trainer.model.load_state(state)


_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        Units in each hidden layer.
    activation : {'relu', 'tanh', 'logistic', 'identity', 'sigmoid', 'linear', 'leaky_relu'}, default='relu'
        Hidden activation; scikit-learn's 'logistic' is tunenet's 'sigmoid', 'identity' is 'linear'.
    solver : {'adam', 'sgd'}, default='adam'
        scikit-learn's optimisers, reproduced when ``optimizer`` is None: 'adam' is
        tunenet's Adam with ``beta_1, beta_2, epsilon`` (scikit-learn adds epsilon
        before the bias correction, tunenet after: the same unless epsilon matters); 'sgd' is
        scikit-learn's ``v = momentum*v - lr*g`` (Nesterov if ``nesterovs_momentum``),
        i.e. tunenet's momentum/nesterov with ``beta=momentum`` and
        ``lr = learning_rate_init / (1 - momentum)`` (plain SGD when ``momentum=0``).
        scikit-learn's 'lbfgs' is not offered.
    alpha : float, default=1e-4
        L2 penalty ``alpha/(2m) * sum ||W||_F^2`` per mini-batch of m samples
        (scikit-learn's and tunenet's ``l2`` convention alike; biases excluded).
    batch_size : int or 'auto', default='auto'
        Mini-batch size; 'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        scikit-learn's schedule, used only with ``solver='sgd'`` and ``optimizer=None``
        (as in scikit-learn); see :class:`SklearnStopping`. Use ``lr_schedule`` otherwise.
    learning_rate_init : float, default=1e-3
        Initial learning rate (tunenet's ``lr``).
    power_t : float, default=0.5
        Exponent of ``learning_rate='invscaling'``.
    max_iter : int, default=200
        Maximum number of epochs per ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the early-stopping split
        (None: fresh OS entropy; NumPy's global state is never used).
    tol : float, default=1e-4
        Minimum improvement of the training loss (or validation score) that resets
        the ``n_iter_no_change`` count.
    verbose : bool, default=False
        Print the loss (and validation score) after each epoch.
    warm_start : bool, default=False
        ``fit`` continues from the current weights (with a new optimiser, as scikit-learn).
    momentum : float, default=0.9
        scikit-learn's momentum for ``solver='sgd'``, in [0, 1).
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver='sgd'``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when its score stalls and restore the best weights.
    validation_fraction : float, default=0.1
        Fraction held out with ``early_stopping``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's (and AdamW's) ``beta1`` and ``beta2``, in [0, 1).
    epsilon : float, default=1e-8
        Adam's, AdamW's and RMSprop's ``eps``.
    n_iter_no_change : int or inf, default=10
        Epochs without ``tol`` improvement tolerated before stopping.
    optimizer : {'sgd', 'momentum', 'nesterov', 'rmsprop', 'adam', 'adamw'} or None, default=None
        A tunenet optimiser with tunenet's conventions (see ``docs/optimizers.md``);
        when given it replaces ``solver`` and ``learning_rate_init`` is its ``lr`` as is.
    beta : float, default=0.9
        tunenet's ``beta`` for ``optimizer`` 'momentum', 'nesterov' and 'rmsprop'.
    weight_decay : float, default=0.01
        AdamW's decoupled weight decay.
    init : str, default='glorot'
        Weight initialisation: 'glorot' (Var = 2/(n_in+n_out), scikit-learn's
        variance), 'he', 'xavier', 'random', 'large', 'zeros' or 'normal:SCALE';
        biases start at zero.
    batchnorm : bool or {'before', 'after'}, default=False
        Batch normalisation in every hidden layer, before (True) or after the activation.
    keep_prob : float or array-like of float, default=1.0
        Inverted-dropout keep probability after each hidden layer, in (0, 1].
    l1 : float, default=0.0
        L1 penalty ``l1/m * sum |W|`` per mini-batch.
    lr_schedule : str, dict or None, default=None
        A tunenet schedule spec such as ``'exponential:0.95'`` or ``'staircase:0.5:10'``
        (a function of the epoch, see ``tunenet.optim.make_schedule``).
    clip_norm : float or None, default=None
        Clip the gradient to this global norm before each step.
    dtype : {'float32', 'float64'}, default='float32'
        Precision of the weights and of training.
"""

_ATTRIBUTES = """
    Attributes
    ----------
    loss_ : float
        Training loss (with penalty) of the last epoch.
    best_loss_ : float or None
        Lowest training loss; None with ``early_stopping``.
    loss_curve_ : list of float
        Training loss of every epoch.
    validation_scores_ : list of float or None
        Held-out score of every epoch with ``early_stopping``, else None.
    best_validation_score_ : float or None
        Best held-out score with ``early_stopping``, else None.
    t_ : int
        Training samples seen.
    coefs_ : list of ndarray of shape (n_in, n_out)
        Weight matrix of each Dense layer (live views into ``model_``).
    intercepts_ : list of ndarray of shape (n_out,)
        Bias of each Dense layer (zeros where batch norm's beta replaces it).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when X has string column names.
    n_iter_ : int
        Epochs run by the last ``fit`` (1 after ``partial_fit``).
    n_layers_ : int
        Number of layers (input, hidden, output).
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        'softmax', 'logistic' or 'identity'.
    model_ : tunenet.Sequential
        The trained network, usable with tunenet's diagnostics.
    history_ : tunenet.train.History
        tunenet's per-epoch history of the last training call.
"""


class _BaseMLP(BaseEstimator):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "solver": [StrOptions({"adam", "sgd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "optimizer": [None, StrOptions(set(OPTIMIZERS))],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions(set(INITIALIZERS)), _Parsed(str, get_initializer, "a str 'normal:SCALE'")],
        "batchnorm": ["boolean", StrOptions({"before", "after"})],
        "keep_prob": [Interval(Real, 0, 1, closed="right"), "array-like"],
        "l1": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [None, _Parsed((str, dict), lambda s: make_schedule(s, 1.0),
                                      "a tunenet schedule spec such as 'exponential:0.95'")],
        "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
        "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5, max_iter=200,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, optimizer=None, beta=0.9, weight_decay=0.01, init="glorot",
                 batchnorm=False, keep_prob=1.0, l1=0.0, lr_schedule=None, clip_norm=None, dtype="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.optimizer = optimizer
        self.beta = beta
        self.weight_decay = weight_decay
        self.init = init
        self.batchnorm = batchnorm
        self.keep_prob = keep_prob
        self.l1 = l1
        self.lr_schedule = lr_schedule
        self.clip_norm = clip_norm
        self.dtype = dtype

    # -- fitting ------------------------------------------------------------
    def _fit(self, X, y, incremental: bool):
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        hidden = self._check_params()
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        init_seed, train_seed, split_seed = _seeds(self.random_state, 3)
        if first_pass:
            self._initialize(X.shape[1], hidden, init_seed)
        elif self.early_stopping == (self.validation_scores_ is None):  # warm start that switched early_stopping
            self._reset_stopping()
        stopper = self._trainer.callbacks[0] if incremental and hasattr(self, "_trainer") else None
        X_val = y_val = None
        if self.early_stopping:
            stratify = y if self._target in ("binary", "multiclass") else None
            X, X_val, y, y_val = train_test_split(X, y, test_size=self.validation_fraction,
                                                  random_state=split_seed, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
        n = X.shape[0]
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                              stacklevel=3)
            batch = int(np.clip(self.batch_size, 1, n))
        if stopper is None:
            stopper = SklearnStopping(self, X_val, y_val)
            self._trainer = self._make_trainer(batch, train_seed, stopper)
            # the divergence guard compares losses with the untrained network's first one, not with
            # the (much smaller) first loss of a warm-started or resumed run
            self._trainer.first_loss = self._first_loss
        self._trainer.epochs = self._trainer.epoch + (1 if incremental else self.max_iter)
        self._trainer.batch_size, self._trainer.threads = batch, _blas_threads()
        stopper.n_samples, stopper.batch_size = n, batch
        self.n_iter_ = 0
        self._trainer.history = self.history_ = History()
        self._trainer.fit(X, y)
        self._first_loss = self._trainer.first_loss
        if not incremental and not stopper.stopped and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        return self

    def _check_params(self) -> list[int]:
        """What the constraint table cannot say; returns the hidden layer sizes."""
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(isinstance(h, bool) or not isinstance(h, (Integral, np.integer)) or h < 1 for h in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        keep = self.keep_prob
        if not isinstance(keep, Real):
            keep = list(keep)
            if len(keep) != len(sizes) or not all(isinstance(k, Real) and 0 < k <= 1 for k in keep):
                raise ValueError(f"keep_prob must be one number in (0, 1] or one per hidden layer "
                                 f"({len(sizes)}), got {self.keep_prob!r}")
        if self.lr_schedule is not None and self._sklearn_schedule != "constant":
            raise ValueError(f"learning_rate={self.learning_rate!r} and lr_schedule={self.lr_schedule!r} "
                             "both set the learning rate; use one of them")
        return [int(h) for h in sizes]

    @property
    def _sklearn_schedule(self) -> str:
        return self.learning_rate if self.optimizer is None and self.solver == "sgd" else "constant"

    def _initialize(self, n_features: int, hidden: list[int], seed: int) -> None:
        """Build a fresh network and reset every fitted attribute (a first fit)."""
        n_out, output = self._output_layer()
        keep = self.keep_prob if isinstance(self.keep_prob, Real) else [float(k) for k in self.keep_prob]
        self.model_ = mlp(n_features, hidden, n_out, activation=_ACTIVATIONS[self.activation], init=self.init,
                          batchnorm=self.batchnorm, keep_prob=keep, output=output,
                          rng=np.random.default_rng(seed), dtype=np.dtype(self.dtype))
        self.n_outputs_, self.n_layers_ = n_out, len(hidden) + 2
        self.out_activation_ = _OUT_ACTIVATION[self._target]
        self.n_iter_, self.t_, self.loss_, self.loss_curve_ = 0, 0, math.nan, []
        self._first_loss = None
        self._reset_stopping()
        if hasattr(self, "_trainer"):
            del self._trainer

    def _reset_stopping(self) -> None:
        """Fresh stopping-rule bookkeeping, for the current ``early_stopping`` setting."""
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
            self._best = (self.model_.flat_values.copy(), {k: v.copy() for k, v in self.model_.state().items()})
        else:
            self.validation_scores_ = self.best_validation_score_ = self._best = None
            self.best_loss_ = np.inf

    def _make_trainer(self, batch: int, seed: int, stopper: SklearnStopping) -> Trainer:
        model, lr = self.model_, float(self.learning_rate_init)
        name, kwargs = self.optimizer, {}
        if name is None and self.solver == "adam":
            name = "adam"
        elif name is None:  # scikit-learn's SGD: v = mu*v - lr*g  ==  tunenet's EWA momentum at lr/(1-mu)
            name = "sgd" if self.momentum == 0 else ("nesterov" if self.nesterovs_momentum else "momentum")
            lr = lr / (1.0 - self.momentum)
            kwargs = {"beta": self.momentum} if self.momentum else {}
        elif name in ("momentum", "nesterov"):
            kwargs = {"beta": self.beta}
        elif name == "rmsprop":
            kwargs = {"beta": self.beta, "eps": self.epsilon}
        if name in ("adam", "adamw"):
            kwargs = {"beta1": self.beta_1, "beta2": self.beta_2, "eps": self.epsilon}
            if name == "adamw":
                kwargs["weight_decay"] = self.weight_decay
        optimizer = make_optimizer(name, model, lr, **kwargs)
        schedule = make_schedule(self.lr_schedule, lr) if self.lr_schedule is not None else None
        clip = Clip("norm", self.clip_norm) if self.clip_norm is not None else None
        return Trainer(model, optimizer, self._loss(), epochs=0, batch_size=batch, l2=float(self.alpha),
                       l1=float(self.l1), schedule=schedule, clip=clip, callbacks=[stopper], seed=seed)

    def _loss(self) -> Loss | None:
        return None

    # -- prediction ---------------------------------------------------------
    def _logits(self, X) -> np.ndarray:
        """Network outputs before the output activation, shape (n_samples, n_outputs_).

        Computed and returned in X's precision, float32 for float32 input and
        float64 otherwise (as scikit-learn's MLP), whatever ``dtype`` trained
        the weights: float64 outputs do not depend on how samples are batched.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self._forward(X)

    def _forward(self, X: np.ndarray, chunk: int = 4096) -> np.ndarray:
        model = self.model_
        if X.dtype != model.dtype:  # a twin in X's precision, rebuilt each call so it never goes stale
            twin = Sequential.from_config(model.config(), dtype=X.dtype)
            twin.flat_values[...] = model.flat_values
            twin.load_state(model.state())
            model = twin
        if X.shape[0] == 0:
            return np.empty((0, self.n_outputs_), X.dtype)
        return np.concatenate([model.forward(X[i:i + chunk], training=False) for i in range(0, X.shape[0], chunk)])

    @property
    def coefs_(self) -> list[np.ndarray]:
        return [layer.W.value for layer in self.model_.layers if isinstance(layer, Dense)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        return [layer.b.value if layer.b is not None else np.zeros(layer.n_out, layer.W.value.dtype)
                for layer in self.model_.layers if isinstance(layer, Dense)]

    def __setstate__(self, state):
        """Unpickling (and ``copy.deepcopy``): re-link the weights to the flat buffers the optimiser updates.

        Pickle stores each Parameter's value and gradient as its own array, not as
        a view into the model's flat buffers; without this, a ``partial_fit`` after
        unpickling would update buffers the layers no longer read. Arrays that
        arrive read-only (joblib memory-maps them) are copied so training can go on.
        """
        super().__setstate__(state)
        model = self.__dict__.get("model_")
        if model is None:
            return
        flat = model.flat
        flat.values, flat.grads = np.array(flat.values), np.zeros_like(flat.values)
        model.flat_values, model.flat_grads = flat.values, flat.grads
        for p in flat.params:
            part = slice(flat.offsets[p.name], flat.offsets[p.name] + p.size)
            p.value, p.grad = flat.values[part].reshape(p.shape), flat.grads[part].reshape(p.shape)
        for layer in model.layers:  # batch-norm running statistics
            for key, value in layer.state().items():
                setattr(layer, key, np.array(value))
        optimizer = getattr(self.__dict__.get("_trainer"), "optimizer", None)
        if optimizer is not None:
            optimizer.slots = {k: np.array(v) for k, v in optimizer.slots.items()}
            optimizer._work = [np.array(w) for w in optimizer._work]

    # -- safe persistence ---------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted estimator to ``path`` (safetensors + JSON metadata, no pickle).

        The weights, batch-norm statistics, parameters, classes, feature names
        and training curves are saved; the optimiser's state is not (a
        ``partial_fit`` after :meth:`load` starts a fresh optimiser).
        """
        check_is_fitted(self)
        meta = {"estimator": type(self).__name__, "estimator_format_version": ESTIMATOR_FORMAT_VERSION,
                "params": {k: _json_value(v) for k, v in self.get_params().items()},
                "n_features_in": int(self.n_features_in_), "target": self._target,
                "loss_curve": [float(v) for v in self.loss_curve_], "n_iter": int(self.n_iter_),
                "t": int(self.t_), "loss": float(self.loss_),
                "best_loss": None if self.best_loss_ is None else float(self.best_loss_),
                "validation_scores": None if self.validation_scores_ is None else
                [float(v) for v in self.validation_scores_],
                "best_validation_score": None if self.best_validation_score_ is None else
                float(self.best_validation_score_)}
        if hasattr(self, "feature_names_in_"):
            meta["feature_names_in"] = [str(v) for v in self.feature_names_in_]
        if hasattr(self, "classes_"):
            meta["classes"] = self.classes_.tolist()
            meta["classes_dtype"] = self.classes_.dtype.str
        nn_io.save(self.model_, path, metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read an estimator written by :meth:`save`; a CheckpointError if it is not one of ``cls``."""
        model = nn_io.load(path)
        meta = model.metadata
        name = meta.get("estimator")
        if meta.get("estimator_format_version") != ESTIMATOR_FORMAT_VERSION or name not in _ESTIMATORS:
            raise CheckpointError(f"{path}: not a saved tunenet estimator")
        if cls is not _BaseMLP and name != cls.__name__:
            raise CheckpointError(f"{path}: holds a {name}, not a {cls.__name__}")
        try:
            params = dict(meta["params"])
            if isinstance(params.get("hidden_layer_sizes"), list):
                params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
            est = _ESTIMATORS[name](**params)
            est.model_, est._target, est.n_features_in_ = model, meta["target"], int(meta["n_features_in"])
            if "feature_names_in" in meta:
                est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
            if "classes" in meta:
                dtype = np.dtype(meta["classes_dtype"])
                est.classes_ = np.asarray(meta["classes"], dtype=object if dtype.kind == "O" else dtype)
            est.n_outputs_ = model.n_out
            est.n_layers_ = sum(isinstance(layer, Dense) for layer in model.layers) + 1
            est.out_activation_ = _OUT_ACTIVATION[est._target]
            est.loss_curve_, est.n_iter_, est.t_ = list(meta["loss_curve"]), meta["n_iter"], meta["t"]
            est.loss_, est.best_loss_ = meta["loss"], meta["best_loss"]
            est.validation_scores_ = meta["validation_scores"]
            est.best_validation_score_ = meta["best_validation_score"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: malformed estimator metadata ({exc})") from None
        est._no_improvement_count, est._best, est._first_loss = 0, None, None
        return est


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained by tunenet: a drop-in for scikit-learn's.

    Binary targets train one sigmoid unit with binary cross-entropy, multi-class
    targets a softmax with cross-entropy, multilabel indicator targets one
    sigmoid per label (as :class:`sklearn.neural_network.MLPClassifier`).
    {_PARAMETERS}{_ATTRIBUTES}
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
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.dtype(self.dtype), reset=reset)
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
        if target != "multilabel" and len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, but the data "
                             f"contains only one class: {self.classes_[0]!r}")
        self._target = target
        if target == "multilabel":
            return X, y.astype(np.int8)
        return X, np.searchsorted(self.classes_, y).astype(np.int64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``X`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or a multilabel indicator matrix.

        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels (a subset of ``classes``).
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call only.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        if _check_partial_fit_first_call(self, classes) and np.ndim(y) == 2 and np.shape(y)[1] > 1:
            self.classes_ = unique_labels(y)  # multilabel: the indicator's columns are the classes
        return self._fit(X, y, incremental=True)

    def _predict_index(self, logits: np.ndarray) -> np.ndarray:
        proba = self._proba(logits)
        return (proba > 0.5).astype(np.int64) if self._target == "multilabel" else proba.argmax(axis=1)

    def _proba(self, logits: np.ndarray) -> np.ndarray:
        if self._target == "binary":
            p = expit(logits[:, 0])
            return np.stack([1 - p, p], axis=1)
        return expit(logits) if self._target == "multilabel" else softmax(logits, axis=1)

    def _encoded_score(self, X, y) -> float:
        pred = self._predict_index(self._forward(X))
        return float(np.mean(np.all(pred == y, axis=1) if pred.ndim == 2 else pred == y))

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
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained by tunenet: a drop-in for scikit-learn's.

    A linear output layer trained on half the squared error,
    ``J = 1/(2m) * sum_i ||f(x_i) - y_i||^2`` (plus the penalties), one or several targets.

    Parameters
    ----------
    loss : {{'squared_error'}}, default='squared_error'
        scikit-learn's first parameter; its 'poisson' loss is not offered.
    {_PARAMETERS.split("----------", 1)[1].strip()}
{_ATTRIBUTES}
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
    _parameter_constraints: dict = {**_BaseMLP._parameter_constraints, "loss": [StrOptions({"squared_error"})]}

    # scikit-learn's MLPRegressor takes ``loss`` first; only its default, "squared_error", is offered
    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, optimizer=None, beta=0.9, weight_decay=0.01, init="glorot",
                 batchnorm=False, keep_prob=1.0, l1=0.0, lr_schedule=None, clip_norm=None, dtype="float32"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, optimizer=optimizer, beta=beta, weight_decay=weight_decay, init=init,
            batchnorm=batchnorm, keep_prob=keep_prob, l1=l1, lr_schedule=lr_schedule, clip_norm=clip_norm,
            dtype=dtype)
        self.loss = loss

    def _output_layer(self) -> tuple[int, str]:
        return self._n_targets, "linear"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.dtype(self.dtype),
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if not reset and hasattr(self, "n_outputs_") and n_targets != self.n_outputs_:
            raise ValueError(f"y has {n_targets} targets; the model was fitted with {self.n_outputs_}")
        self._n_targets = n_targets
        return X, y.astype(np.dtype(self.dtype), copy=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``X`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        Returns
        -------
        self : MLPRegressor
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """One epoch over ``(X, y)``, continuing from the current weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, incremental=True)

    def _encoded_score(self, X, y) -> float:
        return float(r2_score(y, self._forward(X).reshape(y.shape)))

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
        out = self._logits(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


_ESTIMATORS = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def load_estimator(path: str | os.PathLike) -> MLPClassifier | MLPRegressor:
    """Read a classifier or regressor written by ``save`` (whichever the file holds)."""
    return _BaseMLP.load(path)
