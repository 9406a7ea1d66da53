"""Fixtures for tunenet.data: an isolated cache, the Debian Fashion-MNIST files, a loopback HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections import Counter
from pathlib import Path

import pytest

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path, monkeypatch):
    """No test reads or writes the user's cache or follows the user's data/URL settings."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TUNENET_CACHE_DIR", str(cache))
    for var in ("TUNENET_DATA", "TUNENET_FASHION_MNIST_URL", "TUNENET_MNIST_URL"):
        monkeypatch.delenv(var, raising=False)
    return cache


@pytest.fixture
def no_system_datasets(tmp_path, monkeypatch):
    """Hide /usr/share/datasets so that a named dataset must come from the cache or a download."""
    from tunenet.data import download

    monkeypatch.setattr(download, "SYSTEM_DATASETS_DIR", tmp_path / "no-system-datasets")


@pytest.fixture(scope="session")
def debian_fashion_dir() -> Path:
    """Debian's dataset-fashion-mnist files (apt-get install dataset-fashion-mnist)."""
    if not all((DEBIAN_FASHION_MNIST / f).is_file() for f in FASHION_FILES):
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    return DEBIAN_FASHION_MNIST


@pytest.fixture(scope="session")
def fashion_bytes(debian_fashion_dir) -> dict[str, bytes]:
    return {name: (debian_fashion_dir / name).read_bytes() for name in FASHION_FILES}


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving ``files`` (name -> bytes); counts GETs per path."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                name = self.path.lstrip("/")
                server.requests[name] += 1
                body = server.files.get(name)
                if body is None:
                    self.send_error(404, "not found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def serve():
    """``serve(files) -> LoopbackServer``; every server started is shut down after the test."""
    servers = []

    def start(files: dict[str, bytes]) -> LoopbackServer:
        servers.append(LoopbackServer(files))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def write(tmp_path):
    """``write(name, text) -> path`` of a small text file in the test's directory."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write
