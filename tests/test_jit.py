"""tunenet.jit: kernels compile lazily, and their Python source computes the same as the compiled code."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tunenet import jit

TESTS = Path(__file__).resolve().parent


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_kernel_python_source_agrees_under_numba_disable_jit():
    """The kernel tests again, with NUMBA_DISABLE_JIT=1: each kernel runs as plain Python and still matches NumPy."""
    code = (
        "import sys, numba, pytest\n"
        "from tunenet.optim.optimizers import adam_kernel\n"
        "assert numba.config.DISABLE_JIT\n"
        "assert adam_kernel.compiled() is adam_kernel.py_func, 'numba compiled the kernel'\n"
        f"sys.exit(pytest.main([{str(TESTS / 'optim' / 'test_optim_kernels.py')!r}, "
        f"{str(TESTS / 'nn' / 'test_nn_kernels.py')!r}, '-o', 'addopts=', '-q', '-p', 'no:cacheprovider', '-x']))\n"
    )
    proc = run_python(code, NUMBA_DISABLE_JIT="1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_import_does_not_load_numba_and_first_call_compiles():
    code = ("import sys, numpy as np, tunenet\n"
            "from tunenet.optim.optimizers import sgd_kernel\n"
            "print('numba' in sys.modules)\n"
            "w = np.ones(3, np.float32); sgd_kernel(w, np.ones(3, np.float32), np.float32(0.5))\n"
            "print('numba' in sys.modules, w.tolist())\n")
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["False", "True [0.5, 0.5, 0.5]"]


def test_set_enabled_returns_the_old_value():
    old = jit.set_enabled(False)
    try:
        assert not jit.enabled()
        assert jit.set_enabled(True) is False
        assert jit.enabled()
    finally:
        jit.set_enabled(old)


def test_kernel_wraps_its_python_function():
    @jit.kernel()
    def double(a):
        """Doubles."""
        for i in range(a.size):
            a[i] *= 2

    assert double.__doc__ == "Doubles." and double.py_func.__name__ == "double"
    a = np.arange(4.0)
    double(a)
    np.testing.assert_array_equal(a, [0, 2, 4, 6])
