"""Data: datasets, splits, preprocessing, augmentation, batches, input checks.

::

    from tunenet import data
    ds = data.load("fashion-mnist")                 # X (60000, 784) float32, X_test (10000, 784)
    train, dev, test = data.split_dataset(ds, seed=0)
    scaler = data.make_scaler("standard").fit(train.X)
    for X_batch, y_batch in data.MiniBatches(scaler.transform(train.X), train.y, 128, rng):
        ...
"""

from .augment import (
                      Compose,
                      GaussianNoise,
                      HorizontalFlip,
                      RandomRotation,
                      RandomShift,
                      parse_augment,
                      rotate_images,
                      shift_images,
)
from .batches import MiniBatches
from .dataset import Dataset
from .datasets import DatasetInfo, available_datasets, dataset_names, format_datasets_table, format_datasets_text, load
from .encoding import decode_labels, encode_features, encode_labels
from .idx import read_idx, write_idx
from .preprocessing import (
                      MinMaxScaler,
                      NoScaling,
                      ScaleOnly,
                      Standardizer,
                      make_scaler,
                      scaler_from_dict,
                      sparse_scaler,
)
from .split import Part, Split, default_fractions, split, split_dataset, split_indices
from .validation import check_features, check_n_features, check_target, check_xy

__all__ = [
    "Compose", "Dataset", "DatasetInfo", "GaussianNoise", "HorizontalFlip", "MiniBatches", "MinMaxScaler",
    "NoScaling", "Part", "RandomRotation", "RandomShift", "ScaleOnly", "Split", "Standardizer", "available_datasets",
    "check_features", "check_n_features", "check_target", "check_xy", "dataset_names", "decode_labels",
    "default_fractions", "encode_features", "encode_labels", "format_datasets_table", "format_datasets_text",
    "load", "make_scaler", "parse_augment", "read_idx", "rotate_images", "scaler_from_dict", "shift_images",
    "sparse_scaler", "split", "split_dataset", "split_indices", "write_idx",
]
