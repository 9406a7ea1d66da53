"""Training with the numba kernels: the same result for the same seed, run to run, and close to the NumPy path."""

import math

import numpy as np
import pytest

from tunenet import jit, mlp
from tunenet.optim import Adam
from tunenet.train import fit


def train(digits, kernels: bool, seed: int = 3):
    X, y = digits
    old = jit.set_enabled(kernels)
    try:
        model = mlp(64, [48, 24], 10, seed=0, keep_prob=[1.0, 0.9])
        assert model._fused_head is kernels
        history = fit(model, None, Adam(model, lr=2e-3), (X[:1000], y[:1000]), dev=(X[1000:1400], y[1000:1400]),
                      epochs=3, batch_size=50, seed=seed)
    finally:
        jit.set_enabled(old)
    return model.flat_values.copy(), history


def test_kernels_train_the_same_run_to_run(digits):
    (w1, h1), (w2, h2) = train(digits, True), train(digits, True)
    np.testing.assert_array_equal(w1, w2)
    drop_time = [[{k: v for k, v in row.items() if k != "time"} for row in h.epochs] for h in (h1, h2)]
    assert drop_time[0] == drop_time[1] and h1.steps == h2.steps


def test_kernels_train_like_the_numpy_formulas(digits):
    (w, h), (w_np, h_np) = train(digits, True), train(digits, False)
    assert not np.array_equal(w, w_np)  # the softmax kernel's exp differs in the last bits...
    np.testing.assert_allclose(w, w_np, rtol=0, atol=1e-3)  # ...which three epochs do not amplify
    for row, row_np in zip(h.epochs, h_np.epochs):
        assert abs(row["train_loss"] - row_np["train_loss"]) < 1e-4
        assert abs(row["train_accuracy"] - row_np["train_accuracy"]) <= 2 / 1000
        assert abs(row["dev_accuracy"] - row_np["dev_accuracy"]) <= 2 / 400


def counted_trainer(model, **kwargs):
    """A Trainer whose optimiser counts the updates that also returned the gradient's norm."""
    from tunenet.train import Trainer

    opt = Adam(model, lr=1e-3)
    calls = []
    fused = opt.step_sum_squares
    opt.step_sum_squares = lambda: calls.append(1) or fused()
    return Trainer(model, opt, epochs=2, batch_size=16, seed=4, threads=1, **kwargs), calls


def wide_data(scale: float = 1.0):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((160, 784)) * scale).astype(np.float32), rng.integers(0, 10, 160)


def test_proven_gradients_take_their_norm_from_the_update(monkeypatch):
    """Bounded gradients: no pass before Adam, the same weights as with it, the norm within float32 rounding."""
    import tunenet.train.trainer as trainer_module

    X, y = wide_data()
    runs = {}
    for limit in (trainer_module.GRAD_BOUND_LIMIT, -1.0):  # -1: nothing is ever proven
        monkeypatch.setattr(trainer_module, "GRAD_BOUND_LIMIT", limit)
        trainer, calls = counted_trainer(mlp(784, [64], 10, seed=1))
        trainer.fit(X, y)
        runs[limit] = trainer, len(calls)
    (proven, n_proven), (checked, n_checked) = runs.values()
    assert (n_proven, n_checked) == (20, 0)  # 2 epochs of 10 batches
    np.testing.assert_array_equal(proven.model.flat_values, checked.model.flat_values)
    assert proven.grad_norm == pytest.approx(checked.grad_norm, rel=1e-5)
    assert proven.history.steps == checked.history.steps


def test_gradients_are_checked_first_when_something_reads_them_or_no_bound_holds():
    """Clipping, an on_backward_end hook, or inputs so large that B proves nothing: the norm before the update."""
    from tunenet.optim.clipping import parse_clip
    from tunenet.train import Callback

    class Reads(Callback):
        def on_backward_end(self, trainer):
            pass

    X, y = wide_data()
    for kwargs in ({"clip": parse_clip("norm:1")}, {"callbacks": [Reads()]}):
        trainer, calls = counted_trainer(mlp(784, [64], 10, seed=1), **kwargs)
        trainer.fit(X, y)
        assert not calls and np.isfinite(trainer.grad_norm)
    X, y = wide_data(scale=1e17)  # S(X) ~ 1e37: B > 1e-6 * float32's largest number
    trainer, calls = counted_trainer(mlp(784, [64], 10, seed=1))
    trainer.fit(X, y)
    assert trainer.step == 20 and not calls and math.isfinite(trainer.grad_norm)
