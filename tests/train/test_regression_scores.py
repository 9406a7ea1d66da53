"""The trainer's dev R2 per epoch and the run's final scores for a linear output."""

import numpy as np
import pytest
from sklearn.metrics import r2_score

from tunenet.nn import mlp
from tunenet.optim import make_optimizer
from tunenet.train import EarlyStopping, Trainer, evaluate_scores


def regression_data(rng, m=300, k=1):
    X = rng.normal(size=(m, 5)).astype(np.float32)
    w = rng.normal(size=(5, k))
    y = (X @ w + 0.3 * rng.normal(size=(m, k))).astype(np.float32)
    return X, (y[:, 0] if k == 1 else y)


@pytest.mark.parametrize("k", [1, 2])
def test_evaluate_scores_r2_matches_scikit_learn(rng, k):
    X, y = regression_data(rng, k=k)
    model = mlp(5, [16], k, output="linear", seed=0)
    scores = evaluate_scores(model, X, y, batch_size=64)  # sums accumulated over 5 batches
    assert set(scores) == {"loss", "r2"}
    assert scores["r2"] == pytest.approx(r2_score(y, model.predict(X).reshape(y.shape)), abs=1e-6)


def test_epoch_rows_carry_dev_r2_and_early_stopping_can_monitor_it(rng):
    X, y = regression_data(rng)
    model = mlp(5, [16], 1, output="linear", seed=0)
    stop = EarlyStopping("dev_r2", patience=3)
    trainer = Trainer(model, make_optimizer("adam", model, 1e-2), epochs=15, callbacks=[stop], seed=0, threads=1)
    trainer.fit(X[:200], y[:200], X[200:], y[200:])
    r2 = trainer.history.column("dev_r2")
    assert len(r2) == len(trainer.history) and r2[-1] > 0.5
    assert stop.mode == "max" and stop.best == max(r2)
    assert "dev_r2" in trainer.history.to_csv().splitlines()[0].split(",")
