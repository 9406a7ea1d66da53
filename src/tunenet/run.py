"""The one pipeline from a config to a trained, diagnosed run directory.

    data -> split -> preprocess -> model -> train -> evaluate -> diagnose

The CLI (``tunenet train``), the tuner's trials and the labs all call
:func:`train_run`; none re-implements it. A run directory holds::

    config.yaml          the resolved configuration
    history.csv          per-epoch train/dev loss and accuracy, lr, time
    steps.csv            the loss of every optimisation step
    model.safetensors    weights + JSON metadata (preprocessing, classes, config)
    checkpoint/          the resumable training state
    curves.png           learning curves (loss and accuracy, train vs dev)
    metrics.json         final train/dev/test loss and accuracy (R2, RMSE, MAE for regression),
                         bias/variance, dev confusion matrix
    health.json          per-layer activation/gradient statistics every 20 steps
    diagnosis.json       the findings of the network doctor
    report.html          one self-contained page with all of it
    .lock                held (flock) by the process writing the directory
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from .config import RunConfig, from_dict, read_config_file
from .data import load as load_dataset
from .data import make_scaler, parse_augment, sparse_scaler, split_dataset
from .data.encoding import MAX_CATEGORIES
from .data.target import TargetStandardizer
from .diagnose.bias_variance import run_bias_variance
from .diagnose.findings import diagnose_run
from .diagnose.health import HealthMonitor
from .diagnose.kinds import LR_HIGH, LR_LOW
from .diagnose.reference import fit_reference, reference_seconds, wanted
from .diagnose.symptoms import input_statistics
from .errors import CheckpointError, ConfigError, DivergenceError, TunenetError
from .fileio import atomic_write_text, check_run_dir, refuse_symlink
from .lock import DirectoryLock
from .memory import return_freed_memory
from .metrics import regression_scores
from .nn.io import save as save_model
from .nn.model import Sequential, mlp
from .optim import make_optimizer, make_schedule, parse_clip
from .report.html import CURVES_SMOOTHING, write_report
from .report.plots import confusion_matrix, plot_learning_curves
from .train import Checkpoint, EarlyStopping, ProgressBar, ReduceLROnPlateau, Trainer, evaluate_scores
from .train.checkpoint import checkpoint_path, load_checkpoint


@dataclass
class PreparedData:
    """Train/dev/test arrays after preprocessing (fitted on train only)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_dev: np.ndarray
    y_dev: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    scaler: object
    dataset: object
    #: the reference model's errors on this split (:mod:`tunenet.diagnose.reference`), once fitted
    reference: dict | None = None
    target_scaler: TargetStandardizer | None = None

    def release_arrays(self) -> None:
        """Drop the split's arrays and the loaded dataset's, so that their memory can be freed.

        The CLI's run does this before drawing report.html (which reads the run directory, not the
        data): Fashion-MNIST's 220 MB of float32 images are then not resident under the report's plots.
        Only the metadata (task, class names, image shape) stays usable.
        """
        self.X_train = self.X_dev = self.X_test = None
        self.y_train = self.y_dev = self.y_test = None
        self.dataset.X = self.dataset.y = self.dataset.X_test = self.dataset.y_test = None

    @property
    def output(self) -> str:
        if self.dataset.task == "regression":
            return "linear"
        return "softmax" if self.n_classes > 2 else "sigmoid"

    @property
    def n_classes(self) -> int:
        return len(self.dataset.class_names) if self.dataset.class_names else int(self.y_train.max()) + 1

    @property
    def n_out(self) -> int:
        if self.output == "linear":
            return self.y_train.shape[1] if self.y_train.ndim == 2 else 1
        return self.n_classes if self.output == "softmax" else 1


@dataclass
class RunResult:
    config: RunConfig
    run_dir: Path
    model: Sequential
    history: object
    metrics: dict = field(default_factory=dict)


def prepare_data(config: RunConfig) -> PreparedData:
    """Load, split (the dataset's official test set stays the test set) and normalise.

    The scaler is fitted on train only. The dataset is this function's own
    (freshly loaded), so nothing is copied that need not be: the split reorders
    the loaded array in place (``in_place``: train rows first, then dev and
    test; three views) and the scaler normalises every part in place. A
    Fashion-MNIST run holds its images once. A regression target is standardised
    with the training target's mean and std (``config.standardize_target``);
    the y arrays are then in standardised units and ``target_scaler`` maps
    back (:func:`score_split` scores in the original units).

    A scipy.sparse ``X`` (a ``save_npz`` archive) stays sparse: each part is a
    CSR row selection and the scaler is scale-only (:class:`~tunenet.data.ScaleOnly`,
    not centred), which the data summary states (``dataset.notes``).
    """
    dataset = load_dataset(config.data, **table_options(config))
    is_sparse = sparse.issparse(dataset.X)
    if is_sparse:
        check_sparse_config(config, dataset)
    split_seed = config.seed if config.split_seed is None else config.split_seed
    splits = split_dataset(dataset, dev=config.dev, test=config.test, seed=split_seed, stratify=config.stratify,
                           in_place=True)
    (X_tr, y_tr), (X_dev, y_dev), (X_te, y_te) = splits.train, splits.dev, splits.test
    empty = np.empty((0,) + dataset.X.shape[1:], dataset.X.dtype)  # not a view: it would keep the array alive
    info = dataclasses.replace(dataset, X=empty, y=dataset.y[:0].copy(), X_test=None, y_test=None)
    del dataset, splits
    scaler = (sparse_scaler if is_sparse else make_scaler)(config.normalize).fit(X_tr)
    if is_sparse:  # say what was done to X instead of standardising it (the data summary prints the notes)
        info.notes = [*info.notes, scaler.describe()]
    X_tr, X_dev, X_te = (scaler.transform(X.astype(np.float32, copy=False), copy=False) if X.shape[0]
                         else X.astype(np.float32)  # an empty dev (dev 0) or test part
                         for X in (X_tr, X_dev, X_te))
    target_scaler = None
    if info.task == "regression" and config.standardize_target:
        target_scaler = TargetStandardizer().fit(y_tr)
        y_tr, y_dev, y_te = (target_scaler.transform(y) for y in (y_tr, y_dev, y_te))
    return PreparedData(X_tr, y_tr, X_dev, y_dev, X_te, y_te, scaler, info, target_scaler=target_scaler)


def check_sparse_config(config: RunConfig, dataset) -> None:
    """Refuse, in one line, what a scipy.sparse ``X`` cannot do in the pipeline (it is never densified)."""
    what = f"{dataset.source}: X is a sparse {dataset.X.shape[0]:,} x {dataset.X.shape[1]:,} matrix"
    if config.augment:
        raise ConfigError(f"{what}; --augment transforms dense image rows and cannot apply to it: drop --augment")


def table_options(config: RunConfig) -> dict:
    """The loader options a config sets (target, task, categorical, drop, delimiter, max_categories).

    Unset ones are left out, so a built-in dataset given one of them says it does not take it.
    """
    options = {"target": config.target, "task": config.task, "categorical": list(config.categorical),
               "drop": list(config.drop), "delimiter": config.delimiter}
    options = {k: v for k, v in options.items() if v}
    if config.max_categories != MAX_CATEGORIES:
        options["max_categories"] = config.max_categories
    return options


def build_model(config: RunConfig, n_in: int, n_out: int, output: str) -> Sequential:
    return mlp(n_in, list(config.hidden), n_out, activation=config.activation, init=config.init,
               batchnorm=config.batchnorm, keep_prob=config.keep_prob, output=output, seed=config.seed)


def build_optimizer(config: RunConfig, model: Sequential):
    """The optimiser named by ``config.optimizer`` with its own hyperparameters only."""
    if config.optimizer == "lbfgs":  # full batch through scipy (tunenet.train.lbfgs); imported only when asked
        from .optim.lbfgs import LBFGS

        return LBFGS(model, config.lr)
    kwargs = {
        "sgd": {},
        "momentum": {"beta": config.beta},
        "nesterov": {"beta": config.beta},
        "rmsprop": {"beta": config.beta, "eps": config.eps},
        "adam": {"beta1": config.beta1, "beta2": config.beta2, "eps": config.eps},
        "adamw": {"beta1": config.beta1, "beta2": config.beta2, "eps": config.eps,
                  "weight_decay": config.weight_decay},
    }[config.optimizer]
    return make_optimizer(config.optimizer, model, config.lr, **kwargs)


def build_trainer(config: RunConfig, model: Sequential, run_dir: Path | None, callbacks=(),
                  progress: bool | None = None, image_shape=None, checkpoint: bool = True,
                  on_checkpoint=None, scaler=None) -> Trainer:
    """The trainer with the callbacks the config asks for (order matters for checkpoints).

    ``scaler``: the run's fitted input scaler, so shifts and rotations fill with the raw background.
    """
    cbs = []
    if config.early_stopping:
        cbs.append(EarlyStopping(config.monitor, patience=config.early_stopping))
    if config.plateau:
        cbs.append(ReduceLROnPlateau(config.monitor, patience=config.plateau))
    cbs.extend(callbacks)
    if run_dir is not None and checkpoint:
        cbs.append(Checkpoint(run_dir, every=config.checkpoint_every, on_save=on_checkpoint))
    if progress is not False:
        cbs.append(ProgressBar(force=progress, log_every=1))  # not on a terminal: a line per epoch
    augment = parse_augment(config.augment, image_shape, scaler)  # geometric ones on raw pixels
    if config.optimizer == "lbfgs":
        if augment is not None:
            raise ConfigError("--augment does not apply to --optimizer lbfgs: L-BFGS minimises one fixed "
                              "full-batch loss; use a mini-batch optimiser such as adam to augment")
        from .train.lbfgs import LBFGSTrainer as trainer_class
    else:
        trainer_class = Trainer
    return trainer_class(model, build_optimizer(config, model), epochs=config.epochs, batch_size=config.batch_size,
                   l2=config.l2, l1=config.l1, schedule=make_schedule(config.schedule, config.lr),
                   clip=parse_clip(config.clip) if config.clip else None, callbacks=cbs, seed=config.seed,
                   augment=augment, threads=config.threads)


def read_run_config(run_dir: str | os.PathLike, overrides: dict | None = None) -> RunConfig:
    """The config saved in a run directory, with ``overrides`` applied (``--resume``)."""
    path = refuse_symlink(check_run_dir(run_dir) / "config.yaml", ConfigError)
    check_run_dir(run_dir, "config.yaml")
    data = read_config_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of option: value, got {type(data).__name__}")
    data.setdefault("standardize_target", False)  # a run from before target standardisation trained on raw y
    data.update(overrides or {})
    return from_dict(data, source=str(path))


#: What a resume from a checkpoint cannot change: the data and its split and normalisation, the model
#: (the checkpoint holds its weights), the Generator (its state is restored, so the seed is spent) and the
#: monitored metric (early stopping's and plateau's best values are of that metric). Everything else --
#: lr, beta, beta1, beta2, eps, weight_decay, schedule, batch_size, epochs, l2, l1, clip, early_stopping,
#: plateau, augment, threads, checkpoint_every -- is honoured from the next epoch on.
RESUME_FIXED = ("data", "target", "task", "categorical", "drop", "delimiter", "max_categories", "standardize_target",
                "dev", "test", "stratify", "normalize", "split_seed", "hidden", "activation", "init", "batchnorm",
                "keep_prob", "optimizer", "seed", "monitor")
#: Optimisers whose state is the same (one velocity ``v``): switching between them on resume is honoured.
SAME_STATE = ({"momentum", "nesterov"},)


def check_resume_changes(saved: RunConfig, config: RunConfig, run_dir) -> None:
    """Refuse, in one line, changes a resume from a checkpoint cannot honour (:data:`RESUME_FIXED`)."""
    changed = [name for name in RESUME_FIXED if getattr(saved, name) != getattr(config, name)]
    if "optimizer" in changed and {saved.optimizer, config.optimizer} in SAME_STATE:
        changed.remove("optimizer")
    if not changed:
        return

    def show(value):
        return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)

    flags = ", ".join(f"--{n.replace('_', '-')} (the run has {show(getattr(saved, n))}, asked "
                      f"{show(getattr(config, n))})" for n in changed)
    raise ConfigError(f"{run_dir}: {flags} cannot change on --resume: the checkpoint holds the state of the run "
                      "as it started (data, model, seed, optimiser kind, monitored metric); start a new run with "
                      "--run-dir to change it")


def _check_checkpoint_path(path: Path) -> None:
    """A checkpoint path that exists must be a regular file (not a link, not a directory)."""
    refuse_symlink(path, CheckpointError)
    if path.exists() and not path.is_file():
        raise CheckpointError(f"{path}: is not a file; a run directory's checkpoint is a safetensors file")


def train_run(config: RunConfig, run_dir: str | os.PathLike | None = None, *, resume: bool = False,
              callbacks=(), progress: bool | None = None, data: PreparedData | None = None,
              checkpoint: bool = True, report: bool = True, notify=None, lr_range: bool | None = None,
              release_data: bool = False) -> RunResult:
    """Train one configuration end to end and write its run directory.

    The run directory is locked (``RUN_DIR/.lock``, :class:`~tunenet.lock.DirectoryLock`) for the whole
    run: a second process on the same directory stops with a :class:`~tunenet.errors.LockedError`.
    ``config.yaml`` is written before anything else, so a run killed at any point can be resumed.

    Parameters
    ----------
    resume : bool
        Continue from ``run_dir/checkpoint`` (bit-identical to an uninterrupted
        run when the config is unchanged; with changed optimiser hyperparameters,
        ``lr``, ``epochs``, ... it continues with the new values: "babysitting";
        changes it cannot honour are refused, :func:`check_resume_changes`).
        A run stopped before its first checkpoint has nothing to continue: it is
        trained from scratch, and ``notify`` says so. A resume rewrites
        ``config.yaml`` only once the run has moved on (its first new
        checkpoint), so a babysitting resume that diverges leaves the run as it was.
    callbacks : extra training callbacks (the tuner's pruning reporter).
    data : already prepared data (the tuner reuses one split across trials).
    release_data : the caller has no further use for ``data``: its arrays (and those of data this call
        prepares itself) are released before ``report.html`` is drawn (:meth:`PreparedData.release_arrays`).
    checkpoint : write resumable checkpoints (the tuner's trials do not need them).
    report : diagnose the run and write ``report.html`` (a few seconds of plotting).
    notify : ``notify(message)`` for what the caller should tell the user (the CLI prints it).
    lr_range : run the lr range test when the doctor finds the lr too high or too low, so its fix names
        an lr the test supports (default: as ``report``; the tuner's trials skip it).
    """
    if run_dir is None:
        return _train(config, None, False, callbacks, progress, data, checkpoint, report, lr_range=lr_range)
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    with DirectoryLock(run_dir, "run directory"):
        if resume:
            _check_checkpoint_path(checkpoint_path(run_dir))
        continuing = resume and checkpoint_path(run_dir).is_file()
        if resume and not continuing and notify is not None:
            notify(f"note: {run_dir} has no checkpoint yet (it stopped before its first epoch ended): "
                   "training it from scratch")
        config_file = run_dir / "config.yaml"
        if continuing and config_file.is_file():
            check_resume_changes(read_run_config(run_dir), config, run_dir)
        if not (resume and config_file.is_file()):
            config.save(config_file)
        owned = release_data or data is None  # nobody else reads it: released before the report
        try:
            data = data or prepare_data(config)
        except TunenetError:
            if created:  # a mistake in the data: leave no half-made run directory behind
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return _train(config, run_dir, continuing, callbacks, progress, data, checkpoint, report,
                      save_config=resume, lr_range=lr_range, release_data=owned)


def _train(config: RunConfig, run_dir: Path | None, continuing: bool, callbacks, progress, data, checkpoint,
           report, save_config: bool = False, lr_range: bool | None = None, release_data: bool = False) -> RunResult:
    data = data or prepare_data(config)
    model = build_model(config, data.X_train.shape[1], data.n_out, data.output)
    health = HealthMonitor()
    saved = []

    def save_config_once():  # a resume's config.yaml: written once the run has moved on
        if save_config and not saved:
            config.save(run_dir / "config.yaml")
            saved.append(True)

    trainer = build_trainer(config, model, run_dir, [health, *callbacks], progress, data.dataset.image_shape,
                            checkpoint, on_checkpoint=save_config_once, scaler=data.scaler)
    if continuing:
        load_checkpoint(trainer, run_dir)
        trainer.stop_training = False
    try:
        trainer.fit(data.X_train, data.y_train, data.X_dev, data.y_dev)
    except DivergenceError as exc:
        if run_dir is not None:
            _save_evidence(run_dir, trainer, health)
            # a fresh run diverged: the doctor's findings, with an lr the range test supports
            if (report if lr_range is None else lr_range) and not save_config:
                suggestion = lr_range_suggestion(config, data)
                diagnose_run(run_dir, extra_metrics={"lr_range": suggestion})
                message = with_supported_lr(str(exc), suggestion["suggested"], float(trainer.optimizer.lr))
                if message != str(exc):
                    raise DivergenceError(message) from None
        raise
    finally:
        if run_dir is not None:
            _save_evidence(run_dir, trainer, health)
    return_freed_memory()  # e.g. the kernels' compilation, before metrics, plots and the report
    metrics = final_metrics(model, data, trainer, config)
    if run_dir is not None:
        save_config_once()
        with writing_status(progress, "writing the model, curves and metrics"):
            # a tuner's trial (report=False) draws no curves: a plot costs about 0.2 s, more than a digits
            # trial's training; the study draws its best model's (tune.results.finalize)
            write_run_outputs(run_dir, config, model, data, trainer, metrics, curves=report)
            findings = diagnose_run(run_dir)
            if (report if lr_range is None else lr_range) and any(f.kind in (LR_HIGH, LR_LOW) for f in findings):
                metrics["lr_range"] = lr_range_suggestion(config, data)
                atomic_write_text(run_dir / "metrics.json", json.dumps(_jsonable(metrics), indent=2))
                diagnose_run(run_dir)
        if report:
            with writing_status(progress, "writing report.html"):
                if release_data:  # the report reads the run directory; the arrays are not needed any more
                    data.release_arrays()
                    return_freed_memory()
                write_report(run_dir)
    return RunResult(config, run_dir, model, trainer.history, metrics)


def score_split(model: Sequential, X: np.ndarray, y: np.ndarray, target_scaler=None) -> dict[str, float]:
    """The scores of ``model`` on normalised inputs ``X`` and targets ``y`` in the dataset's units.

    Classifiers: ``{"loss", "accuracy"}``. Regression: ``{"loss", "r2", "rmse",
    "mae"}``, R2/RMSE/MAE of the predictions mapped back to the target's units
    (:mod:`tunenet.metrics`); the loss is the training loss, 1/2 MSE of the
    standardised target when ``target_scaler`` is given. ``tunenet evaluate``
    and :func:`final_metrics` both call this.
    """
    if model.output != "linear":
        return evaluate_scores(model, X, y)
    y_model = target_scaler.transform(y) if target_scaler is not None else y
    scores = {"loss": evaluate_scores(model, X, y_model)["loss"]}
    pred = model.predict(X)
    if target_scaler is not None:
        pred = target_scaler.inverse_transform(pred)
    scores.update(regression_scores(y, pred))
    return scores



def _save_evidence(run_dir: Path, trainer: Trainer, health: HealthMonitor) -> None:
    if len(trainer.history) or trainer.history.steps:  # keep steps.csv of a run that diverged in epoch 1
        trainer.history.save(run_dir)
    health.save(run_dir)  # also after a DivergenceError: the evidence of what went wrong


def with_supported_lr(message: str, suggested: float, lr: float) -> str:
    """A divergence message whose blind "try lr/10 or lower" becomes the lr range test's suggestion.

    The doctor's fix names the same rate (``--lr`` at 2 significant digits), so a run gets one advice, not two.
    """
    import re

    if not suggested < lr:
        return message
    return re.sub(r"try \S+ or lower", f"try --lr {suggested:.2g}, where the lr range test's loss fell fastest",
                  message, count=1)


def lr_range_suggestion(config: RunConfig, data: PreparedData, steps: int = 100) -> dict:
    """The lr range test on the run's training split (a fresh model of the same configuration).

    The doctor then suggests a learning rate the test supports instead of a blind factor of 10.
    """
    from .diagnose.lr_range import lr_range_test

    model = build_model(config, data.X_train.shape[1], data.n_out, data.output)
    result = lr_range_test(model, data.X_train, data.y_train, lr_min=1e-6, lr_max=10.0, steps=steps,
                           batch_size=config.batch_size, seed=config.seed, l2=config.l2, threads=config.threads,
                           optimizer=lambda net, lr: build_optimizer(config.replace(lr=lr), net))
    lo, hi = result.search_range
    return {"suggested": float(result.suggested), "range": [float(lo), float(hi)], "steps": len(result.lrs)}


def final_metrics(model: Sequential, data: PreparedData, trainer: Trainer, config: RunConfig | None = None) -> dict:
    """Loss and accuracy (R2, RMSE, MAE) on train, dev and test (inference mode), and the bias/variance reading.

    With a ``config``, its ``human_error`` is recorded and, as its ``reference``
    says, the reference model's errors (fitted once per prepared split).
    """
    metrics: dict = {"epochs": trainer.epoch, "steps": trainer.step}
    if trainer.restored_epoch is not None:
        metrics["best_epoch"] = trainer.restored_epoch
    ts = data.target_scaler
    if data.output == "linear":
        metrics["target_standardized"] = ts is not None
    for split, X, y in (("train", data.X_train, data.y_train), ("dev", data.X_dev, data.y_dev),
                        ("test", data.X_test, data.y_test)):
        if X.shape[0]:
            y = ts.inverse_transform(y) if ts is not None else y
            metrics.update({f"{split}_{k}": v for k, v in score_split(model, X, y, ts).items()})
    n_train, n_dev = data.X_train.shape[0], data.X_dev.shape[0]
    if data.output != "linear" and n_dev:
        classes = data.dataset.class_names or list(range(data.n_classes))
        matrix = confusion_matrix(data.y_dev, model.predict(data.X_dev), len(classes))
        metrics["confusion_matrix"] = {"split": "dev", "classes": [str(c) for c in classes],
                                       "matrix": matrix.tolist()}
    if n_train:
        metrics["input_scale"] = input_statistics(data.X_train)  # after preprocessing: what the network sees
        metrics["n_train"] = int(n_train)
    if getattr(data.dataset, "image_shape", None):  # images: the doctor may prescribe augmentation
        metrics["image_shape"] = [int(v) for v in data.dataset.image_shape]
    if data.output != "linear" and "dev_accuracy" in metrics:
        metrics["n_dev"] = int(n_dev)
        if config is not None:
            metrics["human_error"] = config.human_error
            estimate = reference_seconds(n_train, data.X_train.shape[1], data.n_classes)
            seconds = sum(r.get("time", 0.0) for r in trainer.history.epochs)
            if sparse.issparse(data.X_train) and config.reference != "off":
                metrics["reference_skipped"] = SPARSE_REFERENCE
            elif data.reference is None and wanted(config.reference, config.human_error, estimate, seconds):
                data.reference = fit_reference(data.X_train, data.y_train, data.X_dev, data.y_dev, seed=config.seed)
            if data.reference is not None and config.reference != "off":
                metrics["reference"] = dict(data.reference)
        bv = run_bias_variance(1 - metrics["train_accuracy"], 1 - metrics["dev_accuracy"], metrics)
        metrics["bias_variance"] = bv.to_dict()
        metrics["diagnosis"] = bv.summary()
    return metrics


#: why a sparse X gets no reference model (metrics.json's ``reference_skipped``)
SPARSE_REFERENCE = ("X is sparse: the reference model (softmax regression on standardised inputs) centres X, "
                    "which would densify it")


def writing_status(progress: bool | None, what: str):
    """A spinner saying ``what`` is being written, on a terminal when there is a progress bar; else nothing."""
    import contextlib
    import sys

    if progress is False or (progress is None and not sys.stdout.isatty()):
        return contextlib.nullcontext()
    from rich.console import Console

    return Console().status(what + " ...")


def write_run_outputs(run_dir: Path, config: RunConfig, model: Sequential, data: PreparedData, trainer: Trainer,
                      metrics: dict, curves: bool = True) -> None:
    ds = data.dataset
    meta = {"config": config.to_dict(), "preprocessing": data.scaler.to_dict(), "classes": ds.class_names,
            "feature_names": ds.feature_names, "encoding": getattr(ds, "encoding", None), "task": ds.task,
            "dataset": ds.name,
            "target_preprocessing": data.target_scaler.to_dict() if data.target_scaler is not None else None}
    save_model(model, run_dir / "model.safetensors", metadata=meta)
    atomic_write_text(run_dir / "metrics.json", json.dumps(_jsonable(metrics), indent=2))
    if curves and len(trainer.history):
        draw_curves(trainer.history, run_dir, ds.name)


def draw_curves(history, run_dir: Path, name: str) -> None:
    """``curves.png``, drawn once with the report's smoothing: ``report.html`` embeds this file."""
    plot_learning_curves(history, run_dir / "curves.png", title=f"{name}: learning curves",
                         smooth_beta=CURVES_SMOOTHING)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


__all__ = ["PreparedData", "RunResult", "TunenetError", "build_model", "build_optimizer", "build_trainer",
           "check_resume_changes", "final_metrics", "prepare_data", "read_run_config", "score_split",
           "train_run"]
