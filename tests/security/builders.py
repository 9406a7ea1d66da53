"""Makers of crafted files for the security suite: forged safetensors, lying NPZ/IDX headers, payloads.

"Forged" files carry a *recomputed* digest: they are what an attacker who
knows the format writes, so they test the checks after the digest (shapes
against the header before allocating, dtypes, finiteness, types of fields).
"Tampered" files are edited without recomputing it.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from tunenet.safefile import CODES, DIGEST_KEY, DOC_KEY, _digest


# ----------------------------------------------------------------------------- safetensors
def read_st(path: Path) -> tuple[dict, bytes]:
    """(header dict, tensor bytes) of a safetensors file."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def write_st(path: Path, header: dict | bytes, body: bytes) -> None:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


def doc_of(path: Path) -> dict:
    header, _ = read_st(path)
    return json.loads(header["__metadata__"][DOC_KEY])


def tensors_of(path: Path) -> dict[str, np.ndarray]:
    return dict(st_load(path.read_bytes()))


def forge(path: Path, doc=None, tensors=None, doc_text: str | None = None) -> None:
    """Rewrite ``path`` with ``doc`` (or raw ``doc_text``) and ``tensors``, with a correct digest."""
    tensors = tensors_of(path) if tensors is None else tensors
    doc_text = doc_text if doc_text is not None else json.dumps(doc_of(path) if doc is None else doc)
    items = [(k, CODES[a.dtype], a.shape, np.ascontiguousarray(a).reshape(-1).view(np.uint8))
             for k, a in tensors.items()]
    path.write_bytes(st_save(tensors, metadata={DOC_KEY: doc_text, DIGEST_KEY: _digest(doc_text, items)}))


def edit_doc(path: Path, edit, recompute: bool) -> None:
    """Apply ``edit(doc)`` (in place) to the tunenet document; ``recompute``: forge a valid digest."""
    doc = doc_of(path)
    edit(doc)
    if recompute:
        forge(path, doc=doc)
        return
    header, body = read_st(path)
    header["__metadata__"][DOC_KEY] = json.dumps(doc)
    write_st(path, header, body)


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def copy_run(base: Path, dest: Path) -> Path:
    shutil.copytree(base, dest, symlinks=True)
    return dest


# ----------------------------------------------------------------------------- payloads
class Payload:
    """Unpickling this runs ``touch MARKER``: a load path that unpickles is caught by the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def pickle_bytes(marker: Path) -> bytes:
    return pickle.dumps(Payload(marker))


def yaml_payload(marker: Path) -> str:
    return f'lr: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ["{marker}"]]\n'


# ----------------------------------------------------------------------------- npz
def npy_header(shape, descr: str = "<f4", fortran: bool = False) -> bytes:
    """An .npy version 1.0 header (magic, length, dict literal padded to 64 bytes)."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)})
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def npz(path: Path, members: dict[str, bytes], compress: bool = True) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def zip_declaring(path: Path, name: str, data: bytes, declared_size: int) -> Path:
    """A stored zip member whose local and central headers claim ``declared_size`` uncompressed bytes."""
    npz(path, {name: data}, compress=False)
    raw = bytearray(path.read_bytes())
    real = struct.pack("<I", len(data))
    fake = struct.pack("<I", declared_size)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(sig)
        assert raw[at + offset:at + offset + 4] == real
        raw[at + offset:at + offset + 4] = fake
    path.write_bytes(bytes(raw))
    return path


# ----------------------------------------------------------------------------- idx
def idx_header(code: int, shape) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
