"""The bad-input suite: every mistake is a DataError whose message names the place at fault.

Files name ``<file>, line N (header is line 1), column '<name>'`` (CSV) or
``<file>, row N`` (Parquet); arrays name ``X[i, j]`` / ``y[i]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tunenet.data import MiniBatches, check_xy, encode_features, encode_labels, load
from tunenet.errors import DataError, TunenetError


def test_nan_in_X_names_the_element():
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(DataError, match=r"X\[2, 1\]: missing value \(NaN\)"):
        check_xy(X, [0, 1, 0, 1])


def test_inf_in_X_names_the_element():
    X = np.ones((4, 3), dtype=np.float32)
    X[3, 0] = -np.inf
    with pytest.raises(DataError, match=r"X\[3, 0\]: infinite value \(-inf\)"):
        check_xy(X, [0, 1, 0, 1])


def test_nan_in_y_names_the_element():
    with pytest.raises(DataError, match=r"y\[1\]: missing value \(NaN\)"):
        check_xy(np.ones((3, 2)), [1.0, np.nan, 2.5], task="regression")


def test_nan_in_a_csv_cell_names_line_and_column(write):
    path = write("data.csv", "age,height,label\n31,1.8,a\n25,,b\n40,1.7,a\n")
    with pytest.raises(DataError, match=r"data\.csv, line 3 \(header is line 1\), column 'height': missing value"):
        load(path)


def test_inf_in_a_csv_cell_names_line_and_column(write):
    path = write("data.csv", "age,height,label\n31,1.8,a\n25,inf,b\n")
    with pytest.raises(DataError, match=r"data\.csv, line 3 \(header is line 1\), column 'height': infinite"):
        load(path)


def test_zero_rows_array():
    with pytest.raises(DataError, match=r"X has zero rows \(shape \(0, 3\)\)"):
        check_xy(np.empty((0, 3)), np.empty(0))


def test_zero_rows_csv_names_the_file(write):
    with pytest.raises(DataError, match=r"empty\.csv: zero data rows \(only a header\)"):
        load(write("empty.csv", "a,b,label\n"))


def test_zero_features_array():
    with pytest.raises(DataError, match=r"X has zero features \(shape \(3, 0\)\)"):
        check_xy(np.empty((3, 0)), [0, 1, 0])


def test_zero_features_csv_names_the_file(write):
    with pytest.raises(DataError, match=r"only\.csv: no feature columns besides the target 'label'"):
        load(write("only.csv", "label\na\nb\n"))


def test_one_dimensional_X_says_how_to_reshape():
    with pytest.raises(DataError, match=r"X is 1-D with shape \(4,\).*X\.reshape\(-1, 1\)"):
        check_xy(np.arange(4.0), [0, 1, 0, 1])


def test_ragged_csv_row_names_the_line(write):
    path = write("ragged.csv", "a,b,label\n1,2,x\n\n3,4,5,y\n6,7,x\n")  # the blank line still counts
    with pytest.raises(DataError, match=r"ragged\.csv, line 4 \(header is line 1\): 4 fields, but the header has 3"):
        load(path)


def test_short_csv_row_names_the_line(write):
    path = write("short.csv", "a,b,label\n1,2,x\n3,4\n")
    with pytest.raises(DataError, match=r"short\.csv, line 3 \(header is line 1\): 2 fields, but the header has 3"):
        load(path)


def test_non_numeric_value_in_numeric_column_names_line_column_and_value(write):
    rows = "".join(f"{20 + i},1.{i},{'ab'[i % 2]}\n" for i in range(8))
    lines = ("age,height,label\n" + rows).splitlines()
    lines[6] = "abc,1.5,a"  # line 7 of the file
    path = write("data.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"data\.csv, line 7 \(header is line 1\), column 'age': 'abc' is not a number"):
        load(path)


def test_line_numbers_count_quoted_multiline_fields(write):
    path = write("notes.csv", 'note,age,label\n"two\nlines",1,a\nok,x1,b\nok,3,a\nok,4,b\n')
    with pytest.raises(DataError, match=r"notes\.csv, line 4 \(header is line 1\), column 'age': 'x1'"):
        load(path)


def test_missing_target_column_lists_the_columns(write):
    path = write("data.csv", "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"data\.csv: no target column 'label' \(columns: a, b, y\)"):
        load(path, target="label")


def test_single_class_array():
    with pytest.raises(DataError, match=r"y holds a single class \(0\) in all 3 rows"):
        check_xy(np.ones((3, 2)), [0, 0, 0])


def test_single_class_csv_names_the_file(write):
    with pytest.raises(DataError, match=r"one\.csv holds a single class \('cat'\)"):
        load(write("one.csv", "a,label\n1,cat\n2,cat\n"))


def test_X_and_y_of_different_lengths():
    with pytest.raises(DataError, match="X has 5 rows but y has 4 labels"):
        check_xy(np.ones((5, 2)), [0, 1, 0, 1])


def test_X_and_y_of_different_lengths_in_npz_names_the_file(tmp_path):
    np.savez(tmp_path / "bad.npz", X=np.ones((5, 2)), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"bad\.npz: X has 5 rows but .*bad\.npz: y has 4 labels"):
        load(tmp_path / "bad.npz")


def test_mini_batches_refuse_different_lengths():
    with pytest.raises(DataError, match="X has 3 rows but y has 2 labels"):
        MiniBatches(np.ones((3, 2)), np.ones(2), 2, None)


def test_label_unseen_at_training_names_the_line(write):
    ds = load(write("train.csv", "a,label\n1,cat\n2,dog\n"))
    from tunenet.data.tables import read_columns

    columns, where = read_columns(write("test.csv", "a,label\n1,cat\n2,horse\n"))
    with pytest.raises(DataError, match=r"test\.csv, line 3 \(header is line 1\), column 'label': label 'horse' "
                                        r"was not seen in training \(known classes: cat, dog\)"):
        encode_labels(columns["label"], ds.encoding, where, "label")


def test_label_unseen_at_training_in_an_array_names_the_index():
    ds = load("moons", n_samples=20)
    with pytest.raises(DataError, match=r"y\[2\]: label 7 was not seen in training"):
        encode_labels([0, 1, 7], ds.encoding)


def test_category_unseen_at_training_names_the_line(write):
    ds = load(write("train.csv", "color,label\nred,a\nblue,b\n"))
    with pytest.raises(DataError, match=r"new\.csv, line 3 \(header is line 1\), column 'color': category 'green'"):
        encode_features(write("new.csv", "color\nred\ngreen\n"), ds.encoding)


def test_wrong_feature_count_at_prediction():
    ds = load("digits")
    with pytest.raises(DataError, match="X has 60 features but the model was trained on 64"):
        encode_features(np.zeros((2, 60), np.float32), ds.encoding)


def test_missing_column_at_prediction_names_it(write):
    ds = load(write("train.csv", "age,height,label\n1,2,a\n3,4,b\n"))
    with pytest.raises(DataError, match=r"new\.csv: no column 'height' \(the model was trained on columns age, height"):
        encode_features(write("new.csv", "age\n5\n"), ds.encoding)


def test_object_dtype_is_refused():
    X = np.array([[1, "a"], [2, "b"]], dtype=object)
    with pytest.raises(DataError, match=r"X has dtype object; expected real numbers"):
        check_xy(X, [0, 1])


def test_string_dtype_is_refused_for_X():
    with pytest.raises(DataError, match=r"X has dtype <U1; expected real numbers"):
        check_xy(np.array([["a"], ["b"]]), [0, 1])


def test_complex_dtype_is_refused():
    with pytest.raises(DataError, match=r"X has complex dtype complex128"):
        check_xy(np.ones((2, 2), dtype=complex), [0, 1])


def test_parquet_rows_are_numbered_from_one(tmp_path):
    pd.DataFrame({"a": ["1", "2", "x", "4"], "label": [0, 1, 0, 1]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"t\.parquet, row 3 \(first data row is row 1\), column 'a': 'x'"):
        load(tmp_path / "t.parquet")


def test_float64_too_large_for_float32_names_the_element():
    X = np.ones((2, 2))
    X[1, 1] = 1e300
    with pytest.raises(DataError, match=r"X\[1, 1\]: 1e\+300 is too large for float32"):
        check_xy(X, [0, 1])


def test_errors_are_tunenet_errors_and_value_errors():
    with pytest.raises(TunenetError) as info:
        check_xy(np.ones((2, 2)), [0, 0])
    assert isinstance(info.value, ValueError)


def test_non_numeric_regression_target_names_the_cell(write):
    path = write("prices.csv", "x,price\n1,2.5\n2,cheap\n")
    with pytest.raises(DataError, match=r"prices\.csv, line 3 \(header is line 1\), column 'price': 'cheap' is not a "
                                        r"number \(a regression target must be a number"):
        load(path, task="regression")


def test_nan_label_in_npz_names_the_array_element(tmp_path):
    np.savez(tmp_path / "nan.npz", X=np.ones((4, 2)), y=np.array([0.0, 1.0, 0.0, np.nan]))
    with pytest.raises(DataError, match=r"nan\.npz: y\[3\]: missing value"):
        load(tmp_path / "nan.npz")
