"""Checkpoints: resuming continues bit for bit; files are atomic and finite."""

import numpy as np
import pytest

from tunenet import CheckpointError, mlp
from tunenet.optim import Adam, Momentum
from tunenet.train import Checkpoint, EarlyStopping, Trainer, load_checkpoint
from tunenet.train.checkpoint import checkpoint_path


def make_trainer(run_dir, epochs, opt=Adam):
    model = mlp(64, [32, 16], 10, batchnorm=True, keep_prob=0.8, seed=0)
    return Trainer(model, opt(model, lr=1e-3), epochs=epochs, batch_size=50, seed=3,
                   callbacks=[EarlyStopping("dev_loss", patience=50), Checkpoint(run_dir)])


@pytest.mark.parametrize("opt", [Adam, Momentum])
def test_resume_is_bit_identical(tmp_path, digits, opt):
    X, y = digits
    full = make_trainer(tmp_path / "full", 6, opt)
    full.fit(X[:600], y[:600], X[600:900], y[600:900])

    part = make_trainer(tmp_path / "part", 3, opt)
    part.fit(X[:600], y[:600], X[600:900], y[600:900])
    resumed = make_trainer(tmp_path / "part", 6, opt)
    load_checkpoint(resumed, tmp_path / "part")
    assert resumed.epoch == 3 and len(resumed.history) == 3
    resumed.fit(X[:600], y[:600], X[600:900], y[600:900])

    np.testing.assert_array_equal(resumed.model.flat_values, full.model.flat_values)
    for k, v in full.model.state().items():
        np.testing.assert_array_equal(resumed.model.state()[k], v)
    assert resumed.history.steps == full.history.steps


def test_checkpoint_refuses_a_different_architecture(tmp_path, digits):
    X, y = digits
    make_trainer(tmp_path, 1).fit(X[:100], y[:100])
    other = mlp(64, [8], 10)
    trainer = Trainer(other, Adam(other), epochs=1)
    with pytest.raises(CheckpointError, match="architecture differs"):
        load_checkpoint(trainer, tmp_path)


def test_checkpoint_file_is_verified(tmp_path, digits):
    X, y = digits
    make_trainer(tmp_path, 1).fit(X[:100], y[:100])
    path = checkpoint_path(tmp_path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(make_trainer(tmp_path, 1), tmp_path)
    assert not list(path.parent.glob("*.tmp"))
