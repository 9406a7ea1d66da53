"""MNIST, Fashion-MNIST and MNIST-1D.

MNIST and Fashion-MNIST come as four IDX files (60,000 training and 10,000
test images of 28x28 uint8 pixels, and their labels), found on disk or
downloaded once (see :mod:`tunenet.data.download`). ``X`` holds the pixels as
float32 divided by 255, so in [0, 1]; the official train/test split is kept
(``X``/``y`` = 60,000 training images, ``X_test``/``y_test`` = 10,000 test
images).

MNIST-1D (Greydanus, 2020) is generated locally by the optional ``mnist1d``
package (``pip install tunenet[mnist1d]``): 4,000 training and 1,000 test
signals of 40 values, 10 classes. It is cached as an ``.npz`` in the tunenet
cache after the first generation.
"""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path

import numpy as np

from ..errors import DataError, TunenetError
from ..fileio import atomic_write_bytes
from .dataset import Dataset
from .download import FASHION_MNIST, MNIST, RemoteSource, cache_dir, fetch, find_files, search_dirs
from .encoding import array_encoding
from .files import IDX_STEMS, idx_pair
from .validation import CLASSIFICATION

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(k) for k in range(10)]
N_TRAIN, N_TEST, IMAGE_SHAPE = 60_000, 10_000, (28, 28)


def locate_idx_files(source: RemoteSource, data_dir=None, download: bool = True, url: str | None = None,
                     timeout: float = 60.0) -> dict[str, Path]:
    """``{stem: path}`` of the four IDX files: found on disk, else downloaded (when allowed) into the cache."""
    found = find_files(source.dataset, list(IDX_STEMS), data_dir)
    if found:
        return found
    if not download:
        raise DataError(f"{source.dataset}: files not found (looked in "
                        f"{', '.join(map(str, search_dirs(source.dataset, data_dir)))}) and download=False")
    return fetch(source, dest=data_dir, url=url, timeout=timeout)


def _check_official(X, y, expected: int, images_path: Path, labels_path: Path, image_shape) -> None:
    if X.shape[0] != expected or image_shape != IMAGE_SHAPE:
        raise DataError(f"{images_path}: expected {expected:,} images of 28x28, found {X.shape[0]:,} of "
                        f"{'x'.join(map(str, image_shape or ()))}: not the official file")
    if y.min() < 0 or y.max() > 9:
        raise DataError(f"{labels_path}: labels must be 0..9, found {y.min()}..{y.max()}: not the official file")


def load_mnist_family(source: RemoteSource, class_names: list[str], description: str, data_dir=None,
                      download: bool = True, url: str | None = None, timeout: float = 60.0) -> Dataset:
    """Load MNIST-layout IDX files of ``source`` with their official split."""
    paths = locate_idx_files(source, data_dir, download, url, timeout)
    train_images, train_labels, test_images, test_labels = (paths[s] for s in IDX_STEMS)
    X, y, image_shape = idx_pair(train_images, train_labels)
    X_test, y_test, test_shape = idx_pair(test_images, test_labels)
    _check_official(X, y, N_TRAIN, train_images, train_labels, image_shape)
    _check_official(X_test, y_test, N_TEST, test_images, test_labels, test_shape)
    h, w = IMAGE_SHAPE
    feature_names = [f"pixel_{r}_{c}" for r in range(h) for c in range(w)]
    ds = Dataset(name=source.dataset, X=X, y=y, X_test=X_test, y_test=y_test, class_names=list(class_names),
                 feature_names=feature_names, description=description, image_shape=IMAGE_SHAPE,
                 source=os.fspath(train_images.parent))
    ds.encoding = array_encoding(feature_names, CLASSIFICATION, list(range(10)), class_names)
    return ds


def load_fashion_mnist(data_dir=None, download: bool = True, url: str | None = None, timeout: float = 60.0) -> Dataset:
    """Zalando's Fashion-MNIST: 28x28 greyscale clothing images, 10 classes, 60,000 + 10,000."""
    return load_mnist_family(FASHION_MNIST, FASHION_MNIST_CLASSES,
                             "Zalando article images, 28x28 grey, pixels / 255; official 60,000/10,000 split",
                             data_dir, download, url, timeout)


def load_mnist(data_dir=None, download: bool = True, url: str | None = None, timeout: float = 60.0) -> Dataset:
    """LeCun's MNIST handwritten digits: 28x28 greyscale, 10 classes, 60,000 + 10,000."""
    return load_mnist_family(MNIST, DIGIT_CLASSES,
                             "handwritten digits, 28x28 grey, pixels / 255; official 60,000/10,000 split",
                             data_dir, download, url, timeout)


# ----------------------------------------------------------------------------- MNIST-1D


def mnist1d_installed() -> bool:
    return importlib.util.find_spec("mnist1d") is not None


def _generate_mnist1d(seed: int) -> dict[str, np.ndarray]:
    """Run ``mnist1d.data.make_dataset``; it seeds NumPy's and Python's global generators, so
    their states are saved before and restored after (the caller's randomness is untouched)."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise TunenetError("mnist1d needs the optional mnist1d package: pip install tunenet[mnist1d]") from None
    args = get_dataset_args()
    args.seed = int(seed)
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002 (restored below)
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    return {"X": data["x"].astype(np.float32), "y": data["y"].astype(np.int64),
            "X_test": data["x_test"].astype(np.float32), "y_test": data["y_test"].astype(np.int64)}


def load_mnist1d(seed: int = 42, cache: bool = True) -> Dataset:
    """MNIST-1D: 4,000 training and 1,000 test 1-D signals of 40 values, 10 classes.

    ``seed=42`` reproduces the published dataset's generator settings. The
    generated arrays are cached in ``<cache>/mnist1d/`` (an ``.npz``, read
    without pickle) unless ``cache=False``.
    """
    if not mnist1d_installed():
        raise TunenetError("mnist1d needs the optional mnist1d package: pip install tunenet[mnist1d]")
    from importlib.metadata import version

    path = cache_dir() / "mnist1d" / f"mnist1d-{version('mnist1d')}-seed{int(seed)}.npz"
    arrays = None
    if cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in ("X", "y", "X_test", "y_test")}
        except (OSError, ValueError, KeyError):
            arrays = None  # unreadable cache: generate again
    if arrays is None:
        arrays = _generate_mnist1d(seed)
        if cache:
            import io

            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            atomic_write_bytes(path, buffer.getvalue())
    ds = Dataset(name="mnist1d", X=arrays["X"], y=arrays["y"], X_test=arrays["X_test"], y_test=arrays["y_test"],
                 class_names=DIGIT_CLASSES, feature_names=[f"t{j}" for j in range(arrays["X"].shape[1])],
                 description="MNIST-1D: 1-D digit templates, shifted, scaled, sheared and noised (Greydanus 2020)",
                 source=f"generated by mnist1d (seed {seed})",
                 image_shape=(1, arrays["X"].shape[1]))  # a 1 x 40 "image": augment shift:k moves it in time
    ds.encoding = array_encoding(ds.feature_names, CLASSIFICATION, list(range(10)), DIGIT_CLASSES)
    return ds
