"""Downloads over real HTTP on loopback: verified by MD5, cached atomically, corrupt files refused."""

from __future__ import annotations

import gzip

import pytest

from tunenet.data import load
from tunenet.data.download import (
    FASHION_MNIST,
    MNIST,
    RemoteFile,
    base_urls,
    fetch,
    find_files,
    md5_hex,
    search_dirs,
    verify,
)
from tunenet.data.mnist import locate_idx_files
from tunenet.errors import DataError

FASHION_FILES = [f.name for f in FASHION_MNIST.files]


def test_debian_files_match_the_recorded_checksums(fashion_bytes):
    # Debian re-compressed the files: the .gz MD5 differs from the published one, the IDX content does not.
    for remote in FASHION_MNIST.files:
        data = fashion_bytes[remote.name]
        assert md5_hex(data) != remote.md5
        assert md5_hex(gzip.decompress(data)) == remote.raw_md5
        assert verify(data, remote) is None


def test_verify_accepts_the_published_compressed_md5_and_refuses_other_bytes():
    data = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02ab", mtime=0)
    remote = RemoteFile("x.gz", md5=md5_hex(data), raw_md5="0" * 32)
    assert verify(data, remote) is None
    problem = verify(data + b"!", remote)
    assert problem is not None and md5_hex(data) in problem


def test_loopback_download_is_verified_cached_and_loaded(serve, fashion_bytes, isolated_data_env,
                                                         no_system_datasets):
    server = serve(fashion_bytes)
    ds = load("fashion-mnist", url=server.url)
    assert ds.X.shape == (60_000, 784) and ds.X_test.shape == (10_000, 784)
    cached = isolated_data_env / "fashion-mnist"
    for name in FASHION_FILES:
        assert server.requests[name] == 1
        assert (cached / name).read_bytes() == fashion_bytes[name]
    assert not [p for p in cached.iterdir() if p.name.endswith(".tmp")]
    again = locate_idx_files(FASHION_MNIST, url=server.url)  # found in the cache: no new request
    assert sum(server.requests.values()) == 4
    assert {p.parent for p in again.values()} == {cached}


def test_corrupted_download_is_rejected_and_not_cached(serve, fashion_bytes, isolated_data_env,
                                                       no_system_datasets, monkeypatch):
    corrupted = bytearray(fashion_bytes["train-labels-idx1-ubyte.gz"])
    corrupted[len(corrupted) // 2] ^= 0xFF
    files = dict(fashion_bytes, **{"train-labels-idx1-ubyte.gz": bytes(corrupted)})
    server = serve(files)
    monkeypatch.setenv("TUNENET_FASHION_MNIST_URL", server.url)  # the environment variable route
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz.*checksum mismatch"):
        load("fashion-mnist")
    assert not (isolated_data_env / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()
    assert server.requests["train-labels-idx1-ubyte.gz"] == 1


def test_truncated_download_is_rejected(serve, fashion_bytes, tmp_path):
    labels = fashion_bytes["t10k-labels-idx1-ubyte.gz"]
    server = serve({"t10k-labels-idx1-ubyte.gz": labels[: len(labels) // 2]})
    source = type(FASHION_MNIST)("fashion-mnist", FASHION_MNIST.urls, (FASHION_MNIST.files[3],))
    with pytest.raises(DataError, match="MD5"):
        fetch(source, dest=tmp_path / "dest", url=server.url)
    assert not (tmp_path / "dest" / "t10k-labels-idx1-ubyte.gz").exists()


def test_missing_file_on_the_server_names_the_url_and_the_way_out(serve, tmp_path):
    server = serve({})
    with pytest.raises(DataError, match=r"HTTP 404.*TUNENET_DATA/mnist.*TUNENET_MNIST_URL"):
        fetch(MNIST, dest=tmp_path, url=server.url)


def test_no_files_and_no_download_names_the_searched_directories(no_system_datasets, isolated_data_env):
    with pytest.raises(DataError, match=r"mnist: files not found \(looked in .*cache"):
        load("mnist", download=False)


def test_url_precedence_argument_then_environment_then_official(monkeypatch):
    assert base_urls(MNIST) == MNIST.urls
    monkeypatch.setenv("TUNENET_MNIST_URL", "http://127.0.0.1:1/mirror")
    assert base_urls(MNIST) == ("http://127.0.0.1:1/mirror/",)
    assert base_urls(MNIST, "http://127.0.0.1:2/") == ("http://127.0.0.1:2/",)
    assert FASHION_MNIST.url_env_var == "TUNENET_FASHION_MNIST_URL"


def test_search_order_tunenet_data_then_cache_then_system(tmp_path, monkeypatch, isolated_data_env):
    monkeypatch.setenv("TUNENET_DATA", str(tmp_path / "data"))
    dirs = search_dirs("fashion-mnist")
    assert dirs == [tmp_path / "data" / "fashion-mnist", tmp_path / "data", isolated_data_env / "fashion-mnist",
                    dirs[-1]]
    assert dirs[-1].as_posix().endswith("datasets/fashion-mnist")
    stems = ["a-idx1-ubyte", "b-idx1-ubyte"]
    for d in (tmp_path / "data" / "fashion-mnist", isolated_data_env / "fashion-mnist"):
        d.mkdir(parents=True)
        for s in stems:
            (d / f"{s}.gz").write_bytes(b"")
    assert find_files("fashion-mnist", stems)["a-idx1-ubyte"].parent == tmp_path / "data" / "fashion-mnist"
    (tmp_path / "data" / "fashion-mnist" / "b-idx1-ubyte.gz").unlink()  # incomplete: the next directory wins
    assert find_files("fashion-mnist", stems)["a-idx1-ubyte"].parent == isolated_data_env / "fashion-mnist"
