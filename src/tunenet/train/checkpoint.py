"""Resumable checkpoints: ``RUN_DIR/checkpoint/checkpoint.safetensors``.

Tensors: ``model/param/<name>``, ``model/state/<name>`` (weights and batch-norm
statistics), ``optim/<slot>/<param>`` (optimiser state) and
``callback/<Class>/<key>`` (e.g. early stopping's best weights). JSON:
epoch, step, learning-rate factor, Generator state, optimiser scalars,
callback scalars and the history. The file is written atomically (temp file,
fsync, rename) and only when every weight is finite, so the last good
checkpoint survives a divergence or a SIGKILL at any point.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import CheckpointError
from ..fileio import refuse_symlink
from ..nn.io import model_tensors, restore_tensors
from ..safefile import load_tensors, save_tensors
from .history import History

CHECKPOINT_FORMAT = "tunenet-checkpoint"


def checkpoint_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "checkpoint" / "checkpoint.safetensors"


def _split_arrays(state: dict) -> tuple[dict, dict]:
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    scalars = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    return arrays, scalars


def save_checkpoint(trainer, run_dir: str | os.PathLike) -> Path:
    """Write the trainer's complete state; refuses non-finite weights."""
    model = trainer.model
    if not np.all(np.isfinite(model.flat_values)):
        raise CheckpointError("refusing to checkpoint non-finite weights")
    tensors = {f"model/{k}": v for k, v in model_tensors(model).items()}
    optim = trainer.optimizer.state_dict()
    for slot, by_param in optim.pop("slots", {}).items():
        tensors.update({f"optim/{slot}/{name}": v for name, v in by_param.items()})
    callbacks = {}
    for cb in trainer.callbacks:
        arrays, scalars = _split_arrays(cb.state_dict())
        name = type(cb).__name__
        tensors.update({f"callback/{name}/{k}": v for k, v in arrays.items()})
        callbacks[name] = scalars
    meta = {
        "epoch": trainer.epoch,
        "step": trainer.step,
        "lr_factor": trainer.lr_factor,
        "first_loss": trainer.first_loss,
        "rng_state": trainer.rng.bit_generator.state,
        "optimizer": optim,
        "callbacks": callbacks,
        "history": trainer.history.to_dict(),
        "architecture": model.config(),
    }
    path = checkpoint_path(run_dir)
    save_tensors(path, tensors, CHECKPOINT_FORMAT, meta)
    return path


def _check_meta(meta: dict, path: Path) -> None:
    """Refuse a checkpoint document whose fields are not of the types :func:`save_checkpoint` writes."""
    types = {"epoch": int, "step": int, "lr_factor": (int, float), "rng_state": dict, "optimizer": dict,
             "callbacks": dict, "history": dict}
    for key, kind in types.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise CheckpointError(f"{path}: malformed checkpoint ({key!r} is missing or not a {kind})")
    if not all(isinstance(v, dict) for v in meta["callbacks"].values()):
        raise CheckpointError(f"{path}: malformed checkpoint (a callback's state is not an object)")
    try:
        np.random.default_rng(0).bit_generator.state = meta["rng_state"]
        History.from_dict(meta["history"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CheckpointError(f"{path}: malformed checkpoint (random generator state or history)") from None


def _check_arrays(tensors: dict, path: Path, model) -> None:
    dtype = model.dtype
    for key, value in tensors.items():
        if key.endswith("/best_values") and value.shape != model.flat_values.shape:
            raise CheckpointError(f"{path}: {key} has shape {value.shape}, expected {model.flat_values.shape}")
        if not key.startswith(("model/", "optim/")):
            continue  # callbacks' arrays (the health monitor's statistics may be NaN)
        if value.dtype != dtype:
            raise CheckpointError(f"{path}: {key} is {value.dtype}, but the model is {dtype}")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path}: {key} holds a non-finite value (NaN or inf)")


def load_checkpoint(trainer, run_dir: str | os.PathLike) -> None:
    """Restore a trainer (built with the same architecture) from its checkpoint.

    The optimiser's hyperparameters (``beta``, ``beta1``, ``beta2``, ``eps``,
    ``weight_decay``, Nesterov or not) stay the trainer's own: they come from
    the run's configuration, which a babysitting ``--resume --beta2 0.99``
    changes, while the checkpoint restores only the optimiser's state (its
    step counter ``t`` and slots ``v``, ``s``). With the configuration
    unchanged the two agree and the run continues bit for bit. The learning
    rate is set by the trainer at every epoch (or step) from the schedule.
    """
    path = refuse_symlink(checkpoint_path(run_dir), CheckpointError)
    tensors, meta = load_tensors(path, CHECKPOINT_FORMAT)
    _check_meta(meta, path)
    _check_arrays(tensors, path, trainer.model)
    model = trainer.model
    if meta.get("architecture") != model.config():
        raise CheckpointError(f"{path}: the checkpoint's architecture differs from the run's configuration")
    restore_tensors(model, {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}, str(path))
    optim = dict(meta["optimizer"])
    slots: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, slot, name = key.split("/", 2)
            slots.setdefault(slot, {})[name] = value
    optim["slots"] = slots
    optim["hyper"] = trainer.optimizer.hyper  # the configuration's values, not the checkpoint's
    trainer.optimizer.load_state_dict(optim)
    for cb in trainer.callbacks:
        name = type(cb).__name__
        if name in meta["callbacks"]:
            state = dict(meta["callbacks"][name])
            prefix = f"callback/{name}/"
            state.update({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            cb.load_state_dict(state)
    trainer.epoch, trainer.step = int(meta["epoch"]), int(meta["step"])
    trainer.lr_factor = float(meta["lr_factor"])
    trainer.first_loss = meta.get("first_loss")
    trainer.rng.bit_generator.state = meta["rng_state"]
    trainer.history = History.from_dict(meta["history"])
