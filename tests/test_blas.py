"""tunenet.blas: MKL's GEMM where it applies, NumPy's product everywhere else, the same numbers run to run."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tunenet import blas
from tunenet.nn.model import mlp
from tunenet.optim import make_optimizer
from tunenet.train.trainer import Trainer

MKL = blas.backend() == "mkl"
needs_mkl = pytest.mark.skipif(not MKL, reason=f"MKL not used here: {blas.backend()}")


def operands(rng, m, k, n, dtype, trans_a, trans_b):
    """``a (m, k)`` and ``b (k, n)``, each a plain C array or the ``.T`` view of one."""
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return (a.T if trans_a else a), (b.T if trans_b else b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("shape", [(32, 784, 256), (7, 3, 5), (1, 1, 1), (300, 1, 2), (1, 50, 1)])
def test_matmul_is_the_product(dtype, trans_a, trans_b, shape, monkeypatch):
    """Within single_thread: every layout the layers pass, against the float64 product (float32: a stated tolerance)."""
    monkeypatch.setattr(blas, "MIN_PRODUCT", 1)  # the small shapes through MKL too
    rng = np.random.default_rng(sum(shape))
    a, b = operands(rng, *shape, dtype, trans_a, trans_b)
    out = np.full((shape[0], shape[2]), np.nan, dtype)
    with blas.single_thread():
        assert blas.matmul(a, b, out) is out
    exact = a.astype(np.float64) @ b.astype(np.float64)
    # float32: each of k products rounds to 2^-24 relative, summed in some order: |error| <= k eps sum|a||b|
    bound = shape[1] * np.finfo(dtype).eps * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)))
    assert np.all(np.abs(out - exact) <= bound)


@needs_mkl
def test_matmul_differs_from_numpy_only_in_rounding_and_is_called():
    """MKL really does the product in single_thread (its float32 sums differ from OpenBLAS's in the last bits)."""
    rng = np.random.default_rng(0)
    a, b = operands(rng, 64, 2000, 300, np.float32, False, False)
    with blas.single_thread():
        ours = blas.matmul(a, b, np.empty((64, 300), np.float32))
    numpy = np.matmul(a, b)
    assert not np.array_equal(ours, numpy)  # a different summation order, so MKL was called
    np.testing.assert_allclose(ours, numpy, rtol=1e-4, atol=1e-3)


def test_outside_single_thread_and_for_mixed_inputs_matmul_is_numpys():
    rng = np.random.default_rng(1)
    a, b = operands(rng, 64, 2000, 300, np.float32, False, False)
    out = np.empty((64, 300), np.float32)
    assert np.array_equal(blas.matmul(a, b, out), np.matmul(a, b))  # not inside single_thread
    with blas.single_thread(False):
        assert np.array_equal(blas.matmul(a, b, out), np.matmul(a, b))
    with blas.single_thread():
        a64 = a.astype(np.float64)
        out64 = np.empty((64, 300), np.float64)
        assert np.array_equal(blas.matmul(a64, b, out64), np.matmul(a64, b))  # float64 @ float32: NumPy's cast
        strided = a[:, ::2]  # neither C- nor F-contiguous
        assert np.array_equal(blas.matmul(strided, b[::2], out), np.matmul(strided, b[::2]))
        small_a, small_b = a[:8, :100].copy(), b[:100].copy()  # 8 x 100 x 300 < MIN_PRODUCT multiply-adds
        small = np.empty((8, 300), np.float32)
        assert np.array_equal(blas.matmul(small_a, small_b, small), np.matmul(small_a, small_b))


@needs_mkl
def test_mkl_result_does_not_depend_on_alignment():
    """The same product from arrays at every 4-byte offset of a cache line is bit-identical (run-to-run results)."""
    rng = np.random.default_rng(2)
    a0, b0 = operands(rng, 32, 784, 200, np.float32, False, False)

    def placed(x, offset):
        raw = np.empty(x.nbytes + 128, np.uint8)
        start = (-raw.ctypes.data) % 64 + offset
        view = raw[start:start + x.nbytes].view(np.float32).reshape(x.shape)
        view[...] = x
        return view

    results = []
    with blas.single_thread():
        for offset in range(0, 64, 4):
            a, b = placed(a0, offset), placed(b0, (3 * offset) % 64)
            out = placed(np.zeros((32, 200), np.float32), (5 * offset) % 64)
            results.append(blas.matmul(a.T.copy().T if offset % 8 else a, b, out).copy())
    assert all(np.array_equal(r, results[0]) for r in results)


def test_training_on_one_thread_is_the_same_run_to_run():
    """fit() with threads=1 (MKL where installed) twice from the same seed: the same weights, bit for bit."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 300)).astype(np.float32)  # first layer: 32 x 300 x 128 >= MIN_PRODUCT
    y = rng.integers(0, 4, 500)
    weights = []
    for _ in range(2):
        net = mlp(300, [128, 64], 4)
        Trainer(net, make_optimizer("adam", net), epochs=2, batch_size=32, threads=1, seed=5).fit(X, y)
        weights.append(net.flat_values.copy())
    assert np.array_equal(weights[0], weights[1])


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_tunenet_blas_numpy_opts_out_and_a_bad_value_is_a_config_error():
    proc = run_python("from tunenet import blas; print(blas.backend())", TUNENET_BLAS="numpy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "numpy (TUNENET_BLAS=numpy)"
    code = ("from tunenet import blas\nfrom tunenet.errors import ConfigError\n"
            "try:\n    blas.backend()\nexcept ConfigError as e:\n    print(e)\n")
    proc = run_python(code, TUNENET_BLAS="openblas")
    assert proc.stdout.strip() == "environment variable TUNENET_BLAS='openblas' is not one of auto, numpy"


def test_cli_refuses_a_bad_tunenet_blas_before_writing_anything(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "tunenet.cli", "train", "--data", "digits", "--epochs", "1",
                           "--threads", "1", "--quiet", "--run-dir", str(run_dir)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TUNENET_BLAS": "fast"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: environment variable TUNENET_BLAS='fast' is not one of auto, numpy"
    assert not run_dir.exists()


def test_estimators_thread_count_ignores_a_sequential_blas():
    """Loading MKL (sequential: it always reports 1 thread) does not make the estimators train on one thread."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from tunenet.estimators.base import _blas_threads

    blas.backend()  # loads MKL where installed
    with threadpool_limits(limits=2):
        others = [i["num_threads"] for i in threadpool_info() if i.get("threading_layer") != "sequential"
                  and i.get("user_api") == "blas"]
        if min(others) < 2:
            pytest.skip("NumPy's BLAS runs one thread here: nothing to tell apart")
        assert _blas_threads() == 2


@pytest.mark.parametrize("mkl", [True, False])
@pytest.mark.parametrize("trans_a", [False, True])
def test_bind_computes_what_matmul_would_for_every_batch_in_the_buffer(mkl, trans_a):
    """``bind(a, b, out)(a2)`` is bit-identical to ``matmul(a2, b, out)`` in the same mode, for new data in a2."""
    rng = np.random.default_rng(2)
    a, b = operands(rng, 128, 784, 256, np.float32, trans_a, False)
    out, expected = np.empty((128, 256), np.float32), np.empty((128, 256), np.float32)
    with blas.single_thread(mkl):
        product = blas.bind(a, b, out)
        for _ in range(2):  # the bound operand's buffer refilled, as MiniBatches does
            base = a.T if trans_a else a
            base[...] = rng.standard_normal(base.shape)
            assert product(a) is out
            blas.matmul(a, b, expected)
            assert np.array_equal(out.view(np.int32), expected.view(np.int32))


@needs_mkl
def test_bind_chooses_the_library_when_it_binds():
    """Bound inside single_thread: MKL, even when called outside; bound outside: NumPy's product."""
    rng = np.random.default_rng(3)
    a, b = operands(rng, 64, 2000, 300, np.float32, False, False)
    out = np.empty((64, 300), np.float32)
    with blas.single_thread():
        with_mkl = blas.bind(a, b, out)
        expected_mkl = blas.matmul(a, b, np.empty_like(out))
    with_numpy = blas.bind(a, b, out)
    assert np.array_equal(with_mkl(a), expected_mkl)
    assert np.array_equal(with_numpy(a), np.matmul(a, b))
