"""Save and load models: safetensors for arrays, JSON for everything else.

``save(model, path, metadata=None)`` writes parameters (``param/<name>``) and
state buffers (``state/<name>``) with the architecture, dtype and any extra
JSON ``metadata`` (preprocessing, class labels); ``load(path)`` rebuilds the
model and refuses a tampered, truncated or foreign file with a
:class:`~tunenet.errors.CheckpointError`. The extra metadata comes back as
``model.metadata``.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import CheckpointError
from ..safefile import load_tensors, save_tensors
from .model import Sequential

MODEL_FORMAT = "tunenet-model"


def model_tensors(model: Sequential) -> dict[str, np.ndarray]:
    tensors = {f"param/{p.name}": p.value for p in model.parameters()}
    tensors.update({f"state/{k}": v for k, v in model.state().items()})
    return tensors


def restore_tensors(model: Sequential, tensors: dict[str, np.ndarray], source: str) -> None:
    """Copy ``param/...`` and ``state/...`` arrays into ``model``, checking names and shapes."""
    expected = model_tensors(model)
    missing = sorted(set(expected) - set(tensors))
    unknown = sorted(k for k in set(tensors) - set(expected) if k.startswith(("param/", "state/")))
    if missing or unknown:
        raise CheckpointError(f"{source}: tensors do not match the architecture "
                              f"(missing {missing[:3]}, unexpected {unknown[:3]})")
    for key, target in expected.items():
        value = tensors[key]
        if value.shape != target.shape:
            raise CheckpointError(f"{source}: {key} has shape {value.shape}, expected {target.shape}")
        target[...] = value


def save(model: Sequential, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write ``model`` to ``path`` (a ``.safetensors`` file), atomically."""
    meta = {"architecture": model.config(), "dtype": str(model.dtype), "metadata": metadata or {}}
    save_tensors(path, model_tensors(model), MODEL_FORMAT, meta)


def load(path: str | os.PathLike) -> Sequential:
    """Read a model written by :func:`save`; ``model.metadata`` holds the extra JSON."""
    tensors, doc = load_tensors(path, MODEL_FORMAT)
    try:
        dtype = np.dtype(doc["dtype"])
        model = Sequential.from_config(doc["architecture"], dtype=dtype)
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: malformed model metadata ({exc})") from None
    restore_tensors(model, tensors, str(path))
    model.metadata = doc.get("metadata", {})
    return model
