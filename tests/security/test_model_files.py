"""Crafted model files (``RUN_DIR/model.safetensors`` through ``tunenet predict``, and ``gradcheck --model``).

Tampered: edited without recomputing the digest. Forged: digest recomputed,
so only the checks behind it (declared shapes against the header before
allocating, dtypes, finiteness, field types) stand in the way.
"""

from __future__ import annotations

import json
import struct

import numpy as np
from builders import (
    copy_run,
    deep_json,
    doc_of,
    edit_doc,
    forge,
    pickle_bytes,
    read_st,
    tensors_of,
    write_st,
)
from harness import Case, suite


def model_case(change):
    """``tunenet predict run train.csv`` after ``change(path_of_model, ctx)``."""
    def build(ctx):
        run = copy_run(ctx.base, ctx.dir / "run")
        change(run / "model.safetensors", ctx)
        return ["predict", "run", ctx.csv]
    return build


def gradcheck_case(change):
    def build(ctx):
        path = ctx.dir / "model.safetensors"
        path.write_bytes((ctx.base / "model.safetensors").read_bytes())
        change(path, ctx)
        return ["gradcheck", "--model", path, "--data", ctx.csv, "--samples", 8]
    return build


def tamper(edit):
    return lambda path, ctx: edit_doc(path, edit, recompute=False)


def forged(edit):
    return lambda path, ctx: edit_doc(path, edit, recompute=True)


def set_layer(i, **fields):
    def edit(doc):
        doc["architecture"]["layers"][i].update(fields)
    return edit


def shift_preprocessing(doc):
    doc["metadata"]["preprocessing"]["offset"] = [v + 100 for v in doc["metadata"]["preprocessing"]["offset"]]


def flip_last_byte(path, ctx):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))


def huge_dense(path, ctx):
    """Dense(n_in, 50,000,000) declared; the tensors stay small (digest recomputed)."""
    doc = doc_of(path)
    doc["architecture"]["layers"][0]["n_out"] = 50_000_000
    doc["architecture"]["layers"][2]["n_in"] = 50_000_000
    forge(path, doc=doc)


def huge_dense_with_header(path, ctx):
    """The header, too, declares a 12 GB W (its byte range lies beyond the file)."""
    header, body = read_st(path)
    doc = json.loads(header["__metadata__"]["tunenet"])
    n_in = doc["architecture"]["layers"][0]["n_in"]
    doc["architecture"]["layers"][0]["n_out"] = 50_000_000
    header["__metadata__"]["tunenet"] = json.dumps(doc)
    header["param/dense0.W"] = {"dtype": "F32", "shape": [n_in, 50_000_000], "data_offsets": [0, n_in * 200_000_000]}
    write_st(path, header, body)


def with_tensor(change):
    def edit(path, ctx):
        tensors = tensors_of(path)
        change(tensors)
        forge(path, tensors=tensors)
    return edit


def nan_weight(t):
    t["param/dense0.W"][0, 0] = np.nan


def as_float64(t):
    for k in t:
        t[k] = t[k].astype(np.float64)


def drop_bias(t):
    del t["param/dense0.b"]


def raw_header(text: bytes):
    def edit(path, ctx):
        _, body = read_st(path)
        write_st(path, text, body)
    return edit


def header_edit(change):
    def edit(path, ctx):
        header, body = read_st(path)
        change(header)
        write_st(path, header, body)
    return edit


def set_entry(name, **fields):
    def change(header):
        header[name].update(fields)
    return change


def forged_doc_text(text_of):
    return lambda path, ctx: forge(path, doc_text=text_of(doc_of(path)))


def write_bytes(data: bytes):
    return lambda path, ctx: path.write_bytes(data)


def pickle_instead(path, ctx):
    path.write_bytes(pickle_bytes(ctx.marker))


def symlink_elsewhere(path, ctx):
    other = ctx.dir / "elsewhere.safetensors"
    other.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(other)


def many_layers(doc):
    doc["architecture"]["layers"] = doc["architecture"]["layers"][:1] + [{"type": "ReLU"}] * 20_000 \
        + doc["architecture"]["layers"][1:]


def foreign(path, ctx):
    from safetensors.numpy import save

    path.write_bytes(save({"w": np.zeros(3, np.float32)}))


CASES = [
    # edited without recomputing the digest: every field that changes what the model computes is covered
    Case("model-activation-edited", model_case(tamper(set_layer(1, type="Sigmoid"))), "SHA-256", direct=True),
    Case("model-preprocessing-edited", model_case(tamper(shift_preprocessing)), "SHA-256"),
    Case("model-encoding-edited", model_case(tamper(lambda d: d["metadata"]["encoding"]["classes"].reverse())),
         "SHA-256"),
    Case("model-dtype-edited", model_case(tamper(lambda d: d.update(dtype="float64"))), "SHA-256"),
    Case("model-output-edited", model_case(tamper(lambda d: d["architecture"].update(output="linear"))), "SHA-256"),
    Case("model-tensor-byte-flipped", model_case(flip_last_byte), "SHA-256"),
    Case("model-digest-removed", model_case(header_edit(lambda h: h["__metadata__"].pop("tunenet_sha256"))),
         "SHA-256"),
    # forged (digest recomputed): checked before anything is allocated
    Case("model-dense-50M-declared", model_case(huge_dense), r"architecture declares \(\d+, 50000000\)"),
    Case("model-dense-50M-in-header", model_case(huge_dense_with_header), "byte range .* lies outside"),
    Case("gradcheck-dense-50M-declared", gradcheck_case(huge_dense), "architecture declares"),
    Case("model-dtype-object", model_case(forged(lambda d: d.update(dtype="object"))), "dtype 'object'"),
    Case("model-metadata-not-object", model_case(forged(lambda d: d.update(metadata=[1, 2]))),
         "metadata is not a JSON object"),
    Case("model-doc-not-object", model_case(forged_doc_text(lambda d: "[1, 2, 3]")), "not a JSON object"),
    Case("model-doc-nested-100k", model_case(forged_doc_text(lambda d: deep_json(100_000))), "nested too deeply"),
    Case("model-nan-weight", model_case(with_tensor(nan_weight)), "non-finite"),
    Case("model-float64-tensors-in-float32", model_case(with_tensor(as_float64)), "float64, but the model is float32"),
    Case("model-missing-tensor", model_case(with_tensor(drop_bias)), "missing"),
    Case("model-unknown-layer", model_case(forged(set_layer(1, type="Lambda"))), "unknown layer type 'Lambda'"),
    Case("model-layer-extra-field", model_case(forged(set_layer(1, code="import os"))), "malformed model architecture"),
    Case("model-layers-do-not-chain", model_case(forged(set_layer(-1, n_in=3))), "n_in is 3"),
    Case("model-20k-layers", model_case(forged(many_layers)), "1 to 10000 layers"),
    Case("model-n-out-negative", model_case(forged(set_layer(0, n_out=-5))), "n_out must be a positive integer"),
    Case("model-n-out-bool", model_case(forged(set_layer(0, n_out=True))), "n_out must be a positive integer"),
    Case("model-architecture-missing", model_case(forged(lambda d: d.pop("architecture"))), "architecture"),
    Case("model-format-checkpoint", model_case(forged(lambda d: d.update(format="tunenet-checkpoint"))),
         "expected a 'tunenet-model' file"),
    Case("model-schema-1", model_case(forged(lambda d: d.update(schema_version=1))), "schema version 1"),
    Case("model-schema-99", model_case(forged(lambda d: d.update(schema_version=99))), "schema version 99"),
    Case("model-encoding-not-object", model_case(forged(lambda d: d["metadata"].update(encoding="x"))), "encoding"),
    Case("model-preprocessing-malformed",
         model_case(forged(lambda d: d["metadata"]["preprocessing"].update(offset="abc"))), "scaler|preprocessing"),
    # the safetensors container itself
    Case("model-empty-file", model_case(write_bytes(b"")), "not a safetensors file"),
    Case("model-five-bytes", model_case(write_bytes(b"\x00" * 5)), "not a safetensors file"),
    Case("model-header-length-2-60", model_case(write_bytes(struct.pack("<Q", 2**60) + b"{}")), "truncated"),
    Case("model-header-not-json", model_case(raw_header(b"{not json")), "unreadable header"),
    Case("model-header-nested-100k", model_case(raw_header(deep_json(100_000).encode())), "nested too deeply"),
    Case("model-header-a-list", model_case(raw_header(b"[1, 2]")), "header is not an object"),
    Case("model-metadata-a-list", model_case(header_edit(lambda h: h.update(__metadata__=[1]))),
         "__metadata__ is not an object"),
    Case("model-metadata-value-number", model_case(header_edit(lambda h: h["__metadata__"].update(tunenet=5))),
         "__metadata__ is not an object of strings"),
    Case("model-tensor-dtype-unknown", model_case(header_edit(set_entry("param/dense0.W", dtype="F128"))),
         "dtype 'F128' is not supported"),
    Case("model-tensor-shape-negative", model_case(header_edit(set_entry("param/dense0.W", shape=[-4, 4]))),
         "is not a list of at most"),
    Case("model-tensor-shape-255-dims", model_case(header_edit(set_entry("param/dense0.W", shape=[1] * 255))),
         "is not a list of at most"),
    Case("model-tensor-offsets-overlap", model_case(header_edit(set_entry("param/dense0.b", data_offsets=[0, 16]))),
         "needs .* bytes|overlap"),
    Case("model-foreign-safetensors", model_case(foreign), "not a tunenet file"),
    Case("model-is-a-pickle", model_case(pickle_instead), "not a safetensors file"),
    Case("model-symlink-elsewhere", model_case(symlink_elsewhere), "symlink"),
    Case("model-missing", model_case(lambda path, ctx: path.unlink()), "no model.safetensors"),
]

results, test_case = suite(CASES)
