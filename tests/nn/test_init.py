"""Initialisers give the documented variance; zeros are zeros; names are validated."""

import numpy as np
import pytest

from tunenet import ConfigError, mlp
from tunenet.nn import get_initializer

SHAPE = (400, 300)


@pytest.mark.parametrize("name,variance", [
    ("random", 0.01 ** 2),
    ("large", 10.0 ** 2),
    ("xavier", 1 / 400),
    ("glorot", 2 / (400 + 300)),
    ("he", 2 / 400),
    ("normal:0.5", 0.25),
])
def test_initialiser_variance(name, variance):
    w = get_initializer(name)(SHAPE, np.random.default_rng(0), np.float64)
    n = w.size
    # the sample variance of n normal draws has a relative std of sqrt(2/n) (~0.4% here): allow 5 sigma
    assert abs(w.var() / variance - 1) < 5 * np.sqrt(2 / n)
    assert abs(w.mean()) < 5 * np.sqrt(variance / n)


def test_zeros_are_zeros_and_biases_start_at_zero():
    model = mlp(10, [8, 4], 3, init="zeros")
    for p in model.parameters():
        assert not p.value.any(), p.name
    model = mlp(10, [8, 4], 3, init="he")
    for p in model.parameters():
        assert p.value.any() == p.name.endswith(".W"), p.name


def test_unknown_init_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="unknown init 'kaiming'.*he"):
        mlp(4, [3], 2, init="kaiming")
