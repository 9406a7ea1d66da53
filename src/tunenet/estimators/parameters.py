"""The estimators' parameters: scikit-learn-style constraint table, name maps and shared docstrings.

:data:`PARAMETER_CONSTRAINTS` is the one declarative table scikit-learn's
``_fit_context`` validates every parameter against (scikit-learn's error
types and messages); what it cannot say (hidden sizes, per-layer keep_prob,
conflicting schedules) is checked in ``_BaseMLP._check_params``.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from ..errors import TunenetError
from ..nn.init import INITIALIZERS, get_initializer
from ..optim import OPTIMIZERS, make_schedule

OUT_ACTIVATION = {"binary": "logistic", "multilabel": "logistic", "multiclass": "softmax", "regression": "identity"}
ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "linear": "linear", "sigmoid": "sigmoid", "leaky_relu": "leaky_relu"}


class Parsed(Options):
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


PARAMETER_CONSTRAINTS: dict = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "explosion": [None, Interval(Real, 1, None, closed="neither")],
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
    "init": [StrOptions(set(INITIALIZERS)), Parsed(str, get_initializer, "a str 'normal:SCALE'")],
    "batchnorm": ["boolean", StrOptions({"before", "after"})],
    "keep_prob": [Interval(Real, 0, 1, closed="right"), "array-like"],
    "l1": [Interval(Real, 0, None, closed="left")],
    "lr_schedule": [None, Parsed((str, dict), lambda s: make_schedule(s, 1.0),
                                  "a tunenet schedule spec such as 'exponential:0.95'")],
    "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
    "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
    "human_error": [None, Interval(Real, 0, 1, closed="both")],
    "monitor_health": ["boolean", Interval(Integral, 1, None, closed="left")],
}

PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        Units in each hidden layer.
    activation : {'relu', 'tanh', 'logistic', 'identity', 'sigmoid', 'linear', 'leaky_relu'}, default='relu'
        Hidden activation; scikit-learn's 'logistic' is tunenet's 'sigmoid', 'identity' is 'linear'.
    solver : {'adam', 'sgd', 'lbfgs'}, default='adam'
        scikit-learn's optimisers, reproduced when ``optimizer`` is None: 'adam' is
        tunenet's Adam with ``beta_1, beta_2, epsilon`` (scikit-learn adds epsilon
        before the bias correction, tunenet after: the same unless epsilon matters); 'sgd' is
        scikit-learn's ``v = momentum*v - lr*g`` (Nesterov if ``nesterovs_momentum``),
        i.e. tunenet's momentum/nesterov with ``beta=momentum`` and
        ``lr = learning_rate_init / (1 - momentum)`` (plain SGD when ``momentum=0``).
        'lbfgs' is full-batch L-BFGS-B through scipy.optimize on the model's flat
        buffer (:func:`tunenet.optim.lbfgs.minimize_lbfgs`, in float64), bounded by
        ``max_iter`` iterations and ``max_fun`` evaluations, stopping at ``tol``
        on the projected gradient; no ``partial_fit`` (as scikit-learn).
    alpha : float, default=1e-4
        L2 penalty ``alpha/(2m) * sum ||W||_F^2`` per mini-batch of m samples
        (scikit-learn's and tunenet's ``l2`` convention alike; biases excluded;
        with sample weights ``m`` is their sum).
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
        Maximum number of epochs per ``fit`` (L-BFGS iterations with 'lbfgs').
    shuffle : bool, default=True
        Reshuffle the rows every epoch (from ``random_state``); False keeps their order.
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
    max_fun : int, default=15000
        Most loss-and-gradient evaluations of 'lbfgs'.
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
    explosion : float > 1 or None, default=None
        The divergence guard: training stops on a non-finite loss or gradient
        (a ValueError quoting ``learning_rate_init``; with ``early_stopping`` the
        best weights are kept and the epoch scores NaN). A number also stops on a
        loss ``explosion`` times the first step's (tunenet's trainer uses 100).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of the weights and of training.
    human_error : float in [0, 1] or None, default=None
        The error the task allows (a human's error, the label-noise rate; for the
        regressor in units of ``1 - R^2``): :meth:`diagnose` measures avoidable bias
        against it (None: against 0, a perfect model). Training does not use it.
    monitor_health : bool or int, default=False
        Record per-layer training health (:class:`tunenet.diagnose.HealthMonitor`)
        every 20 steps (True) or every N steps (an int) into ``health_``, so that
        :meth:`diagnose` can name vanishing or exploding gradients, dead or
        saturated units and slow layers. Off by default: the fit is not slowed.
"""

ATTRIBUTES_DOC = """
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
    health_ : tunenet.diagnose.HealthLog or None
        The per-layer health record with ``monitor_health``, else None.
"""
