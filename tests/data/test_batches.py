"""Mini-batch iteration: reshuffled each epoch, last partial batch, batch GD and SGD, one gather per batch."""

from __future__ import annotations

import numpy as np
import pytest

from tunenet.data import MiniBatches
from tunenet.errors import ConfigError


@pytest.fixture
def data():
    X = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(10, dtype=np.int64)
    return X, y


def epoch(batches):
    return [(xb.copy(), yb.copy()) for xb, yb in batches]


def test_each_epoch_is_a_new_permutation_of_all_rows(data):
    X, y = data
    batches = MiniBatches(X, y, 4, np.random.default_rng(0))
    orders = [np.concatenate([yb for _, yb in epoch(batches)]) for _ in range(3)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), y)
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])


def test_batches_pair_rows_with_their_labels(data):
    X, y = data
    for xb, yb in MiniBatches(X, y, 3, np.random.default_rng(1)):
        np.testing.assert_array_equal(xb[:, 0], yb.astype(np.float32))


def test_last_partial_batch_is_kept(data):
    X, y = data
    batches = MiniBatches(X, y, 4, np.random.default_rng(0))
    assert [len(yb) for _, yb in batches] == [4, 4, 2] and len(batches) == 3


def test_batch_size_m_is_batch_gradient_descent(data):
    X, y = data
    whole = epoch(MiniBatches(X, y, 10, None))
    assert len(whole) == 1
    np.testing.assert_array_equal(whole[0][1], y)
    shuffled = epoch(MiniBatches(X, y, 50, np.random.default_rng(0)))  # larger than m: the whole set
    assert len(shuffled) == 1 and sorted(shuffled[0][1]) == list(y)


def test_batch_size_1_is_stochastic_gradient_descent(data):
    X, y = data
    batches = epoch(MiniBatches(X, y, 1, np.random.default_rng(0)))
    assert len(batches) == 10 and all(xb.shape == (1, 3) for xb, _ in batches)


def test_same_seed_same_order_and_no_rng_keeps_the_order(data):
    X, y = data
    a = epoch(MiniBatches(X, y, 4, np.random.default_rng(9)))
    b = epoch(MiniBatches(X, y, 4, np.random.default_rng(9)))
    for (_, ya), (_, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(ya, yb)
    ordered = np.concatenate([yb for _, yb in epoch(MiniBatches(X, y, 4, None))])
    np.testing.assert_array_equal(ordered, y)


def test_batches_are_gathered_into_one_reused_buffer(data):
    X, y = data
    it = iter(MiniBatches(X, y, 4, np.random.default_rng(0)))
    first, _ = next(it)
    second, _ = next(it)
    assert np.shares_memory(first, second) and not np.shares_memory(first, X)


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_bad_batch_size_is_a_config_error(data, size):
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        MiniBatches(*data, size, None)
