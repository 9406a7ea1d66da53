"""Gradient clipping by global norm and by value."""

from __future__ import annotations

import numpy as np
import pytest

from tunenet.errors import ConfigError
from tunenet.optim import Clip, clip_by_global_norm, clip_by_value, global_norm, parse_clip


def grads(dtype=np.float64, scale=1.0, n=50, seed=0):
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(dtype)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_global_norm_clipping_caps_the_norm_and_keeps_the_direction(dtype, rtol):
    g = grads(dtype, scale=10.0)
    original = g.astype(np.float64)
    norm = clip_by_global_norm(g, 5.0)
    assert norm == pytest.approx(np.linalg.norm(original), rel=rtol)
    assert np.linalg.norm(g.astype(np.float64)) == pytest.approx(5.0, rel=rtol)
    np.testing.assert_allclose(g, original * (5.0 / np.linalg.norm(original)), rtol=rtol)
    assert g.dtype == dtype


def test_global_norm_below_threshold_changes_nothing():
    g = grads(scale=0.01)
    before = g.copy()
    norm = clip_by_global_norm(g, 5.0)
    assert np.array_equal(g, before) and norm == pytest.approx(np.linalg.norm(before), rel=1e-12)


def test_global_norm_of_huge_finite_float32_gradients_does_not_overflow():
    g = np.array([3e30, 4e30], np.float32)           # sum of squares overflows float32
    assert global_norm(g) == pytest.approx(5e30, rel=1e-6)
    clip_by_global_norm(g, 1.0)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_gradients_are_left_for_the_divergence_guard(bad):
    g = np.array([1.0, bad, 3.0])
    norm = clip_by_global_norm(g, 1.0)
    assert not np.isfinite(norm)
    assert g[0] == 1.0 and g[2] == 3.0


def test_clip_by_value():
    g = np.array([-3.0, -0.5, 0.0, 0.2, 0.7, 12.0])
    clip_by_value(g, 0.5)
    assert g.tolist() == [-0.5, -0.5, 0.0, 0.2, 0.5, 0.5]
    g32 = grads(np.float32, scale=3.0)
    clip_by_value(g32, 1.0)
    assert g32.dtype == np.float32 and np.abs(g32).max() == 1.0


@pytest.mark.parametrize("spec, expected", [
    ("norm:5", Clip("norm", 5.0)),
    ("value:0.5", Clip("value", 0.5)),
    (" NORM:1e-1 ", Clip("norm", 0.1)),
    ({"norm": 5}, Clip("norm", 5.0)),
    (Clip("value", 2.0), Clip("value", 2.0)),
    (None, None),
    ("none", None),
    ("", None),
])
def test_parse_clip(spec, expected):
    assert parse_clip(spec) == expected
    if expected is not None:
        assert parse_clip(str(expected)) == expected


@pytest.mark.parametrize("spec, match", [
    ("norm", "bad clipping spec"),
    ("l2:5", "bad clipping spec"),
    ("norm:big", "not a number"),
    ("norm:0", "threshold must be a finite number > 0"),
    ("value:-1", "threshold must be"),
    ("norm:inf", "threshold must be"),
    (5, "bad clipping spec"),
    ({"norm": 5, "value": 1}, "bad clipping spec"),
    ({"max": 5}, "unknown clipping kind 'max'"),
])
def test_bad_clip_specs_raise(spec, match):
    with pytest.raises(ConfigError, match=match):
        parse_clip(spec)


def test_clip_apply_returns_pre_clip_norm():
    g = np.array([3.0, -4.0])
    assert parse_clip("norm:1").apply(g) == 5.0
    np.testing.assert_allclose(g, [0.6, -0.8], rtol=1e-15)
    g = np.array([3.0, -4.0])
    assert parse_clip("value:1").apply(g) == 5.0
    assert g.tolist() == [1.0, -1.0]
