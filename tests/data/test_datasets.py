"""Named datasets: Fashion-MNIST from the Debian files, built-in and generated sets, mnist1d, the listing."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pytest
from rich.console import Console

from tunenet.data import available_datasets, dataset_names, format_datasets_table, format_datasets_text, load
from tunenet.data import mnist as mnist_module
from tunenet.errors import ConfigError, DataError, TunenetError


@pytest.fixture(scope="module")
def fashion(debian_fashion_dir):
    return load("fashion-mnist", data_dir=debian_fashion_dir)


def test_fashion_mnist_from_debian_files_has_the_official_split(fashion, debian_fashion_dir):
    assert fashion.X.shape == (60_000, 784) and fashion.X.dtype == np.float32
    assert fashion.X_test.shape == (10_000, 784) and fashion.X_test.dtype == np.float32
    assert fashion.y.dtype == np.int64 and fashion.y_test.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(fashion.y), np.full(10, 6_000))
    np.testing.assert_array_equal(np.bincount(fashion.y_test), np.full(10, 1_000))
    assert fashion.image_shape == (28, 28) and fashion.class_names[0] == "T-shirt/top"
    assert fashion.n_classes == 10 and len(fashion.feature_names) == 784


def test_fashion_mnist_pixels_are_the_uint8_values_divided_by_255(fashion, debian_fashion_dir):
    raw = gzip.decompress((debian_fashion_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(10_000, 784)
    np.testing.assert_array_equal(fashion.X_test, pixels.astype(np.float32) / np.float32(255))
    assert fashion.X.min() == 0.0 and fashion.X.max() == 1.0


def test_fashion_mnist_is_found_in_the_system_directory_by_default(debian_fashion_dir):
    ds = load("Fashion_MNIST", download=False)  # name spelling is forgiving
    assert ds.source == str(debian_fashion_dir) and ds.name == "fashion-mnist"


def test_digits_are_8x8_images_scaled_to_unit_range():
    ds = load("digits")
    assert ds.X.shape == (1797, 64) and ds.image_shape == (8, 8)
    assert ds.X.dtype == np.float32 and ds.X.max() == 1.0 and ds.X.min() == 0.0
    assert ds.class_names == [str(k) for k in range(10)] and ds.X_test is None


@pytest.mark.parametrize("name, n_classes", [("moons", 2), ("circles", 2), ("blobs", 3), ("spiral", 3)])
def test_generated_datasets_follow_their_seed(name, n_classes):
    a = load(name, n_samples=300, seed=1)
    b = load(name, n_samples=300, seed=1)
    c = load(name, n_samples=300, seed=2)
    assert a.X.shape == (300, 2) and a.X.dtype == np.float32 and a.y.dtype == np.int64
    assert sorted(np.unique(a.y)) == list(range(n_classes))
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


def test_generators_do_not_touch_global_random_state():
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking it is untouched)
    py_state = random.getstate()
    for name in ("moons", "circles", "blobs", "spiral"):
        load(name, n_samples=50)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert random.getstate() == py_state


def test_spiral_has_k_arms_of_equal_size_and_noise_option():
    ds = load("spiral", n_samples=301, n_classes=4, noise=0.0)
    np.testing.assert_array_equal(np.bincount(ds.y), [76, 75, 75, 75])
    radius = np.hypot(ds.X[:, 0], ds.X[:, 1])
    assert radius.max() == pytest.approx(1.0) and radius.min() == pytest.approx(0.0, abs=1e-6)


def test_blobs_options_shape_the_data():
    ds = load("blobs", n_samples=200, n_classes=5, n_features=7, noise=0.5, seed=3)
    assert ds.X.shape == (200, 7) and ds.n_classes == 5


def test_unknown_option_names_the_option_and_accepted_ones():
    with pytest.raises(ConfigError, match=r"unknown option 'nois' for dataset 'moons' \(accepted: n_samples, noise"):
        load("moons", nois=0.1)


def test_bad_option_value_names_the_option():
    with pytest.raises(ConfigError, match="n_samples must be an integer >= 2"):
        load("moons", n_samples=0)


def test_unknown_name_lists_the_datasets():
    with pytest.raises(DataError, match=r"'fashion' is neither a dataset name \(digits, moons"):
        load("fashion")


def test_mnist1d_has_its_published_shape_and_keeps_global_random_state():
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    py_state = random.getstate()
    ds = load("mnist1d")
    assert ds.X.shape == (4_000, 40) and ds.X_test.shape == (1_000, 40) and ds.X.dtype == np.float32
    assert ds.n_classes == 10 and set(np.unique(ds.y)) == set(range(10))
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    assert random.getstate() == py_state
    cached = load("mnist1d")  # from the .npz cache, identical
    np.testing.assert_array_equal(cached.X, ds.X)


def test_mnist1d_without_the_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(mnist_module, "mnist1d_installed", lambda: False)
    with pytest.raises(TunenetError, match=r"pip install tunenet\[mnist1d\]"):
        load("mnist1d")


def test_available_datasets_lists_every_name_with_shape_and_offline_flag(no_system_datasets):
    rows = {r.name: r for r in available_datasets()}
    assert list(rows) == dataset_names()
    assert rows["digits"].offline and rows["digits"].shape == "1,797 x 64"
    assert not rows["fashion-mnist"].offline and "download" in rows["fashion-mnist"].where
    assert "784" in rows["fashion-mnist"].shape and rows["mnist1d"].classes == 10


def test_available_datasets_sees_debian_fashion_mnist(debian_fashion_dir):
    row = next(r for r in available_datasets() if r.name == "fashion-mnist")
    assert row.offline and row.where == str(debian_fashion_dir)


def test_dataset_table_renders_every_dataset():
    console = Console(record=True, width=200)
    console.print(format_datasets_table())
    text = console.export_text()
    for name in dataset_names():
        assert name in text
    assert "offline" in format_datasets_text() and "spiral" in format_datasets_text()
