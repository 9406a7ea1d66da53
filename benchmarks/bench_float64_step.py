"""The cost of the estimators' small float64 steps (``Sequential.float64_step_limit``).

``steps`` (default): CPU time per ``loss_and_grads`` training step of a float32 model with the limit 0
(float32 passes, fused kernels) and infinity (the float64 step), interleaved ``--repeats`` times, medians.
``epoch``: CPU seconds of one Fashion-MNIST-shaped epoch (784-256-128-10, batch 128, Adam, 20,000 random
rows) through ``Trainer`` for whichever tunenet is on ``PYTHONPATH`` (min of 3): run it alternately with two
trees to compare them, e.g. ``for i in 1 2 3 4 5; do PYTHONPATH=/work/main/src python ... epoch;
PYTHONPATH=src python ... epoch; done``.

Run with one BLAS thread: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_float64_step.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tunenet
from tunenet.nn.model import mlp
from tunenet.optim import make_optimizer
from tunenet.train import Trainer

CASES = [(8, [32], 2, 32), (30, [100], 3, 15), (30, [100], 3, 64), (30, [100], 1, 64), (30, [100], 3, 128),
         (64, [100], 10, 64), (784, [100], 10, 200)]


def per_step(model, X, y, limit: float, n: int) -> float:
    """Microseconds of CPU per step."""
    model.float64_step_limit = limit
    model.loss_and_grads(X, y)
    start = time.process_time()
    for _ in range(n):
        model.loss_and_grads(X, y, 1e-4)
    return (time.process_time() - start) / n * 1e6


def steps(repeats: int) -> None:
    rng = np.random.default_rng(0)
    print("| network, batch rows | rows x parameters | float32 | float64 step | ratio |\n|---|---|---|---|---|")
    for n_in, hidden, k, m in CASES:
        output = "linear" if k == 1 else "softmax"
        model = mlp(n_in, hidden, k, seed=0, output=output)
        X = rng.random((m, n_in), dtype=np.float32)
        y = rng.integers(0, k, m) if k > 1 else rng.random((m, 1))
        n = max(200, int(3e8 / (m * model.n_parameters)))
        f32, f64 = [], []
        for _ in range(repeats):
            f32.append(per_step(model, X, y, 0, n))
            f64.append(per_step(model, X, y, float("inf"), n))
        a, b = statistics.median(f32), statistics.median(f64)
        name = f"{n_in}-{'-'.join(map(str, hidden))}-{k}{' (linear)' if k == 1 else ''}, {m}"
        print(f"| {name} | {m * model.n_parameters:.1e} | {a:.0f} us | {b:.0f} us | {b / a:.2f} |")


def epoch() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.random((20000, 784), dtype=np.float32), rng.integers(0, 10, 20000)
    model = mlp(784, [256, 128], 10, seed=0)
    trainer = Trainer(model, make_optimizer("adam", model, 1e-3), epochs=1, batch_size=128, threads=1)
    trainer.fit(X, y)
    times = []
    for _ in range(3):
        trainer.epochs += 1
        start = time.process_time()
        trainer.fit(X, y)
        times.append(time.process_time() - start)
    print(f"{tunenet.__file__}: {min(times):.3f} s CPU per epoch")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=("steps", "epoch"), default="steps")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    steps(args.repeats) if args.what == "steps" else epoch()
