"""Exponentially weighted averages with and without bias correction."""

from __future__ import annotations

import numpy as np
import pytest

from tunenet.errors import ConfigError
from tunenet.optim import ExponentialAverage, ewa


def loop_ewa(series, beta, bias_correction):
    out, v = [], 0.0
    for t, x in enumerate(series, start=1):
        v = beta * v + (1 - beta) * x
        out.append(v / (1 - beta ** t) if bias_correction else v)
    return np.array(out)


SERIES = np.random.default_rng(0).standard_normal(300).cumsum() + 20.0


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98])
@pytest.mark.parametrize("bias_correction", [True, False])
def test_ewa_matches_a_loop(beta, bias_correction):
    np.testing.assert_allclose(ewa(SERIES, beta, bias_correction), loop_ewa(SERIES, beta, bias_correction),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("bias_correction", [True, False])
def test_running_average_matches_ewa(bias_correction):
    avg = ExponentialAverage(0.9, bias_correction)
    running = [avg.update(x) for x in SERIES]
    np.testing.assert_allclose(running, ewa(SERIES, 0.9, bias_correction), rtol=1e-12, atol=0)
    assert avg.t == len(SERIES)


def test_bias_correction_makes_the_first_estimate_the_first_value():
    assert ExponentialAverage(0.98).update(37.0) == pytest.approx(37.0, rel=1e-15)
    assert ewa([37.0, 1.0], 0.98)[0] == pytest.approx(37.0, rel=1e-15)
    # without it the estimate starts at (1 - beta) x_1, far too low
    assert ExponentialAverage(0.98, bias_correction=False).update(37.0) == pytest.approx(0.02 * 37.0)


def test_corrected_average_of_a_constant_is_the_constant():
    np.testing.assert_allclose(ewa(np.full(50, 4.0), 0.9), 4.0, rtol=1e-12)
    raw = ewa(np.full(50, 4.0), 0.9, bias_correction=False)
    assert raw[0] == pytest.approx(0.4) and raw[-1] == pytest.approx(4.0 * (1 - 0.9 ** 50))


def test_arrays_and_edge_cases():
    avg = ExponentialAverage(0.5)
    avg.update(np.array([2.0, 4.0]))
    np.testing.assert_allclose(avg.update(np.array([4.0, 0.0])), [(0.25 * 2 + 0.5 * 4) / 0.75, 1 / 0.75])
    columns = np.stack([SERIES, -SERIES], axis=1)
    np.testing.assert_allclose(ewa(columns, 0.9)[:, 1], -ewa(SERIES, 0.9), rtol=1e-12)
    assert ewa([], 0.9).shape == (0,)
    assert ExponentialAverage(0.9).value == 0.0
    avg.reset()
    assert avg.t == 0 and avg.update(3.0) == 3.0


@pytest.mark.parametrize("beta", [1.0, -0.1, float("nan"), "high"])
def test_bad_beta_raises(beta):
    with pytest.raises(ConfigError, match=r"beta must be a number in \[0, 1\)"):
        ExponentialAverage(beta)
    with pytest.raises(ConfigError, match="beta must be"):
        ewa([1.0], beta)
