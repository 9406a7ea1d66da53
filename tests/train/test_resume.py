"""Resuming a run directory: changed hyperparameters are honoured or refused, a diverged babysitting resume
leaves the run as it was, a run killed before its first checkpoint restarts honestly, and one writer at a time."""

import os
import signal
import time

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

from cli_helpers import popen, tunenet
from tunenet import ConfigError
from tunenet.config import RunConfig
from tunenet.errors import LockedError
from tunenet.lock import DirectoryLock
from tunenet.run import build_model, build_trainer, prepare_data, read_run_config, train_run
from tunenet.train import Callback
from tunenet.train.checkpoint import checkpoint_path

BASE = RunConfig(data="moons", hidden=(16,), epochs=2, batch_size=32, early_stopping=0, threads=1, seed=5)

# every optimiser hyperparameter but lr (the schedule sets lr each epoch; tests/test_cli.py resumes with a new lr)
CHANGES = [
    ("momentum", "beta", 0.5), ("nesterov", "beta", 0.5), ("rmsprop", "beta", 0.5), ("rmsprop", "eps", 1e-2),
    ("adam", "beta1", 0.5), ("adam", "beta2", 0.9), ("adam", "eps", 1e-2),
    ("adamw", "beta1", 0.5), ("adamw", "beta2", 0.9), ("adamw", "eps", 1e-2), ("adamw", "weight_decay", 0.3),
]


def continued_by_hand(config, name, value):
    """Two epochs, then ``name = value`` set on the live optimiser, then two more: the run a resume must give."""
    data = prepare_data(config)
    model = build_model(config, data.X_train.shape[1], data.n_out, data.output)
    trainer = build_trainer(config, model, None, progress=False, checkpoint=False)
    trainer.fit(data.X_train, data.y_train, data.X_dev, data.y_dev)
    setattr(trainer.optimizer, name, value)
    trainer.epochs = 4
    trainer.fit(data.X_train, data.y_train, data.X_dev, data.y_dev)
    return model.flat_values.copy()


@pytest.mark.parametrize("optimizer,name,value", CHANGES, ids=[f"{o}-{n}" for o, n, _ in CHANGES])
def test_resume_honours_every_changed_optimiser_hyperparameter(tmp_path, optimizer, name, value):
    config = BASE.replace(optimizer=optimizer, lr=0.01)
    run = tmp_path / "run"
    train_run(config, run, progress=False, report=False)
    changed = config.replace(epochs=4, **{name: value})
    resumed = train_run(changed, run, resume=True, progress=False, report=False)
    expected = continued_by_hand(config, name, value)
    np.testing.assert_array_equal(resumed.model.flat_values, expected)
    # and the change made a difference: ignoring it (the old behaviour) gives other weights
    ignored = continued_by_hand(config, name, getattr(config, name))
    assert not np.array_equal(resumed.model.flat_values, ignored)
    assert yaml.safe_load((run / "config.yaml").read_text())[name] == value


def test_switching_momentum_to_nesterov_on_resume_is_honoured(tmp_path):
    config = BASE.replace(optimizer="momentum", lr=0.05)
    train_run(config, tmp_path / "run", progress=False, report=False)
    resumed = train_run(config.replace(optimizer="nesterov", epochs=4), tmp_path / "run", resume=True,
                        progress=False, report=False)
    np.testing.assert_array_equal(resumed.model.flat_values, continued_by_hand(config, "nesterov", True))


@pytest.mark.parametrize("change", [{"hidden": (8,)}, {"seed": 1}, {"optimizer": "sgd"}, {"normalize": "minmax"},
                                    {"monitor": "dev_accuracy"}, {"keep_prob": 0.5}])
def test_changes_a_resume_cannot_honour_are_refused_naming_the_flag(tmp_path, change):
    run = tmp_path / "run"
    train_run(BASE, run, progress=False, report=False)
    before = (run / "config.yaml").read_bytes(), checkpoint_path(run).read_bytes()
    flag = "--" + next(iter(change)).replace("_", "-")
    with pytest.raises(ConfigError, match=f"{flag} \\(the run has .*\\) cannot change on --resume"):
        train_run(BASE.replace(epochs=3, **change), run, resume=True, progress=False, report=False)
    assert ((run / "config.yaml").read_bytes(), checkpoint_path(run).read_bytes()) == before


def test_a_diverged_babysitting_resume_leaves_config_and_checkpoint_so_a_plain_resume_continues(tmp_path):
    run = tmp_path / "run"
    tunenet("train", "--data", "moons", "--epochs", "2", "--run-dir", run, "--quiet", check=0)
    config, ckpt = (run / "config.yaml").read_bytes(), checkpoint_path(run).read_bytes()
    err = tunenet("train", "--resume", run, "--lr", "1000", "--epochs", "4", "--quiet", check=2).stderr
    assert err.startswith("error: training diverged at epoch 3")
    assert (run / "config.yaml").read_bytes() == config, "the diverged resume rewrote config.yaml"
    assert checkpoint_path(run).read_bytes() == ckpt
    # the next plain resume is the run as it was: it continues with lr 0.001 and does not diverge
    tunenet("train", "--resume", run, "--epochs", "3", "--quiet", check=0)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["lr"] == 0.001 and saved["epochs"] == 3
    assert (run / "history.csv").read_text().count("\n") == 1 + 3


def test_a_babysitting_resume_writes_config_yaml_once_it_has_moved_on(tmp_path):
    run = tmp_path / "run"
    train_run(BASE, run, progress=False, report=False)
    seen = []

    class Spy(Callback):  # records what config.yaml says at the end of each resumed epoch
        def on_epoch_end(self, trainer, logs):
            seen.append(yaml.safe_load((run / "config.yaml").read_text())["beta1"])

    train_run(BASE.replace(epochs=4, beta1=0.5), run, resume=True, callbacks=[Spy()], progress=False, report=False)
    # the spy runs before the checkpoint callback: epoch 3 still sees the old file, epoch 4 the new one
    assert seen == [0.9, 0.5]


SLOW_FIRST_EPOCH = ["--data", "digits", "--hidden", "1024,1024", "--batch-size", "1", "--epochs", "2",
                    "--early-stopping", "0", "--quiet"]


def test_a_run_killed_before_its_first_checkpoint_resumes_from_scratch_saying_so(tmp_path):
    run = tmp_path / "killed"
    proc = popen("train", *SLOW_FIRST_EPOCH, "--run-dir", run)
    deadline = time.time() + 120
    while not (run / "config.yaml").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run / "config.yaml").is_file() and not checkpoint_path(run).exists(), "killed too late"
    # resumed (with a faster batch size, as babysitting may) it trains from scratch and says so
    result = tunenet("train", "--resume", run, "--batch-size", "64", "--quiet", check=0)
    assert "has no checkpoint yet" in result.stderr and "training it from scratch" in result.stderr
    assert checkpoint_path(run).is_file()
    fresh = tmp_path / "fresh"
    train_run(read_run_config(run), fresh, progress=False, report=False)  # the same config, run uninterrupted
    a, b = load_file(str(run / "model.safetensors")), load_file(str(fresh / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert yaml.safe_load((run / "config.yaml").read_text())["batch_size"] == 64


def test_a_mistake_in_the_data_leaves_no_run_directory(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n2,\n")
    tunenet("train", "--data", bad, "--run-dir", tmp_path / "run", "--quiet", check=2)
    assert not (tmp_path / "run").exists()


def test_the_directory_lock_excludes_a_second_holder_and_names_the_first(tmp_path):
    first = DirectoryLock(tmp_path / "d", "run directory").acquire()
    with pytest.raises(LockedError, match=f"d: this run directory is in use by another tunenet process "
                                          f"\\(pid {os.getpid()}\\)"):
        DirectoryLock(tmp_path / "d", "run directory").acquire()
    first.release()
    with DirectoryLock(tmp_path / "d"):  # released: free again
        pass


def test_two_trainings_on_one_run_directory_the_second_exits_2_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    first = popen("train", *SLOW_FIRST_EPOCH, "--run-dir", run)
    deadline = time.time() + 120
    while not (run / "config.yaml").exists() and time.time() < deadline:
        time.sleep(0.01)
    second = tunenet("train", "--data", "moons", "--epochs", "1", "--run-dir", run, "--quiet", check=2)
    message = second.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"error: {run}: this run directory is in use") and f"pid {first.pid}" in message
    again = tunenet("train", "--resume", run, "--quiet", check=2).stderr  # a resume is a writer too
    assert f"pid {first.pid}" in again
    first.send_signal(signal.SIGKILL)  # the kernel drops the lock with its holder: no stale lock
    first.wait()
    tunenet("train", "--resume", run, "--epochs", "1", "--batch-size", "64", "--quiet", check=0)
    assert (run / "model.safetensors").is_file()
