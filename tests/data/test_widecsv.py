"""The vectorised reader of wide CSV files returns what the ordinary (pyarrow) reader returns."""

import numpy as np
import pytest

from tunenet.data import widecsv
from tunenet.data.files import load_table
from tunenet.data.tables import read_columns


def write_wide(path, n_cols, rows, extra_header=(), extra=lambda i: ()):
    names = [f"f{j}" for j in range(n_cols)] + list(extra_header)
    lines = [",".join(names)] + [",".join([*row, *extra(i)]) for i, row in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def ordinary(path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(widecsv, "WIDE_COLUMNS", 10**9)
        return read_columns(path)[0]


def assert_same_columns(a, b):
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        if a[name].dtype.kind == "f":
            np.testing.assert_array_equal(a[name], b[name])
        else:
            assert a[name].tolist() == b[name].tolist(), name


def test_numeric_and_mixed_columns_match_the_ordinary_reader(tmp_path, monkeypatch, rng):
    """Numbers in every notation, text, empty cells, NA, booleans, a number with a typo, a '.' cell."""
    n, m = 1200, 6
    values = rng.standard_normal((m, n))
    rows = [[f"{v:.4g}" if j % 3 else f"{v:.3e}" for j, v in enumerate(r)] for r in values]
    rows[0][5] = "17"        # an integer among floats
    rows[1][7] = ""          # a missing value: the column goes to the ordinary reader
    rows[2][8] = "NA"        # a null spelling
    rows[3][9] = "1.2.3"     # numeric characters numpy cannot parse
    rows[4][10] = "-"
    def extra(i):
        return (["red", "blue"][i % 2], ["true", "false"][i % 2], "x" if i == 2 else "3", str(i % 2))
    path = write_wide(tmp_path / "wide.csv", n, rows, ("colour", "flag", "typo", "label"), extra)
    fast = read_columns(path)[0]
    assert_same_columns(fast, ordinary(path, monkeypatch))


def test_files_it_does_not_handle_go_to_the_ordinary_reader(tmp_path, monkeypatch):
    calls = []
    real = widecsv.wide_csv_columns
    monkeypatch.setattr("tunenet.data.tables.wide_csv_columns",
                        lambda *a: calls.append(real(*a)) or calls[-1])
    rows = [["1"] * 1500 for _ in range(3)]
    quoted = write_wide(tmp_path / "q.csv", 1500, rows)
    quoted.write_text(quoted.read_text().replace("f0", '"f0"'))
    narrow = write_wide(tmp_path / "n.csv", 5, [["1"] * 5])
    bom = write_wide(tmp_path / "b.csv", 1500, rows)
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes())
    for path in (quoted, narrow, bom):
        read_columns(path)
    assert calls == [None, None, None]
    assert "f0" in read_columns(bom)[0]  # pyarrow drops the byte-order mark
    ragged = write_wide(tmp_path / "r.csv", 1500, rows)
    ragged.write_text(ragged.read_text() + "1,2\n")
    with pytest.raises(Exception, match="line 5"):
        read_columns(ragged)


def test_a_wide_table_loads_as_the_narrow_path_would(tmp_path, monkeypatch, rng):
    n = 1500
    rows = [[f"{v:.3f}" for v in rng.random(n)] for _ in range(20)]
    path = write_wide(tmp_path / "w.csv", n, rows, ("label",), lambda i: ("ab"[i % 2],))
    fast = load_table(path)
    monkeypatch.setattr(widecsv, "WIDE_COLUMNS", 10**9)
    slow = load_table(path)
    np.testing.assert_array_equal(fast.X, slow.X)
    np.testing.assert_array_equal(fast.y, slow.y)
    assert fast.encoding == slow.encoding and fast.X.shape == (20, n)
