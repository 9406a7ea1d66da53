"""The IDX format: round trips for every type, gzip by magic bytes, damaged files named."""

from __future__ import annotations

import gzip
import struct

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


def test_idx_with_255_dimensions_is_a_user_error(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 255]) + struct.pack(">255I", *[2] * 255))
    with pytest.raises(DataError, match="declares 255 dimensions; expected 1 to 16"):
        read_idx(path)


def test_idx_byte_count_does_not_overflow(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x0E, 4]) + struct.pack(">4I", *[2**32 - 1] * 4) + b"\x00" * 8)
    exact = (2**32 - 1) ** 4 * 8
    with pytest.raises(DataError, match=f"values \\({exact:,} bytes\\) but the file holds 8 bytes"):
        read_idx(path)


def test_gzip_inflating_beyond_its_header_stops_at_the_header_size(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10, np.uint8)) + b"\x00" * 50_000_000))  # ~50 KB file
    with pytest.raises(DataError, match="decompresses to more than 18 bytes"):
        read_idx(path)
    huge = bytes([0, 0, 8, 3]) + struct.pack(">3I", 60_000, 60_000, 60_000)
    path.write_bytes(gzip.compress(huge))
    with pytest.raises(DataError, match="would need .* of memory"):
        read_idx(path)
