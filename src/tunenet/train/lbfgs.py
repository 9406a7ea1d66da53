"""Full-batch training with L-BFGS (``tunenet train --optimizer lbfgs``).

:class:`LBFGSTrainer` is a :class:`~tunenet.train.trainer.Trainer` whose
"epoch" is one L-BFGS iteration on the whole training set
(:func:`tunenet.optim.lbfgs.minimize_lbfgs`); everything around it is the
trainer's: after each iteration the model holds the new weights, the dev set
is evaluated, a History row is appended and the callbacks run (early
stopping, checkpoints, the progress bar), so the run directory, the report
and the doctor read an L-BFGS run like any other. ``epochs`` bounds the
iterations; scipy also stops when the largest projected-gradient entry is
below ``tol`` (1e-5) or the loss stops decreasing (``ftol``), or after
``max_fun`` loss-and-gradient evaluations. ``batch_size``, ``lr`` and the
schedule do not apply (the line search picks each step); a callback that
stops training ends the optimisation at that iterate.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import blas
from ..errors import DivergenceError
from ..optim.lbfgs import minimize_lbfgs
from .trainer import Trainer, evaluate


class LBFGSTrainer(Trainer):
    """A Trainer that runs L-BFGS-B; ``max_fun`` and ``tol`` as scikit-learn's (see :mod:`tunenet.optim.lbfgs`)."""

    max_fun = 15000
    tol = 1e-5

    def fit(self, X: np.ndarray, y: np.ndarray, X_dev: np.ndarray | None = None,
            y_dev: np.ndarray | None = None, sample_weight: np.ndarray | None = None):
        X, X_dev = self._inputs(X, X_dev)
        self.stop_training = False
        with blas.thread_limit(self.threads), np.errstate(over="ignore", invalid="ignore"):
            self._call("on_train_begin")
            try:
                if self.epoch < self.epochs:
                    self._minimize(X, y, X_dev, y_dev, sample_weight)
            finally:
                self._call("on_train_end")
        return self.history

    def _minimize(self, X, y, X_dev, y_dev, sample_weight) -> None:
        model = self.model
        clock = [time.perf_counter()]
        self._call("on_epoch_begin")

        def iteration_done(_: int, J: float, w: np.ndarray) -> bool:
            model.flat_values[...] = w
            if self.first_loss is None:
                self.first_loss = J
            if not math.isfinite(J):
                raise DivergenceError(f"L-BFGS diverged at iteration {self.epoch + 1}: the loss is {J}; "
                                      "likely causes: unnormalised inputs (--normalize standard) or a 'large' init")
            self.epoch += 1
            self.step += 1
            self.optimizer.t = self.step
            train_loss, train_accuracy = evaluate(model, X, y, self.loss)
            row = {"epoch": self.epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                   "dev_loss": math.nan, "dev_accuracy": math.nan, "lr": float(self.optimizer.lr)}
            if X_dev is not None and X_dev.shape[0]:
                row["dev_loss"], row["dev_accuracy"] = evaluate(model, X_dev, y_dev, self.loss)
            row["time"] = time.perf_counter() - clock[0]
            self.history.steps.append(J)
            self.history.epochs.append(row)
            self._call("on_epoch_end", row)
            if self.stop_training or self.epoch >= self.epochs:
                return True
            clock[0] = time.perf_counter()
            self._call("on_epoch_begin")
            return False

        result = minimize_lbfgs(model, X, y, loss=self.loss, l2=self.l2, l1=self.l1,
                                max_iter=self.epochs - self.epoch, max_fun=self.max_fun, tol=self.tol,
                                sample_weight=sample_weight, callback=iteration_done)
        if not np.all(np.isfinite(model.flat_values)):
            raise DivergenceError(f"L-BFGS diverged: non-finite weights after {self.epoch} iterations "
                                  f"({result.message})")
        self.message = str(result.message)
