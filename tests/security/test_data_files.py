"""Crafted data files: CSV, Parquet, ``.npz`` and IDX, through ``tunenet train --data`` and ``tunenet predict``."""

from __future__ import annotations

import gzip
import struct

import numpy as np
from builders import Payload, copy_run, idx_header, npy_bytes, npy_header, npz, pickle_bytes, zip_declaring
from harness import Case, suite


def train(make, *flags):
    """``tunenet train --data FILE --run-dir out`` (which may write only into ``out``), FILE = ``make(ctx)``."""
    def build(ctx):
        return ["train", "--data", make(ctx), "--run-dir", "out", "--epochs", 1, "--quiet", *flags]
    return build


def predict(make):
    """``tunenet predict run FILE`` on a copy of the trained run: it may write nothing."""
    def build(ctx):
        copy_run(ctx.base, ctx.dir / "run")
        return ["predict", "run", make(ctx)]
    return build


def text_file(name: str, text: str | bytes):
    def make(ctx):
        path = ctx.dir / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path.name
    return make


def distinct_strings(ctx):
    path = ctx.dir / "ids.csv"
    path.write_text("id,label\n" + "".join(f"user{i:05d},{i % 2}\n" for i in range(50_000)))
    return path.name


def npz_file(name: str, members: dict, compress: bool = True):
    def make(ctx):
        return npz(ctx.dir / name, members(ctx) if callable(members) else members, compress).name
    return make


def sparse_npz(name: str, **override):
    """A ``scipy.sparse.save_npz``-layout archive of a 3x4 CSR matrix (plus ``y``), members replaced by ``override``."""
    def make(ctx):
        members = {"data": np.array([1.0, 2.0, 3.0]), "indices": np.array([0, 3, 1], dtype=np.int32),
                   "indptr": np.array([0, 2, 2, 3], dtype=np.int32), "shape": np.array([3, 4]),
                   "format": np.array("csr"), "y": np.array([0, 1, 0])}
        members.update(override)
        return npz(ctx.dir / name, {f"{k}.npy": npy_bytes(v) for k, v in members.items()}).name
    return make


def lying_header(shape, descr="<f4"):
    return npy_header(shape, descr) + b"\x00" * 64


def pickle_member(ctx):
    return {"X.npy": npy_bytes(np.array([Payload(ctx.marker)], dtype=object)),
            "y.npy": npy_bytes(np.array([0]))}


def forged_zip_size(ctx):
    return zip_declaring(ctx.dir / "forged.npz", "X.npy", npy_header((4,)) + b"\x00" * 16, 2**31 - 1).name


def encrypted_flag(ctx):
    path = npz(ctx.dir / "enc.npz", {"X.npy": npy_bytes(np.zeros((2, 2))), "y.npy": npy_bytes(np.zeros(2))})
    raw = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(sig)
        raw[at + offset] |= 1  # the "encrypted" bit
    path.write_bytes(bytes(raw))
    return path.name


def idx_pair(header: bytes, data: bytes = b"", gz: bool = False):
    """An images file and a valid labels file beside it."""
    def make(ctx):
        suffix = ".gz" if gz else ""
        images = ctx.dir / f"train-images-idx3-ubyte{suffix}"
        body = header + data
        images.write_bytes(gzip.compress(body) if gz else body)
        labels = idx_header(8, (2,)) + b"\x00\x01"
        (ctx.dir / f"train-labels-idx1-ubyte{suffix}").write_bytes(gzip.compress(labels) if gz else labels)
        return images.name
    return make


def corrupt_gzip_images(ctx):
    idx_pair(idx_header(8, (2, 1, 1)), b"\x00\x01", gz=True)(ctx)
    path = ctx.dir / "train-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # the CRC-32 trailer
    path.write_bytes(bytes(data))
    return path.name


def parquet(table_of):
    def make(ctx):
        import pyarrow.parquet as pq

        pq.write_table(table_of(), ctx.dir / "t.parquet")
        return "t.parquet"
    return make


def list_column():
    import pyarrow as pa

    return pa.table({"x": pa.array([[1, 2], [3]]), "label": pa.array([0, 1])})


def many_categories():
    import pyarrow as pa

    return pa.table({"id": pa.array([f"u{i}" for i in range(5000)]), "label": pa.array([i % 2 for i in range(5000)])})


def device_link(ctx):
    (ctx.dir / "zero.csv").symlink_to("/dev/zero")
    return "zero.csv"


LATIN1 = "name,x,label\ncaf\xe9,1,a\nna\xefve,2,b\nthé,3,a\nx,4,b\n".encode("latin-1")

CASES = [
    # CSV
    Case("csv-latin-1", train(text_file("latin1.csv", LATIN1)), "not UTF-8.*Latin-1", "out", direct=True),
    Case("csv-binary-garbage", train(text_file("junk.csv", bytes(range(256)) * 40)), "junk.csv", "out"),
    Case("csv-50k-distinct-strings", train(distinct_strings), r"column 'id': 50,000 distinct categories, more than "
         r"max_categories=1000; one-hot encoding them would take at least 9.3 GiB", "out"),
    Case("csv-50k-categories-cap-raised", train(distinct_strings, "--max-categories", 100_000),
         r"50,000 rows x 50,000 features\) would need 9.3 GiB of memory", "out"),
    Case("csv-max-categories-zero", train(distinct_strings, "--max-categories", 0), "max_categories", "out"),
    Case("csv-empty", train(text_file("empty.csv", "")), "empty file", "out"),
    Case("csv-header-only", train(text_file("header.csv", "a,b,label\n")), "zero data rows|no data", "out"),
    Case("csv-infinite-cell", train(text_file("inf.csv", "a,label\n" + "1,x\n2,y\n" * 5 + "inf,x\n")),
         "infinite value", "out"),
    Case("csv-ragged", train(text_file("ragged.csv", "a,b,label\n1,2,x\n1,2,3,4,5\n")), "line 3", "out"),
    Case("csv-duplicate-columns", train(text_file("dup.csv", "a,a,label\n1,2,x\n3,4,y\n")), "appears twice", "out"),
    Case("csv-symlink-to-dev-zero", train(device_link), "not a file", "out"),
    Case("csv-unknown-category-at-predict",
         predict(text_file("new.csv", "a,b,colour,label\n0.1,0.2,green,x\n")), "'green' was not seen", None),
    # Parquet
    Case("parquet-garbage", train(text_file("bad.parquet", b"PAR1" + b"\xff" * 100)), "not a readable Parquet", "out"),
    Case("parquet-list-column", train(parquet(list_column)), "not supported", "out"),
    Case("parquet-5000-categories", train(parquet(many_categories)), "5,000 distinct categories", "out"),
    # .npz in scipy.sparse.save_npz layout
    Case("sparse-npz-index-out-of-range", train(sparse_npz("s.npz", indices=np.array([0, 9, 1], dtype=np.int32))),
         r"'indices' holds 9 at position 1; expected 0\.\.3", "out"),
    Case("sparse-npz-indptr-lies-about-nnz", train(sparse_npz("s.npz", indptr=np.array([0, 2, 2, 2**30]))),
         "'indptr' must rise from 0 to 3", "out"),
    Case("sparse-npz-shape-claims-huge-rows", train(sparse_npz("s.npz", shape=np.array([2**40, 4]))),
         "'indptr' has 4 entries; a csr matrix of shape", "out"),
    # .npz
    Case("npz-header-lies-6-gib", train(npz_file("lie.npz", {"X.npy": lying_header((40_000, 40_000)),
                                                           "y.npy": npy_bytes(np.zeros(2))})),
         r"declares shape \(40000, 40000\) float32 \(6,400,000,000 bytes\)", "out", direct=True),
    Case("npz-header-lies-3-6-tib", train(npz_file("lie.npz", {"X.npy": lying_header((1_000_000, 1_000_000), "<f4")})),
         r"4,000,000,000,000 bytes", "out"),
    Case("npz-header-lies-at-predict", predict(npz_file("lie.npz", {"X.npy": lying_header((40_000, 40_000))})),
         "declares shape", None),
    Case("npz-object-array-pickle-payload", train(npz_file("evil.npz", pickle_member)),
         "holds Python objects, which would need pickle", "out"),
    Case("npz-is-a-pickle", train(lambda ctx: text_file("p.npz", pickle_bytes(ctx.marker))(ctx)),
         "not a readable .npz file", "out"),
    Case("npz-not-a-zip", train(text_file("junk.npz", b"\x93NUMPY junk")), "not a readable .npz file", "out"),
    Case("npz-forged-zip-size", train(forged_zip_size), "forged sizes", "out"),
    Case("npz-encrypted-member", train(encrypted_flag), "not a readable .npz file", "out"),
    Case("npz-structured-dtype", train(npz_file("s.npz", {"X.npy": npy_bytes(np.zeros(2, dtype=[("a", "<f4")])),
                                                         "y.npy": npy_bytes(np.zeros(2))})),
         "expected numbers, booleans or strings", "out"),
    Case("npz-header-not-a-dict", train(npz_file("h.npz", {"X.npy": b"\x93NUMPY\x01\x00\x10\x00__import__('os')\n"})),
         "no readable .npy header", "out"),
    Case("npz-format-version-3", train(npz_file("v.npz", {"X.npy": b"\x93NUMPY\x03\x00" + b"\x00" * 60})),
         "format version", "out"),
    Case("npz-missing-x", train(npz_file("m.npz", {"y.npy": npy_bytes(np.zeros(2))})), "no array 'X'", "out"),
    Case("npz-x-3d-strings", train(npz_file("t.npz", {"X.npy": npy_bytes(np.array([["a", "b"]])),
                                                      "y.npy": npy_bytes(np.zeros(1))})), "X", "out"),
    # IDX
    Case("idx-255-dimensions", train(idx_pair(bytes([0, 0, 8, 255]) + struct.pack(">255I", *[2] * 255))),
         "declares 255 dimensions", "out", direct=True),
    Case("idx-byte-count-overflows", train(idx_pair(idx_header(0x0E, [2**32 - 1] * 4), b"\x00" * 8)),
         f"\\({(2**32 - 1) ** 4 * 8:,} bytes\\) but the file holds 8 bytes", "out"),
    Case("idx-truncated", train(idx_pair(idx_header(8, (60_000, 28, 28)), b"\x00" * 100)), "truncated", "out"),
    Case("idx-gzip-bomb", train(idx_pair(idx_header(8, (2, 2, 2)), b"\x00" * 8 + b"\x00" * 30_000_000, gz=True)),
         "decompresses to more than", "out"),
    Case("idx-gzip-declares-200-gb", train(idx_pair(idx_header(8, (60_000, 60_000, 60)), gz=True)),
         "would need .* of memory", "out"),
    Case("idx-unknown-type-code", train(idx_pair(bytes([0, 0, 0x42, 1]) + struct.pack(">I", 2), b"ab")),
         "unknown IDX type code 0x42", "out"),
    Case("idx-corrupt-gzip", train(corrupt_gzip_images),
         "corrupt or truncated gzip|not an IDX", "out"),
]

results, test_case = suite(CASES)
