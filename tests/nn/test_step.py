"""tunenet.nn.step: the bound training pass of a Dense -> ReLU chain gives the layer-by-layer passes' numbers."""

import pickle

import numpy as np
import pytest

from tunenet import blas
from tunenet.nn.layers import Dense, Dropout, ReLU, Tanh
from tunenet.nn.model import Sequential, mlp
from tunenet.nn.step import DenseReluStep, chain
from tunenet.optim import Adam
from tunenet.train.trainer import Trainer


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def batch(seed: int, m: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``X (m, n)`` standard normal float32 and labels ``y (m,)`` in ``0..k-1``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)).astype(np.float32), rng.integers(0, k, m)


def test_chain_takes_only_dense_relu_pairs_and_a_dense_head():
    rng = np.random.default_rng(0)
    d = [Dense(4, 4, rng=rng) for _ in range(3)]
    assert chain([d[0], ReLU(), d[1], ReLU(), d[2]]) == d
    assert chain([d[2]]) == [d[2]]
    assert chain([d[0], Tanh(), d[2]]) is None
    assert chain([d[0], ReLU(), Dropout(0.5), d[2]]) is None
    assert chain([d[0], ReLU(), d[1], ReLU()]) is None
    assert chain([Dense(4, 4, bias=False, rng=rng), ReLU(), d[2]]) is None
    with pytest.raises(ValueError, match="not a Dense -> ReLU chain"):
        DenseReluStep([d[0], Tanh(), d[2]], np.zeros((2, 4), np.float32), np.zeros(1, np.float32))


@pytest.mark.parametrize("mkl", [True, False])
@pytest.mark.parametrize("hidden", [(), (64,), (300, 64, 32)])
def test_bound_step_is_bit_identical_to_the_layer_passes(mkl, hidden):
    """Loss, logits, accuracy and every gradient, for full and partial batches, with MKL and with NumPy."""
    X, y = batch(1, 300, 784, 10)
    bound, layered = mlp(784, list(hidden), 10, seed=3), mlp(784, list(hidden), 10, seed=3)
    layered._chain = None  # the layer-by-layer fused passes
    assert bound._chain is not None
    with blas.single_thread(mkl):
        for rows in (slice(0, 128), slice(128, 256), slice(256, 300)):
            xb, yb = np.ascontiguousarray(X[rows]), y[rows]
            j1, logits1 = bound.loss_and_grads(xb, yb)
            j2, logits2 = layered.loss_and_grads(xb, yb)
            assert j1 == j2 and bound.last_correct == layered.last_correct
            assert np.array_equal(bits(logits1), bits(logits2))
            assert np.array_equal(bits(bound.flat_grads), bits(layered.flat_grads))
    assert set(bound._steps) == {(128, mkl), (44, mkl)}  # one bound step per batch shape
    assert not layered._steps


def test_other_models_and_inputs_take_the_layer_passes():
    X, y = batch(2, 32, 20, 3)
    for model in (mlp(20, [16], 3, activation="tanh", seed=0), mlp(20, [16], 3, keep_prob=0.8, seed=0),
                  mlp(20, [16], 1, seed=0, output="sigmoid")):
        model.loss_and_grads(X, y if model.output == "softmax" else (y > 0).astype(np.float32))
        assert not model._steps
    model = mlp(20, [16], 3, seed=0)
    model.loss_and_grads(np.asfortranarray(X), y)                      # not C-contiguous
    model.loss_and_grads(X, y, sample_weight=np.ones(32))              # weighted
    model.loss_and_grads(X, np.eye(3, dtype=np.float32)[y])            # one-hot labels
    model.loss_and_grads(X.astype(np.float64), y)                      # another dtype
    assert not model._steps
    model.loss_and_grads(X, y)
    assert list(model._steps) == [(32, False)]


def test_training_with_the_bound_step_gives_the_same_weights():
    """Five epochs of Adam with hooks' caches read in between: identical weights either way."""
    X, y = batch(4, 500, 30, 4)
    results = []
    for use_step in (True, False):
        model = mlp(30, [40, 20], 4, seed=5)
        if not use_step:
            model._chain = None
        Trainer(model, Adam(model, lr=0.01), epochs=5, batch_size=64, seed=6, threads=1).fit(X, y, X[:50], y[:50])
        results.append(model.flat_values.copy())
    assert np.array_equal(bits(results[0]), bits(results[1]))


def test_a_training_step_after_inference_restores_the_layers_caches():
    """An inference pass clears Dense._x and replaces ReLU._y; the health monitor reads them after a step."""
    X, y = batch(7, 64, 12, 3)
    model = mlp(12, [8], 3, seed=0)
    model.loss_and_grads(X, y)
    model.predict(X[:5])
    model.loss_and_grads(X, y)
    dense, relu, head = model.layers
    expected = np.maximum(X @ dense.W.value + dense.b.value, 0)
    assert dense._x is X and relu._y.shape == (64, 8) and head._x is relu._y
    np.testing.assert_allclose(relu._y, expected, rtol=1e-6, atol=1e-6)


def test_rebound_buffers_rebind_the_step():
    """After a pickle round trip (and an estimator's re-linking of its buffers) the step writes the live gradients."""
    X, y = batch(8, 32, 10, 3)
    model = mlp(10, [6], 3, seed=0)
    model.loss_and_grads(X, y)
    copy = pickle.loads(pickle.dumps(model))
    copy.flat.grads = copy.flat_grads = np.zeros_like(copy.flat_grads)
    for p in copy.flat.params:  # what MLPClassifier.__setstate__ does
        start = copy.flat.offsets[p.name]
        p.grad = copy.flat_grads[start:start + p.size].reshape(p.shape)
    copy.loss_and_grads(X, y)
    assert np.array_equal(copy.flat_grads, model.flat_grads)
    assert isinstance(copy, Sequential)
