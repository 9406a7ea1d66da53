"""MKL's ``cblas_sgemm`` / ``cblas_dgemm`` called from numba (imported by :mod:`tunenet.blas` only).

:func:`load` opens ``libmkl_rt``, selects MKL's sequential threading layer
(no OpenMP/TBB thread pool: one thread, safe to fork) and makes the library's
symbols visible to numba's linker; :func:`gemm`, compiled on its first call
(or loaded from numba's on-disk cache), then links ``cblas_?gemm`` by name.
"""

from __future__ import annotations

import ctypes

import llvmlite.binding
import numba
import numpy as np
from numba import types

_SEQUENTIAL = 1  # MKL_THREADING_SEQUENTIAL
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def load(path: str) -> None:
    """Open MKL's runtime library at ``path`` with the sequential threading layer, before :func:`gemm` runs.

    Raises OSError (no such library) or AttributeError (not MKL's runtime).
    """
    library = ctypes.CDLL(path)
    library.MKL_Set_Threading_Layer(_SEQUENTIAL)  # before MKL's first call
    llvmlite.binding.load_library_permanently(path)


def _external(name: str, real):
    i = types.intc
    return types.ExternalFunction(name, types.void(i, i, i, i, i, i, real, types.voidptr, i, types.voidptr, i,
                                                   real, types.voidptr, i))


_sgemm = _external("cblas_sgemm", types.float32)
_dgemm = _external("cblas_dgemm", types.float64)


@numba.njit(cache=True, nogil=True)
def gemm(a, b, out, trans_a, trans_b):
    """``out (m, n) = op(a) @ op(b)``, ``op(a) = a.T`` when ``trans_a``; every array C-contiguous, one dtype."""
    m, n = out.shape
    k = a.shape[0] if trans_a else a.shape[1]
    ta = _TRANS if trans_a else _NO_TRANS
    tb = _TRANS if trans_b else _NO_TRANS
    if out.itemsize == 4:
        _sgemm(_ROW_MAJOR, ta, tb, m, n, k, np.float32(1.0), a.ctypes.data, a.shape[1], b.ctypes.data, b.shape[1],
               np.float32(0.0), out.ctypes.data, n)
    else:
        _dgemm(_ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, a.shape[1], b.ctypes.data, b.shape[1], 0.0,
               out.ctypes.data, n)
