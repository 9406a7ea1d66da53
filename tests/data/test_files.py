"""User files: CSV/TSV, Parquet, .npz and IDX; the stored encoding re-applied at prediction time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tunenet.data import decode_labels, encode_features, encode_labels, load, write_idx
from tunenet.errors import ConfigError, DataError

CSV = """age,color,height,label
31,red,1.80,cat
25,blue,1.65,dog
47,red,1.70,dog
52,green,1.90,cat
"""


def test_csv_numeric_and_one_hot_categorical_columns(write):
    ds = load(write("animals.csv", CSV))
    assert ds.feature_names == ["age", "color=blue", "color=green", "color=red", "height"]
    np.testing.assert_allclose(ds.X[0], [31, 0, 0, 1, 1.80], rtol=1e-6)
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.task == "classification" and ds.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(ds.y, [0, 1, 1, 0])
    assert ds.name == "animals.csv"


def test_encoding_survives_json_and_transforms_a_prediction_file_the_same_way(write):
    ds = load(write("train.csv", CSV))
    encoding = json.loads(json.dumps(ds.encoding))
    predict = write("new.csv", "height,color,age\n1.80,red,31\n1.60,green,20\n")  # other order, no target
    X = encode_features(predict, encoding)
    np.testing.assert_array_equal(X[0], ds.X[0])
    np.testing.assert_allclose(X[1], [20, 0, 1, 0, 1.60], rtol=1e-6)
    frame = pd.DataFrame({"age": [31], "color": ["red"], "height": [1.8]})
    np.testing.assert_array_equal(encode_features(frame, encoding), ds.X[:1])
    assert decode_labels([1, 0], encoding) == ["dog", "cat"]
    np.testing.assert_array_equal(encode_labels(["dog", "cat"], encoding), [1, 0])


def test_target_by_name_categorical_override_and_drop(write):
    path = write("t.csv", "label,zip,noise,x\n1,75001,a,0.5\n0,75002,b,0.7\n1,75001,c,0.1\n")
    ds = load(path, target="label", categorical=["zip"], drop=["noise"])
    assert ds.feature_names == ["zip=75001", "zip=75002", "x"]
    assert ds.encoding["classes"] == [0, 1] and ds.class_names == ["0", "1"]


def test_float_target_with_many_values_is_regression(write):
    rows = "\n".join(f"{i},{i * 0.37:.3f}" for i in range(60))
    ds = load(write("r.csv", "x,price\n" + rows + "\n"))
    assert ds.task == "regression" and ds.y.dtype == np.float32 and ds.class_names is None
    forced = load(write("c.csv", "x,grade\n1,3\n2,4\n3,3\n"), task="regression")
    assert forced.task == "regression"


def test_tsv_and_parquet_files(write, tmp_path):
    tsv = load(write("a.tsv", "a\tb\ty\n1\t2\tx\n3\t4\tz\n"))
    np.testing.assert_array_equal(tsv.X, [[1, 2], [3, 4]])
    frame = pd.DataFrame({"age": [31, 25, 47], "color": ["red", "blue", "red"], "label": ["a", "b", "a"]})
    frame.to_parquet(tmp_path / "t.parquet")
    ds = load(tmp_path / "t.parquet")
    assert ds.feature_names == ["age", "color=blue", "color=red"] and ds.class_names == ["a", "b"]


def test_unknown_file_option_is_a_config_error(write):
    with pytest.raises(ConfigError, match="unknown option 'targt'"):
        load(write("a.csv", CSV), targt="label")


def test_npz_with_official_test_split_and_string_labels(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "arrays.npz"
    np.savez(path, X=rng.normal(size=(20, 4)), y=np.array(["no", "yes"] * 10),
             X_test=rng.normal(size=(6, 4)), y_test=np.array(["yes"] * 6), feature_names=np.array(list("abcd")))
    ds = load(path)
    assert ds.X.shape == (20, 4) and ds.X_test.shape == (6, 4) and ds.X.dtype == np.float32
    assert ds.class_names == ["no", "yes"] and ds.feature_names == list("abcd")
    np.testing.assert_array_equal(ds.y_test, np.ones(6))


def test_npz_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, X=np.array([[1, {"a": 1}]], dtype=object), y=np.array([0]))
    with pytest.raises(DataError, match=r"evil\.npz: array 'X' holds Python objects"):
        load(path)


def test_idx_directory_and_idx_file_with_its_labels(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, m in (("train", 12), ("t10k", 4)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (m, 3, 5), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.arange(m, dtype=np.uint8) % 3)
    ds = load(tmp_path)
    assert ds.X.shape == (12, 15) and ds.X_test.shape == (4, 15) and ds.image_shape == (3, 5)
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0 and ds.class_names == ["0", "1", "2"]
    one = load(tmp_path / "train-images-idx3-ubyte.gz")  # labels found beside it
    np.testing.assert_array_equal(one.X, ds.X)
    assert one.X_test is None


def test_prediction_array_must_have_the_trained_feature_count(write):
    ds = load(write("train.csv", CSV))
    assert encode_features(np.ones((2, 5)), ds.encoding).shape == (2, 5)
    with pytest.raises(DataError, match="X has 4 features but the model was trained on 5"):
        encode_features(np.ones((2, 4)), ds.encoding)


def test_labels_mixing_numbers_and_text_are_text_classes(write):
    ds = load(write("mixed.csv", "a,label\n1,1\n2,2\n3,other\n4,2\n"))
    assert ds.encoding["classes"] == ["1", "2", "other"]
    np.testing.assert_array_equal(ds.y, [0, 1, 2, 1])
    np.testing.assert_array_equal(encode_labels(np.array([2, 1]), ds.encoding), [1, 0])


def test_unknown_task_is_a_config_error(write):
    with pytest.raises(ConfigError, match="task must be one of classification, regression, got 'ranking'"):
        load(write("a.csv", CSV), task="ranking")
