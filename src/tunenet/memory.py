"""How much memory an allocation may take, checked before it is made.

Every load path that sizes an array from its input (a model file's
architecture, an ``.npz`` member's header, an IDX header, a table's one-hot
categories, a config's ``hidden`` sizes) computes the bytes first and calls
:func:`check_bytes`, so a tiny crafted file yields one ``error:`` line naming
the field and the memory it would need instead of a ``MemoryError`` (or the
kernel's OOM killer) after gigabytes were requested.

The budget is the smaller of the machine's physical memory and the
process's address-space limit (``ulimit -v``, ``RLIMIT_AS``), whichever is
set.
"""

from __future__ import annotations

import os

try:
    import resource
except ImportError:  # not on Windows
    resource = None

from .errors import TunenetError


def return_freed_memory() -> bool:
    """Give the C heap's free pages back to the OS (glibc's ``malloc_trim(0)``); False where there is none.

    A first run after an install compiles the numba kernels, and LLVM's freed working memory (about 13 MB
    for the engine's kernels) otherwise stays resident for the rest of the process, on top of what the run
    allocates next (metrics, plots, the report).
    """
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def memory_budget() -> int:
    """Bytes a single process may use: min(physical memory, RLIMIT_AS soft limit)."""
    budget = 1 << 62
    try:
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    if resource is not None:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            budget = min(budget, soft)
    return budget


def format_bytes(n: int | float) -> str:
    """``1536`` -> ``"1.5 KiB"``; binary units up to PiB, beyond that in PiB."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PiB"


def check_bytes(nbytes: int, what: str, error: type[TunenetError] = TunenetError, hint: str = "") -> None:
    """Raise ``error`` if ``nbytes`` exceed :func:`memory_budget`; ``what`` names the field at fault."""
    budget = memory_budget()
    if nbytes > budget:
        raise error(f"{what} would need {format_bytes(nbytes)} of memory, more than the "
                    f"{format_bytes(budget)} this process may use" + (f"; {hint}" if hint else ""))
