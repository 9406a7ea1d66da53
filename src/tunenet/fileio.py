"""Crash-safe file writes: temp file in the same directory, fsync, rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import DataError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one.

    The bytes go to a temporary file beside ``path``, which is flushed, fsynced
    and renamed over ``path``; the directory is fsynced too so the rename itself
    survives a power cut.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; outputs (reports, models) are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def refuse_symlink(path: str | os.PathLike, error: type[Exception] = DataError) -> Path:
    """``path`` itself, refused if it is a symbolic link (a run directory's files are its own, never links).

    A link could make a command read (and a resume rewrite) a file outside the
    directory the user named.
    """
    path = Path(path)
    if path.is_symlink():
        raise error(f"{path}: is a symbolic link (to {os.readlink(path)}); a run directory's files must be "
                    "regular files inside it")
    return path


def read_json_object(path: str | os.PathLike) -> dict | None:
    """The JSON object in ``path``, None when the file is absent; a DataError when it is not a JSON object."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise DataError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def check_run_dir(run_dir: str | os.PathLike, need: str | None = None) -> Path:
    """``run_dir`` as a Path if it is a run directory (holding ``need``), else the one message for the mistake.

    ``predict``, ``evaluate``, ``diagnose``, ``report`` and ``train --resume`` all
    say the same: no such directory, a study directory (whose best model is
    ``best-model/``), or a directory without the file they need.
    """
    path = Path(run_dir)
    if not path.is_dir():
        what = "is a file, not a run directory" if path.exists() else "no such run directory"
        raise DataError(f"{run_dir}: {what} (`tunenet train` writes one, under runs/ by default)")
    if (path / "best-model").is_dir() or (path / "journal.log").is_file():
        raise DataError(f"{run_dir}: is a study directory, not a run; its best model is the run directory "
                        f"{path / 'best-model'}")
    if need is not None and not (path / need).is_file():
        raise DataError(f"{run_dir}: not a run directory of `tunenet train`, or not a finished one (no {need})")
    return path
