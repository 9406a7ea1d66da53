"""Sparse X through the data module: a save_npz archive with labels, scale-only scaling, the split, statistics.

Nothing here densifies X: every result that holds X is checked to be scipy.sparse.
"""

import numpy as np
import pytest
from scipy import sparse
from sklearn.preprocessing import MaxAbsScaler, StandardScaler

from tunenet.config import RunConfig
from tunenet.data import ScaleOnly, load, scaler_from_dict, sparse_scaler
from tunenet.data.files import load_npz
from tunenet.diagnose.symptoms import input_statistics
from tunenet.errors import ConfigError, DataError
from tunenet.run import prepare_data


def matrix(m=60, n=12, density=0.2, seed=0, fmt="csr"):
    X = sparse.random(m, n, density=density, format=fmt, random_state=np.random.default_rng(seed)) * 5
    return X.asformat(fmt)


def save(path, X, **extra):
    np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape),
             format=np.array(X.format), **extra)
    return path


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_archive_with_labels_is_a_csr_dataset(tmp_path, fmt):
    X = matrix(fmt=fmt)
    y = np.arange(60) % 3
    ds = load_npz(save(tmp_path / "x.npz", X, y=y, class_names=np.array(["a", "b", "c"])))
    assert sparse.isspmatrix_csr(ds.X) and ds.X.dtype == np.float32 and ds.X.has_canonical_format
    np.testing.assert_array_equal(ds.X.toarray(), X.toarray().astype(np.float32))
    np.testing.assert_array_equal(ds.y, y)
    assert ds.class_names == ["a", "b", "c"] and ds.task == "classification"
    assert ds.notes == [f"sparse {fmt}: {X.nnz:,} stored values (20.00% of the matrix), kept sparse"]
    assert load(tmp_path / "x.npz").n_samples == 60  # the generic loader takes it too


@pytest.mark.parametrize("extra,message", [
    ({}, "a sparse csr matrix but no array 'y'"),
    ({"y": np.arange(59) % 2}, "the sparse matrix has 60 rows but y has 59 labels"),
    ({"y": np.arange(60) % 2, "X_test": np.zeros((2, 12))}, "a sparse archive cannot hold 'X_test'"),
    ({"y": np.arange(60) % 2, "feature_names": np.array(["f"])}, "feature_names has 1 names for 12 features"),
])
def test_sparse_archive_mistakes_are_one_line_data_errors(tmp_path, extra, message):
    with pytest.raises(DataError, match=message):
        load_npz(save(tmp_path / "x.npz", matrix(), **extra))


@pytest.mark.parametrize("basis,reference", [("standard", StandardScaler(with_mean=False)),
                                             ("minmax", MaxAbsScaler())])
def test_scale_only_matches_scikit_learns_uncentred_scalers(basis, reference):
    X = matrix(200, 15, 0.3, seed=2)
    X = X.tolil()
    X[:, 4] = 0  # an all-zero column: scale 1
    X = X.tocsr()
    scaler = ScaleOnly(basis).fit(X)
    want = reference.fit(X.toarray())
    expected_scale = want.scale_.copy()
    np.testing.assert_allclose(scaler.scale_, expected_scale, rtol=1e-12)
    out = scaler.transform(X)
    assert sparse.isspmatrix_csr(out) and out.nnz == X.nnz and out.dtype == np.float32
    np.testing.assert_allclose(out.toarray(), want.transform(X.toarray()), rtol=1e-6)
    np.testing.assert_allclose(scaler.transform(X.toarray()), out.toarray(), rtol=1e-6)  # dense X alike
    again = scaler_from_dict(scaler.to_dict())  # what predict rebuilds from the run's metadata
    np.testing.assert_array_equal(again.transform(X).toarray(), out.toarray())
    assert X.data.dtype == np.float64  # copy=True left the input alone


def test_scale_only_in_place_and_bad_saved_scalers():
    X = matrix().astype(np.float32)
    scaler = ScaleOnly().fit(X)
    before = X.data.copy()
    out = scaler.transform(X, copy=False)
    assert out.data is X.data or np.shares_memory(out.data, X.data)
    assert not np.array_equal(before, X.data)
    with pytest.raises(DataError, match="scale must be a list of finite values > 0"):
        scaler_from_dict({"type": "scale", "basis": "standard", "scale": [1.0, 0.0]})
    with pytest.raises(DataError, match="malformed"):
        scaler_from_dict({"type": "scale", "basis": "median", "scale": [1.0]})
    with pytest.raises(ConfigError, match="unknown scaler"):
        sparse_scaler("robust")
    with pytest.raises(DataError, match="would densify it"):
        scaler_from_dict({"type": "standard", "offset": [0.0] * 12, "scale": [1.0] * 12}).transform(X)


def test_input_statistics_of_sparse_x_equal_the_dense_ones():
    X = matrix(300, 20, 0.1, seed=3)
    got, want = input_statistics(X), input_statistics(X.toarray())
    assert got.keys() == want.keys()
    for key in got:
        assert got[key] == pytest.approx(want[key], rel=1e-9)


def test_prepare_data_keeps_every_part_sparse_and_scales_without_centring(tmp_path):
    X = matrix(100, 12, 0.25, seed=4)
    path = save(tmp_path / "x.npz", X, y=np.arange(100) % 2)
    data = prepare_data(RunConfig(data=str(path), dev=0.2, test=0.2))
    parts = (data.X_train, data.X_dev, data.X_test)
    assert all(sparse.isspmatrix_csr(p) and p.dtype == np.float32 for p in parts)
    assert [p.shape[0] for p in parts] == [60, 20, 20]
    assert sum(p.nnz for p in parts) == X.nnz  # zeros stayed zeros: nothing was centred
    assert isinstance(data.scaler, ScaleOnly) and data.scaler.basis == "standard"
    std = np.sqrt(data.X_train.multiply(data.X_train).mean(axis=0) - np.square(data.X_train.mean(axis=0)))
    live = np.asarray(std).ravel() > 0
    np.testing.assert_allclose(np.asarray(std).ravel()[live], 1.0, rtol=1e-4)  # train columns: std 1
    assert any("not centred" in note for note in data.dataset.notes)
    with pytest.raises(ConfigError, match="--augment transforms dense image rows"):
        prepare_data(RunConfig(data=str(path), augment="noise:0.1"))
