"""The training loop: mini-batch gradient descent with any optimiser and schedule.

One epoch::

    lr = schedule(epoch) * lr_factor            (per_step schedules: schedule(step))
    for each mini-batch (X_b, y_b), reshuffled from the run's Generator:
        X_b = augment(X_b)                       (training batches only)
        J, logits = forward + loss + backward    (gradients include the L2/L1 term)
        stop with a DivergenceError if J or ||g|| is not finite (before the update)
        clip the gradients (global norm or value)
        optimizer.step()
    dev loss / accuracy (R^2 for a linear output) on the whole dev set (inference mode)

Divergence: a non-finite loss or gradient norm, or a loss 100x above the
first step's (``trainer.explosion``; None keeps only the non-finite test),
stops training before the update is applied.

Every random draw (shuffling, dropout masks, augmentation) comes from one
``numpy.random.Generator`` seeded by ``seed``; its state is part of the
checkpoint, so a resumed run continues bit for bit. The BLAS thread count is
fixed with threadpoolctl for the same reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from .. import blas
from ..cores import available_cores
from ..data.batches import MiniBatches
from ..errors import ConfigError, DataError, DivergenceError
from ..metrics import r2_per_column
from ..nn.losses import Loss
from ..nn.model import INFERENCE_ROWS, Sequential
from .callbacks import Callback
from .history import History

#: a loss this many times above the first step's loss counts as divergence (Adam's bounded
#: steps can blow weights up without ever producing a NaN)
EXPLOSION = 100.0


def accuracy(logits: np.ndarray, y: np.ndarray, output: str) -> float:
    """Fraction of correct predictions from logits (NaN for regression or no samples).

    ``count_nonzero(hits) / m`` is the same float64 as ``mean(hits)``, at a
    fraction of the cost on a mini-batch (it is called every training step).
    """
    m = logits.shape[0]
    if output not in ("softmax", "sigmoid") or m == 0:
        return math.nan
    if output == "softmax":
        hits = logits.argmax(axis=1) == (y if y.ndim == 1 else y.argmax(axis=1))
    else:
        hits = (logits.reshape(-1) > 0) == (y.reshape(-1) > 0.5)
    return int(np.count_nonzero(hits)) / m


def evaluate(model: Sequential, X: np.ndarray, y: np.ndarray, loss: Loss | None = None,
             batch_size: int = INFERENCE_ROWS) -> tuple[float, float]:
    """Mean data loss and accuracy of ``model`` on ``(X, y)`` in inference mode."""
    scores = evaluate_scores(model, X, y, loss, batch_size)
    return scores["loss"], scores.get("accuracy", math.nan)


def evaluate_scores(model: Sequential, X: np.ndarray, y: np.ndarray, loss: Loss | None = None,
                    batch_size: int = INFERENCE_ROWS) -> dict[str, float]:
    """``{"loss", "accuracy"}`` (classifiers) or ``{"loss", "r2"}`` (linear output) in inference mode.

    R^2 = 1 - SSE/SST per output column, averaged (:mod:`tunenet.metrics`), from
    sums accumulated over the batches; it is the same whether or not the target
    was standardised, so the trainer can report it in the model's own units.
    """
    loss = loss or model.loss
    m = X.shape[0]
    total, correct = 0.0, 0.0
    linear = model.output == "linear"
    sse = s1 = s2 = 0.0
    for start in range(0, m, batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        logits = model.forward(xb, training=False)
        value, _ = loss.data_loss(logits, yb)
        total += value * xb.shape[0]
        if linear:
            yb64 = np.asarray(yb, dtype=np.float64).reshape(xb.shape[0], -1)
            sse = sse + ((yb64 - logits) ** 2).sum(axis=0)
            s1, s2 = s1 + yb64.sum(axis=0), s2 + (yb64 ** 2).sum(axis=0)
        else:
            correct += accuracy(logits, yb, model.output) * xb.shape[0]
    if not linear:
        return {"loss": total / m, "accuracy": correct / m}
    sst = np.maximum(s2 - s1 * s1 / m, 0.0)
    return {"loss": total / m, "r2": float(r2_per_column(sse, sst).mean())}


class Trainer:
    """Holds everything a training run needs and everything a checkpoint saves.

    Parameters
    ----------
    model : Sequential
    optimizer : tunenet.optim.Optimizer
        Its ``lr`` at construction is ``lr0`` when no schedule is given.
    epochs, batch_size : int
    l2, l1 : float
        Penalty strengths (``lambda``); the gradient term is ``lambda/m * W``.
    schedule : callable or None
        ``schedule(epoch) -> lr`` (or ``schedule(step)`` when ``schedule.per_step``).
    clip : object with ``apply(flat_grads)`` or None
    augment : callable ``(X_batch, rng) -> X_batch`` or None
    threads : int or None
        BLAS threads during training (default: every core this process may
        run on, :func:`available_cores`). The result of a matrix product can
        differ in its last bits between thread counts, so a run is reproduced
        bit for bit only with the same count. On a machine shared with other
        busy processes, 1 thread is usually faster: a multi-threaded product
        waits for its slowest thread (see ``docs/benchmarks.md``).
    """

    def __init__(self, model: Sequential, optimizer, loss: Loss | None = None, *, epochs: int = 10,
                 batch_size: int = 64, l2: float = 0.0, l1: float = 0.0, schedule: Callable | None = None,
                 clip=None, callbacks: Sequence[Callback] = (), seed: int = 0,
                 augment: Callable | None = None, threads: int | None = None) -> None:
        blas.check_environment()
        if not isinstance(epochs, int) or epochs < 0:
            raise ConfigError(f"epochs must be a non-negative integer, got {epochs!r}")
        for name, value in (("l2", l2), ("l1", l1)):
            if not value >= 0:
                raise ConfigError(f"{name} must be >= 0, got {value!r}")
        self.model, self.optimizer = model, optimizer
        self.loss = loss or model.loss
        self.epochs, self.batch_size, self.l2, self.l1 = epochs, batch_size, float(l2), float(l1)
        self.schedule, self.clip, self.augment = schedule, clip, augment
        self.callbacks = list(callbacks)
        self.seed = seed
        self.threads = threads or available_cores()
        self.rng = np.random.default_rng(seed)
        model.set_rng(self.rng)
        self.lr0 = float(optimizer.lr)
        self.lr_factor = 1.0
        self.epoch = 0  # completed epochs
        self.step = 0  # completed optimisation steps
        self.history = History()
        self.stop_training = False
        self.restored_epoch: int | None = None
        self.grad_norm = math.nan
        self.first_loss: float | None = None  # the loss of the very first step, for the explosion check
        self.explosion: float | None = EXPLOSION  # None: only a non-finite loss or gradient is divergence
        self.shuffle = True  # False: every epoch visits the rows in the given order

    def base_lr(self, epoch: int) -> float:
        """The schedule's learning rate before ``lr_factor`` (plateau reductions)."""
        if self.schedule is None:
            return self.lr0
        return float(self.schedule(self.step if getattr(self.schedule, "per_step", False) else epoch))

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def _inputs(self, X, X_dev):
        """``X`` and ``X_dev`` in the model's dtype (no copy when they already are); an empty ``X`` is refused."""
        dtype = self.model.dtype
        if X.shape[0] == 0:
            raise DataError("the training set is empty")
        return X.astype(dtype, copy=False), None if X_dev is None else X_dev.astype(dtype, copy=False)

    def fit(self, X: np.ndarray, y: np.ndarray, X_dev: np.ndarray | None = None,
            y_dev: np.ndarray | None = None, sample_weight: np.ndarray | None = None) -> History:
        """Train until ``epochs`` are done or a callback stops training.

        ``sample_weight`` (shape ``(m,)``) makes each batch's loss a weighted mean
        (see :mod:`tunenet.nn.losses`); ``X`` may be scipy.sparse.
        """
        X, X_dev = self._inputs(X, X_dev)
        batches = MiniBatches(X, y, self.batch_size, self.rng if self.shuffle else None, sample_weight)
        per_step = getattr(self.schedule, "per_step", False)
        self.stop_training = False
        # overflow to inf/NaN is caught by the divergence check; NumPy need not warn as well
        with blas.thread_limit(self.threads), np.errstate(over="ignore", invalid="ignore"):
            self._call("on_train_begin")
            try:
                while self.epoch < self.epochs and not self.stop_training:
                    self._run_epoch(batches, X_dev, y_dev, per_step)
            finally:
                self._call("on_train_end")
        return self.history

    def _hooks(self, hook: str) -> list[Callable]:
        """The callbacks' bound ``hook`` methods, leaving out :class:`Callback`'s no-op ones."""
        base = getattr(Callback, hook)
        return [getattr(cb, hook) for cb in self.callbacks if getattr(type(cb), hook, None) is not base]

    def _run_epoch(self, batches: MiniBatches, X_dev, y_dev, per_step: bool) -> None:
        """One pass over ``batches``; everything that cannot change within the epoch is looked up once."""
        model, opt = self.model, self.optimizer
        start = time.perf_counter()
        self._call("on_epoch_begin")
        if not per_step:
            opt.lr = self.base_lr(self.epoch) * self.lr_factor
        loss_sum = correct = seen = 0.0
        loss_and_grads, grads, output = model.loss_and_grads, model.flat_grads, model.output
        l2, l1, loss, augment, clip, rng = self.l2, self.l1, self.loss, self.augment, self.clip, self.rng
        backward_hooks, step_hooks = self._hooks("on_backward_end"), self._hooks("on_step_end")
        steps, dot, isfinite, step, explosion = self.history.steps, np.dot, math.isfinite, opt.step, self.explosion
        for xb, yb in batches:
            if augment is not None:
                xb = augment(xb, rng)
            if per_step:
                opt.lr = self.base_lr(self.epoch) * self.lr_factor
            value, logits = loss_and_grads(xb, yb, l2, l1, loss, batches.weights)
            g2 = float(dot(grads, grads))
            if self.first_loss is None:
                self.first_loss = value
            exploded = explosion is not None and value > explosion * max(self.first_loss, 1e-3)
            if not (isfinite(value) and isfinite(g2)) or exploded:
                raise DivergenceError(self._divergence_message(value, g2))
            self.grad_norm = math.sqrt(g2)
            m = xb.shape[0]
            data_loss = model.last_data_loss  # J less the penalty, computed once by loss_and_grads
            hits = model.last_correct  # counted by the fused softmax kernel, else None
            if clip is not None:
                clip.apply(grads)
            for hook in backward_hooks:
                hook(self)
            step()
            self.step += 1
            steps.append(value)
            for hook in step_hooks:
                hook(self, value)
            loss_sum += data_loss * m
            correct += hits if hits is not None else accuracy(logits, yb, output) * m
            seen += m
        self.epoch += 1
        row = {"epoch": self.epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
               "dev_loss": math.nan, "dev_accuracy": math.nan, "lr": float(opt.lr)}
        if model.output == "linear":
            row["dev_r2"] = math.nan
        if X_dev is not None and X_dev.shape[0]:
            row.update({f"dev_{k}": v for k, v in evaluate_scores(model, X_dev, y_dev, self.loss).items()})
        row["time"] = time.perf_counter() - start
        self.history.epochs.append(row)
        self._call("on_epoch_end", row)

    def _divergence_message(self, loss: float, g2: float) -> str:
        if not math.isfinite(loss):
            what = f"the loss is {loss}"
        elif not math.isfinite(g2):
            what = "the gradient norm is not finite"
        else:
            what = f"the loss exploded from {self.first_loss:.4g} to {loss:.4g}"
        lr = self.optimizer.lr
        where = f"training diverged at epoch {self.epoch + 1}, step {self.step + 1}: {what}"
        if lr >= 0.1:
            cause = f"learning rate {lr:g} is too high; try {lr / 10:g} or lower, or clip gradients (--clip norm:1)"
        else:
            cause = ("likely causes: unnormalised inputs (--normalize standard), a 'large' init, "
                     f"or a learning rate ({lr:g}) still too high; gradient clipping (--clip norm:1) helps")
        return f"{where}; {cause}"


def fit(model: Sequential, loss: Loss | None, optimizer, train, dev=None, epochs: int = 10, batch_size: int = 64,
        l2: float = 0.0, l1: float = 0.0, schedule=None, clip=None, callbacks: Sequence[Callback] = (),
        seed: int = 0, augment=None, threads: int | None = None) -> History:
    """Train ``model`` on ``train = (X, y)`` (and evaluate on ``dev``); returns the History.

    A functional front end to :class:`Trainer` with the signature of the
    design notes; see :class:`Trainer` for the parameters.
    """
    trainer = Trainer(model, optimizer, loss, epochs=epochs, batch_size=batch_size, l2=l2, l1=l1,
                      schedule=schedule, clip=clip, callbacks=callbacks, seed=seed, augment=augment,
                      threads=threads)
    X, y = train
    X_dev, y_dev = dev if dev is not None else (None, None)
    return trainer.fit(X, y, X_dev, y_dev)
