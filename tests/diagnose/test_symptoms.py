"""The symptoms the doctor used to miss, each on a run built for it, and the contradictions it no longer makes."""

import math

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from tunenet.config import RunConfig
from tunenet.diagnose import HealthMonitor, diagnose
from tunenet.diagnose.symptoms import frozen_layers, input_statistics, symmetric_layers
from tunenet.errors import DivergenceError
from tunenet.nn import Dense, mlp
from tunenet.optim import make_optimizer, make_schedule
from tunenet.train import History, Trainer


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X_tr, X_dev, y_tr, y_dev = train_test_split(d.data, d.target, test_size=0.3, random_state=0, stratify=d.target)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr).astype(np.float32), y_tr, scaler.transform(X_dev).astype(np.float32), y_dev


def train(data, hidden, activation="relu", init="he", opt="adam", lr=1e-3, epochs=4, schedule=None, scale=1.0,
          weight=None):
    X, y, X_dev, y_dev = data
    model = mlp(X.shape[1], hidden, 10, activation=activation, init=init, seed=0)
    if weight is not None:
        for layer in model.layers:
            if isinstance(layer, Dense):
                layer.W.value[...] = weight
    monitor = HealthMonitor(10)
    trainer = Trainer(model, make_optimizer(opt, model, lr), epochs=epochs, batch_size=64, callbacks=[monitor],
                      schedule=make_schedule(schedule, lr) if schedule else None, seed=0, threads=1)
    try:
        trainer.fit(X * scale, y, X_dev * scale, y_dev)
    except DivergenceError:
        pass
    weights = {layer.name: layer.W.value.copy() for layer in model.layers if isinstance(layer, Dense)}
    return trainer, monitor.log, weights


def kinds(findings):
    return [f.kind for f in findings]


def test_zero_initialised_tanh_network_is_frozen_and_told_to_initialise_randomly(digits):
    _, log, weights = train(digits, [32, 32], activation="tanh", init="zeros")
    assert frozen_layers(log) == ["dense0", "dense1", "dense2"]  # gradients exactly 0: their ratios are 0/0
    findings = diagnose(None, log, weights=weights, config=RunConfig(activation="tanh", init="zeros").to_dict())
    top = findings[0]
    assert top.kind == "frozen network" and top.severity == "error" and "exactly 0" in top.evidence
    assert top.change == {"init": "xavier"}
    assert "learning rate too low" not in kinds(findings)


def test_constant_weights_leave_identical_units_a_symmetric_network(digits):
    _, log, weights = train(digits, [16, 16], activation="sigmoid", weight=0.05, opt="sgd", lr=0.5)
    assert symmetric_layers({k: v for k, v in weights.items() if k != "dense2"}) == ["dense0", "dense1"]
    f = diagnose(None, log, weights=weights)[0]
    assert f.kind == "frozen network" and "same incoming weights" in f.evidence
    _, log, weights = train(digits, [16, 16])  # random He init: no unit is like another
    assert "frozen network" not in kinds(diagnose(None, log, weights=weights))


def test_a_schedule_that_decays_the_lr_to_nothing_is_a_late_stall(digits):
    _, log, _ = train(digits, [32], epochs=8, schedule="exponential:0.01")
    assert log.lr[-1] < 1e-12
    config = RunConfig(schedule="exponential:0.01", epochs=8).to_dict()
    f = [f for f in diagnose(None, log, config=config) if f.kind == "learning rate too low"][0]
    assert "stalled late in training" in f.evidence and f.change == {"schedule": None}


def test_a_first_layer_learning_far_slower_than_the_rest_is_named(digits):
    # a healthy run, then its first layer's record slowed 50x: the check looks at every layer, not the fastest only
    _, log, _ = train(digits, [32, 32], opt="sgd", lr=0.1, epochs=3)
    assert not [f for f in diagnose(None, log) if f.kind == "learning rate too low"]
    slow = log.layer_stats["dense0"]["update_ratio"]
    log.layer_stats["dense0"]["update_ratio"] = [v / 50 for v in slow]
    f = [f for f in diagnose(None, log) if f.kind == "learning rate too low"][0]
    assert f.layer == "dense0" and "barely learns" in f.evidence and "below the fastest layer" in f.evidence


def test_unscaled_inputs_prescribe_normalisation_not_l2():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * np.array([1, 10, 300, 1, 2]) + np.array([0, 0, 2000, 0, 0])
    stats = input_statistics(X)
    assert stats["max_std"] == pytest.approx(300, rel=0.2) and stats["max_abs_mean"] == pytest.approx(2000, rel=0.1)
    metrics = {"train_accuracy": 1.0, "dev_accuracy": 0.9, "n_dev": 1000, "input_scale": stats}
    findings = diagnose(None, metrics=metrics, config=RunConfig(normalize="none").to_dict())
    top = findings[0]
    assert top.kind == "unscaled inputs" and top.severity == "error"
    assert top.change == {"normalize": "standard"} and "L2" not in top.fix
    # standardised inputs are not flagged
    assert "unscaled inputs" not in kinds(diagnose(None, metrics={**metrics, "input_scale": input_statistics(
        (X - X.mean(0)) / X.std(0))}))


def steps_history(steps):
    return History(epochs=[{"epoch": 1, "train_loss": 1.0, "train_accuracy": math.nan, "dev_loss": math.nan,
                            "dev_accuracy": math.nan, "lr": 1e-3, "time": 0.0}], steps=steps)


def test_a_one_step_spike_is_not_a_learning_rate_too_high_error():
    spike = [2.3, 9.0] + list(np.linspace(2.2, 0.5, 60))
    assert "learning rate too high" not in kinds(diagnose(steps_history(spike)))
    blowup = [2.3, 2.2] + [9.0 + i for i in range(40)]
    f = [f for f in diagnose(steps_history(blowup)) if f.kind == "learning rate too high"][0]
    assert f.severity == "error"


def test_no_raise_the_lr_beside_vanishing_gradients(digits):
    _, log, _ = train(digits, [64] * 5, activation="sigmoid", init="random", opt="sgd", lr=0.05, epochs=2)
    found = kinds(diagnose(None, log))
    assert "vanishing gradients" in found and "learning rate too low" not in found


def test_findings_of_equal_severity_are_ordered_by_magnitude():
    both = {"train_accuracy": 0.80, "dev_accuracy": 0.55, "n_dev": 5000}  # bias 20 points, variance 25
    assert kinds(diagnose(None, metrics=both))[:2] == ["high variance", "high bias"]
    both = {"train_accuracy": 0.70, "dev_accuracy": 0.60, "n_dev": 5000}  # bias 30 points, variance 10
    assert kinds(diagnose(None, metrics=both))[:2] == ["high bias", "high variance"]


def test_bias_and_variance_under_unscaled_inputs_are_their_consequence():
    metrics = {"train_accuracy": 0.70, "dev_accuracy": 0.60, "n_dev": 5000,
               "input_scale": {"median_std": 12.0, "max_std": 15.0, "max_abs_mean": 1.0}}
    findings = diagnose(None, metrics=metrics)
    assert findings[0].kind == "unscaled inputs" and findings[0].severity == "warning"
    assert all(f.severity == "info" for f in findings[1:]) and "consequence" in findings[1].evidence


def test_a_training_cause_comes_before_the_bias_it_causes(tmp_path):
    from tunenet.diagnose import read_diagnosis
    from tunenet.run import train_run

    config = RunConfig(data="digits", hidden=(16,), optimizer="sgd", lr=1e-5, epochs=3, threads=1)
    train_run(config, tmp_path / "run", progress=False, report=False, lr_range=True)
    found = [f for f in read_diagnosis(tmp_path / "run") if f.severity == "warning"]
    assert [f.kind for f in found][:2] == ["learning rate too low", "high bias"]
    assert found[0].change["lr"] > 1e-4  # the lr range test's suggestion, not a blind factor of 10


def test_chunked_column_statistics_equal_numpys():
    """The chunked two-pass mean/std (bounded float64 work array) against np.mean/np.std in float64."""
    from tunenet.diagnose.symptoms import _column_mean_std

    X = np.random.default_rng(3).normal(5.0, [0.1, 1.0, 300.0], size=(5000, 3)).astype(np.float32)
    mean, std = _column_mean_std(X, chunk=777)
    np.testing.assert_allclose(mean, np.mean(X, axis=0, dtype=np.float64), rtol=1e-12)
    np.testing.assert_allclose(std, np.std(X, axis=0, dtype=np.float64), rtol=1e-10)
