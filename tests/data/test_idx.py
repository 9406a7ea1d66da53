"""The IDX format: round trips for every type, gzip by magic bytes, damaged files named."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tunenet.data import read_idx, write_idx
from tunenet.data.idx import idx_bytes, parse_idx
from tunenet.errors import DataError


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype).newbyteorder("=") and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"  # no .gz suffix, gzipped content
    path.write_bytes(gzip.compress(idx_bytes(np.array([3, 1, 4], np.uint8))))
    np.testing.assert_array_equal(read_idx(path), [3, 1, 4])


def test_header_is_big_endian():
    data = idx_bytes(np.zeros((2, 3), np.int16))
    assert data[:4] == bytes([0, 0, 0x0B, 2]) and data[4:12] == bytes([0, 0, 0, 2, 0, 0, 0, 3])


def test_truncated_file_names_the_file_and_the_sizes(tmp_path):
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((4, 5, 5), np.uint8))[:-10])
    with pytest.raises(DataError, match=r"cut-idx3-ubyte: IDX header says 4 x 5 x 5 uint8 values \(100 bytes\) "
                                        r"but the file holds 90 bytes of data \(truncated\)"):
        read_idx(path)


def test_not_an_idx_file_and_corrupt_gzip(tmp_path):
    with pytest.raises(DataError, match=r"x\.idx: not an IDX file"):
        parse_idx(b"PK\x03\x04rest", "x.idx")
    with pytest.raises(DataError, match="unknown IDX type code 0x07"):
        parse_idx(bytes([0, 0, 7, 1, 0, 0, 0, 1, 0]), "x.idx")
    path = tmp_path / "bad-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))[:-20])
    with pytest.raises(DataError, match=r"bad-idx1-ubyte\.gz: corrupt or truncated gzip data"):
        read_idx(path)


def test_debian_labels_file(debian_fashion_dir):
    labels = read_idx(debian_fashion_dir / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10_000,) and labels.dtype == np.uint8 and labels.max() == 9
