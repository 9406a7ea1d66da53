"""Tensors plus JSON metadata in one safetensors file, verified on load.

The safetensors header carries one metadata entry, ``"tunenet"``: a JSON
document with ``format`` (what the file holds), ``schema_version``, the
caller's metadata and ``sha256``, a digest of every tensor's name, dtype,
shape and bytes. Loading parses the header as JSON and the tensors as raw
arrays (nothing is unpickled), then refuses a file that is truncated, not a
safetensors file, of another format, of an unknown schema, or whose tensors
do not match the digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .errors import CheckpointError
from .fileio import atomic_write_bytes

SCHEMA_VERSION = 1


def tensor_digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over (name, dtype, shape, bytes) of each tensor, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_tensors(path: str | os.PathLike, tensors: dict[str, np.ndarray], fmt: str, metadata: dict) -> None:
    """Atomically write ``tensors`` and JSON ``metadata`` (format ``fmt``) to ``path``."""
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    doc = {"format": fmt, "schema_version": SCHEMA_VERSION, "sha256": tensor_digest(tensors), **metadata}
    atomic_write_bytes(path, st_save(tensors, metadata={"tunenet": json.dumps(doc)}))


def _header_metadata(data: bytes, path: Path) -> dict:
    if len(data) < 8:
        raise CheckpointError(f"{path}: not a safetensors file (only {len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise CheckpointError(f"{path}: truncated safetensors file (header claims {n} bytes)")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (header is not an object)")
    return header.get("__metadata__") or {}


def load_tensors(path: str | os.PathLike, fmt: str) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a file written by :func:`save_tensors`; returns (tensors, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    data = path.read_bytes()
    meta = _header_metadata(data, path)
    if "tunenet" not in meta:
        raise CheckpointError(f"{path}: not a tunenet file (no tunenet metadata in its header)")
    try:
        doc = json.loads(meta["tunenet"])
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: tunenet metadata is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise CheckpointError(f"{path}: holds {found!r}, expected a {fmt!r} file")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise CheckpointError(f"{path}: schema version {doc.get('schema_version')!r} is not supported "
                              f"(this tunenet reads {SCHEMA_VERSION})")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, struct.error) as exc:
        raise CheckpointError(f"{path}: corrupt or truncated tensors ({exc})") from None
    if tensor_digest(tensors) != doc.get("sha256"):
        raise CheckpointError(f"{path}: tensors do not match their SHA-256 (file modified or corrupted)")
    return tensors, doc
