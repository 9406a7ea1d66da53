"""Training with the numba kernels: the same result for the same seed, run to run, and close to the NumPy path."""

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


def layerwise_and_flat(X, y, *, blocks_taken: bool, lr: float = 0.01, scale: float = 1.0, epochs: int = 3):
    """The same training with Adam layer by layer (DenseReluStep.backward's updates) and with one step()."""
    from tunenet.train import Trainer

    runs = []
    for layerwise in (True, False):
        model = mlp(X.shape[1], [40, 24], 4, seed=2)
        model.flat_values *= np.float32(scale)
        opt = Adam(model, lr=lr)
        calls = []
        if layerwise:
            update = opt.update_block
            opt.update_block = lambda lo, hi: calls.append((lo, hi)) or update(lo, hi)
        else:
            opt.update_block = None  # the optimiser as one that cannot update by blocks
        trainer = Trainer(model, opt, epochs=epochs, batch_size=64, seed=4, threads=1)
        error = None
        try:
            trainer.fit(X, y, X[:60], y[:60])
        except Exception as exc:  # noqa: BLE001 - compared below
            error = exc
        runs.append((model.flat_values.copy(), trainer, calls, error))
        assert bool(calls) == (layerwise and blocks_taken)
    return runs


def no_time(history):
    return [{k: v for k, v in row.items() if k != "time"} for row in history.epochs]


def test_adam_layer_by_layer_trains_bit_for_bit_like_one_step():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((300, 30)).astype(np.float32), rng.integers(0, 4, 300)
    (w1, t1, calls, e1), (w2, t2, _, e2) = layerwise_and_flat(X, y, blocks_taken=True)
    assert e1 is None and e2 is None
    assert len(calls) == 3 * 3 * 5  # three layers, five batches, three epochs
    np.testing.assert_array_equal(w1, w2)
    assert no_time(t1.history) == no_time(t2.history) and t1.history.steps == t2.history.steps
    assert t1.grad_norm == pytest.approx(t2.grad_norm, rel=1e-5) and t1.optimizer.t == t2.optimizer.t == 15


def test_without_a_proof_the_layers_are_updated_after_the_norm_check():
    """Weights so large that the bound cannot rule out overflow: the one-step path, with its divergence check."""
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((300, 30)).astype(np.float32), rng.integers(0, 4, 300)
    (w1, t1, _, e1), (w2, t2, _, e2) = layerwise_and_flat(X, y, blocks_taken=False, scale=1e6, epochs=1)
    assert type(e1) is type(e2) and str(e1) == str(e2)
    np.testing.assert_array_equal(w1, w2)
    assert t1.step == t2.step


def test_a_diverging_loss_stops_the_layer_by_layer_path_before_its_update():
    from tunenet.errors import DivergenceError

    rng = np.random.default_rng(10)
    X, y = (rng.standard_normal((300, 30)) * 30).astype(np.float32), rng.integers(0, 4, 300)
    (w1, t1, _, e1), (w2, t2, _, e2) = layerwise_and_flat(X, y, blocks_taken=True, lr=50.0, epochs=5)
    assert isinstance(e1, DivergenceError) and str(e1) == str(e2)
    np.testing.assert_array_equal(w1, w2)
    assert t1.step == t2.step and t1.optimizer.t == t2.optimizer.t
    np.testing.assert_array_equal(t1.model.flat_grads, t2.model.flat_grads)
