"""The training step's matrix products: Intel MKL's GEMM when it is installed, else NumPy's BLAS.

A Dense layer's three products per step (``Z = X @ W``, ``dW = X.T @ dZ``,
``dX = dZ @ W.T``) are most of an epoch's time. NumPy's wheels link
OpenBLAS; on the x86-64 CPUs measured in ``docs/benchmarks.md`` MKL's single-thread
``sgemm`` is 1.1-1.5x faster on these shapes (the most at batch 32, where a
product's inner dimension is small), and it is what PyTorch's CPU build calls.
:func:`matmul` calls MKL's ``cblas_?gemm`` from a numba-compiled function (the
call costs ~1.6 us, less than ``np.matmul``'s) when

- the ``mkl`` wheel is installed (a dependency on Linux x86-64) and
  ``TUNENET_BLAS`` is not ``numpy``,
- the product runs inside :func:`single_thread` (the trainer enters it when it
  trains with one BLAS thread: a tuner's trial, ``--threads 1``, a process
  pinned to one core). MKL is loaded with its sequential threading layer (no
  thread pool, safe to fork), so with more threads NumPy's threaded OpenBLAS
  does the products instead,
- the product has at least :data:`MIN_PRODUCT` multiply-adds,
- both operands and ``out`` share a float32 or float64 dtype, ``out`` is
  C-contiguous and each operand is C-contiguous or the transpose of a
  C-contiguous array (``x.T``); anything else goes to ``np.matmul``.

The result is the exact product rounded as MKL's kernel accumulates it, not
as OpenBLAS does: the two differ in the last bits, so a model trained with
MKL is not bit-identical to one trained with ``TUNENET_BLAS=numpy``; each is
the same run to run for the same seed (MKL's sequential GEMM does not depend
on the arrays' alignment; tested). Predictions outside training keep
NumPy's ``@``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

import numpy as np

from .errors import ConfigError

#: ``TUNENET_BLAS``: ``auto`` (MKL when installed) or ``numpy``
CHOICES = ("auto", "numpy")
_choice = os.environ.get("TUNENET_BLAS", "auto").strip().lower() or "auto"
#: products of fewer multiply-adds (``m*k*n``) stay with NumPy: under ~10 us both libraries spend it on the
#: call, and a small job (digits) never pays MKL's loading (~0.3 s CPU, ~22 MB resident: docs/training.md)
MIN_PRODUCT = 1 << 20
_active = 0          # depth of single_thread() blocks in force
_gemm = None         # the compiled MKL call, or False once loading failed / was refused
_reason = ""         # why MKL is not used, for backend()


def _library_path() -> str | None:
    """``libmkl_rt`` as the ``mkl`` wheel installs it (``<prefix>/lib``), or None."""
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        for version in ("3", "2"):
            path = os.path.join(prefix, "lib", f"libmkl_rt.so.{version}")
            if os.path.isfile(path):
                return path
    return None


def check_environment() -> None:
    """Raise ConfigError when ``TUNENET_BLAS`` is set to something other than :data:`CHOICES`."""
    if _choice not in CHOICES:
        raise ConfigError(f"environment variable TUNENET_BLAS={_choice!r} is not one of {', '.join(CHOICES)}")


def _load():
    """The numba function calling ``cblas_sgemm`` / ``cblas_dgemm``, or False (with ``_reason`` set)."""
    global _reason
    check_environment()
    if _choice == "numpy":
        _reason = "TUNENET_BLAS=numpy"
        return False
    if os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0"):
        _reason = "NUMBA_DISABLE_JIT is set"
        return False
    path = _library_path()
    if path is None:
        _reason = "the mkl package is not installed"
        return False
    try:
        from . import _mkl

        _mkl.load(path)
    except (OSError, AttributeError, ImportError) as exc:
        _reason = f"MKL could not be loaded from {path}: {exc}"
        return False
    return _mkl.gemm


def _loaded():
    """The MKL call, loaded on first use (False when MKL is not used)."""
    global _gemm
    if _gemm is None:
        _gemm = _load()
    return _gemm


def backend() -> str:
    """``"mkl"`` when :func:`matmul` inside :func:`single_thread` calls MKL, else ``"numpy (<why>)"``."""
    return "mkl" if _loaded() else f"numpy ({_reason})"


def in_single_thread() -> bool:
    """Whether a :func:`single_thread` block is in force (products bound by :func:`bind` depend on it)."""
    return _active > 0


@contextlib.contextmanager
def single_thread(enabled: bool = True):
    """Within this block (when ``enabled``: the caller runs BLAS on one thread) :func:`matmul` may use MKL."""
    global _active
    if not enabled:
        yield
        return
    _active += 1
    try:
        yield
    finally:
        _active -= 1


@contextlib.contextmanager
def thread_limit(threads: int):
    """NumPy's BLAS limited to ``threads`` (``threadpoolctl``); with one thread, :func:`single_thread` too."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads), single_thread(threads == 1):
        yield


def _operand(x: np.ndarray, dtype) -> tuple[np.ndarray, bool] | None:
    """``(C-contiguous array, transposed?)`` whose (transposed) view is ``x``, or None."""
    if x.dtype != dtype or x.ndim != 2:
        return None
    if x.flags.c_contiguous:
        return x, False
    if x.flags.f_contiguous:
        return x.T, True
    return None


def _mkl_operands(a: np.ndarray, b: np.ndarray, out: np.ndarray):
    """``(gemm, (A, trans_a), (B, trans_b))`` when MKL computes ``out = a @ b`` here (see the module), else None."""
    if _active and out.dtype.kind == "f" and out.dtype.itemsize in (4, 8) and out.flags.c_contiguous \
            and out.ndim == 2 and a.ndim == 2 and out.size * a.shape[1] >= MIN_PRODUCT and _loaded():
        left, right = _operand(a, out.dtype), _operand(b, out.dtype)
        if left is not None and right is not None and a.shape[1] == b.shape[0] > 0 \
                and out.shape == (a.shape[0], b.shape[1]):
            return _gemm, left, right
    return None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b`` (shapes ``(m, k) @ (k, n) -> (m, n)``), by MKL where the module docstring says, else NumPy."""
    mkl = _mkl_operands(a, b, out)
    if mkl is not None:
        gemm, (left, trans_a), (right, trans_b) = mkl
        gemm(left, right, out, trans_a, trans_b)
        return out
    return np.matmul(a, b, out=out)


def bind(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``f`` with ``f(a2)`` the same as ``matmul(a2, b, out)`` now, for an ``a2`` laid out as ``a``.

    The library is chosen once, by :func:`matmul`'s rules for ``(a, b, out)``
    in the current :func:`single_thread` state; ``a2`` must have ``a``'s
    shape, dtype and layout (C-contiguous, or the transpose of a C-contiguous
    array), such as the next mini-batch in the same buffer. A training step
    that makes the same products every time pays the checks once, not per call.
    """
    mkl = _mkl_operands(a, b, out)
    if mkl is None:
        return lambda a2: np.matmul(a2, b, out=out)
    gemm, (_, trans_a), (right, trans_b) = mkl

    def product(a2: np.ndarray) -> np.ndarray:
        gemm(a2.T if trans_a else a2, right, out, trans_a, trans_b)
        return out

    return product
