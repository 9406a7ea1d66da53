"""How many CPU cores this process may use.

``os.cpu_count()`` counts the machine's logical CPUs; a process started under
``taskset``, a container's cpuset or a batch scheduler may run on fewer.
Every place in tunenet that sizes work by cores (the tuner's worker count and
threads per worker, BLAS threads in training, the learning-rate range test,
the estimators) asks :func:`available_cores` instead, so ``taskset -c 0
tunenet tune`` starts one worker, not one per machine core.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """The number of CPUs in this process's affinity mask (``os.sched_getaffinity``), at least 1.

    Where the platform has no affinity call (macOS, Windows), ``os.cpu_count()``.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
