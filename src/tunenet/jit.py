"""Numba kernels: element-wise loops compiled on first use and cached on disk.

A kernel is a plain Python function over NumPy arrays, written next to the
NumPy formula it replaces (in ``nn/layers.py``, ``nn/losses.py``,
``optim/optimizers.py``) and decorated with :func:`kernel`. It fuses what
NumPy does in several passes (each a full read and write of the array, plus
a Python call) into one loop: Adam's update over the flat parameter buffer,
bias + ReLU, the ReLU mask + the bias gradient, bias + softmax
cross-entropy + its gradient + accuracy, the L2 penalty's gradient over the
flat buffer.

Compilation is lazy: ``import tunenet`` does not import numba; the first call
of a kernel does, compiles it for the argument types (``cache=True`` keeps the
machine code in ``__pycache__`` next to the source, so later processes load
it instead of compiling) and later calls go straight to the compiled code.
``error_model="numpy"`` lets a division by zero give inf/NaN as in NumPy
instead of raising, which is also what lets numba vectorise the loops. No
``fastmath``: the compiled loop rounds every operation as NumPy does, so a
kernel that keeps NumPy's operation order gives bit-identical results.

``NUMBA_DISABLE_JIT=1`` runs every kernel as the Python source (slowly: the
tests use it to check that the source itself computes the maths), and
``TUNENET_KERNELS=0`` (or :func:`set_enabled`) makes the engine take its
NumPy formulas instead of the kernels.
"""

from __future__ import annotations

import functools
import os

_enabled = os.environ.get("TUNENET_KERNELS", "1").strip() not in ("0", "false", "no", "off")

#: numba options for every kernel
OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}


def enabled() -> bool:
    """Whether the engine uses the numba kernels (else its NumPy formulas)."""
    return _enabled


def set_enabled(value: bool) -> bool:
    """Switch the kernels on or off for this process (models built before keep their choice); returns the old value."""
    global _enabled
    old, _enabled = _enabled, bool(value)
    return old


class Kernel:
    """A function compiled by ``numba.njit(**OPTIONS)`` on its first call.

    ``py_func`` is the Python source; :meth:`compiled` the numba dispatcher
    (or, under ``NUMBA_DISABLE_JIT=1``, ``py_func`` itself). After the first
    call the module-level name of the kernel refers to the dispatcher itself
    (the engine calls kernels by that name), so a step pays no wrapper call;
    a reference imported before keeps working through this wrapper.
    """

    def __init__(self, py_func, options: dict) -> None:
        self.py_func = py_func
        self.options = options
        self._dispatcher = None
        functools.update_wrapper(self, py_func)

    def compiled(self):
        """The compiled kernel; its module's global name is rebound to it, so later calls skip this wrapper."""
        if self._dispatcher is None:
            import numba

            self._dispatcher = numba.njit(**self.options)(self.py_func)
            module_globals = self.py_func.__globals__
            if module_globals.get(self.py_func.__name__) is self:
                module_globals[self.py_func.__name__] = self._dispatcher
        return self._dispatcher

    def __call__(self, *args):
        return (self._dispatcher or self.compiled())(*args)


def compiled(function):
    """The compiled dispatcher of a :class:`Kernel` (compiling it now), or ``function`` itself if it is not one.

    For callers that keep a kernel in a data structure: a name imported from a
    kernel's module before its first call is the wrapper, which costs a Python
    call more every time.
    """
    return function.compiled() if isinstance(function, Kernel) else function


def kernel(**options):
    """Decorator: ``@kernel()`` makes a function a lazily compiled, disk-cached :class:`Kernel`."""
    def wrap(func) -> Kernel:
        return Kernel(func, {**OPTIONS, **options})

    return wrap
