"""Work arrays reused across training steps: same results as fresh arrays, float32 throughout."""

import copy

import numpy as np
import pytest

from tunenet.nn import BatchNorm, Dense, Dropout, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh, mlp

ACTIVATIONS = {"relu": ReLU, "leaky_relu": lambda: LeakyReLU(0.1), "tanh": Tanh, "sigmoid": Sigmoid}


def build(rng, activation, dtype=np.float32):
    layers = [Dense(6, 8, rng=rng, dtype=dtype), BatchNorm(8, dtype=dtype), ACTIVATIONS[activation](),
              Dropout(0.7, rng=np.random.default_rng(5)), Dense(8, 4, rng=rng, dtype=dtype)]
    return Sequential(layers)


def step(model, X, y):
    value, logits = model.loss_and_grads(X, y)
    return value, logits.copy(), model.flat_grads.copy()


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_alternating_batch_sizes_match_a_fresh_model(activation):
    """Full and partial batches alternate (as at the end of each epoch) without stale work arrays."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.integers(0, 4, 16)
    reused = build(np.random.default_rng(1), activation)
    for rows in (slice(0, 10), slice(10, 16), slice(0, 10), slice(3, 9)):
        fresh = build(np.random.default_rng(1), activation)
        fresh.load_state(reused.state())
        for a, b in zip(fresh.layers, reused.layers):
            if isinstance(a, Dropout):
                a.rng = copy.deepcopy(b.rng)
        got, want = step(reused, X[rows], y[rows]), step(fresh, X[rows], y[rows])
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[2], want[2])


def test_training_step_stays_float32_and_results_are_work_arrays(rng):
    model = mlp(10, [16, 8], 3, batchnorm=True, keep_prob=0.8, seed=0)
    X = rng.standard_normal((32, 10)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    _, logits = model.loss_and_grads(X, y)
    assert logits.dtype == np.float32
    for layer in model.layers:
        for buf in layer.__dict__.get("_buffers", {}).values():
            assert buf.dtype in (np.float32, np.bool_), (layer.name, buf.dtype)
    _, again = model.loss_and_grads(X, y)
    assert again is logits  # the same work array, overwritten in place
    inference = model.forward(X, training=False)
    assert inference is not model.forward(X, training=False)  # inference returns new arrays


def test_health_caches_keep_their_meaning(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    relu, tanh, sigmoid, leaky = ReLU(), Tanh(), Sigmoid(), LeakyReLU(0.1)
    dense = Dense(4, 4, rng=rng)
    dense.forward(x, training=True)
    assert dense._x is x
    for layer, f in ((relu, lambda v: np.maximum(v, 0)), (tanh, np.tanh),
                     (sigmoid, lambda v: 1 / (1 + np.exp(-v)))):
        y = layer.forward(x, training=True)
        layer.backward(np.ones_like(y))  # backward leaves the cached output alone
        np.testing.assert_allclose(layer._y, f(x), rtol=1e-6)
    leaky.forward(x, training=True)
    np.testing.assert_array_equal(leaky._positive, x > 0)


def test_relu_gradient_is_positive_zero_where_inactive():
    relu = ReLU()
    x = np.array([[-1.0, 2.0, 0.0]], np.float32)
    relu.forward(x, training=True)
    dx = relu.backward(np.array([[-3.0, -3.0, -3.0]], np.float32))
    np.testing.assert_array_equal(dx, [[0.0, -3.0, 0.0]])
    assert not np.signbit(dx[0, 0]) and not np.signbit(dx[0, 2])


def test_copies_do_not_share_work_arrays(rng):
    model = mlp(5, [7], 2, seed=0)
    X = rng.standard_normal((4, 5)).astype(np.float32)
    y = rng.integers(0, 2, 4)
    _, logits = model.loss_and_grads(X, y)
    clone = model.copy()
    assert all("_buffers" not in layer.__dict__ for layer in clone.layers)
    _, clone_logits = clone.loss_and_grads(X, y)
    assert clone_logits is not logits
    np.testing.assert_array_equal(clone_logits, logits)
