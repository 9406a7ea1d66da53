"""Save and load models: safetensors for arrays, JSON for everything else.

``save(model, path, metadata=None)`` writes parameters (``param/<name>``) and
state buffers (``state/<name>``) with the architecture, dtype and any extra
JSON ``metadata`` (preprocessing, class labels, encoding); one SHA-256 covers
all of it (see :mod:`tunenet.safefile` for what it proves and what it
cannot). ``load(path)`` refuses a tampered, truncated or foreign file with a
:class:`~tunenet.errors.CheckpointError`, and before building anything
compares the shapes the architecture implies (:func:`declared_tensors`) with
the tensors in the header, so a small file declaring ``Dense(64, 50000000)``
is refused without allocating its 12 GB. Weights must be finite and of the
model's dtype (float32 or float64). The extra metadata comes back as
``model.metadata``.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import CheckpointError, ConfigError
from ..safefile import TensorSpec, open_tensors, save_tensors
from .layers import LAYER_TYPES
from .model import OUTPUTS, Sequential

MODEL_FORMAT = "tunenet-model"
MODEL_DTYPES = ("float32", "float64")
MAX_LAYERS = 10_000


def model_tensors(model: Sequential) -> dict[str, np.ndarray]:
    tensors = {f"param/{p.name}": p.value for p in model.parameters()}
    tensors.update({f"state/{k}": v for k, v in model.state().items()})
    return tensors


def _size(config: dict, key: str, where: str) -> int:
    v = config.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise CheckpointError(f"{where}: {key} must be a positive integer, got {str(v)[:40]}")
    return v


def declared_tensors(architecture, source: str) -> dict[str, tuple[int, ...]]:
    """``{"param/dense0.W": (n_in, n_out), ...}`` for an architecture, from its JSON alone (nothing allocated).

    Checks that the layers chain: each Dense layer's ``n_in`` and each
    BatchNorm's ``n_features`` equal the width coming in.
    """
    if not isinstance(architecture, dict) or not isinstance(architecture.get("layers"), list):
        raise CheckpointError(f"{source}: malformed model architecture (expected an object with a 'layers' list)")
    if architecture.get("output") not in OUTPUTS:
        raise CheckpointError(f"{source}: model output {str(architecture.get('output'))[:40]!r} is not one of "
                              f"{', '.join(OUTPUTS)}")
    layers = architecture["layers"]
    if not 0 < len(layers) <= MAX_LAYERS:
        raise CheckpointError(f"{source}: a model architecture has 1 to {MAX_LAYERS} layers, found {len(layers)}")
    shapes: dict[str, tuple[int, ...]] = {}
    counts: dict[str, int] = {}
    width = None
    for i, config in enumerate(layers):
        kind = config.get("type") if isinstance(config, dict) else None
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise CheckpointError(f"{source}: layer {i}: unknown layer type {str(kind)[:40]!r}")
        cls = LAYER_TYPES[kind]
        name = f"{cls.kind}{counts.get(cls.kind, 0)}"
        counts[cls.kind] = counts.get(cls.kind, 0) + 1
        where = f"{source}: layer {i} ({kind})"
        if kind == "Dense":
            n_in, n_out = _size(config, "n_in", where), _size(config, "n_out", where)
            if width is not None and n_in != width:
                raise CheckpointError(f"{where}: n_in is {n_in} but the layer before gives {width}")
            if not isinstance(config.get("bias", True), bool):
                raise CheckpointError(f"{where}: bias must be true or false")
            shapes[f"param/{name}.W"] = (n_in, n_out)
            if config.get("bias", True):
                shapes[f"param/{name}.b"] = (n_out,)
            width = n_out
        elif kind == "BatchNorm":
            n = _size(config, "n_features", where)
            if width is not None and n != width:
                raise CheckpointError(f"{where}: n_features is {n} but the layer before gives {width}")
            shapes.update({f"param/{name}.gamma": (n,), f"param/{name}.beta": (n,),
                           f"state/{name}.running_mean": (n,), f"state/{name}.running_var": (n,)})
    if width is None:
        raise CheckpointError(f"{source}: the model architecture has no Dense layer")
    return shapes


def check_specs(specs: dict[str, TensorSpec], expected: dict[str, tuple[int, ...]], dtype: np.dtype,
                source: str, prefix: str = "") -> None:
    """The header's tensors under ``prefix`` must be exactly ``expected``: names, shapes and ``dtype``."""
    found = {k[len(prefix):]: s for k, s in specs.items() if k.startswith(prefix)
             and k[len(prefix):].startswith(("param/", "state/"))}
    missing, unknown = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unknown:
        raise CheckpointError(f"{source}: tensors do not match the architecture "
                              f"(missing {missing[:3]}, unexpected {unknown[:3]})")
    for key, shape in expected.items():
        spec = found[key]
        if spec.shape != shape:
            raise CheckpointError(f"{source}: {key} has shape {spec.shape}, but the architecture declares {shape}")
        if spec.dtype != dtype:
            raise CheckpointError(f"{source}: {key} is {spec.dtype.name}, but the model is {dtype.name}")


def restore_tensors(model: Sequential, tensors: dict[str, np.ndarray], source: str) -> None:
    """Copy ``param/...`` and ``state/...`` arrays into ``model``, checking names, shapes, dtypes and finiteness."""
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
        if value.dtype != target.dtype:
            raise CheckpointError(f"{source}: {key} is {value.dtype}, but the model is {target.dtype}")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise CheckpointError(f"{source}: {key} holds a non-finite value (NaN or inf)")
    for key, target in expected.items():
        target[...] = tensors[key]


def save(model: Sequential, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write ``model`` to ``path`` (a ``.safetensors`` file), atomically."""
    meta = {"architecture": model.config(), "dtype": str(model.dtype), "metadata": metadata or {}}
    save_tensors(path, model_tensors(model), MODEL_FORMAT, meta)


def load(path: str | os.PathLike) -> Sequential:
    """Read a model written by :func:`save`; ``model.metadata`` holds the extra JSON."""
    f = open_tensors(path, MODEL_FORMAT)
    doc, source = f.doc, str(path)
    if doc.get("dtype") not in MODEL_DTYPES:
        raise CheckpointError(f"{source}: model dtype {str(doc.get('dtype'))[:40]!r} is not supported "
                              f"(expected {' or '.join(MODEL_DTYPES)})")
    dtype = np.dtype(doc["dtype"])
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{source}: the model's metadata is not a JSON object")
    check_specs(f.specs, declared_tensors(doc.get("architecture"), source), dtype, source)
    tensors = f.arrays()
    try:
        model = Sequential.from_config(doc["architecture"], dtype=dtype)
    except (ConfigError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: malformed model architecture ({exc})") from None
    restore_tensors(model, tensors, source)
    model.metadata = metadata
    return model
