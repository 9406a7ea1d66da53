"""scikit-learn's MLP stopping rule and learning-rate options as a tunenet callback."""

from __future__ import annotations

from ..train import Callback


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
    w_val : ndarray or None
        Held-out sample weights: the validation score is then weighted.
    """

    def __init__(self, estimator, X_val=None, y_val=None, w_val=None) -> None:
        self.estimator, self.X_val, self.y_val, self.w_val = estimator, X_val, y_val, w_val
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
            score = est._encoded_score(self.X_val, self.y_val, self.w_val)
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
