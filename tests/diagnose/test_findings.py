"""The doctor names the problem of deliberately broken runs, with the layer, the epoch and the fix."""

import json
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from tunenet.diagnose import Finding, HealthMonitor, diagnose, diagnose_run, read_diagnosis
from tunenet.errors import DataError, DivergenceError
from tunenet.nn import Dense, mlp
from tunenet.optim import make_optimizer
from tunenet.train import History, Trainer


@pytest.fixture(scope="module")
def split():
    d = load_digits()
    X_tr, X_dev, y_tr, y_dev = train_test_split(d.data, d.target, test_size=0.3, random_state=0, stratify=d.target)
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr).astype(np.float32), y_tr, scaler.transform(X_dev).astype(np.float32), y_dev)


def run(data, hidden, activation="relu", init="he", opt="adam", lr=1e-3, epochs=5, n=None, bias=None, every=10):
    """Train a deliberately built network with the health monitor; returns (trainer, findings)."""
    X, y, X_dev, y_dev = data
    n_in, n_out = X.shape[1], int(y.max()) + 1
    model = mlp(n_in, hidden, n_out, activation=activation, init=init, seed=0)
    if bias is not None:
        for layer in model.layers[:-1]:
            if isinstance(layer, Dense):
                layer.b.value[...] = bias
    monitor = HealthMonitor(every)
    trainer = Trainer(model, make_optimizer(opt, model, lr), epochs=epochs, batch_size=64, callbacks=[monitor],
                      seed=0, threads=1)
    try:
        trainer.fit(X[:n], y[:n], X_dev, y_dev)
    except DivergenceError:
        pass
    return trainer, diagnose(trainer.history, monitor.log)


def only(findings, kind) -> Finding:
    matches = [f for f in findings if f.kind == kind]
    assert len(matches) == 1, [f.summary() for f in findings]
    return matches[0]


def kinds(findings) -> set[str]:
    return {f.kind for f in findings}


# -- the must-show runs -------------------------------------------------------------
def test_vanishing_gradients_in_a_deep_sigmoid_network_with_small_init(split):
    _, findings = run(split, [64] * 5, activation="sigmoid", init="random", opt="sgd", lr=0.5, epochs=3)
    f = only(findings, "vanishing gradients")
    assert f.severity == "error" and f.epoch == 1
    assert f.layer.split(", ")[:2] == ["dense0", "dense1"]  # the first layers are named
    assert "dense5" not in f.layer  # not the output layer
    assert "dense0" in f.evidence and "e-0" in f.evidence  # the numbers: ratios like 5.9e-08
    assert "He" in f.fix and "batch" in f.fix
    assert "exploding gradients" not in kinds(findings)


def test_exploding_gradients_with_large_init_diverging(split):
    trainer, findings = run(split, [64] * 4, init="large", opt="sgd", lr=0.01)
    assert trainer.step == 1  # the second step's gradient overflowed
    f = only(findings, "exploding gradients")
    assert f.severity == "error" and f.epoch == 1 and f.layer.startswith("dense")
    assert "training diverged at step 2" in f.evidence and "huge" in f.evidence
    assert "clip" in f.fix and "init" in f.fix
    assert "learning rate too high" not in kinds(findings)  # the init is to blame, not the learning rate


def test_exploding_gradients_with_large_init_under_adam(split):
    _, findings = run(split, [64] * 4, init="large", opt="adam", lr=1e-3, epochs=2)
    f = only(findings, "exploding gradients")
    assert f.severity == "error" and f.layer == "dense0, dense1, dense2, dense3, dense4"
    assert "huge in 5 of 5 layers" in f.evidence and "activations grow" in f.evidence
    assert "learning rate too low" not in kinds(findings)  # update ratios mean nothing here


def test_dead_units_with_a_large_negative_bias(split):
    _, findings = run(split, [64, 64], bias=-5.0, epochs=3)
    f = only(findings, "dead units")
    assert f.severity == "error" and f.epoch == 1
    assert f.layer == "dense0, dense1"
    assert "100% of its 64 relu units dead" in f.evidence
    assert "leaky" in f.fix and "He" in f.fix


def test_high_bias_for_a_tiny_network_on_digits(split):
    trainer, findings = run(split, [2], lr=1e-2, epochs=15)
    f = only(findings, "high bias")
    assert f.severity == "warning" and f.epoch == 15
    train_error = 1 - trainer.history.last["train_accuracy"]
    assert train_error > 0.2
    assert f"train error {train_error:.1%}" in f.evidence
    assert "bigger network" in f.fix
    assert "high variance" not in kinds(findings)


def test_high_variance_for_a_wide_unregularised_network_on_few_samples(split):
    trainer, findings = run(split, [512], lr=1e-3, epochs=40, n=200)
    last = trainer.history.last
    assert last["train_accuracy"] == 1.0
    f = only(findings, "high variance")
    assert f.severity == "warning"
    assert f"dev error {1 - last['dev_accuracy']:.1%}" in f.evidence
    assert "L2" in f.fix and "dropout" in f.fix
    assert "high bias" not in kinds(findings)


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_learning_rate_10_is_too_high(split, opt):
    trainer, findings = run(split, [64, 64], opt=opt, lr=10.0, epochs=3)
    assert trainer.step <= 3  # the first steps blew the loss up; the trainer stopped before the next update
    f = only(findings, "learning rate too high")
    assert f.severity == "error" and f.epoch == 1
    assert f"training diverged at step {trainer.step + 1}: the loss exploded from" in f.evidence
    assert "their own norm" in f.evidence
    assert "exploding gradients" not in kinds(findings)  # the gradients were sane: the step size was not
    assert "try lr 1" in f.fix and "lr-find" in f.fix


# -- more findings --------------------------------------------------------------------
def test_learning_rate_too_low(split):
    _, findings = run(split, [64, 64], opt="sgd", lr=1e-4, epochs=4)
    f = only(findings, "learning rate too low")
    assert "below the healthy" in f.evidence and "try lr 0.001" in f.fix


def test_saturation_of_tanh_with_large_init(split):
    _, findings = run(split, [64, 64], activation="tanh", init="large", opt="sgd", lr=0.01, epochs=2)
    f = only(findings, "saturation")
    assert f.severity == "error" and f.layer == "dense0, dense1"
    assert "Xavier" in f.fix


def test_overfitting_names_the_epoch_the_dev_loss_turned_up():
    X, y = make_moons(200, noise=0.3, random_state=0)
    X_tr, X_dev, y_tr, y_dev = train_test_split(X.astype(np.float32), y, test_size=0.5, random_state=0)
    trainer, findings = run((X_tr, y_tr, X_dev, y_dev), [128, 128], lr=1e-2, epochs=120)
    f = only(findings, "overfitting")
    dev = trainer.history.column("dev_loss")
    best = int(np.argmin(dev)) + 1
    assert f.epoch == best and 1 < best < 100
    assert f"lowest at epoch {best}" in f.evidence and "early-stopping" in f.fix


def test_a_healthy_run_has_no_errors_or_warnings(split):
    _, findings = run(split, [128, 64], epochs=6)
    assert all(f.severity == "info" for f in findings), [f.summary() for f in findings]


# -- criteria on hand-made histories ---------------------------------------------------
def history(train_loss, dev_loss, train_acc=None, dev_acc=None):
    n = len(train_loss)
    rows = [{"epoch": i + 1, "train_loss": train_loss[i], "dev_loss": dev_loss[i],
             "train_accuracy": (train_acc or [math.nan] * n)[i], "dev_accuracy": (dev_acc or [math.nan] * n)[i],
             "lr": 0.01, "time": 0.1} for i in range(n)]
    return History(rows, [])


def test_overfitting_criterion_on_a_hand_made_curve():
    train = [1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03]
    dev = [1.1, 0.7, 0.5, 0.45, 0.47, 0.52, 0.6, 0.7, 0.8, 0.9]
    f = only(diagnose(history(train, dev)), "overfitting")
    assert f.epoch == 4 and "+100%" in f.evidence
    assert "overfitting" not in kinds(diagnose(history(train, [v * 0.9 + 0.1 for v in train])))


def test_oscillating_loss_is_a_learning_rate_too_high():
    train = [2.0, 1.2, 1.5, 1.1, 1.4, 1.0, 1.3, 0.9]
    f = only(diagnose(history(train, [math.nan] * 8)), "learning rate too high")
    assert f.severity == "warning" and f.epoch == 3 and "oscillates" in f.evidence
    assert not diagnose(history([2.0, 1.2, 0.9, 0.7, 0.6, 0.5], [math.nan] * 6))


def test_bias_variance_from_the_metrics_with_a_human_level():
    h = history([0.5] * 3, [0.6] * 3, [0.85] * 3, [0.84] * 3)
    assert "high bias" in kinds(diagnose(h))
    f = only(diagnose(h, metrics={"train_accuracy": 0.85, "dev_accuracy": 0.84, "human_error": 0.14}),
             "bias and variance fine")
    assert f.severity == "info" and "human-level 14.0%" in f.evidence


def test_findings_round_trip_and_sort_by_severity():
    f = Finding("overfitting", "warning", None, 3, "dev loss up", "stop early")
    assert Finding.from_dict(json.loads(json.dumps(f.to_dict()))) == f
    assert f.summary() == "[warning] overfitting (epoch 3): dev loss up Fix: stop early"


# -- run directories --------------------------------------------------------------------
def test_diagnose_run_reads_the_files_and_writes_diagnosis_json(tmp_path, split):
    trainer, _ = run(split, [64, 64], bias=-5.0, epochs=2)
    monitor = trainer.callbacks[0]
    trainer.history.save(tmp_path)
    monitor.save(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"train_accuracy": 0.1, "dev_accuracy": 0.1, "epochs": 2}))
    findings = diagnose_run(tmp_path)
    assert {"dead units", "high bias"} <= kinds(findings)
    doc = json.loads((tmp_path / "diagnosis.json").read_text())
    assert doc["format"] == "tunenet-diagnosis" and len(doc["findings"]) == len(findings)
    assert read_diagnosis(tmp_path) == findings


def test_diagnose_run_without_health_uses_the_history(tmp_path):
    history([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [1.0, 0.6, 0.5, 0.6, 0.7, 0.9]).save(tmp_path)
    assert kinds(diagnose_run(tmp_path, write=False)) == {"overfitting"}
    assert not (tmp_path / "diagnosis.json").exists()


def test_diagnose_run_errors_name_the_path(tmp_path):
    with pytest.raises(DataError, match="no such run directory"):
        diagnose_run(tmp_path / "missing")
    with pytest.raises(DataError, match="not a run directory"):
        diagnose_run(tmp_path)
    (tmp_path / "metrics.json").write_text("[1, 2")
    with pytest.raises(DataError, match="metrics.json: not valid JSON"):
        diagnose_run(tmp_path)


def test_no_hidden_layer_and_regression_do_not_trip_the_doctor(digits):
    X, y = digits
    logistic, findings = run((X[:256], y[:256], X[256:512], y[256:512]), [], epochs=2)
    assert logistic.callbacks[0].log.layer_names == ["dense0"]
    assert all(f.kind in ("high bias", "high variance", "bias and variance fine", "learning rate too low",
                          "still improving")
               for f in findings)
    model = mlp(64, [16], 1, output="linear", seed=0)
    monitor = HealthMonitor(every=5)
    target = X[:256, :1] * 3.0
    trainer = Trainer(model, make_optimizer("adam", model, 1e-2), epochs=3, batch_size=32, callbacks=[monitor],
                      seed=0, threads=1)
    trainer.fit(X[:256], target, X[256:320], X[256:320, :1] * 3.0)
    findings = diagnose(trainer.history, monitor.log)  # no accuracy: no bias/variance reading, no crash
    assert not kinds(findings) & {"high bias", "high variance", "bias and variance fine"}
