"""Full-batch L-BFGS through the trainer: one epoch per iteration, callbacks, checkpoints, the CLI."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

import tunenet
from cli_helpers import tunenet as run_tunenet
from tunenet.optim.lbfgs import LBFGS, minimize_lbfgs
from tunenet.train import EarlyStopping
from tunenet.train.lbfgs import LBFGSTrainer


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_an_epoch_is_one_lbfgs_iteration_with_the_same_weights_as_minimize(digits):
    X, y = digits
    model = tunenet.mlp(64, hidden=[16], n_out=10, seed=0)
    twin = tunenet.mlp(64, hidden=[16], n_out=10, seed=0)
    trainer = LBFGSTrainer(model, LBFGS(model), epochs=12, l2=1e-3, threads=1)
    history = trainer.fit(X[:1200], y[:1200], X[1200:], y[1200:])
    result = minimize_lbfgs(twin, X[:1200], y[:1200], l2=1e-3, max_iter=12, tol=1e-5)
    assert len(history.epochs) == trainer.epoch == 12 == result.nit
    np.testing.assert_array_equal(model.flat_values, twin.flat_values)
    assert history.steps == pytest.approx(result.loss_curve)
    assert history.epochs[-1]["dev_accuracy"] > 0.7  # 12 iterations from scratch
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]


def test_a_callback_stops_lbfgs_and_early_stopping_restores_the_best(digits):
    X, y = digits
    model = tunenet.mlp(64, hidden=[32], n_out=10, seed=0)
    stop = EarlyStopping("dev_loss", patience=2)
    trainer = LBFGSTrainer(model, LBFGS(model), epochs=300, callbacks=[stop], threads=1)
    history = trainer.fit(X[:300], y[:300], X[300:600], y[300:600])  # small train set: dev loss turns up
    assert trainer.epoch < 300 and trainer.stop_training
    best = int(np.argmin([r["dev_loss"] for r in history.epochs]))
    assert trainer.restored_epoch == best + 1


def test_cli_train_lbfgs_and_resume(tmp_path):
    run = tmp_path / "run"
    run_tunenet("train", "--data", "digits", "--optimizer", "lbfgs", "--hidden", "32", "--epochs", "6",
                "--early-stopping", "0", "--run-dir", run, check=0)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 6 and metrics["test_accuracy"] > 0.8
    run_tunenet("train", "--resume", run, "--epochs", "9", check=0)  # a fresh L-BFGS memory, same weights
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 9
    bad = run_tunenet("train", "--data", "digits", "--optimizer", "lbfgs", "--augment", "noise:0.1",
                      "--run-dir", tmp_path / "bad", check=2)
    assert bad.stderr.strip().startswith("error:") and "lbfgs" in bad.stderr and "Traceback" not in bad.stderr
