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
from .errors import CheckpointError, DataError
from .fileio import check_run_dir, refuse_symlink
from .nn.io import load


def load_run_model(run_dir: str | os.PathLike):
    path = refuse_symlink(check_run_dir(run_dir) / "model.safetensors", CheckpointError)
    check_run_dir(run_dir, "model.safetensors")
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
    X = scaled_features(encode_features(file, meta["encoding"]), meta, file)
    out = model.predict_proba(X)
    target = target_scaler_from_dict(meta.get("target_preprocessing"), source=str(Path(run_dir) / "model.safetensors"))
    if model.output == "linear" and target is not None:
        out = target.inverse_transform(out)
    return out, model, meta["encoding"]


def scaled_features(X, meta: dict, file) -> np.ndarray:
    """``X`` through the run's stored input scaling; a scipy.sparse ``X`` stays sparse.

    A run trained on dense X centred its inputs (standard, minmax): a sparse ``X``
    is then refused in one line rather than densified. A run trained on sparse X
    stored a scale-only scaler, which takes sparse and dense ``X`` alike.
    """
    from scipy import sparse

    scaling = meta["preprocessing"]
    if sparse.issparse(X) and scaling.get("type") in ("standard", "minmax"):
        raise DataError(f"{file}: a sparse {X.shape[0]:,} x {X.shape[1]:,} matrix, but the run centred its inputs "
                        f"(normalize {scaling['type']} on dense training X), which would densify it: "
                        "pass dense X, or train the run on sparse X (its scaling is then scale-only)")
    return scaler_from_dict(scaling).transform(X)


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


def labels_of(file: str | os.PathLike, encoding: dict, target: str | None = None) -> np.ndarray:
    """The encoded labels of a labelled file: the training target column (or ``target``), or ``y`` of an .npz."""
    from .data import encode_labels
    from .data.npz import read_npz_arrays
    from .data.tables import read_columns
    from .data.validation import ArrayWhere

    if os.fspath(file).endswith(".npz"):
        from .data.npz import is_sparse_archive, require

        arrays, source = read_npz_arrays(file, required=())
        require(arrays, ("y",) if is_sparse_archive(arrays) else ("X", "y"), source)
        return encode_labels(arrays["y"].ravel(), encoding, ArrayWhere("y", source))
    columns, where = read_columns(file)
    name = target or encoding.get("target") or list(columns)[-1]
    if name not in columns:
        raise DataError(f"{where.whole()}: no target column {name!r} (columns: {', '.join(columns)}); "
                        "a labelled file for evaluate needs the column the model was trained on (or --target)")
    return encode_labels(columns[name], encoding, where, name)


def evaluate_file(run_dir: str | os.PathLike, file: str | os.PathLike, target: str | None = None) -> dict:
    """Scores of a trained run on a labelled file, as ``tunenet train`` reports them.

    Classification: ``{"rows", "loss", "accuracy"}``. Regression: ``{"rows", "loss",
    "r2", "rmse", "mae"}`` from :func:`tunenet.metrics.regression_scores`, in
    the target's units; ``loss`` is the training loss (1/2 MSE, of the
    standardised target when the run standardised it).
    """
    from .metrics import regression_scores
    from .train import evaluate

    model = load_run_model(run_dir)
    meta = model.metadata
    encoding = meta["encoding"]
    X = encode_features(file, encoding) if encoding.get("kind") == "table" else _array_features(file, encoding,
                                                                                               target)
    X = scaled_features(X, meta, file)
    y = labels_of(file, encoding, target)
    if len(y) != X.shape[0]:
        raise DataError(f"{file}: {X.shape[0]} rows of features but {len(y)} labels")
    if model.output != "linear":
        loss, accuracy = evaluate(model, X, y)
        return {"rows": int(len(y)), "loss": float(loss), "accuracy": float(accuracy)}
    scaler = target_scaler_from_dict(meta.get("target_preprocessing"),
                                     source=str(Path(run_dir) / "model.safetensors"))
    y_model = scaler.transform(y) if scaler is not None else y  # what the network was trained to output
    loss, _ = evaluate(model, X, np.asarray(y_model, dtype=np.float32))
    predicted = model.predict_proba(X)
    if scaler is not None:
        predicted = scaler.inverse_transform(predicted)
    return {"rows": int(len(y)), "loss": float(loss), **regression_scores(y, predicted)}


def _array_features(file, encoding: dict, target: str | None) -> np.ndarray:
    """Features of a labelled file for a model trained on arrays: every column but the label column."""
    if os.fspath(file).endswith(".npz"):
        return encode_features(file, encoding)
    from .data.tables import read_columns

    columns, where = read_columns(file)
    name = target or list(columns)[-1]
    frame = {k: v for k, v in columns.items() if k != name}
    import pandas

    return encode_features(pandas.DataFrame(frame), encoding)
