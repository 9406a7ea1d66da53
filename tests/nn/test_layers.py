"""Every layer passes a float64 gradient check on random shapes; layer semantics."""

import numpy as np
import pytest

from tunenet import ConfigError, DataError, gradient_check
from tunenet.nn import BatchNorm, Dense, Dropout, Identity, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh

LAYERS = {
    "relu": lambda n, rng: ReLU(),
    "leaky_relu": lambda n, rng: LeakyReLU(0.1),
    "tanh": lambda n, rng: Tanh(),
    "sigmoid": lambda n, rng: Sigmoid(),
    "identity": lambda n, rng: Identity(),
    "dropout": lambda n, rng: Dropout(0.7, rng=rng),
    "batchnorm": lambda n, rng: BatchNorm(n),
    "dense_no_bias": lambda n, rng: Dense(n, n, init="glorot", bias=False, rng=rng),
}


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_layer_gradients_match_finite_differences(kind, seed):
    rng = np.random.default_rng(seed)
    m, n_in, hidden, n_out = rng.integers(3, 9), rng.integers(2, 7), rng.integers(2, 7), rng.integers(2, 5)
    layers = [Dense(n_in, hidden, init="xavier", rng=rng), LAYERS[kind](hidden, rng),
              Dense(hidden, n_out, init="xavier", rng=rng)]
    model = Sequential(layers, output="softmax")
    X = rng.standard_normal((m, n_in))
    y = rng.integers(0, n_out, m)
    result = gradient_check(model, X, y, l2=0.3, max_per_parameter=0)
    assert result.verdict == "correct", result.table()


def test_dense_computes_xw_plus_b(rng):
    layer = Dense(3, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer.forward(x, training=False), x @ layer.W.value + layer.b.value)


def test_backward_does_not_modify_dout(rng):
    model = Sequential([Dense(4, 5, rng=rng), BatchNorm(5), Tanh(), Dropout(0.5, rng=rng), Dense(5, 3, rng=rng)])
    X = rng.standard_normal((6, 4)).astype(np.float32)
    out = model.forward(X, training=True)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    before = dout.copy()
    model.backward(dout)
    np.testing.assert_array_equal(dout, before)


def test_batchnorm_training_normalises_each_feature(rng):
    bn = BatchNorm(6, dtype=np.float64)
    bn.gamma.value[...] = 1.0
    x = rng.normal(5.0, 3.0, size=(256, 6))
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=0), 1, atol=1e-3)


def test_batchnorm_inference_uses_running_statistics(rng):
    bn = BatchNorm(3, momentum=0.9, dtype=np.float64)
    batches = [rng.normal(2.0, 4.0, size=(64, 3)) for _ in range(5)]
    mean, var = np.zeros(3), np.ones(3)
    for b in batches:
        bn.forward(b, training=True)
        mean = 0.9 * mean + 0.1 * b.mean(axis=0)
        var = 0.9 * var + 0.1 * b.var(axis=0)
    np.testing.assert_allclose(bn.running_mean, mean)
    np.testing.assert_allclose(bn.running_var, var)
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(bn.forward(x, training=False), (x - mean) / np.sqrt(var + bn.eps))
    # inference does not touch the running statistics
    bn.forward(x, training=False)
    np.testing.assert_allclose(bn.running_mean, mean)


def test_dropout_keeps_expected_activation_and_is_identity_at_inference():
    drop = Dropout(0.8, rng=np.random.default_rng(0))
    x = np.ones((2000, 50), np.float32)
    y = drop.forward(x, training=True)
    assert abs(y.mean() - 1.0) < 0.01
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.8)}
    assert abs((y == 0).mean() - 0.2) < 0.01
    np.testing.assert_array_equal(drop.forward(x, training=False), x)


def test_dropout_masks_come_from_its_generator():
    x = np.ones((10, 10), np.float32)
    a = Dropout(0.5, rng=np.random.default_rng(7)).forward(x, training=True)
    b = Dropout(0.5, rng=np.random.default_rng(7)).forward(x, training=True)
    c = Dropout(0.5, rng=np.random.default_rng(8)).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("keep_prob", [0, -0.1, 1.5, "0.5"])
def test_keep_prob_outside_unit_interval_is_refused(keep_prob):
    with pytest.raises(ConfigError, match="keep_prob"):
        Dropout(keep_prob)


def test_wrong_input_width_names_the_layer(rng):
    model = Sequential([Dense(4, 3, rng=rng)])
    with pytest.raises(DataError, match=r"dense0: expected input of shape \(n_samples, 4\)"):
        model.forward(np.zeros((2, 5), np.float32))


def test_leaky_relu_slope_is_validated():
    with pytest.raises(ConfigError, match="slope"):
        LeakyReLU(1.5)


def test_inference_keeps_no_reference_to_its_input():
    """predict() on a chunk of a large array must not keep the array alive through Dense's cached input."""
    import gc
    import weakref

    from tunenet.nn import mlp

    model = mlp(20, [8], 3)
    X = np.random.default_rng(0).standard_normal((5000, 20)).astype(np.float32)
    alive = weakref.ref(X)
    model.predict(X)
    del X
    gc.collect()
    assert alive() is None
