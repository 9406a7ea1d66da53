"""Save/load: bit-identical predictions; tampered, truncated and foreign files are refused."""

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from tunenet import CheckpointError, load, mlp, save


@pytest.fixture
def trained_bn_model(rng):
    model = mlp(8, [16, 8], 4, batchnorm=True, keep_prob=0.9, activation="tanh")
    X = rng.standard_normal((32, 8)).astype(np.float32)
    for _ in range(3):  # move the batch-norm running statistics and the weights
        model.loss_and_grads(X, rng.integers(0, 4, 32))
        model.flat_values -= 0.1 * model.flat_grads
    return model


def test_saved_and_loaded_model_predicts_bit_identically(tmp_path, trained_bn_model, rng):
    path = tmp_path / "model.safetensors"
    save(trained_bn_model, path, metadata={"classes": ["a", "b", "c", "d"]})
    loaded = load(path)
    X = rng.standard_normal((50, 8))
    np.testing.assert_array_equal(loaded.predict_proba(X), trained_bn_model.predict_proba(X))
    assert loaded.metadata == {"classes": ["a", "b", "c", "d"]}
    assert loaded.config() == trained_bn_model.config()
    assert not list(tmp_path.glob("*.tmp"))


def test_tampered_file_is_refused(tmp_path, trained_bn_model):
    path = tmp_path / "model.safetensors"
    save(trained_bn_model, path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load(path)


def test_truncated_file_is_refused(tmp_path, trained_bn_model):
    path = tmp_path / "model.safetensors"
    save(trained_bn_model, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        load(path)
    path.write_bytes(path.read_bytes()[:5])
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load(path)


def test_foreign_files_are_refused(tmp_path):
    foreign = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a tunenet file"):
        load(foreign)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(struct.pack("<Q", 4) + b"\x80\x04K.")  # a pickle, never unpickled
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load(junk)
    with pytest.raises(CheckpointError, match="no such file"):
        load(tmp_path / "missing.safetensors")


def test_metadata_of_another_format_or_schema_is_refused(tmp_path):
    for doc, message in [({"format": "tunenet-checkpoint", "schema_version": 1}, "expected a 'tunenet-model'"),
                         ({"format": "tunenet-model", "schema_version": 99}, "schema version 99")]:
        path = tmp_path / "x.safetensors"
        save_file({"w": np.zeros(3, np.float32)}, str(path), metadata={"tunenet": json.dumps(doc)})
        with pytest.raises(CheckpointError, match=message):
            load(path)


def _forge_doc(path, edit):
    """Rewrite the file's tunenet document with ``edit`` applied and a *recomputed* digest."""
    from safetensors.numpy import load as st_load
    from safetensors.numpy import save as st_save

    from tunenet.safefile import CODES, DIGEST_KEY, DOC_KEY, _digest

    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    doc = json.loads(json.loads(data[8:8 + n])["__metadata__"][DOC_KEY])
    edit(doc)
    tensors = st_load(data)
    text = json.dumps(doc)
    items = [(k, CODES[a.dtype], a.shape, a.reshape(-1).view(np.uint8)) for k, a in tensors.items()]
    path.write_bytes(st_save(tensors, metadata={DOC_KEY: text, DIGEST_KEY: _digest(text, items)}))


def _edit_doc_only(path, edit):
    """Edit the tunenet document in the header, leaving the digest as it was."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    doc = json.loads(header["__metadata__"]["tunenet"])
    edit(doc)
    header["__metadata__"]["tunenet"] = json.dumps(doc)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])


@pytest.mark.parametrize("edit", [
    lambda d: d["architecture"]["layers"][1].update(type="Sigmoid"),        # ReLU -> Sigmoid
    lambda d: d["metadata"].update(preprocessing={"offset": [100.0]}),      # what predict applies
    lambda d: d.update(dtype="float64"),
    lambda d: d["architecture"].update(output="linear"),
], ids=["activation", "preprocessing", "dtype", "output"])
def test_editing_any_computing_field_without_the_digest_is_refused(tmp_path, edit):
    path = tmp_path / "m.safetensors"
    save(mlp(3, [4], 2, seed=0), path, metadata={"preprocessing": {"offset": [0.0]}})
    load(path)  # intact: loads
    _edit_doc_only(path, edit)
    with pytest.raises(CheckpointError, match="SHA-256"):
        load(path)


def test_declared_shapes_are_checked_before_the_model_is_built(tmp_path, monkeypatch):
    """A forged architecture declaring Dense(3, 50,000,000) is refused from the header, nothing allocated."""
    from tunenet.nn.model import Sequential

    path = tmp_path / "m.safetensors"
    save(mlp(3, [4], 2, seed=0), path)

    def widen(doc):
        doc["architecture"]["layers"][0]["n_out"] = 50_000_000
        doc["architecture"]["layers"][2]["n_in"] = 50_000_000
    _forge_doc(path, widen)
    monkeypatch.setattr(Sequential, "from_config", lambda *a, **k: pytest.fail("built before checking"))
    with pytest.raises(CheckpointError, match=r"architecture declares \(3, 50000000\)"):
        load(path)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(dtype="object"), "dtype 'object' is not supported"),
    (lambda d: d.update(metadata=["not", "an", "object"]), "metadata is not a JSON object"),
    (lambda d: d["architecture"]["layers"][0].update(type="Lambda"), "unknown layer type 'Lambda'"),
    (lambda d: d["architecture"]["layers"][2].update(n_in=7), "n_in is 7 but the layer before gives 4"),
    (lambda d: d.update(schema_version=1), "schema version 1, whose SHA-256 covers the tensors but not"),
])
def test_forged_documents_are_refused_by_the_checks_behind_the_digest(tmp_path, edit, message):
    path = tmp_path / "m.safetensors"
    save(mlp(3, [4], 2, seed=0), path)
    _forge_doc(path, edit)
    with pytest.raises(CheckpointError, match=message):
        load(path)


def test_nan_and_float64_weights_are_refused(tmp_path):
    from safetensors.numpy import load as st_load
    from safetensors.numpy import save as st_save

    from tunenet.safefile import CODES, DIGEST_KEY, DOC_KEY, _digest

    path = tmp_path / "m.safetensors"
    for change, message in [(lambda t: t["param/dense0.W"].__setitem__((0, 0), np.nan), "non-finite"),
                            (lambda t: t.update({k: v.astype(np.float64) for k, v in t.items()}),
                             "float64, but the model is float32")]:
        save(mlp(3, [4], 2, seed=0), path)
        data = path.read_bytes()
        (n,) = struct.unpack("<Q", data[:8])
        text = json.loads(data[8:8 + n])["__metadata__"][DOC_KEY]
        tensors = dict(st_load(data))
        change(tensors)
        items = [(k, CODES[a.dtype], a.shape, a.reshape(-1).view(np.uint8)) for k, a in tensors.items()]
        path.write_bytes(st_save(tensors, metadata={DOC_KEY: text, DIGEST_KEY: _digest(text, items)}))
        with pytest.raises(CheckpointError, match=message):
            load(path)


def test_header_nested_too_deeply_is_a_user_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    raw = b"[" * 100_000 + b"]" * 100_000
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load(path)


def test_declared_tensors_match_the_built_models_tensors():
    """The shapes computed from the JSON alone are exactly those of the model built from it."""
    from tunenet.nn.io import declared_tensors, model_tensors

    for model in (mlp(5, [6, 3], 4, batchnorm=True, keep_prob=0.8, activation="tanh"),
                  mlp(5, [6], 1, output="sigmoid", batchnorm="after"), mlp(2, [], 3)):
        assert declared_tensors(model.config(), "m") == {k: v.shape for k, v in model_tensors(model).items()}
