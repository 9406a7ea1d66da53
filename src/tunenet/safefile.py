"""Tensors plus JSON metadata in one safetensors file, verified before anything is built from it.

A safetensors file is an 8-byte little-endian header length ``N``, ``N`` bytes
of JSON header ``{name: {"dtype", "shape", "data_offsets"}, "__metadata__":
{str: str}}``, then the tensors' bytes. tunenet writes two metadata entries:

- ``"tunenet"``: a JSON document with ``format`` (what the file holds),
  ``schema_version`` and the caller's fields (a model's architecture, dtype,
  preprocessing, encoding, classes; a checkpoint's optimiser state ...);
- ``"tunenet_sha256"``: the SHA-256 of that document's text *and* every
  tensor, so that no field that changes what the file computes can be
  edited without the digest changing::

      sha256("tunenet-file/2\\n" || len(doc) || doc ||
             for name in sorted(tensors): name "|" DTYPE "|" shape "|" nbytes "\\n" || bytes)

What the digest proves: the file is byte for byte what tunenet wrote, so a
corrupted file, a truncated one, or one whose architecture, preprocessing or
weights were edited without recomputing the digest is refused. What it
cannot prove: who wrote the file. The digest lives in the same file, so
anyone able to edit the file can recompute it; it is an integrity check, not
a signature. Files are therefore also treated as untrusted data: nothing is
unpickled, and every declared size is checked against the bytes present
before anything is allocated.

Loading, in order: the header length is bounded by the file; the header is
parsed as JSON (a too-deep nesting is refused); each tensor's dtype must be
known, its shape times item size must equal its byte range, and the ranges
must tile the data area; the document must be a JSON object of the expected
format and schema version; the digest is verified over the raw bytes. Only
then may the caller compare the declared shapes with what it expects
(:attr:`TensorFile.specs`) and materialise the arrays (:meth:`TensorFile.arrays`).

Schema version 1 (files written before the digest covered the metadata) is
refused with a message saying so: its digest covered only the tensors, so an
edited architecture or preprocessing could not be detected, and loading it
would claim a verification that did not happen.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .errors import CheckpointError
from .fileio import atomic_write_bytes

SCHEMA_VERSION = 2
DOC_KEY, DIGEST_KEY = "tunenet", "tunenet_sha256"
MAX_HEADER_BYTES = 100 * 2**20   # safetensors' own limit
MAX_DIMS = 32                    # numpy allows 64; no tunenet tensor has more than 2
DTYPES = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype("<u1"), "I8": np.dtype("<i1"), "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"), "F16": np.dtype("<f2"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"), "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8"),
}
CODES = {dt: code for code, dt in DTYPES.items()}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor as the header declares it: dtype, shape and byte range in the data area."""

    code: str
    dtype: np.dtype
    shape: tuple[int, ...]
    begin: int
    end: int


def _digest(doc_text: str, items) -> str:
    """SHA-256 of the document text and ``(name, code, shape, buffer)`` items (see the module docstring)."""
    h = hashlib.sha256(b"tunenet-file/2\n")
    doc = doc_text.encode("utf-8")
    h.update(f"{len(doc)}\n".encode())
    h.update(doc)
    for name, code, shape, buffer in sorted(items, key=lambda item: item[0]):
        nbytes = memoryview(buffer).nbytes
        h.update(f"{name}|{code}|{','.join(map(str, shape))}|{nbytes}\n".encode())
        h.update(buffer)
    return h.hexdigest()


def save_tensors(path: str | os.PathLike, tensors: dict[str, np.ndarray], fmt: str, metadata: dict) -> None:
    """Atomically write ``tensors`` and the JSON document ``{format, schema_version, **metadata}`` to ``path``."""
    arrays = {}
    for name, value in tensors.items():
        a = np.ascontiguousarray(value)
        if a.dtype.newbyteorder("<") not in CODES:
            raise TypeError(f"tensor {name!r}: dtype {a.dtype} cannot be stored")
        arrays[name] = a.astype(a.dtype.newbyteorder("<"), copy=False)
    doc_text = json.dumps({"format": fmt, "schema_version": SCHEMA_VERSION, **metadata})
    digest = _digest(doc_text, [(k, CODES[a.dtype], a.shape, a.reshape(-1).view(np.uint8)) for k, a in arrays.items()])
    atomic_write_bytes(path, st_save(arrays, metadata={DOC_KEY: doc_text, DIGEST_KEY: digest}))


def parse_json(text, path, what: str):
    """``json.loads`` that turns bad text and too-deep nesting into a CheckpointError naming ``what``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise CheckpointError(f"{path}: {what} is nested too deeply to be tunenet's") from None
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{path}: {what} is not valid JSON") from None


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _specs(header: dict, data_size: int, path: Path) -> dict[str, TensorSpec]:
    """Validate every tensor entry of the header against the data area's size (nothing is allocated)."""
    specs = {}
    for name, entry in header.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{where}: malformed header entry (expected dtype, shape and data_offsets)")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(code, str) or code not in DTYPES:
            raise CheckpointError(f"{where}: dtype {code!r} is not supported (expected one of {', '.join(DTYPES)})")
        if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(_is_count(d) for d in shape):
            raise CheckpointError(f"{where}: shape {str(shape)[:80]} is not a list of at most {MAX_DIMS} sizes")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)
                and offsets[0] <= offsets[1] <= data_size):
            raise CheckpointError(f"{where}: byte range {str(offsets)[:80]} lies outside the file's "
                                  f"{data_size} bytes of data (truncated or forged file)")
        nbytes = math.prod(shape) * DTYPES[code].itemsize
        if nbytes != offsets[1] - offsets[0]:
            raise CheckpointError(f"{where}: shape {tuple(shape)} {code} needs {nbytes} bytes but the header "
                                  f"gives it {offsets[1] - offsets[0]}")
        specs[name] = TensorSpec(code, DTYPES[code], tuple(shape), offsets[0], offsets[1])
    position = 0
    for name, spec in sorted(specs.items(), key=lambda item: (item[1].begin, item[1].end)):
        if spec.begin != position:
            raise CheckpointError(f"{path}: tensor {name!r} starts at byte {spec.begin}, expected {position} "
                                  "(tensors overlap or leave gaps)")
        position = spec.end
    if position != data_size:
        raise CheckpointError(f"{path}: {data_size - position} bytes after the last tensor (not a file tunenet wrote)")
    return specs


@dataclass
class TensorFile:
    """A verified tunenet safetensors file: its document, its tensors' specs, and its bytes."""

    path: Path
    doc: dict
    specs: dict[str, TensorSpec]
    data: bytes

    def arrays(self) -> dict[str, np.ndarray]:
        """The tensors as arrays (the sizes were checked against the file; call after checking ``specs``)."""
        try:
            tensors = st_load(self.data)
        except (SafetensorError, ValueError, struct.error) as exc:
            raise CheckpointError(f"{self.path}: corrupt tensors ({exc})") from None
        for name, spec in self.specs.items():
            got = tensors.get(name)
            if got is None or got.shape != spec.shape or got.dtype != spec.dtype:
                raise CheckpointError(f"{self.path}: tensor {name!r} does not read back as declared")
        return tensors


def open_tensors(path: str | os.PathLike, fmt: str) -> TensorFile:
    """Read ``path``, check its header and verify its digest; the arrays are not built yet."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    data = path.read_bytes()
    if len(data) < 8:
        raise CheckpointError(f"{path}: not a safetensors file (only {len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise CheckpointError(f"{path}: not a safetensors file, or a truncated one (header claims {n} bytes, "
                              f"the file has {len(data) - 8} after the length)")
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path}: safetensors header of {n} bytes is over the {MAX_HEADER_BYTES} byte limit")
    try:
        header = json.loads(data[8:8 + n])
    except RecursionError:
        raise CheckpointError(f"{path}: not a safetensors file (header nested too deeply)") from None
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{path}: not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (header is not an object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{path}: not a safetensors file (__metadata__ is not an object of strings)")
    if DOC_KEY not in meta:
        raise CheckpointError(f"{path}: not a tunenet file (no tunenet metadata in its header)")
    doc = parse_json(meta[DOC_KEY], path, "tunenet metadata")
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: tunenet metadata is not a JSON object")
    if doc.get("format") != fmt:
        raise CheckpointError(f"{path}: holds {str(doc.get('format'))[:40]!r}, expected a {fmt!r} file")
    version = doc.get("schema_version")
    if version == 1:
        raise CheckpointError(f"{path}: schema version 1, whose SHA-256 covers the tensors but not the "
                              "architecture or preprocessing, so edits to those cannot be detected; this "
                              f"tunenet reads schema version {SCHEMA_VERSION} only: train or save the model again")
    if version != SCHEMA_VERSION:
        raise CheckpointError(f"{path}: schema version {str(version)[:20]} is not supported "
                              f"(this tunenet reads {SCHEMA_VERSION})")
    specs = _specs(header, len(data) - 8 - n, path)
    body = memoryview(data)[8 + n:]
    found = _digest(meta[DOC_KEY], [(k, s.code, s.shape, body[s.begin:s.end]) for k, s in specs.items()])
    if found != meta.get(DIGEST_KEY):
        raise CheckpointError(f"{path}: contents do not match their SHA-256 (file modified or corrupted)")
    return TensorFile(path, doc, specs, data)


def load_tensors(path: str | os.PathLike, fmt: str) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a file written by :func:`save_tensors`; returns (tensors, document)."""
    f = open_tensors(path, fmt)
    return f.arrays(), f.doc
