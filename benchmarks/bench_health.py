"""Cost of the training-health monitor: training with ``HealthMonitor`` vs without.

Run: ``python benchmarks/bench_health.py [--every N] [--repeats R]``.

Trains the default network ``mlp(n_in, [256, 128], 10)`` with Adam at batch
64 on two problem shapes: 4,096 random Fashion-MNIST-shaped samples (784
features, 4 epochs = 256 steps) and 1,797 digits-shaped samples (64 features,
8 epochs = 232 steps), each with and without the monitor (the default
interval ``every=10``, and ``every=1`` for the worst case). The candidates are
interleaved and timed in process CPU time with one BLAS thread, which a shared
machine disturbs far less than wall time. Prints, at the default interval,
the time spent inside the monitor's hooks relative to the rest of training
(the direct, steady measure: target under 5%) and the end-to-end difference
(a few percent that the noise of a shared machine moves either way), and the
every-step cost; writes ``benchmarks/results/health.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine, median, save_results

from tunenet.diagnose import HealthMonitor
from tunenet.nn import mlp
from tunenet.optim import make_optimizer
from tunenet.train import Trainer

HIDDEN, N_OUT, BATCH = [256, 128], 10, 64
SHAPES = {"fashion-mnist-shaped": (4096, 784, 4), "digits-shaped": (1797, 64, 8)}  # samples, features, epochs


class TimedMonitor(HealthMonitor):
    """The monitor, timing its own hooks (perf_counter): the direct measure of its cost."""

    spent: list[float] = []

    def on_backward_end(self, trainer):
        start = time.perf_counter()
        super().on_backward_end(trainer)
        self.spent.append(time.perf_counter() - start)

    def on_step_end(self, trainer, loss):
        start = time.perf_counter()
        super().on_step_end(trainer, loss)
        self.spent.append(time.perf_counter() - start)


def candidate(X, y, epochs: int, every: int | None, threads: int, inside: list | None = None):
    """A training run; with ``inside``, appends the fraction of its time spent in the monitor's hooks."""

    def run():
        model = mlp(X.shape[1], HIDDEN, N_OUT, seed=0)
        TimedMonitor.spent = []
        callbacks = [TimedMonitor(every)] if every else []
        start = time.perf_counter()
        Trainer(model, make_optimizer("adam", model, 1e-3), epochs=epochs, batch_size=BATCH, callbacks=callbacks,
                seed=0, threads=threads).fit(X, y)
        total, spent = time.perf_counter() - start, sum(TimedMonitor.spent)
        if inside is not None:
            inside.append(spent / (total - spent))

    return run


def interleaved_cpu(candidates: dict, repeats: int) -> dict[str, list[float]]:
    """CPU seconds of this process per candidate, interleaved (A B C A B C ...)."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return times


def measure(n: int, n_in: int, epochs: int, every: int, repeats: int, threads: int) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, n_in)).astype(np.float32)
    y = rng.integers(0, N_OUT, n)
    inside: list[float] = []
    candidates = {"plain": candidate(X, y, epochs, None, threads),
                  f"every {every}": candidate(X, y, epochs, every, threads, inside),
                  "every 1": candidate(X, y, epochs, 1, threads)}
    for fn in candidates.values():
        fn()  # warm-up
    inside.clear()
    times = interleaved_cpu(candidates, repeats)
    steps = epochs * -(-n // BATCH)
    base = median(times["plain"])
    overhead = {k: median(v) / base - 1 for k, v in times.items() if k != "plain"}
    return {"model": f"mlp({n_in}, {HIDDEN}, {N_OUT})", "samples": n, "steps": steps,
            "ms_per_step": {k: 1000 * median(v) / steps for k, v in times.items()},
            "overhead_median": overhead, "overhead_estimate": overhead["every 1"] / every,
            "overhead_in_hooks": median(inside)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=HealthMonitor().every, help="the interval to measure")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: steadier timings)")
    args = parser.parse_args()
    result = {"machine": machine(), "batch": BATCH, "every": args.every, "threads": args.threads,
              "repeats": args.repeats, "clock": "process CPU time", "shapes": {}}
    for name, (n, n_in, epochs) in SHAPES.items():
        r = measure(n, n_in, epochs, args.every, args.repeats, args.threads)
        result["shapes"][name] = r
        ms = r["ms_per_step"]
        print(f"{name} ({r['model']}, {r['steps']} steps): plain {ms['plain']:.3f} ms/step; "
              f"every {args.every}: time in the monitor {r['overhead_in_hooks']:+.1%} of training, end to end "
              f"{r['overhead_median'][f'every {args.every}']:+.1%}; every 1: {r['overhead_median']['every 1']:+.1%}")
    save_results("health", result)


if __name__ == "__main__":
    main()
