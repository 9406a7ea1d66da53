"""Losses: values against direct formulas, stability, gradients, penalties, bad labels."""

import numpy as np
import pytest

from tunenet import DataError, gradient_check, mlp
from tunenet.nn import MeanSquaredError, Parameter, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy, penalty


def numeric_grad(f, z, eps=1e-6):
    g = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        old = z[i]
        z[i] = old + eps
        plus = f(z)
        z[i] = old - eps
        minus = f(z)
        z[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return g


@pytest.mark.parametrize("seed", range(3))
def test_softmax_cross_entropy_value_and_gradient(seed):
    rng = np.random.default_rng(seed)
    m, k = rng.integers(2, 8), rng.integers(2, 6)
    z = rng.standard_normal((m, k)) * 3
    y = rng.integers(0, k, m)
    loss = SoftmaxCrossEntropy()
    value, grad = loss(z, y)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(m), y])))
    np.testing.assert_allclose(grad, numeric_grad(lambda zz: loss(zz, y)[0], z.copy()), atol=1e-8)
    onehot = np.eye(k)[y]
    value_oh, grad_oh = loss(z, onehot)
    assert value_oh == pytest.approx(value)
    np.testing.assert_allclose(grad_oh, grad)


def test_softmax_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]])
    value, grad = SoftmaxCrossEntropy()(z, np.array([0]))
    assert np.isfinite(value) and value == pytest.approx(0.0)
    value, _ = SoftmaxCrossEntropy()(z, np.array([2]))
    assert value == pytest.approx(2000.0)


@pytest.mark.parametrize("seed", range(3))
def test_sigmoid_binary_cross_entropy_value_and_gradient(seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((7, 1)) * 4
    y = rng.integers(0, 2, 7)
    loss = SigmoidBinaryCrossEntropy()
    value, grad = loss(z, y)
    p = 1 / (1 + np.exp(-z[:, 0]))
    assert value == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    np.testing.assert_allclose(grad, numeric_grad(lambda zz: loss(zz, y)[0], z.copy()), atol=1e-8)
    big, _ = loss(np.array([[800.0], [-800.0]]), np.array([0, 1]))
    assert big == pytest.approx(800.0)


def test_mean_squared_error_value_and_gradient(rng):
    z = rng.standard_normal((5, 2))
    y = rng.standard_normal((5, 2))
    loss = MeanSquaredError()
    value, grad = loss(z, y)
    assert value == pytest.approx(0.5 * np.sum((z - y) ** 2) / 5)
    np.testing.assert_allclose(grad, numeric_grad(lambda zz: loss(zz, y)[0], z.copy()), atol=1e-8)


def test_penalty_covers_only_regularized_parameters():
    w = Parameter.create("d.W", np.array([[1.0, -2.0], [3.0, 0.5]]))
    b = Parameter.create("d.b", np.array([10.0, 10.0]), regularized=False)
    m = 4
    assert penalty([w, b], l2=0.2, l1=0.0, m=m) == pytest.approx(0.2 / (2 * m) * (1 + 4 + 9 + 0.25))
    assert penalty([w, b], l2=0.0, l1=0.3, m=m) == pytest.approx(0.3 / m * 6.5)


@pytest.mark.parametrize("output,n_out", [("softmax", 4), ("sigmoid", 1), ("linear", 3)])
def test_each_loss_passes_gradient_check_with_l2_and_l1(output, n_out, rng):
    model = mlp(5, [6], n_out, activation="tanh", init="xavier", output=output, dtype=np.float64)
    X = rng.standard_normal((9, 5))
    y = rng.standard_normal((9, n_out)) if output == "linear" else rng.integers(0, max(n_out, 2), 9)
    result = gradient_check(model, X, y, l2=0.5, l1=0.1, max_per_parameter=0)
    assert result.verdict in ("correct", "look closer"), result.table()
    assert result.diff < 1e-6


@pytest.mark.parametrize("labels", [np.array([0, 3]), np.array([-1, 0]), np.array([0.5, 1.0])])
def test_labels_out_of_range_are_refused(labels):
    with pytest.raises(DataError, match="label|integer"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), labels)


def test_binary_labels_must_be_zero_or_one():
    with pytest.raises(DataError, match="label 2 at index 1"):
        SigmoidBinaryCrossEntropy()(np.zeros((2, 1)), np.array([0, 2]))
