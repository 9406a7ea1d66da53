"""Augmentation of flattened image batches: identities, geometry, determinism, specs."""

from __future__ import annotations

import numpy as np
import pytest

from tunenet.data import (
    Compose,
    GaussianNoise,
    HorizontalFlip,
    RandomRotation,
    RandomShift,
    parse_augment,
    rotate_images,
    shift_images,
)
from tunenet.errors import ConfigError, DataError

SHAPE = (6, 5)


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((16, 30), dtype=np.float32)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_flip_twice_is_the_identity_and_flips_columns(batch):
    flip = HorizontalFlip(p=1.0, image_shape=SHAPE)
    once = flip(batch, rng())
    np.testing.assert_array_equal(once.reshape(-1, *SHAPE), batch.reshape(-1, *SHAPE)[:, :, ::-1])
    np.testing.assert_array_equal(flip(once, rng()), batch)


def test_flip_with_probability_flips_some_images_only(batch):
    out = HorizontalFlip(p=0.5, image_shape=SHAPE)(batch, rng(1)).reshape(-1, *SHAPE)
    flipped = [np.array_equal(o, b[:, ::-1]) for o, b in zip(out, batch.reshape(-1, *SHAPE), strict=True)]
    kept = [np.array_equal(o, b) for o, b in zip(out, batch.reshape(-1, *SHAPE), strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)


def test_shift_by_zero_is_the_identity(batch):
    np.testing.assert_array_equal(RandomShift(0, image_shape=SHAPE)(batch, rng()), batch)


def test_shift_moves_content_and_fills_with_zeros():
    images = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4) + 1
    out = shift_images(images, np.array([[1, 0], [0, -2]]))
    np.testing.assert_array_equal(out[0, 1:], images[0, :-1])
    np.testing.assert_array_equal(out[0, 0], 0)
    np.testing.assert_array_equal(out[1, :, :2], images[1, :, 2:])
    np.testing.assert_array_equal(out[1, :, 2:], 0)


def test_random_shift_stays_within_k_pixels():
    image = np.zeros((1, 9, 9), np.float32)
    image[0, 4, 4] = 1.0
    batch = np.repeat(image.reshape(1, -1), 200, axis=0)
    out = RandomShift(2, image_shape=(9, 9))(batch, rng()).reshape(-1, 9, 9)
    rows, cols = np.nonzero(out.sum(axis=0))
    assert rows.min() == 2 and rows.max() == 6 and cols.min() == 2 and cols.max() == 6
    assert np.all(out.reshape(200, -1).sum(axis=1) == 1.0)  # every image keeps its one pixel


def test_rotation_by_zero_is_the_identity_and_by_90_matches_rot90(batch):
    np.testing.assert_array_equal(RandomRotation(0.0, image_shape=SHAPE)(batch, rng()), batch)
    square = batch[:, :25].reshape(-1, 5, 5)
    out = rotate_images(square, np.full(len(square), 90.0))
    np.testing.assert_allclose(out, np.rot90(square, axes=(1, 2)), atol=1e-6)


def test_rotation_matches_scipy_bilinear_interpolation_with_zeros_outside(batch):
    from scipy import ndimage

    images = np.random.default_rng(2).random((8, 7, 9), dtype=np.float32)
    degrees = np.linspace(-170.0, 170.0, 8)
    theta = np.deg2rad(degrees)[:, None, None]
    rows, cols = np.mgrid[0:7, 0:9].astype(np.float64)
    dy, dx = rows - 3.0, cols - 4.0
    coords = [np.broadcast_to(np.arange(8.0)[:, None, None], (8, 7, 9)),
              3.0 + np.cos(theta) * dy + np.sin(theta) * dx, 4.0 + np.cos(theta) * dx - np.sin(theta) * dy]
    expected = ndimage.map_coordinates(images, coords, order=1, mode="grid-constant", cval=0.0)
    np.testing.assert_allclose(rotate_images(images, degrees), expected, atol=1e-5)


def test_small_rotation_moves_pixels_but_keeps_the_centre():
    image = np.zeros((1, 7, 7), np.float32)
    image[0, 3, 3] = 1.0
    image[0, 3, 6] = 1.0
    out = rotate_images(image, np.array([10.0]))[0]
    assert out[3, 3] == pytest.approx(1.0)
    assert 0.0 < out[3, 6] < 1.0 and out[2, 6] > 0.0  # counter-clockwise: the right-hand pixel moves up


def test_noise_has_the_requested_std_and_zero_std_is_the_identity():
    X = np.zeros((200, 100), np.float32)
    out = GaussianNoise(0.05)(X, rng())
    assert out.dtype == np.float32 and abs(out.std() - 0.05) < 0.002 and abs(out.mean()) < 0.002
    np.testing.assert_array_equal(GaussianNoise(0.0)(X, rng()), X)


def test_augmenters_are_deterministic_given_the_seed_and_never_modify_input(batch):
    augment = parse_augment("flip,shift:2,rotate:10,noise:0.05", SHAPE)
    before = batch.copy()
    a, b, c = augment(batch, rng(5)), augment(batch, rng(5)), augment(batch, rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == batch.shape and a.dtype == np.float32
    np.testing.assert_array_equal(batch, before)


def test_compose_applies_in_order_with_one_generator(batch):
    parts = [HorizontalFlip(1.0, SHAPE), RandomShift(1, SHAPE)]
    g = rng(3)
    expected = parts[1](parts[0](batch, g), g)
    np.testing.assert_array_equal(Compose(parts)(batch, rng(3)), expected)


def test_spec_parsing_defaults_and_off():
    augment = parse_augment("flip, shift:3, rotate, noise:0.1", SHAPE)
    assert [type(a).__name__ for a in augment.augmenters] == ["HorizontalFlip", "RandomShift", "RandomRotation",
                                                               "GaussianNoise"]
    assert augment.augmenters[1].max_shift == 3 and augment.augmenters[2].max_degrees == 10.0
    assert parse_augment(None, SHAPE) is None and parse_augment("none", SHAPE) is None
    assert parse_augment("noise:0.1", None) is not None  # noise needs no image shape


@pytest.mark.parametrize("spec, message", [
    ("flip,zoom:2", "unknown augmentation 'zoom'"),
    ("shift:1.5", "'1.5' is not a valid max_shift"),
    ("rotate:400", "max_degrees must be in"),
])
def test_bad_specs_are_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_augment(spec, SHAPE)


def test_geometric_augmentation_needs_an_image_shape_that_fits_the_batch(batch):
    with pytest.raises(ConfigError, match="needs image_shape"):
        parse_augment("flip", None)
    with pytest.raises(DataError, match=r"batch of shape \(16, 30\) does not hold 28x28 images"):
        HorizontalFlip(image_shape=(28, 28))(batch, rng())


def test_shifts_and_rotations_fill_with_each_images_background():
    from tunenet.data.augment import border_background

    images = np.full((2, 7, 7), 5.0, np.float32)  # a grey background of 5 and 9 ...
    images[1] = 9.0
    images[:, 2:5, 2:5] = 1.0                       # ... around a dark square
    assert border_background(images).tolist() == [5.0, 9.0]
    shifted = RandomShift(2, image_shape=(7, 7))(images.reshape(2, -1), rng(3)).reshape(2, 7, 7)
    for out, bg in zip(shifted, (5.0, 9.0), strict=True):
        assert np.count_nonzero(out == 1.0) == 9 and np.all((out == 1.0) | (out == bg))  # nothing else came in
    rotated = RandomRotation(45, image_shape=(7, 7))(images.reshape(2, -1), rng(4)).reshape(2, 7, 7)
    np.testing.assert_allclose(rotated[:, 0, 0], [5.0, 9.0], rtol=1e-6)  # the corners come from outside
    np.testing.assert_array_equal(shift_images(images, np.array([[1, 0], [0, 1]]), fill=0.0)[0, 0], 0.0)


def test_in_a_normalised_batch_the_fill_is_the_raw_background_not_the_mean():
    """Standardised, 0 is each pixel's training mean; the pixels shifted in must map back to raw 0."""
    from tunenet.data import Standardizer

    raw = np.zeros((64, 8, 8), np.float32)
    raw[:, 2:6, 2:6] = np.random.default_rng(0).uniform(100, 255, (64, 4, 4))  # objects on a black background
    raw[::2, 0, :] = 40.0  # half the images have a bright top row: its mean is 20, not 0
    scaler = Standardizer().fit(raw.reshape(64, -1))
    X = scaler.transform(raw.reshape(64, -1))
    shifts = rng(1)
    augment = parse_augment("shift:2", (8, 8), scaler)
    out = scaler.inverse_transform(augment(X, shifts)).reshape(64, 8, 8)
    dy = np.random.default_rng(1).integers(-2, 3, size=(64, 2))[:, 0]  # the draws RandomShift made
    down = np.flatnonzero(dy == 2)[0]
    np.testing.assert_allclose(out[down, :2], 0.0, atol=1e-3)  # rows brought in from above: raw background
    unwrapped = scaler.inverse_transform(parse_augment("shift:2", (8, 8))(X, rng(1))).reshape(64, 8, 8)
    assert np.abs(unwrapped[down, 0] - 20.0).max() < 1e-3  # the old fill: the standardised 0, each pixel's mean
    assert isinstance(parse_augment("flip,noise:0.1", (8, 8), scaler).augmenters[-1], GaussianNoise)


def test_a_one_row_signal_shifts_along_time_only():
    signal = np.arange(1, 41, dtype=np.float32)[None, :].repeat(50, axis=0)  # MNIST-1D's 1 x 40
    out = RandomShift(3, image_shape=(1, 40))(signal, rng(2))
    fill = np.median(signal[0])  # a one-row image's border is all of it
    candidates = {dx: shift_images(signal[:1].reshape(1, 1, 40), np.array([[0, dx]]), fill).reshape(40)
                  for dx in range(-3, 4)}
    used = [next(dx for dx, c in candidates.items() if np.array_equal(row, c)) for row in out]  # StopIteration if none
    assert len(set(used)) > 3  # sideways shifts only, never wiped by a vertical one
