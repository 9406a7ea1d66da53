r"""L-BFGS on a model's flat parameter buffer, through :func:`scipy.optimize.minimize`.

Full-batch, quasi-Newton training: the objective is the cost on the whole
training set,

    J(w) = sum_i c_i l_i(w) + l2 / (2M) * sum_l ||W_l||_F^2 + l1 / M * sum_l |W_l|_1,

with ``c_i = 1/m`` (or ``w_i / sum_j w_j`` with sample weights, ``M = sum_j w_j``),
and ``scipy.optimize.minimize(fun, w0, method="L-BFGS-B", jac=True)`` is
handed one function that returns ``(J(w), dJ/dw)`` from a single forward and
backward pass (:meth:`~tunenet.nn.model.Sequential.loss_and_grads`).
L-BFGS keeps the last ``maxcor`` (10) pairs ``s_k = w_{k+1} - w_k``,
``y_k = g_{k+1} - g_k`` and applies the two-loop recursion to approximate
``H^{-1} g``; a line search (Moré-Thuente, in Fortran) picks the step.

The line search compares losses that differ in their 7th digit, so the
optimisation runs on a float64 twin of the model (same architecture, weights
copied in); the result is copied back into ``model.flat_values`` (rounded to
float32 for a float32 model). Options with scikit-learn's meaning:

- ``max_iter``: most L-BFGS iterations (scipy's ``maxiter``);
- ``max_fun``: most loss-and-gradient evaluations (``maxfun``);
- ``tol``: stop once ``max_i |proj g_i| <= tol`` (``gtol``);
- the result's ``nit`` is scikit-learn's ``n_iter_`` and ``loss_curve``
  holds ``J`` after each iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from ..nn.losses import Loss
from ..nn.model import Sequential
from .optimizers import Optimizer

if TYPE_CHECKING:  # scipy.optimize is imported when L-BFGS runs, not with tunenet
    import scipy.optimize


class LBFGS(Optimizer):
    """The optimiser entry for ``--optimizer lbfgs``: state for checkpoints, no ``step``.

    L-BFGS chooses its own step length by line search, so ``lr`` is unused
    (kept for the trainer's bookkeeping); ``t`` counts iterations. Training
    goes through :func:`minimize_lbfgs` (``tunenet.train.lbfgs.LBFGSTrainer``);
    its curvature memory lives inside one ``scipy.optimize.minimize`` call and
    is not part of a checkpoint, so a resumed run starts a fresh memory.
    """

    n_work = 0

    def __init__(self, params, lr: float = 1.0) -> None:
        super().__init__(params, lr)

    def _update(self, w, g, f):
        raise ConfigError("L-BFGS takes whole-batch steps through minimize_lbfgs, not optimizer.step()")


def float64_twin(model: Sequential) -> Sequential:
    """A float64 copy of ``model`` (architecture, weights and batch-norm statistics)."""
    if model.dtype == np.float64:
        return model
    twin = Sequential.from_config(model.config(), dtype=np.float64)
    twin.flat_values[...] = model.flat_values
    twin.load_state(model.state())
    return twin


def minimize_lbfgs(model: Sequential, X, y, *, loss: Loss | None = None, l2: float = 0.0, l1: float = 0.0,
                   max_iter: int = 200, max_fun: int = 15000, tol: float = 1e-4,
                   sample_weight: np.ndarray | None = None,
                   callback: Callable[[int, float, np.ndarray], bool | None] | None = None,
                   ) -> scipy.optimize.OptimizeResult:
    """Minimise the full-batch cost of ``model`` on ``(X, y)`` in place with L-BFGS-B.

    Parameters
    ----------
    model : Sequential
        Trained in place: its ``flat_values`` (and batch-norm running statistics) hold the result.
    X : ndarray or scipy.sparse matrix of shape (m, n_in)
    y : ndarray of shape (m,) or (m, k)
        Targets as the loss expects them.
    loss : Loss or None
        Default: the model's own loss.
    l2, l1 : float
        Penalty strengths, tunenet's convention (``l2/(2m) ||W||^2``).
    max_iter, max_fun : int
        Most iterations and most function evaluations (both >= 1).
    tol : float
        Projected-gradient tolerance (``gtol``), >= 0.
    sample_weight : ndarray of shape (m,) or None
    callback : callable ``(iteration, J, w) -> bool | None`` or None
        Called after every iteration with the cost at the new point and the
        point (float64, read-only use); returning True stops the optimisation there.

    Returns
    -------
    scipy.optimize.OptimizeResult
        With ``nit``, ``nfev``, ``fun``, ``status``, ``message``, and ``loss_curve``
        (``J`` after each iteration).
    """
    import scipy.optimize

    for name, value in (("max_iter", max_iter), ("max_fun", max_fun)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    if not tol >= 0:
        raise ConfigError(f"tol must be >= 0, got {tol!r}")
    twin = float64_twin(model)
    X = X.astype(np.float64, copy=False)
    grads = twin.flat_grads
    curve: list[float] = []
    last = {"x": None, "J": np.nan}

    def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
        twin.flat_values[...] = w
        J, _ = twin.loss_and_grads(X, y, l2, l1, loss, sample_weight)
        last["x"], last["J"] = w.copy(), J
        return J, grads.copy()

    def on_iteration(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        curve.append(float(intermediate_result.fun))
        if callback is not None and callback(len(curve), curve[-1], intermediate_result.x):
            raise StopIteration  # scipy ends the optimisation at this iterate

    with np.errstate(over="ignore", invalid="ignore"):
        result = scipy.optimize.minimize(fun, twin.flat_values.astype(np.float64), method="L-BFGS-B", jac=True,
                                         callback=on_iteration,
                                         options={"maxiter": int(max_iter), "maxfun": int(max_fun),
                                                  "gtol": float(tol)})
        if last["x"] is None or not np.array_equal(last["x"], result.x):
            fun(result.x)  # leave the batch-norm statistics of the returned point
    if twin is not model:
        model.flat_values[...] = result.x
        model.load_state(twin.state())
    result.loss_curve = curve
    return result
