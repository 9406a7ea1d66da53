"""``.npz`` reading: plain arrays round-trip; lying headers, objects and pickles are refused before allocating."""

import io
import pickle
import struct
import zipfile

import numpy as np
import pytest

from tunenet.data.npz import read_npz_arrays
from tunenet.errors import DataError


def npy_header(shape, descr="<f4"):
    text = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    text += " " * (64 - (10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def test_plain_arrays_round_trip(tmp_path):
    arrays = {"X": np.arange(12, dtype=np.float32).reshape(3, 4), "y": np.array([1, 0, 1]),
              "F": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "names": np.array(["a", "bc"]),
              "flags": np.array([True, False]), "scalar": np.array(3.5)}
    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "a.npz", **arrays)
        got, _ = read_npz_arrays(tmp_path / "a.npz")
        assert set(got) == set(arrays)
        for k, v in arrays.items():
            np.testing.assert_array_equal(got[k], v)
            assert got[k].dtype == v.dtype
        got["X"][0, 0] = 1  # writable, like np.load's arrays


def test_a_header_lying_about_its_shape_is_refused_before_allocating(tmp_path, monkeypatch):
    path = tmp_path / "lie.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("X.npy", npy_header((40_000, 40_000)) + b"\x00" * 16)
        zf.writestr("y.npy", npy_header((2,), "<i8") + b"\x00" * 16)
    monkeypatch.setattr(np, "frombuffer", lambda *a, **k: pytest.fail("allocated"))
    with pytest.raises(DataError, match=r"'X': its header declares shape \(40000, 40000\) float32 "
                                        r"\(6,400,000,000 bytes\) but the member holds 16 bytes"):
        read_npz_arrays(path)


def test_forged_zip_sizes_are_refused(tmp_path):
    path = tmp_path / "bomb.npz"
    data = npy_header((4,)) + b"\x00" * 16
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("X.npy", data)
    raw = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(sig)
        raw[at + offset:at + offset + 4] = struct.pack("<I", 2**31)
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="forged sizes"):
        read_npz_arrays(path)


class Touch:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        from pathlib import Path

        return (Path.touch, (Path(self.path),))


def test_objects_and_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    buf = io.BytesIO()
    np.save(buf, np.array([Touch(marker)], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "obj.npz", "w") as zf:
        zf.writestr("X.npy", buf.getvalue())
    with pytest.raises(DataError, match="holds Python objects, which would need pickle"):
        read_npz_arrays(tmp_path / "obj.npz")
    (tmp_path / "p.npz").write_bytes(pickle.dumps(Touch(marker)))
    with pytest.raises(DataError, match="not a readable .npz file"):
        read_npz_arrays(tmp_path / "p.npz")
    assert not marker.exists()


def test_structured_dtypes_are_refused(tmp_path):
    np.savez(tmp_path / "s.npz", X=np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    with pytest.raises(DataError, match="expected numbers, booleans or strings"):
        read_npz_arrays(tmp_path / "s.npz", required=("X",))


def test_data_flows_one_way_between_files_encoding_and_npz():
    """files.py uses encoding.py and npz.py; neither imports files.py back (the old read_npz_arrays cycle)."""
    import ast
    from pathlib import Path

    import tunenet.data as data

    def imports(module: str) -> set[str]:
        tree = ast.parse((Path(data.__file__).parent / f"{module}.py").read_text())
        return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}

    assert {"encoding", "npz"} <= imports("files")
    assert "files" not in imports("encoding") and "files" not in imports("npz")
    assert "encoding" not in imports("npz")


# -- scipy.sparse.save_npz archives ------------------------------------------------------------------
def test_sparse_archive_is_read_as_the_saved_matrix_without_densifying(tmp_path):
    from scipy import sparse

    from tunenet.data.npz import is_sparse_archive, sparse_matrix

    for fmt in ("csr", "csc"):
        X = sparse.random(40, 30, density=0.1, format=fmt, random_state=np.random.default_rng(0))
        sparse.save_npz(tmp_path / "x.npz", X)
        arrays, source = read_npz_arrays(tmp_path / "x.npz", required=())
        assert is_sparse_archive(arrays)
        got = sparse_matrix(arrays, source)
        assert sparse.issparse(got) and got.format == fmt and got.nnz == X.nnz
        assert (got != X).nnz == 0


@pytest.mark.parametrize("override, message", [
    ({"indices": np.array([0, 4, 1], dtype=np.int32)}, r"'indices' holds 4 at position 1; expected 0\.\.3"),
    ({"indptr": np.array([0, 3, 2, 3], dtype=np.int32)}, "'indptr' must rise from 0 to 3"),
    ({"shape": np.array([5, 4])}, "'indptr' has 4 entries; a csr matrix of shape"),
    ({"format": np.array("coo")}, "'format' is 'coo'; expected 'csr' or 'csc'"),
    ({"data": np.array([1.0, np.nan, 3.0])}, "'data' holds a non-finite value at position 1"),
])
def test_malformed_sparse_archive_is_a_data_error(tmp_path, override, message):
    from tunenet.data.npz import sparse_matrix

    members = {"data": np.array([1.0, 2.0, 3.0]), "indices": np.array([0, 3, 1], dtype=np.int32),
               "indptr": np.array([0, 2, 2, 3], dtype=np.int32), "shape": np.array([3, 4]),
               "format": np.array("csr"), **override}
    np.savez(tmp_path / "x.npz", **members)
    arrays, source = read_npz_arrays(tmp_path / "x.npz", required=())
    with pytest.raises(DataError, match=message):
        sparse_matrix(arrays, source)
