"""Train/dev/test splits: sizes by data size, stratification within one sample per class, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from tunenet.data import Dataset, default_fractions, split, split_dataset
from tunenet.data.split import apportion
from tunenet.errors import ConfigError


@pytest.fixture
def imbalanced():
    """1,000 rows, 4 classes of 500/300/150/50 rows, shuffled."""
    rng = np.random.default_rng(7)
    y = rng.permutation(np.repeat(np.arange(4), [500, 300, 150, 50]))
    X = np.arange(len(y), dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    return X, y


def test_stratified_parts_keep_class_proportions_within_one_sample(imbalanced):
    X, y = imbalanced
    s = split(X, y, dev=0.13, test=0.17, seed=3)
    counts = np.bincount(y)
    for part in s:
        share = counts * len(part.y) / len(y)
        assert np.all(np.abs(np.bincount(part.y, minlength=4) - share) < 1.0)
    assert s.sizes() == (700, 130, 170)


def test_parts_are_disjoint_cover_all_rows_and_match_their_indices(imbalanced):
    X, y = imbalanced
    s = split(X, y, seed=0)
    rows = np.concatenate([s.train_idx, s.dev_idx, s.test_idx])
    np.testing.assert_array_equal(np.sort(rows), np.arange(len(y)))
    np.testing.assert_array_equal(s.dev.X[:, 0], s.dev_idx)
    np.testing.assert_array_equal(s.test.y, y[s.test_idx])


def test_same_seed_same_split_other_seed_other_split(imbalanced):
    X, y = imbalanced
    a, b, c = split(X, y, seed=11), split(X, y, seed=11), split(X, y, seed=12)
    for name in ("train_idx", "dev_idx", "test_idx"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.test_idx, c.test_idx)


@pytest.mark.parametrize("m, expected", [(9_999, (0.2, 0.2)), (10_000, (0.1, 0.1)), (99_999, (0.1, 0.1)),
                                         (100_000, (0.05, 0.05)), (1_000_000, (0.01, 0.01))])
def test_default_fractions_by_data_size(m, expected):
    assert default_fractions(m) == expected


def test_default_sizes_for_small_data_are_60_20_20(imbalanced):
    X, y = imbalanced
    assert split(X, y).sizes() == (600, 200, 200)


def test_sizes_as_row_counts_and_unstratified_split():
    y = np.zeros(50, dtype=np.int64)
    y[::2] = 1
    s = split(np.ones((50, 2)), y, dev=7, test=3, stratify=False, seed=0)
    assert s.sizes() == (40, 7, 3)


def test_real_valued_targets_are_split_at_random():
    y = np.linspace(0, 1, 40, dtype=np.float32)
    assert split(np.ones((40, 1)), y, dev=0.25, test=0.25).sizes() == (20, 10, 10)


def test_official_test_set_is_kept_and_dev_comes_from_train():
    rng = np.random.default_rng(0)
    ds = Dataset("d", X=rng.normal(size=(12_000, 2)).astype(np.float32), y=np.arange(12_000) % 3,
                 X_test=np.zeros((3_000, 2), np.float32), y_test=np.arange(3_000) % 3)
    s = split_dataset(ds, seed=0)
    assert s.test.X is ds.X_test and s.test_idx is None
    assert s.sizes() == (10_800, 1_200, 3_000)  # 15,000 rows in all: 10% of the 12,000 training rows
    with pytest.raises(ConfigError, match="official test set"):
        split_dataset(ds, test=0.2)


def test_dataset_without_test_set_is_split_three_ways():
    ds = Dataset("d", X=np.ones((100, 2), np.float32), y=np.arange(100) % 2)
    assert split_dataset(ds, dev=0.1, test=0.1).sizes() == (80, 10, 10)


@pytest.mark.parametrize("kwargs, message", [
    ({"dev": 0.6, "test": 0.5}, "leave no training rows"),
    ({"dev": 1.5}, "dev must be a fraction"),
    ({"test": -2}, "test must be >= 0"),
    ({"seed": -1}, "seed must be a non-negative integer"),
])
def test_bad_split_options_name_the_option(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        split(np.ones((10, 1)), np.arange(10) % 2, **kwargs)


def test_apportion_has_exact_margins_and_rounds_each_cell_down_or_up():
    rng = np.random.default_rng(0)
    counts = np.array([1, 2, 3, 97, 13, 1])
    sizes = np.array([70, 31, 16])
    table = apportion(counts, sizes, rng)
    np.testing.assert_array_equal(table.sum(axis=1), counts)
    np.testing.assert_array_equal(table.sum(axis=0), sizes)
    assert np.all(np.abs(table - np.outer(counts, sizes) / counts.sum()) < 1.0)


def test_in_place_split_gives_the_same_parts_as_a_copying_one():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((503, 7)).astype(np.float32)
    y = rng.integers(0, 4, 503)
    original = X.copy()
    want = split(X, y, dev=0.2, test=0.1, seed=3)
    X_own = X.copy()
    got = split(X_own, y, dev=0.2, test=0.1, seed=3, in_place=True)
    for part_got, part_want in zip(got, want):
        np.testing.assert_array_equal(part_got.X, part_want.X)
        np.testing.assert_array_equal(part_got.y, part_want.y)
        assert np.shares_memory(part_got.X, X_own)  # views of the caller's array: nothing copied to keep
    np.testing.assert_array_equal(got.train_idx, want.train_idx)
    np.testing.assert_array_equal(X, original)  # the copying split left its input alone
    assert not np.array_equal(X_own, original)  # the in-place one reordered it


def test_in_place_split_of_a_read_only_array_copies():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    X.flags.writeable = False
    got = split(X, np.arange(20) % 2, dev=5, test=5, seed=0, in_place=True)
    assert not np.shares_memory(got.train.X, X)
    np.testing.assert_array_equal(got.train.X, X[got.train_idx])
