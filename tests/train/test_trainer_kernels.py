"""Training with the numba kernels: the same result for the same seed, run to run, and close to the NumPy path."""

import numpy as np

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
