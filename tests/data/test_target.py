"""Target standardisation: fitted on train, round trip, saved and restored from metadata."""

import json

import numpy as np
import pytest

from tunenet.data.target import TargetStandardizer, target_scaler_from_dict
from tunenet.errors import CheckpointError


@pytest.mark.parametrize("shape", [(40,), (40, 3)])
def test_round_trip_and_moments(rng, shape):
    y = rng.normal(200, 50, size=shape).astype(np.float32)
    scaler = TargetStandardizer().fit(y)
    z = scaler.transform(y)
    assert z.shape == y.shape and z.dtype == np.float32
    np.testing.assert_allclose(z.reshape(40, -1).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.reshape(40, -1).std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(z), y, rtol=1e-5)
    again = target_scaler_from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(again.transform(y), z)


def test_a_constant_target_gets_scale_one():
    scaler = TargetStandardizer().fit(np.full(10, 7.0))
    assert scaler.std_.tolist() == [1.0]
    assert scaler.transform(np.array([7.0, 8.0])).tolist() == [0.0, 1.0]


def test_missing_or_malformed_metadata():
    assert target_scaler_from_dict(None) is None
    for bad in ({"kind": "minmax", "mean": [0], "std": [1]}, {"kind": "standard", "mean": [0]},
                {"kind": "standard", "mean": [0, 1], "std": [1]}, {"kind": "standard", "mean": [0], "std": [0]},
                {"kind": "standard", "mean": ["a"], "std": [1]}):
        with pytest.raises(CheckpointError, match="target_preprocessing"):
            target_scaler_from_dict(bad, source="m.safetensors")
