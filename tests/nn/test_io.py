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
