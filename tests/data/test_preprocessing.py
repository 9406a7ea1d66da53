"""Scalers fitted on train only: statistics, zero variance, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunenet.data import MinMaxScaler, NoScaling, Standardizer, make_scaler, scaler_from_dict
from tunenet.errors import ConfigError, DataError


@pytest.fixture
def parts():
    rng = np.random.default_rng(0)
    scale = np.array([1.0, 10.0, 0.01, 300.0])
    shift = np.array([5.0, -3.0, 0.0, 1e4])
    train = (rng.normal(size=(500, 4)) * scale + shift).astype(np.float32)
    dev = (rng.normal(size=(100, 4)) * scale * 2 + shift + 1).astype(np.float32)
    test = (rng.normal(size=(100, 4)) * scale + shift - 1).astype(np.float32)
    return train, dev, test


def test_standardizer_gives_train_mean_0_std_1(parts):
    train, _, _ = parts
    out = Standardizer().fit_transform(train)
    assert out.dtype == np.float32 and out.shape == train.shape
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-5)


def test_standardizer_applies_train_statistics_unchanged_to_dev_and_test(parts):
    train, dev, test = parts
    scaler = Standardizer().fit(train)
    mean, std = train.astype(np.float64).mean(axis=0), train.astype(np.float64).std(axis=0)
    for X in (dev, test):
        np.testing.assert_allclose(scaler.transform(X), (X - mean) / std, rtol=1e-4, atol=1e-4)
    assert np.abs(scaler.transform(dev).mean(axis=0)).max() > 0.1  # not refitted on dev
    np.testing.assert_allclose(scaler.mean_, mean)


def test_zero_variance_feature_maps_to_zero_not_nan():
    X = np.array([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0]], dtype=np.float32)
    for scaler in (Standardizer(), MinMaxScaler()):
        out = scaler.fit_transform(X)
        assert np.isfinite(out).all()
        np.testing.assert_array_equal(out[:, 1], 0.0)
        assert scaler.scale_[1] == 1.0


def test_minmax_maps_train_to_unit_interval_and_does_not_clip_dev(parts):
    train, dev, _ = parts
    scaler = MinMaxScaler().fit(train)
    out = scaler.transform(train)
    np.testing.assert_allclose(out.min(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=0), 1.0, atol=1e-6)
    dev_out = scaler.transform(dev)
    assert dev_out.min() < 0.0 or dev_out.max() > 1.0


@pytest.mark.parametrize("name", ["standard", "minmax", "none"])
def test_scalers_survive_json_and_give_identical_transforms(parts, name):
    train, dev, _ = parts
    scaler = make_scaler(name).fit(train)
    restored = scaler_from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert type(restored) is type(scaler)
    np.testing.assert_array_equal(restored.transform(dev), scaler.transform(dev))


def test_inverse_transform_undoes_transform(parts):
    train, dev, _ = parts
    scaler = Standardizer().fit(train)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(dev)), dev, rtol=1e-4, atol=1e-3)


def test_transform_does_not_modify_its_input(parts):
    train, dev, _ = parts
    before = dev.copy()
    Standardizer().fit(train).transform(dev)
    np.testing.assert_array_equal(dev, before)
    assert NoScaling().fit(train).transform(dev) is not dev


def test_unknown_scaler_and_unfitted_scaler_are_config_errors():
    with pytest.raises(ConfigError, match="unknown scaler 'zscore'; expected one of standard, minmax, none"):
        make_scaler("zscore")
    with pytest.raises(ConfigError, match="not fitted yet"):
        Standardizer().transform(np.ones((2, 2)))


def test_wrong_feature_count_and_malformed_saved_scaler(parts):
    train, _, _ = parts
    scaler = Standardizer().fit(train)
    with pytest.raises(DataError, match="has 3 features but the model was trained on 4"):
        scaler.transform(train[:, :3])
    with pytest.raises(DataError, match="malformed"):
        scaler_from_dict({"type": "standard", "offset": [0.0, 1.0], "scale": [1.0]})
    with pytest.raises(DataError, match="unknown saved scaler type"):
        scaler_from_dict({"type": "robust"})
