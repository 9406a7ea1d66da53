"""Training callbacks.

A callback receives the :class:`~tunenet.train.trainer.Trainer` at each hook:

* ``on_train_begin(trainer)`` / ``on_train_end(trainer)``
* ``on_epoch_begin(trainer)`` / ``on_epoch_end(trainer, logs)`` with ``logs``
  the epoch's history row
* ``on_backward_end(trainer)``: gradients are ready (after clipping), the
  update has not been applied; ``on_step_end(trainer, loss)`` after it.

Setting ``trainer.stop_training = True`` ends training after the epoch.
``state_dict()`` / ``load_state_dict()`` carry what a callback must remember
across a checkpoint (JSON values, NumPy arrays allowed at the top level).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from ..errors import ConfigError


class Callback:
    def on_train_begin(self, trainer) -> None: ...
    def on_train_end(self, trainer) -> None: ...
    def on_epoch_begin(self, trainer) -> None: ...
    def on_epoch_end(self, trainer, logs: dict) -> None: ...
    def on_backward_end(self, trainer) -> None: ...
    def on_step_end(self, trainer, loss: float) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _better(mode: str, value: float, best: float, min_delta: float) -> bool:
    if math.isnan(value):
        return False
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode(monitor: str) -> str:
    if monitor.endswith("loss"):
        return "min"
    if monitor.endswith(("accuracy", "_r2")):
        return "max"
    raise ConfigError(f"monitor must be a loss, accuracy or R2 column such as dev_loss, got {monitor!r}")


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the weights (and batch-norm state) of the best epoch
    are restored at the end of training.
    """

    def __init__(self, monitor: str = "dev_loss", patience: int = 10, min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        if patience < 1:
            raise ConfigError(f"patience must be at least 1, got {patience!r}")
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, patience, min_delta, restore_best
        self.mode = _mode(monitor)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self.best_values: np.ndarray | None = None
        self.best_state: dict[str, np.ndarray] = {}
        self.stopped_epoch = 0

    def on_epoch_end(self, trainer, logs):
        value = logs.get(self.monitor, math.nan)
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            if self.restore_best:
                self.best_values = trainer.model.flat_values.copy()
                self.best_state = {k: v.copy() for k, v in trainer.model.state().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True
                self.stopped_epoch = logs["epoch"]

    def on_train_end(self, trainer):
        if self.restore_best and self.best_values is not None:
            trainer.model.flat_values[...] = self.best_values
            trainer.model.load_state(self.best_state)
            trainer.restored_epoch = self.best_epoch

    def state_dict(self):
        state = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                 "stopped_epoch": self.stopped_epoch}
        if self.best_values is not None:
            state["best_values"] = self.best_values
            state.update({f"best_state/{k}": v for k, v in self.best_state.items()})
        return state

    def load_state_dict(self, state):
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best_values = state.get("best_values")
        self.best_state = {k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("best_state/")}


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    Acts on ``trainer.lr_factor``, which scales whatever the schedule gives,
    never going below ``min_lr``.
    """

    def __init__(self, monitor: str = "dev_loss", factor: float = 0.5, patience: int = 3,
                 min_delta: float = 0.0, min_lr: float = 1e-6) -> None:
        if not 0 < factor < 1:
            raise ConfigError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor!r}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_delta, self.min_lr = min_delta, min_lr
        self.mode = _mode(monitor)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0

    def on_epoch_end(self, trainer, logs):
        value = logs.get(self.monitor, math.nan)
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            base = trainer.base_lr(trainer.epoch)
            trainer.lr_factor = max(trainer.lr_factor * self.factor, self.min_lr / base if base > 0 else 0.0)
            self.wait = 0

    def state_dict(self):
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state):
        self.best, self.wait = float(state["best"]), int(state["wait"])


class Checkpoint(Callback):
    """Save a resumable checkpoint to ``run_dir/checkpoint/`` every ``every`` epochs.

    The checkpoint holds weights, batch-norm state, optimiser state, schedule
    position, epoch/step, the Generator state, history and callback states;
    it is written atomically and only when the weights are finite.
    ``on_save()`` is called after each checkpoint is written.
    """

    def __init__(self, run_dir, every: int = 1, on_save=None) -> None:
        if every < 1:
            raise ConfigError(f"checkpoint every must be at least 1 epoch, got {every!r}")
        self.run_dir, self.every, self.on_save = run_dir, every, on_save

    def on_epoch_end(self, trainer, logs):
        if trainer.epoch % self.every == 0 or trainer.stop_training or trainer.epoch == trainer.epochs:
            from .checkpoint import save_checkpoint

            save_checkpoint(trainer, self.run_dir)
            if self.on_save is not None:  # e.g. the run's config.yaml, once the run has moved on
                self.on_save()


class ProgressBar(Callback):
    """A rich progress bar over epochs: loss, dev accuracy, learning rate, ETA.

    Quiet when stdout is not a terminal (unless ``force``), where one line per
    ``log_every`` epochs is printed instead if ``log_every`` > 0. On a terminal
    the bar also advances within an epoch, by the fraction of its mini-batches
    done (known from the first epoch's step count; at most every
    ``refresh`` seconds), so a long epoch does not look stuck.
    """

    def __init__(self, force: bool | None = None, log_every: int = 0, refresh: float = 0.2) -> None:
        self.force, self.log_every, self.refresh = force, log_every, refresh
        self._progress = None
        self._epoch_start_step = 0
        self._steps_per_epoch = None
        self._shown = 0.0

    def on_train_begin(self, trainer):
        interactive = sys.stdout.isatty() if self.force is None else self.force
        if not interactive:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("epoch {task.fields[epoch]}/{task.total}"), BarColumn(),
                                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"),
                                  TimeRemainingColumn(), transient=False)
        self._progress.start()
        self._task = self._progress.add_task("train", total=trainer.epochs, completed=trainer.epoch, info="",
                                             epoch=trainer.epoch)

    def on_epoch_begin(self, trainer):
        self._epoch_start_step = trainer.step

    def on_step_end(self, trainer, loss):
        if self._progress is None:
            return
        now = time.monotonic()
        if now - self._shown < self.refresh:
            return
        self._shown = now
        done = trainer.step - self._epoch_start_step
        if self._steps_per_epoch:
            self._progress.update(self._task, completed=trainer.epoch + min(done / self._steps_per_epoch, 0.999))
        else:  # the first epoch: its length is not known yet
            self._progress.update(self._task, info=f"step {done}")

    def on_epoch_end(self, trainer, logs):
        info = f"loss {logs['train_loss']:.4f}"
        if not math.isnan(logs.get("dev_accuracy", math.nan)):
            info += f"  dev acc {logs['dev_accuracy']:.4f}"
        elif not math.isnan(logs.get("dev_r2", math.nan)):
            info += f"  dev R² {logs['dev_r2']:.4f}"
        elif not math.isnan(logs.get("dev_loss", math.nan)):
            info += f"  dev loss {logs['dev_loss']:.4f}"
        info += f"  lr {logs['lr']:.2e}"
        self._steps_per_epoch = trainer.step - self._epoch_start_step
        if self._progress is not None:
            self._progress.update(self._task, completed=trainer.epoch, info=info, epoch=trainer.epoch)
        elif self.log_every and trainer.epoch % self.log_every == 0:
            print(f"epoch {trainer.epoch}/{trainer.epochs}  {info}", flush=True)

    def on_train_end(self, trainer):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
