"""What MLPClassifier and MLPRegressor share: fitting through tunenet's Trainer, prediction, persistence."""

from __future__ import annotations

import math
import os
import warnings
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_info, threadpool_limits

from ..cores import available_cores
from ..errors import CheckpointError, DivergenceError
from ..nn import io as nn_io
from ..nn.layers import Dense
from ..nn.losses import Loss
from ..nn.model import INFERENCE_ROWS, Sequential, mlp
from ..optim import Clip, make_optimizer, make_schedule
from ..train import History, Trainer
from .parameters import ACTIVATIONS, OUT_ACTIVATION, PARAMETER_CONSTRAINTS
from .stopping import SklearnStopping

ESTIMATOR_FORMAT_VERSION = 1

#: a float32 estimator's training step of at most this many ``batch rows * parameters`` computes in float64
#: (:meth:`tunenet.nn.Sequential.loss_and_grads`), so that a row of weight k trains exactly as k copies of it
#: (scikit-learn's sample-weight equivalence checks). Measured in docs/estimators.md: at most ~1.4x the float32
#: step's CPU time below this size, a few tens of microseconds; larger steps stay float32.
FLOAT64_STEP_LIMIT = 250_000

def _blas_threads() -> int:
    """The BLAS thread count in force now, so that an enclosing ``threadpool_limits`` is respected.

    A BLAS loaded with a sequential threading layer (MKL as :mod:`tunenet.blas` loads it) always reports one
    thread whatever the limit, so it does not count.
    """
    counts = [i["num_threads"] for i in threadpool_info()
              if i.get("user_api") == "blas" and i.get("threading_layer") != "sequential"]
    return min(counts) if counts else available_cores()


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

class _BaseMLP(BaseEstimator):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`."""
    _parameter_constraints: dict = PARAMETER_CONSTRAINTS
    #: estimator classes by name, for :meth:`load` (filled as subclasses are defined)
    _registry: dict[str, type] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _BaseMLP._registry.setdefault(cls.__name__, cls)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, optimizer=None, beta=0.9, weight_decay=0.01,
                 init="glorot", batchnorm=False, keep_prob=1.0, l1=0.0, lr_schedule=None, clip_norm=None,
                 explosion=None, dtype="float32", human_error=None, monitor_health=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
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
        self.max_fun = max_fun
        self.optimizer = optimizer
        self.beta = beta
        self.weight_decay = weight_decay
        self.init = init
        self.batchnorm = batchnorm
        self.keep_prob = keep_prob
        self.l1 = l1
        self.lr_schedule = lr_schedule
        self.clip_norm = clip_norm
        self.explosion = explosion
        self.dtype = dtype
        self.human_error = human_error
        self.monitor_health = monitor_health

    # -- fitting ------------------------------------------------------------
    def _fit(self, X, y, incremental: bool, sample_weight=None):
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        hidden = self._check_params()
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if np.all(sample_weight == 1):  # unit weights: the unweighted computation, bit for bit
                sample_weight = None
        if self._target == "regression":  # for diagnose's train 1 - R^2 = 2 J / sum_j Var(y_j); O(n), no copy
            self._target_variance = float(np.sum(np.average(
                (y - np.average(y, axis=0, weights=sample_weight)) ** 2, axis=0, weights=sample_weight)))
        init_seed, train_seed, split_seed = _seeds(self.random_state, 3)
        if first_pass:
            self._initialize(X.shape[1], hidden, init_seed)
        elif self.early_stopping == (self.validation_scores_ is None):  # warm start that switched early_stopping
            self._reset_stopping()
        if self._lbfgs:
            return self._fit_lbfgs(X, y, sample_weight)
        stopper = self._trainer.callbacks[0] if incremental and hasattr(self, "_trainer") else None
        X_val = y_val = w_val = None
        if self.early_stopping:
            X, X_val, y, y_val, sample_weight, w_val = self._validation_split(X, y, sample_weight, split_seed)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                              stacklevel=3)
            batch = int(np.clip(self.batch_size, 1, n))
        if stopper is None:
            stopper = SklearnStopping(self, X_val, y_val, w_val)
            self._trainer = self._make_trainer(batch, train_seed, stopper)
            # the divergence guard compares losses with the untrained network's first one, not with
            # the (much smaller) first loss of a warm-started or resumed run
            self._trainer.first_loss = self._first_loss
        self._monitor_health()
        self._trainer.epochs = self._trainer.epoch + (1 if incremental else self.max_iter)
        self._trainer.batch_size, self._trainer.threads = batch, _blas_threads()
        self._trainer.shuffle, self._trainer.explosion = bool(self.shuffle), self.explosion
        stopper.n_samples, stopper.batch_size = n, batch
        self.n_iter_ = 0
        self._trainer.history = self.history_ = History()
        try:
            self._trainer.fit(X, y, sample_weight=sample_weight)
        except DivergenceError as exc:
            self._diverged(exc, stopper)
        self._first_loss = self._trainer.first_loss
        if not incremental and not stopper.stopped and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        return self

    def _monitor_health(self) -> None:
        """Put a HealthMonitor among the trainer's callbacks when ``monitor_health`` asks (else none)."""
        callbacks = self._trainer.callbacks
        every = 20 if self.monitor_health is True else int(self.monitor_health or 0)
        current = next((cb for cb in callbacks if type(cb).__name__ == "HealthMonitor"), None)
        if current is not None and current.every != every:
            callbacks.remove(current)
            current = None
        if every and current is None:
            from ..diagnose.health import HealthMonitor  # only when asked: the default fit imports nothing more

            current = HealthMonitor(every=every)
            callbacks.append(current)
        self.health_ = current.log if current is not None else None

    def diagnose(self, X=None, y=None) -> list:
        """The doctor's findings for the fitted estimator, errors first (:mod:`tunenet.estimators.doctor`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
            Held-out inputs for the dev error; None uses ``early_stopping``'s
            validation split when there is one (else no bias/variance finding).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Their labels or targets.

        Returns
        -------
        findings : list of tunenet.diagnose.Finding
            Each with ``kind``, ``severity``, ``evidence`` (the numbers) and ``fix``;
            ``finding.summary()`` is one line. Bias and variance are measured
            against ``human_error`` (else 0); the history gives the loss-curve,
            divergence and stall findings, ``health_`` (``monitor_health``) the
            per-layer ones.
        """
        from .doctor import estimator_findings

        check_is_fitted(self)
        return estimator_findings(self, X, y)

    @property
    def _lbfgs(self) -> bool:
        return self.solver == "lbfgs" and self.optimizer is None

    @property
    def _input_dtype(self) -> np.dtype:
        """The precision X is validated in: ``dtype``, or float64 for L-BFGS (which computes in float64)."""
        return np.dtype(np.float64) if self._lbfgs else np.dtype(self.dtype)

    def _validation_split(self, X, y, sample_weight, seed):
        """scikit-learn's early-stopping split: ``validation_fraction`` held out, stratified for binary targets only.

        Like scikit-learn (which stratifies on its one-column label-binarised
        target), multiclass and multilabel targets are split at random, so a
        class with one member is no error; sample weights are split with the rows.
        """
        stratify = (y == 1).reshape(-1, 1) if self._target == "binary" else None
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        parts = train_test_split(*arrays, test_size=self.validation_fraction, random_state=seed, stratify=stratify)
        if parts[1].shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        X, X_val, y, y_val = parts[:4]
        w, w_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        return X, X_val, y, y_val, w, w_val

    def _diverged(self, exc: DivergenceError, stopper: SklearnStopping) -> None:
        """A non-finite loss (or, with ``explosion``, an exploding one) stopped training before its update.

        With ``early_stopping`` the epoch scores NaN and the best weights seen
        are back in place (as scikit-learn, which keeps them); otherwise a
        ValueError with scikit-learn's wording and the user's learning rate.
        """
        where = str(exc).split(";")[0]
        if self.early_stopping and self._best is not None:
            self.n_iter_ += 1
            self.loss_curve_.append(math.nan)
            self.validation_scores_.append(math.nan)
            stopper.stopped = True
            warnings.warn(f"{where} (learning_rate_init={self.learning_rate_init:g}); the best weights by "
                          "validation score are kept", ConvergenceWarning, stacklevel=4)
            return
        raise ValueError("Solver produced non-finite parameter weights. The input data may contain large values "
                         f"and need to be preprocessed. ({where}, with learning_rate_init="
                         f"{self.learning_rate_init:g}: scale the inputs, e.g. with StandardScaler, or lower "
                         "learning_rate_init)") from None

    def _fit_lbfgs(self, X, y, sample_weight):
        """Full-batch L-BFGS-B on the model's flat buffer (:func:`tunenet.optim.lbfgs.minimize_lbfgs`)."""
        from ..optim.lbfgs import minimize_lbfgs  # scipy.optimize is imported only when L-BFGS is used

        def progress(iteration: int, J: float, _) -> None:
            self.loss_curve_.append(J)
            if self.verbose:
                print(f"Iteration {iteration}, loss = {J:.8f}")

        self.history_, self.health_ = History(), None  # L-BFGS has no mini-batch steps to monitor
        with threadpool_limits(limits=_blas_threads()):
            result = minimize_lbfgs(self.model_, X, y, loss=self._loss(), l2=float(self.alpha), l1=float(self.l1),
                                    max_iter=self.max_iter, max_fun=self.max_fun, tol=float(self.tol),
                                    sample_weight=sample_weight, callback=progress)
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        if self.loss_curve_:
            self.best_loss_ = min(self.loss_curve_)
        if not np.all(np.isfinite(self.model_.flat_values)):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
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
        self.model_ = mlp(n_features, hidden, n_out, activation=ACTIVATIONS[self.activation], init=self.init,
                          batchnorm=self.batchnorm, keep_prob=keep, output=output,
                          rng=np.random.default_rng(seed), dtype=np.dtype(self.dtype))
        self.n_outputs_, self.n_layers_ = n_out, len(hidden) + 2
        self.out_activation_ = "exp" if getattr(self, "loss", None) == "poisson" else OUT_ACTIVATION[self._target]
        self.n_iter_, self.t_, self.loss_, self.loss_curve_ = 0, 0, math.nan, []
        self._first_loss = None
        assigned = self.__dict__.pop("_assigned", {})
        for name, arrays in assigned.items():  # coefs_ / intercepts_ set before the first fit
            setattr(self, name, arrays)
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
        model.float64_step_limit = FLOAT64_STEP_LIMIT
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
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"])
        return self._forward(X)

    def _forward(self, X: np.ndarray, chunk: int = INFERENCE_ROWS) -> np.ndarray:
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
        """Weight matrix ``(n_in, n_out)`` of each Dense layer: live views into ``model_``'s buffer."""
        if "model_" not in self.__dict__ and "coefs_" in self.__dict__.get("_assigned", {}):
            return self._assigned["coefs_"]
        return [layer.W.value for layer in self.model_.layers if isinstance(layer, Dense)]

    @coefs_.setter
    def coefs_(self, arrays) -> None:
        """Write the given matrices into the model's weights (kept until the first fit builds the model)."""
        self._assign("coefs_", arrays, [layer.W for layer in self._dense_layers()])

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias ``(n_out,)`` of each Dense layer (zeros where batch norm's beta replaces it)."""
        if "model_" not in self.__dict__ and "intercepts_" in self.__dict__.get("_assigned", {}):
            return self._assigned["intercepts_"]
        return [layer.b.value if layer.b is not None else np.zeros(layer.n_out, layer.W.value.dtype)
                for layer in self.model_.layers if isinstance(layer, Dense)]

    @intercepts_.setter
    def intercepts_(self, arrays) -> None:
        self._assign("intercepts_", arrays, [layer.b for layer in self._dense_layers()])

    def _dense_layers(self) -> list[Dense]:
        model = self.__dict__.get("model_")
        return [] if model is None else [layer for layer in model.layers if isinstance(layer, Dense)]

    def _assign(self, name: str, arrays, params) -> None:
        """``coefs_``/``intercepts_`` assignment: copy into the model's buffers, in place.

        Before the first fit there is no model yet: the list is kept (and may
        still be filled in, as scikit-learn's tests do) and copied in when
        ``fit``/``partial_fit`` builds the network.
        """
        if "model_" not in self.__dict__:
            self.__dict__.setdefault("_assigned", {})[name] = arrays
            return
        arrays = list(arrays)
        if len(arrays) != len(params):
            raise ValueError(f"{name} needs {len(params)} arrays, one per Dense layer; got {len(arrays)}")
        for i, (array, param) in enumerate(zip(arrays, params)):
            if param is None:  # a Dense layer without bias (batch norm's beta replaces it)
                if np.any(np.asarray(array)):
                    raise ValueError(f"{name}[{i}]: this layer has no bias (batch norm follows); only zeros fit")
                continue
            array = np.asarray(array)
            if array.shape != param.shape:
                raise ValueError(f"{name}[{i}] has shape {array.shape}; the layer needs {param.shape}")
            param.value[...] = array

    @property
    def _optimizer(self) -> SimpleNamespace:
        """scikit-learn's private ``_optimizer.learning_rate``: the step size now, in scikit-learn's terms."""
        check_is_fitted(self)
        trainer = self.__dict__.get("_trainer")
        lr = float(self.learning_rate_init)
        if self._sklearn_schedule == "invscaling":  # the rate of the next epoch, as scikit-learn after each one
            return SimpleNamespace(learning_rate=lr / (self.t_ + 1) ** self.power_t)
        return SimpleNamespace(learning_rate=lr * (trainer.lr_factor if trainer is not None else 1.0))

    def _loss_grad_lbfgs(self, packed, X, y, sample_weight=None, *buffers):
        """scikit-learn's private ``_loss_grad_lbfgs``: ``(J, dJ/dtheta)`` at ``theta`` = ``packed``, in float64.

        ``packed`` is scikit-learn's layout (every ``coefs_`` raveled, then every
        ``intercepts_``); ``y`` its label-binarised target. The cost is computed
        on a float64 copy of the network; the estimator itself is not changed.
        ``buffers`` (scikit-learn's work arrays) are not needed.
        """
        from ..optim.lbfgs import float64_twin

        twin = float64_twin(self.model_)
        twin = twin if twin is not self.model_ else self.model_.copy()
        dense = [layer for layer in twin.layers if isinstance(layer, Dense)]
        params = [layer.W for layer in dense] + [layer.b for layer in dense if layer.b is not None]
        offset = 0
        for p in params:
            p.value[...] = np.asarray(packed[offset:offset + p.size], dtype=np.float64).reshape(p.shape)
            offset += p.size
        y = np.asarray(y)
        if self._target == "binary":
            y = y.reshape(-1)
        J, _ = twin.loss_and_grads(X, y, float(self.alpha), float(self.l1), self._loss(), sample_weight)
        return J, np.concatenate([p.grad.reshape(-1) for p in params])

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
            optimizer.flat = flat  # the optimiser steps the buffer the layers read (issue 15)
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
        if meta.get("estimator_format_version") != ESTIMATOR_FORMAT_VERSION or name not in _BaseMLP._registry:
            raise CheckpointError(f"{path}: not a saved tunenet estimator")
        if cls is not _BaseMLP and name != cls.__name__:
            raise CheckpointError(f"{path}: holds a {name}, not a {cls.__name__}")
        try:
            params = dict(meta["params"])
            if isinstance(params.get("hidden_layer_sizes"), list):
                params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
            est = _BaseMLP._registry[name](**params)
            est.model_, est._target, est.n_features_in_ = model, meta["target"], int(meta["n_features_in"])
            if "feature_names_in" in meta:
                est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
            if "classes" in meta:
                dtype = np.dtype(meta["classes_dtype"])
                est.classes_ = np.asarray(meta["classes"], dtype=object if dtype.kind == "O" else dtype)
            est.n_outputs_ = model.n_out
            est.n_layers_ = sum(isinstance(layer, Dense) for layer in model.layers) + 1
            est.out_activation_ = "exp" if params.get("loss") == "poisson" else OUT_ACTIVATION[est._target]
            est.loss_curve_, est.n_iter_, est.t_ = list(meta["loss_curve"]), meta["n_iter"], meta["t"]
            est.loss_, est.best_loss_ = meta["loss"], meta["best_loss"]
            est.validation_scores_ = meta["validation_scores"]
            est.best_validation_score_ = meta["best_validation_score"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: malformed estimator metadata ({exc})") from None
        est._no_improvement_count, est._best, est._first_loss = 0, None, None
        return est
