"""Sequential and the mlp builder: structure, summary, flat buffers, predictions, bad input."""

import numpy as np
import pytest

from tunenet import ConfigError, DataError, mlp
from tunenet.nn import BatchNorm, Dense, Dropout, ReLU


def test_mlp_structure_with_batchnorm_and_dropout():
    model = mlp(784, [256, 128], 10, batchnorm=True, keep_prob=0.8)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNorm", "ReLU", "Dropout", "Dense", "BatchNorm", "ReLU", "Dropout", "Dense"]
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    assert [d.b is None for d in dense] == [True, True, False]
    names = [p.name for p in model.parameters()]
    assert names == ["dense0.W", "bn0.gamma", "bn0.beta", "dense1.W", "bn1.gamma", "bn1.beta", "dense2.W",
                     "dense2.b"]
    assert [p.regularized for p in model.parameters()] == [True, False, False, True, False, False, True, False]
    assert sorted(model.state()) == ["bn0.running_mean", "bn0.running_var", "bn1.running_mean", "bn1.running_var"]


def test_batchnorm_after_activation():
    model = mlp(5, [4], 2, batchnorm="after")
    assert [type(layer) for layer in model.layers[:3]] == [Dense, ReLU, BatchNorm]
    assert model.layers[0].b is not None


def test_summary_lists_layers_shapes_and_counts():
    text = mlp(784, [256, 128], 10).summary()
    assert "dense0" in text and "(None, 256)" in text and "200,960" in text
    assert "trainable parameters: 235,146" in text


def test_parameters_are_views_into_one_buffer():
    model = mlp(6, [5], 3)
    model.flat_values[:] = np.arange(model.n_parameters)
    w = model.named_parameters()["dense0.W"].value
    np.testing.assert_array_equal(w.reshape(-1), np.arange(30))
    assert model.flat_values.dtype == np.float32


def test_training_stays_float32(rng):
    model = mlp(6, [5], 3, batchnorm=True, keep_prob=0.9)
    X = rng.standard_normal((8, 6)).astype(np.float32)
    assert model.forward(X, training=True).dtype == np.float32
    model.loss_and_grads(X, rng.integers(0, 3, 8))
    assert model.flat_grads.dtype == np.float32


def test_predict_and_predict_proba(rng):
    model = mlp(6, [5], 3)
    X = rng.standard_normal((10, 6))
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    binary = mlp(6, [5], 1, output="sigmoid")
    assert binary.predict_proba(X).shape == (10, 2)
    assert set(binary.predict(X)) <= {0, 1}


def test_same_seed_same_weights():
    a, b, c = mlp(6, [5], 3, seed=3), mlp(6, [5], 3, seed=3), mlp(6, [5], 3, seed=4)
    np.testing.assert_array_equal(a.flat_values, b.flat_values)
    assert not np.array_equal(a.flat_values, c.flat_values)


def test_nan_in_x_is_refused_with_its_position():
    model = mlp(3, [4], 2)
    X = np.ones((5, 3))
    X[2, 1] = np.nan
    with pytest.raises(DataError, match="row 2, column 1"):
        model.predict(X)


def test_wrong_feature_count_at_predict():
    with pytest.raises(DataError, match="has 4 features; the model expects 3"):
        mlp(3, [4], 2).predict(np.ones((2, 4)))


def test_unknown_activation_and_bad_options():
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        mlp(3, [4], 2, activation="swish")
    with pytest.raises(ConfigError, match="keep_prob"):
        mlp(3, [4], 2, keep_prob=1.2)
    with pytest.raises(ConfigError, match="sigmoid output has one unit"):
        mlp(3, [4], 2, output="sigmoid")
    with pytest.raises(ConfigError, match="hidden layer sizes"):
        mlp(3, [0], 2)


def test_dropout_layers_share_the_model_rng():
    model = mlp(3, [4, 4], 2, keep_prob=0.5)
    gen = np.random.default_rng(9)
    model.set_rng(gen)
    assert all(layer.rng is gen for layer in model.layers if isinstance(layer, Dropout))


def test_pickled_model_keeps_parameters_linked_to_its_buffers(rng):
    import pickle

    model = mlp(6, [5], 3)
    clone = pickle.loads(pickle.dumps(model))  # the user's own object in memory (as scikit-learn does)
    clone.flat_values[:] = 1.0
    assert all(np.all(p.value == 1.0) for p in clone.parameters())
    X = rng.standard_normal((4, 6)).astype(np.float32)
    clone.loss_and_grads(X, rng.integers(0, 3, 4))
    assert np.array_equal(np.concatenate([p.grad.ravel() for p in clone.parameters()]), clone.flat_grads)
