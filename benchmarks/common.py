"""Shared helpers for the benchmarks: timing, machine description, FLOP counts, result files.

Timing on a shared machine. Every benchmark interleaves its candidates
(A B C A B C ...) so that load from other processes spreads evenly over them,
and records two clocks per run: wall time (``time.perf_counter``) and the CPU
time of the whole process, all its threads (``time.process_time``). With one
BLAS thread and other jobs competing for the cores, CPU time is the steadier
measure of the work done; wall time is what a user waits. Reports give the
median of each and ratios of medians.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: environment variables that change OpenBLAS's kernel choice and can slow NumPy down
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict:
    """CPU model, cores, memory, load, Python, NumPy and its BLAS (kernel and threads)."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gb = float("nan")
    from threadpoolctl import threadpool_info

    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} kernel, "
            f"{i.get('num_threads')} threads)" for i in threadpool_info() if i.get("user_api") == "blas"]
    return {"cpu": cpu, "cores": os.cpu_count(), "available_cores": available_cores(),
            "memory_gb": round(mem_gb, 1), "load_average": load_average(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas,
            "openblas_env": {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}}


def warn_openblas_env() -> None:
    """Print a warning when OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set (they can slow NumPy down)."""
    found = [k for k in OPENBLAS_VARS if k in os.environ]
    if found:
        print(f"warning: {', '.join(found)} set in the environment: NumPy's BLAS may not use its best kernel; "
              f"for benchmarks run with `env -u {' -u '.join(OPENBLAS_VARS)} ...`", flush=True)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """``(wall seconds, process CPU seconds)`` of one call of ``fn``."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(candidates: dict, repeats: int, clock: str = "wall") -> dict[str, list[float]]:
    """Time each candidate ``repeats`` times, interleaving them (A B C A B C ...).

    Returns seconds per run on ``clock`` ("wall" or "cpu"). Interleaving
    spreads the noise of a shared machine evenly over the candidates; report
    medians and ratios of medians.
    """
    both = interleaved_both(candidates, repeats)
    return {name: [w if clock == "wall" else c for w, c in runs] for name, runs in both.items()}


def interleaved_both(candidates: dict, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Like :func:`interleaved`, keeping ``(wall, cpu)`` pairs per run."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            times[name].append(timed(fn))
    return times


def median(values) -> float:
    return statistics.median(values)


def summarize(runs: list[tuple[float, float]], scale: float = 1.0) -> dict:
    """Medians (and all runs) of ``(wall, cpu)`` pairs, each multiplied by ``scale``."""
    return {"wall": median(w for w, _ in runs) * scale, "cpu": median(c for _, c in runs) * scale,
            "wall_runs": [w * scale for w, _ in runs], "cpu_runs": [c * scale for _, c in runs]}


def sgemm_seconds(n: int = 2048, products: int = 2) -> tuple[float, float]:
    """Fastest ``(wall, cpu)`` of ``products`` float32 ``(n, n) @ (n, n)`` products (2 n^3 FLOP each)."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    np.matmul(a, b, out=c)  # warm-up
    runs = [timed(lambda: np.matmul(a, b, out=c)) for _ in range(products)]
    return min(w for w, _ in runs), min(cpu for _, cpu in runs)


def train_step_flops(n_in: int, hidden: list[int], n_out: int, batch: int) -> int:
    """Matrix-multiply FLOPs of one training step of a fully connected network.

    Per Dense layer of shape ``(a, b)``: forward ``Z = X W`` and ``dW = X.T dZ``
    are ``2 m a b`` FLOPs each, ``dX = dZ W.T`` another ``2 m a b`` except for
    the first layer (no gradient with respect to the data). Element-wise work
    (activations, loss, optimiser) is not counted.
    """
    widths = [n_in, *hidden, n_out]
    macs = [a * b for a, b in zip(widths[:-1], widths[1:])]
    return 2 * batch * (3 * sum(macs) - macs[0])


def save_results(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def load_results(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
