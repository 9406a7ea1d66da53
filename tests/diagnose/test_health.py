"""The health monitor records what it claims, cheaply, as JSON."""

import json

import numpy as np
import pytest

from tunenet.diagnose.health import HealthLog, HealthMonitor, activation_stats
from tunenet.errors import ConfigError, DataError, DivergenceError
from tunenet.nn import Dense, ReLU, Sigmoid, Tanh, mlp
from tunenet.optim import make_optimizer
from tunenet.train import Trainer


def train(model, X, y, monitor, opt="sgd", lr=0.1, epochs=1, batch_size=32, **kw):
    trainer = Trainer(model, make_optimizer(opt, model, lr), epochs=epochs, batch_size=batch_size,
                      callbacks=[monitor], seed=0, threads=1, **kw)
    trainer.fit(X, y)
    return trainer


def test_samples_every_n_steps_from_the_first(digits):
    X, y = digits
    monitor = HealthMonitor(every=4)
    trainer = train(mlp(64, [16, 8], 10, seed=0), X[:320], y[:320], monitor, epochs=2)
    log = monitor.log
    assert trainer.step == 20
    assert log.steps == [1, 5, 9, 13, 17]
    assert log.epochs == [1, 1, 1, 2, 2]
    assert log.layer_names == ["dense0", "dense1", "dense2"]
    assert [layer["activation"] for layer in log.layers] == ["relu", "relu", None]
    for stats in list(log.layer_stats.values()) + list(log.param_stats.values()):
        assert all(len(v) == len(log) for v in stats.values())
    assert set(log.param_stats) == {"dense0.W", "dense0.b", "dense1.W", "dense1.b", "dense2.W", "dense2.b"}
    assert np.allclose(log.loss, trainer.history.steps[0::4])


def test_statistics_match_a_hand_computation(digits):
    """One full-batch SGD step: activations, dead fraction, gradient norms and update ratios by hand."""
    X, y = digits
    X, y = X[:48], y[:48]
    model = mlp(64, [12, 6], 10, seed=3)
    for layer in model.layers:  # make some units dead: a large negative bias on a few of them
        if isinstance(layer, Dense) and layer.n_out == 12:
            layer.b.value[:4] = -100.0
    reference = model.copy()
    reference.loss_and_grads(X, y)
    relu0 = reference.layers[1]._y
    grads = {p.name: np.linalg.norm(p.grad) for p in reference.parameters()}
    weights = {p.name: np.linalg.norm(p.value) for p in reference.parameters()}
    monitor = HealthMonitor(every=1)
    lr = 0.05
    train(model, X, y, monitor, lr=lr, batch_size=48)
    log = monitor.log
    assert log.steps == [1] and log.epochs == [1]
    dense0 = log.layer_stats["dense0"]
    assert dense0["act_mean"][0] == pytest.approx(relu0.mean(), rel=1e-5)
    assert dense0["act_std"][0] == pytest.approx(relu0.std(), rel=1e-5)
    assert dense0["dead"][0] == pytest.approx(np.mean(~np.any(relu0 > 0, axis=0)))
    assert dense0["dead"][0] >= 4 / 12
    assert dense0["saturated"][0] is None
    assert log.layer_stats["dense2"]["act_mean"][0] is None  # the logits have no activation
    for name, g in grads.items():
        assert log.param_stats[name]["grad_norm"][0] == pytest.approx(g, rel=1e-4)
        if weights[name] > 0:  # SGD: ||lr * g|| / ||W||
            assert log.param_stats[name]["update_ratio"][0] == pytest.approx(lr * g / weights[name], rel=1e-3)
        else:  # zero-initialised biases have no ratio
            assert log.param_stats[name]["update_ratio"][0] is None
    assert log.layer_stats["dense1"]["grad_norm"][0] == pytest.approx(grads["dense1.W"], rel=1e-4)
    assert log.layer_stats["dense1"]["weight_norm"][0] == pytest.approx(weights["dense1.W"], rel=1e-5)
    assert log.grad_norm[0] == pytest.approx(np.sqrt(sum(g * g for g in grads.values())), rel=1e-4)
    assert log.lr == [lr]


def test_dead_and_saturated_fractions():
    relu = ReLU()
    relu.forward(np.array([[1.0, 0.0, -1.0, 0.0], [2.0, 0.0, 0.5, -3.0]]), training=True)
    assert activation_stats(relu, None)["dead"] == 0.5  # units 1 and 3 never fire
    tanh = Tanh()
    tanh.forward(np.array([[5.0, 0.1], [-5.0, 0.2]]), training=True)  # |tanh(5)| = 0.9999
    stats = activation_stats(tanh, None)
    assert stats["saturated"] == 0.5 and stats["dead"] is None
    sigmoid = Sigmoid()
    sigmoid.forward(np.array([[-10.0, 0.0, 10.0, 1.0]]), training=True)
    assert activation_stats(sigmoid, None)["saturated"] == 0.5


def test_works_with_batchnorm_dropout_and_leaky_relu(digits):
    X, y = digits
    monitor = HealthMonitor(every=2)
    model = mlp(64, [16, 16], 10, activation="leaky_relu", batchnorm=True, keep_prob=0.8, seed=0)
    train(model, X[:128], y[:128], monitor, opt="adam", lr=1e-3)
    log = monitor.log
    assert log.layer_names == ["dense0", "dense1", "dense2"]
    assert all(v is not None for v in log.layer_stats["dense0"]["act_std"])
    assert all(0 <= v <= 1 for v in log.layer_stats["dense0"]["dead"])
    assert "bn0.gamma" in log.param_stats
    assert log.layer_stats["dense0"]["update_ratio"][0] > 0


def test_json_round_trip_and_atomic_save(tmp_path, digits):
    X, y = digits
    monitor = HealthMonitor(every=3)
    train(mlp(64, [8], 10, seed=0), X[:96], y[:96], monitor)
    text = json.dumps(monitor.to_dict(), allow_nan=False)  # strict JSON: no NaN or inf
    path = monitor.save(tmp_path)
    assert path == tmp_path / "health.json"
    assert json.loads(path.read_text()) == json.loads(text)
    assert not [p for p in tmp_path.iterdir() if p.name != "health.json"]  # no temp file left behind
    loaded = HealthLog.load(tmp_path)
    assert loaded.to_dict() == monitor.to_dict()
    assert np.array_equal(loaded.series("dense0", "grad_norm"), monitor.log.series("dense0", "grad_norm"))


def test_divergence_is_recorded(digits):
    X, y = digits
    monitor = HealthMonitor(every=10)
    model = mlp(64, [64, 64, 64, 64], 10, init="large", seed=0)
    with pytest.raises(DivergenceError):
        train(model, X[:256], y[:256], monitor, lr=0.01, batch_size=64, epochs=3)
    [event] = monitor.log.events
    assert event["kind"] == "diverged" and event["epoch"] == 1
    assert event["step"] == 2
    json.dumps(monitor.to_dict(), allow_nan=False)


def test_interrupted_run_records_no_divergence(digits):
    X, y = digits

    class Stop(Exception):
        pass

    class Interrupt(HealthMonitor):
        def on_step_end(self, trainer, loss):
            super().on_step_end(trainer, loss)
            if trainer.step == 3:
                raise Stop

    monitor = Interrupt(every=1)
    with pytest.raises(Stop):
        train(mlp(64, [8], 10, seed=0), X[:256], y[:256], monitor)
    assert monitor.log.events == [] and len(monitor.log) == 3


def test_a_resumed_run_keeps_its_health_record(tmp_path, digits):
    """The log travels in the checkpoint (columns as tensors) and a resumed run appends to it."""
    from tunenet.train import Checkpoint, load_checkpoint

    X, y = digits
    X, y = X[:256], y[:256]

    def trainer(epochs, monitor):
        model = mlp(64, [8], 10, seed=0)
        return Trainer(model, make_optimizer("sgd", model, 0.1), epochs=epochs, batch_size=32,
                       callbacks=[monitor, Checkpoint(tmp_path)], seed=0, threads=1)

    straight = HealthMonitor(every=3)
    trainer(2, straight).fit(X, y)
    first = HealthMonitor(every=3)
    trainer(1, first).fit(X, y)
    resumed = HealthMonitor(every=3)
    second = trainer(2, resumed)
    load_checkpoint(second, tmp_path)
    assert resumed.log.steps == first.log.steps == [1, 4, 7]
    second.fit(X, y)
    assert resumed.to_dict() == straight.to_dict()


@pytest.mark.parametrize("every", [0, -1, 2.5, True, "10"])
def test_bad_interval_is_a_config_error(every):
    with pytest.raises(ConfigError, match="every"):
        HealthMonitor(every=every)


def test_foreign_or_broken_files_are_data_errors(tmp_path):
    (tmp_path / "health.json").write_text("{not json")
    with pytest.raises(DataError, match="health.json: not valid JSON"):
        HealthLog.load(tmp_path)
    (tmp_path / "health.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(DataError, match="not a tunenet health record"):
        HealthLog.load(tmp_path)
    with pytest.raises(DataError, match="no such health record"):
        HealthLog.load(tmp_path / "missing.json")
    log = HealthLog(every=1)
    doc = log.to_dict()
    doc["steps"] = [1]
    doc["layer_stats"] = {"dense0": {"grad_norm": [1.0, 2.0]}}
    with pytest.raises(DataError, match="one value per step"):
        HealthLog.from_dict(doc)
