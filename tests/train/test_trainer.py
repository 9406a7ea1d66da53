"""The training loop: learning, determinism, divergence, callbacks, schedules."""

import math

import numpy as np
import pytest

from tunenet import DivergenceError, mlp
from tunenet.optim import SGD, Adam, make_schedule
from tunenet.train import Callback, EarlyStopping, ReduceLROnPlateau, Trainer, evaluate, fit


def split(digits):
    X, y = digits
    return (X[:1200], y[:1200]), (X[1200:], y[1200:])


def test_adam_learns_digits(digits):
    train, dev = split(digits)
    model = mlp(64, [64], 10, seed=0)
    history = fit(model, None, Adam(model, lr=3e-3), train, dev=dev, epochs=10, batch_size=32, seed=0)
    assert len(history) == 10
    assert history.last["dev_accuracy"] > 0.9
    assert history.epochs[0]["train_loss"] > history.last["train_loss"]
    assert len(history.steps) == 10 * math.ceil(1200 / 32)


def test_same_seed_same_weights_different_seed_different(digits):
    train, dev = split(digits)

    def run(seed):
        model = mlp(64, [32], 10, seed=0, keep_prob=0.8)
        fit(model, None, Adam(model, lr=1e-3), train, epochs=2, batch_size=64, seed=seed)
        return model.flat_values.copy()

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


@pytest.mark.parametrize("batch_size,steps", [(1200, 1), (1, 1200), (500, 3)])
def test_batch_size_decides_batch_stochastic_or_minibatch(digits, batch_size, steps):
    train, _ = split(digits)
    model = mlp(64, [8], 10)
    history = fit(model, None, SGD(model, lr=0.01), train, epochs=1, batch_size=batch_size)
    assert len(history.steps) == steps


def test_divergence_stops_within_one_step_and_names_the_learning_rate(digits):
    train, _ = split(digits)
    model = mlp(64, [64, 64], 10, init="large")

    class Count(Callback):
        steps = 0

        def on_step_end(self, trainer, loss):
            self.steps += 1

    counter = Count()
    with pytest.raises(DivergenceError, match=r"epoch 1, step \d+.*learning rate 1000 is too high"):
        fit(model, None, SGD(model, lr=1e3), train, epochs=5, batch_size=32, callbacks=[counter])
    assert np.all(np.isfinite(model.flat_values)), "the diverging update must not be applied"
    assert counter.steps < 1200 / 32


def test_l2_shrinks_the_weights(digits):
    train, _ = split(digits)
    norms = []
    for l2 in (0.0, 20.0):
        model = mlp(64, [32], 10, seed=0)
        fit(model, None, Adam(model, lr=1e-3), train, epochs=3, batch_size=64, l2=l2)
        norms.append(np.linalg.norm(model.flat_values[model.flat.regularized]))
    assert norms[1] < 0.8 * norms[0]


def test_schedule_sets_the_learning_rate_each_epoch(digits):
    train, _ = split(digits)
    model = mlp(64, [8], 10)
    schedule = make_schedule("inverse_time:1.0", 0.1)
    history = fit(model, None, SGD(model, lr=0.1), train, epochs=4, batch_size=256, schedule=schedule)
    np.testing.assert_allclose(history.column("lr"), [0.1 / (1 + e) for e in range(4)])


def test_early_stopping_restores_the_best_dev_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 20)).astype(np.float32)
    y = rng.integers(0, 2, 60)  # random labels: a wide network memorises train, dev loss turns up
    X_dev = rng.standard_normal((200, 20)).astype(np.float32)
    y_dev = rng.integers(0, 2, 200)
    model = mlp(20, [256], 2, seed=0)
    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, trainer, logs):
            snapshots[logs["epoch"]] = trainer.model.flat_values.copy()

    stopper = EarlyStopping("dev_loss", patience=5)
    trainer = Trainer(model, Adam(model, lr=1e-2), epochs=200, batch_size=60, callbacks=[stopper, Snapshot()])
    history = trainer.fit(X, y, X_dev, y_dev)
    assert len(history) < 200, "training should have stopped early"
    dev_losses = history.column("dev_loss")
    best_epoch = int(np.argmin(dev_losses)) + 1
    assert stopper.best_epoch == best_epoch < len(history)
    np.testing.assert_array_equal(model.flat_values, snapshots[best_epoch])
    assert evaluate(model, X_dev, y_dev)[0] == pytest.approx(min(dev_losses), rel=1e-6)


def test_reduce_lr_on_plateau_halves_the_rate():
    class Flat(Callback):
        """Feeds a constant dev loss so the plateau is certain."""

        def on_epoch_end(self, trainer, logs):
            logs["dev_loss"] = 1.0

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    model = mlp(4, [4], 2)
    plateau = ReduceLROnPlateau("dev_loss", factor=0.5, patience=2)
    history = fit(model, None, SGD(model, lr=0.1), (X, y), epochs=6, batch_size=40, callbacks=[Flat(), plateau])
    assert history.column("lr") == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])
