"""Gradient checking catches and names a broken backward pass."""

import numpy as np
import pytest

from tunenet import gradient_check, mlp
from tunenet.diagnose.gradcheck import relative_difference, verdict
from tunenet.nn import Dense, Sequential, Tanh, penalty


class BrokenDense(Dense):
    """A Dense layer whose weight gradient forgets a factor (a planted bug)."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.W.grad *= 0.9
        return dx


def test_correct_model_passes(digits):
    X, y = digits
    model = mlp(64, [32, 16], 10, activation="tanh", batchnorm=True, keep_prob=0.8)
    result = gradient_check(model, X[:32], y[:32], l2=0.1)
    assert result.verdict == "correct", result.table()
    assert result.passed and len(result.parameters) == 8


def test_broken_backward_is_caught_and_named(rng):
    layers = [Dense(5, 6, init="xavier", rng=rng), Tanh(), BrokenDense(6, 4, init="xavier", rng=rng), Tanh(),
              Dense(4, 3, init="xavier", rng=rng)]
    model = Sequential(layers)
    X = rng.standard_normal((10, 5))
    y = rng.integers(0, 3, 10)
    result = gradient_check(model, X, y)
    assert result.verdict == "bug"
    assert not result.passed
    assert result.worst == "dense1.W"
    by_name = {row.name: row.verdict for row in result.parameters}
    assert by_name["dense1.W"] == "bug"
    assert by_name["dense2.W"] == "correct"


def test_missing_l2_gradient_is_caught(rng):
    model = mlp(5, [6], 3, activation="tanh", init="xavier")
    X = rng.standard_normal((10, 5))
    y = rng.integers(0, 3, 10)
    assert gradient_check(model, X, y, l2=1.0).passed

    class NoPenaltyGradient(Sequential):
        """Adds the L2 term to the cost but forgets its gradient."""

        def loss_and_grads(self, X, y, l2=0.0, l1=0.0, loss=None):
            value, logits = Sequential.loss_and_grads(self, X, y, 0.0, 0.0, loss)
            return value + penalty(self.parameters(), l2, l1, X.shape[0]), logits

    broken = NoPenaltyGradient(model.copy().layers, output="softmax")
    result = gradient_check(broken, X, y, l2=1.0)
    assert result.verdict == "bug"


def test_the_original_model_is_left_untouched(rng):
    model = mlp(5, [6], 3, keep_prob=0.5)
    before = model.flat_values.copy()
    gradient_check(model, rng.standard_normal((4, 5)), rng.integers(0, 3, 4))
    np.testing.assert_array_equal(model.flat_values, before)
    assert model.dtype == np.float32


@pytest.mark.parametrize("diff,expected", [(1e-9, "correct"), (1e-5, "look closer"), (2e-3, "bug"),
                                           (float("nan"), "bug")])
def test_verdict_thresholds(diff, expected):
    assert verdict(diff) == expected


def test_relative_difference():
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0
    assert relative_difference(np.array([1.0, 0]), np.array([-1.0, 0])) == pytest.approx(1.0)
