"""Sample-weighted losses and the Poisson deviance: weighted mean = repeated rows, gradients by finite differences."""

import numpy as np
import pytest

from tunenet.errors import DataError
from tunenet.estimators.classifier import _MultilabelLogLoss
from tunenet.nn.losses import MeanSquaredError, PoissonDeviance, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy

RNG = np.random.default_rng(0)


def _case(loss, m, k):
    z = RNG.normal(size=(m, k))
    if isinstance(loss, SoftmaxCrossEntropy):
        return z, RNG.integers(0, k, size=m)
    if isinstance(loss, SigmoidBinaryCrossEntropy):
        return z[:, :1], RNG.integers(0, 2, size=m)
    if isinstance(loss, _MultilabelLogLoss):
        return z, RNG.integers(0, 2, size=(m, k))
    if isinstance(loss, PoissonDeviance):
        return z, RNG.poisson(2.0, size=(m, k)).astype(float)
    return z, RNG.normal(size=(m, k))


LOSSES = [SoftmaxCrossEntropy(), SigmoidBinaryCrossEntropy(), MeanSquaredError(), PoissonDeviance(),
          _MultilabelLogLoss()]


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_integer_weights_equal_repeated_rows(loss):
    z, y = _case(loss, 7, 3)
    w = np.array([0, 1, 2, 3, 1, 0, 4])
    J, g = loss.data_loss(z, y, sample_weight=w)
    Jr, gr = loss.data_loss(np.repeat(z, w, axis=0), np.repeat(y, w, axis=0))
    assert J == pytest.approx(Jr, rel=1e-12)
    # the gradient of a weighted row is the sum of its copies' gradients
    summed = np.add.reduceat(gr, np.cumsum(np.r_[0, w[:-1]])[w > 0], axis=0)
    np.testing.assert_allclose(g[w > 0], summed, rtol=1e-10)
    assert not np.any(g[w == 0])


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_weighted_gradient_matches_finite_differences(loss):
    z, y = _case(loss, 5, 3)
    w = RNG.uniform(0.1, 2.0, size=5)
    _, g = loss.data_loss(z, y, sample_weight=w)
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[idx] = 1e-6
        numeric[idx] = (loss.data_loss(z + step, y, sample_weight=w)[0]
                        - loss.data_loss(z - step, y, sample_weight=w)[0]) / 2e-6
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_unit_weights_equal_the_unweighted_loss():
    for loss in LOSSES[:3]:
        z, y = _case(loss, 6, 4)
        J, g = loss.data_loss(z, y)
        Jw, gw = loss.data_loss(z, y, sample_weight=np.ones(6))
        assert Jw == pytest.approx(J, rel=1e-12)
        np.testing.assert_allclose(gw, g, rtol=1e-12, atol=1e-15)


def test_poisson_deviance_is_zero_at_the_targets_and_refuses_negative_ones():
    y = np.array([[0.0], [1.0], [3.0]])
    J, g = PoissonDeviance().data_loss(np.log(np.maximum(y, 1e-300)), y)
    assert J == pytest.approx(0.0, abs=1e-12) and np.allclose(g, 0)
    with pytest.raises(DataError, match=">= 0"):
        PoissonDeviance().data_loss(np.zeros((2, 1)), np.array([1.0, -1.0]))


@pytest.mark.parametrize("w", [np.array([1.0, -1.0, 1.0]), np.zeros(3), np.array([1.0, np.nan, 1.0]), np.ones(2)])
def test_bad_weights_are_refused(w):
    with pytest.raises(DataError, match="sample_weight"):
        MeanSquaredError().data_loss(np.zeros((3, 1)), np.zeros(3), sample_weight=w)
