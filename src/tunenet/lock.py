"""An exclusive, crash-proof lock on a directory: ``fcntl.flock`` on ``DIR/.lock``.

Two ``tunenet train --run-dir same`` at once would write one directory's
files in turn, each run silently replacing the other's results. The first
process takes the lock and writes its pid into the lock file; the second
finds it held and stops with one line naming the directory and that pid.
The kernel drops a ``flock`` when its holder exits in any way (SIGKILL
included), so a crashed run never leaves a stale lock behind; the lock file
itself stays, harmless.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import LockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None

LOCK_NAME = ".lock"


class DirectoryLock:
    """``with DirectoryLock(path, what="run directory"):`` holds ``path/.lock`` exclusively.

    Raises :class:`~tunenet.errors.LockedError` at once (it never waits) when
    another process holds it.
    """

    def __init__(self, directory: str | os.PathLike, what: str = "directory") -> None:
        self.directory, self.what = Path(directory), what
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> DirectoryLock:
        if fcntl is None or self._fd is not None:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise LockedError(f"{self.directory}: this {self.what} is in use by another tunenet process "
                              f"({who}); wait for it to finish or choose another directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
