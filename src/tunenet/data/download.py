"""Find dataset files on disk, or download them once with MD5 verification.

Where files are looked for, in order (the first directory holding every file wins):

1. ``data_dir`` when given (then nowhere else);
2. ``$TUNENET_DATA/<name>``, then ``$TUNENET_DATA`` itself;
3. the cache, ``$TUNENET_CACHE_DIR/<name>`` or ``platformdirs.user_cache_dir("tunenet")/<name>``;
4. ``/usr/share/datasets/<name>`` (Debian's ``dataset-fashion-mnist`` package).

Each file may be gzipped (``name.gz``) or raw (``name``).

Downloads go into the cache. The base URL is, in order of precedence, the
``url`` argument, the environment variable ``TUNENET_<NAME>_URL`` (for
example ``TUNENET_FASHION_MNIST_URL``) or the official locations. A file is
accepted if the MD5 of the bytes received equals the published MD5 of the
``.gz`` file, or, for a mirror that re-compressed the same data (as Debian
did), if the MD5 of the decompressed bytes equals that of the official IDX
data. Anything else is refused and nothing is written; accepted files are
written atomically (temporary file, fsync, rename), so the cache never holds
a partial or unverified file.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..fileio import atomic_write_bytes
from .idx import gunzip

SYSTEM_DATASETS_DIR = Path("/usr/share/datasets")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file and its checksums.

    ``md5`` is the published MD5 of the compressed file; ``raw_md5`` the MD5 of
    its decompressed content (the IDX bytes), which survives re-compression.
    """

    name: str
    md5: str
    raw_md5: str

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class RemoteSource:
    """Where a dataset's files live on the web: base URLs tried in order, and its files."""

    dataset: str
    urls: tuple[str, ...]
    files: tuple[RemoteFile, ...]

    @property
    def url_env_var(self) -> str:
        return "TUNENET_" + self.dataset.upper().replace("-", "_") + "_URL"

    @property
    def download_mb(self) -> float:
        sizes = {"fashion-mnist": 30.9, "mnist": 11.6}
        return sizes.get(self.dataset, 0.0)


# Published MD5s of the .gz files: the README of github.com/zalandoresearch/fashion-mnist.
# raw_md5: MD5 of the decompressed IDX files; checked equal to the decompressed files of
# Debian's dataset-fashion-mnist 0.0~git20200523 (whose .gz were re-compressed, so their
# compressed MD5s differ from the published ones).
FASHION_MNIST = RemoteSource(
    dataset="fashion-mnist",
    urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    files=(
        RemoteFile("train-images-idx3-ubyte.gz",
                   md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d", raw_md5="f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        RemoteFile("train-labels-idx1-ubyte.gz",
                   md5="25c81989df183df01b3e8a0aad5dffbe", raw_md5="9018921c3c673c538a1fc5bad174d6f9"),
        RemoteFile("t10k-images-idx3-ubyte.gz",
                   md5="bef4ecab320f06d8554ea6380940ec79", raw_md5="8181f5470baa50b63fa0f6fddb340f0a"),
        RemoteFile("t10k-labels-idx1-ubyte.gz",
                   md5="bb300cfdad3c16e7a12a480ee83cd310", raw_md5="15d484375f8d13e6eb1aabb0c3f46965"),
    ),
)

# MNIST: the MD5s used by torchvision and others for LeCun's original files; the mirrors
# below serve byte-identical copies (yann.lecun.com itself often refuses downloads).
MNIST = RemoteSource(
    dataset="mnist",
    urls=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    files=(
        RemoteFile("train-images-idx3-ubyte.gz",
                   md5="f68b3c2dcbeaaa9fbdd348bbdeb94873", raw_md5="6bbc9ace898e44ae57da46a324031adb"),
        RemoteFile("train-labels-idx1-ubyte.gz",
                   md5="d53e105ee54ea40749a09fcbcd1e9432", raw_md5="a25bea736e30d166cdddb491f175f624"),
        RemoteFile("t10k-images-idx3-ubyte.gz",
                   md5="9fb629c4189551a2d022fa330f9573f3", raw_md5="2646ac647ad5339dbf082846283269ea"),
        RemoteFile("t10k-labels-idx1-ubyte.gz",
                   md5="ec29112dd5afa0611ce80d1b7f02629c", raw_md5="27ae3e4e09519cfbb04c329615203637"),
    ),
)

REMOTE_SOURCES = {s.dataset: s for s in (FASHION_MNIST, MNIST)}


def cache_dir() -> Path:
    """The tunenet cache: ``$TUNENET_CACHE_DIR`` or ``platformdirs.user_cache_dir("tunenet")``."""
    override = os.environ.get("TUNENET_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("tunenet"))


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Directories searched for dataset ``name``'s files, in order (see the module docstring)."""
    if data_dir is not None:
        return [Path(data_dir)]
    dirs = []
    env = os.environ.get("TUNENET_DATA")
    if env:
        dirs += [Path(env) / name, Path(env)]
    dirs += [cache_dir() / name, SYSTEM_DATASETS_DIR / name]
    return dirs


def find_in_dir(directory: Path, stems: list[str]) -> dict[str, Path] | None:
    """``{stem: path}`` if ``directory`` holds every file (``stem.gz`` or ``stem``), else None."""
    found = {}
    for stem in stems:
        for candidate in (directory / f"{stem}.gz", directory / stem):
            if candidate.is_file():
                found[stem] = candidate
                break
        else:
            return None
    return found


def find_files(name: str, stems: list[str], data_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """The first searched directory holding all of ``stems``, as ``{stem: path}``; None if none does."""
    for directory in search_dirs(name, data_dir):
        found = find_in_dir(directory, stems)
        if found:
            return found
    return None


def base_urls(source: RemoteSource, url: str | None = None) -> tuple[str, ...]:
    """The base URLs to try: ``url``, else ``$TUNENET_<NAME>_URL``, else the official ones."""
    chosen = url or os.environ.get(source.url_env_var)
    urls = (chosen,) if chosen else source.urls
    return tuple(u if u.endswith("/") else u + "/" for u in urls)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def verify(data: bytes, remote: RemoteFile) -> str | None:
    """None if ``data`` is ``remote`` (compressed MD5, or MD5 of the decompressed bytes); else why not."""
    got = md5_hex(data)
    if got == remote.md5:
        return None
    try:
        raw_md5 = md5_hex(gunzip(data))
    except (OSError, EOFError, zlib.error):
        raw_md5 = None
    if raw_md5 == remote.raw_md5:
        return None
    return f"MD5 {got} does not match the published {remote.md5}" + (
        f" (nor does the MD5 {raw_md5} of its decompressed data match {remote.raw_md5})" if raw_md5 else "")


def _open(url: str, timeout: float):
    host = urllib.parse.urlsplit(url).hostname
    handlers = [urllib.request.ProxyHandler({})] if host in LOOPBACK_HOSTS else []
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"User-Agent": "tunenet"})
    return opener.open(request, timeout=timeout)


def download_bytes(url: str, timeout: float = 60.0) -> bytes:
    """GET ``url``; any network or HTTP failure becomes a :class:`DataError`."""
    try:
        with _open(url, timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise DataError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"download of {url} failed: {reason}") from None


def fetch(source: RemoteSource, dest: str | os.PathLike | None = None, url: str | None = None,
          timeout: float = 60.0) -> dict[str, Path]:
    """Download ``source``'s files missing from ``dest`` (default: the cache), verified; returns ``{stem: path}``.

    Mirrors are tried in order for each file; a file failing its checksum on
    every mirror raises a :class:`DataError` and is not written.
    """
    dest = Path(dest) if dest is not None else cache_dir() / source.dataset
    paths = {}
    for remote in source.files:
        existing = find_in_dir(dest, [remote.stem])
        if existing:
            paths[remote.stem] = existing[remote.stem]
            continue
        failures = []
        for base in base_urls(source, url):
            file_url = base + remote.name
            try:
                data = download_bytes(file_url, timeout)
            except DataError as exc:
                failures.append(str(exc))
                continue
            problem = verify(data, remote)
            if problem:
                failures.append(f"{file_url}: checksum mismatch: {problem}; the file was not saved")
                continue
            atomic_write_bytes(dest / remote.name, data)
            paths[remote.stem] = dest / remote.name
            break
        else:
            hint = (f"put the files {', '.join(f.name for f in source.files)} in $TUNENET_DATA/{source.dataset} "
                    f"or set {source.url_env_var} to a mirror")
            raise DataError(f"{source.dataset}: could not download {remote.name} ({'; '.join(failures)}); {hint}")
    return paths
