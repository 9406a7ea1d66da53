"""Predictions for new data with a trained run: the run's own encoding and scaler.

``predict_file(RUN_DIR, FILE)`` reads ``FILE`` (CSV, Parquet, ``.npz`` or
IDX), one-hot encodes it with the categories seen in training, applies the
normalisation fitted on the training set, and returns CSV text: the
predicted label (as it appeared in the training data) and one probability
column per class, or the predicted value(s) for regression.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from .data import decode_labels, encode_features, scaler_from_dict
from .data.target import target_scaler_from_dict
from .errors import CheckpointError
from .fileio import refuse_symlink
from .nn.io import load


def load_run_model(run_dir: str | os.PathLike):
    path = refuse_symlink(Path(run_dir) / "model.safetensors", CheckpointError)
    if not path.is_file():
        raise CheckpointError(f"{run_dir}: no model.safetensors (is this a finished run directory?)")
    model = load(path)
    for key in ("encoding", "preprocessing"):
        if not model.metadata.get(key):
            raise CheckpointError(f"{path}: the model carries no {key}; it was not saved by tunenet train")
    return model


def predict_arrays(run_dir: str | os.PathLike, file: str | os.PathLike) -> tuple[np.ndarray, object, dict]:
    """(model output, model, encoding): probabilities (m, k) or values (m, k) in the target's units.

    A regression model trained on a standardised target (``target_preprocessing``
    in its metadata) has its outputs mapped back: ``y = y' * std + mean``.
    """
    model = load_run_model(run_dir)
    meta = model.metadata
    X = encode_features(file, meta["encoding"])
    X = scaler_from_dict(meta["preprocessing"]).transform(X)
    out = model.predict_proba(X)
    target = target_scaler_from_dict(meta.get("target_preprocessing"), source=str(Path(run_dir) / "model.safetensors"))
    if model.output == "linear" and target is not None:
        out = target.inverse_transform(out)
    return out, model, meta["encoding"]


def predict_file(run_dir: str | os.PathLike, file: str | os.PathLike) -> str:
    """Predictions for ``file`` as CSV text (header row first)."""
    out, model, encoding = predict_arrays(run_dir, file)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if model.output == "linear":
        names = ["prediction"] if out.shape[1] == 1 else [f"prediction_{j}" for j in range(out.shape[1])]
        writer.writerow(names)
        writer.writerows([[f"{v:.7g}" for v in row] for row in out])
        return buf.getvalue()
    labels = decode_labels(out.argmax(axis=1), encoding)
    names = encoding.get("class_names") or [str(c) for c in encoding["classes"]]
    writer.writerow(["prediction"] + [f"p_{n}" for n in names])
    for label, row in zip(labels, out):
        writer.writerow([label] + [f"{p:.6f}" for p in row])
    return buf.getvalue()
