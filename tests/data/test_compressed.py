"""Compressed CSV files: read as the plain file would be, messages naming the compressed file, bounded inflation."""

from __future__ import annotations

import bz2
import gzip
import lzma

import numpy as np
import pytest

from tunenet.data import compressed, load
from tunenet.errors import DataError

CSV = b"age;color;height;label\n31;red;1.80;cat\n25;blue;1.65;dog\n47;red;1.70;dog\n52;green;1.90;cat\n"
COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_a_compressed_csv_loads_as_the_plain_file_does(tmp_path, suffix):
    plain = tmp_path / "animals.csv"
    plain.write_bytes(CSV)
    packed = tmp_path / f"animals.csv{suffix}"
    packed.write_bytes(COMPRESS[suffix](CSV))
    a, b = load(plain), load(packed)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert (a.feature_names, a.class_names, a.notes) == (b.feature_names, b.class_names, b.notes)
    assert b.notes == ["delimiter ';' (detected)"] and b.source == str(packed)


def test_a_compressed_tsv_is_read_tab_separated(tmp_path):
    packed = tmp_path / "t.tsv.gz"
    packed.write_bytes(gzip.compress(b"a\tb\ty\n1\t2\t0\n3\t4\t1\n5\t6\t0\n"))
    assert load(packed).feature_names == ["a", "b"]


def test_messages_name_the_compressed_file_and_the_line_of_its_content(tmp_path):
    packed = tmp_path / "ragged.csv.gz"
    packed.write_bytes(gzip.compress(b"a,b,y\n1,2,0\n3,4,5,1\n"))
    with pytest.raises(DataError, match=rf"^{packed}, line 3 \(header is line 1\): 4 fields, but the header has 3"):
        load(packed)


def test_corrupt_or_truncated_data_is_one_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(b"this is not gzip data")
    with pytest.raises(DataError, match=rf"^{bad}: corrupt or truncated gz data"):
        load(bad)
    cut = tmp_path / "cut.csv.xz"
    cut.write_bytes(lzma.compress(CSV * 100)[:-40])
    with pytest.raises(DataError, match=rf"^{cut}: corrupt or truncated xz data"):
        load(cut)


def test_inflation_stops_at_the_memory_budget_and_leaves_no_partial_copy(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"a,y\n" + b"0,1\n" * 2_000_000))  # 8 MB of rows, 20 KB compressed
    monkeypatch.setattr(compressed, "memory_budget", lambda: 1 << 20)
    before = set(compressed._inflated_dir().iterdir())
    with pytest.raises(DataError, match=rf"^{bomb}: inflates to more than 1.0 MiB, the memory this process may use"):
        load(bomb)
    assert set(compressed._inflated_dir().iterdir()) == before


def test_the_copy_is_made_once_per_file_version(tmp_path):
    packed = tmp_path / "once.csv.gz"
    packed.write_bytes(gzip.compress(CSV))
    first = compressed.readable_csv(packed)
    assert compressed.readable_csv(packed) == first and first.read_bytes() == CSV
    packed.write_bytes(gzip.compress(CSV.replace(b"31", b"32")))  # a new version of the file: inflated again
    assert b"32;red" in compressed.readable_csv(packed).read_bytes()
