"""A worker process ends with the coordinator that started it.

``tunenet tune`` starts its workers with ``TUNENET_COORDINATOR_PID`` in their
environment. A worker that sees it calls :func:`bind_to_coordinator`:

- ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` (Linux, through ``ctypes``): the kernel
  sends the worker SIGTERM the moment its parent dies, even by SIGKILL;
- a watch thread compares ``os.getppid()`` with the coordinator's pid twice a
  second, the fallback where ``prctl`` does not exist (and for a parent that
  died before the ``prctl`` call);
- SIGTERM raises ``KeyboardInterrupt`` in the main thread, so the running
  trial is failed as "interrupted" and queued again (it runs on ``--resume``)
  exactly as after Ctrl-C; if that bookkeeping has not finished within
  :data:`GRACE` seconds the process exits anyway (the watch thread sees to
  it too, should the main thread be stuck in a system call).

So a ``kill -9`` of the coordinator leaves no worker running unsupervised
(nor doubling the workers on the cores when the study is resumed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

ENV = "TUNENET_COORDINATOR_PID"
PR_SET_PDEATHSIG = 1
GRACE = 2.0  # seconds between SIGTERM and the forced exit
WATCH_INTERVAL = 0.5


def _hard_exit_later(code: int = 143) -> None:
    timer = threading.Timer(GRACE, os._exit, args=(code,))
    timer.daemon = True
    timer.start()


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _hard_exit_later()
    raise KeyboardInterrupt("the coordinator is gone")


def _set_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(coordinator: int) -> None:
    """Poll the parent; once it is gone, SIGTERM this process and, :data:`GRACE` s later, exit for sure.

    The forced exit lives here as well as in the SIGTERM handler because a
    Python signal handler runs only when the main thread is back in the
    interpreter, which a long system call (an fsync on a busy disk) can delay.
    """
    stop = threading.Event()
    while not stop.wait(WATCH_INTERVAL):
        if os.getppid() != coordinator:
            os.kill(os.getpid(), signal.SIGTERM)
            stop.wait(GRACE)
            os._exit(143)


def bind_to_coordinator(coordinator: int | None = None) -> bool:
    """End this process (gracefully, then for sure) when ``coordinator`` (default: ``$TUNENET_COORDINATOR_PID``)
    dies. Returns False when there is no coordinator to bind to."""
    if coordinator is None:
        value = os.environ.get(ENV, "")
        if not value.isdigit():
            return False
        coordinator = int(value)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _set_parent_death_signal()
    threading.Thread(target=_watch, args=(coordinator,), daemon=True, name="coordinator-watch").start()
    if os.getppid() != coordinator:  # it died before the prctl: the watch thread ends us now
        os.kill(os.getpid(), signal.SIGTERM)
    return True
