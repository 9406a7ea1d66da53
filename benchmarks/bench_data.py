"""Data-layer speed: loading Fashion-MNIST, one epoch of shuffled mini-batches, preprocessing, augmentation.

Run: ``python benchmarks/bench_data.py [--repeats 5]`` (needs the Fashion-MNIST
IDX files locally, e.g. Debian's ``dataset-fashion-mnist``). Prints medians
(wall clock; CPU time is recorded too) over interleaved repetitions; writes
``benchmarks/results/data.json``. ``run_all.py`` passes ``--skip-training``
and takes the iteration / training-epoch ratio from ``bench_training.py``,
where both are timed in the same rotation.

Targets (issue 3): loading Fashion-MNIST from local files < 2 s; one epoch of
shuffled mini-batch iteration at batch 128 < 5% of a training epoch of
``mlp(784, [256, 128], 10)`` (Adam, the real :class:`tunenet.train.Trainer`).
"""

from __future__ import annotations

import argparse

import numpy as np
from common import interleaved_both, machine, median, save_results, summarize

from tunenet.data import MiniBatches, Standardizer, load, parse_augment

BATCH = 128


def iterate(batches: MiniBatches) -> int:
    n = 0
    for xb, _ in batches:
        n += xb.shape[0]
    return n


def training_epoch(X: np.ndarray, y: np.ndarray) -> None:
    """One epoch of the real trainer: mlp(784, [256, 128], 10), Adam, batch 128."""
    from tunenet import mlp
    from tunenet.optim import make_optimizer
    from tunenet.train.trainer import Trainer

    model = mlp(X.shape[1], [256, 128], 10, seed=0)
    Trainer(model, make_optimizer("adam", model, 1e-3), epochs=1, batch_size=BATCH, seed=0, threads=1).fit(X, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-training", action="store_true", help="do not time the reference training epoch")
    args = parser.parse_args()

    ds = load("fashion-mnist", download=False)
    X, y = ds.X, ds.y
    batches = MiniBatches(X, y, BATCH, np.random.default_rng(0))
    scaler = Standardizer().fit(X)
    augment = parse_augment("flip,shift:2,rotate:10,noise:0.05", ds.image_shape)
    rng = np.random.default_rng(0)
    candidates = {
        "load_fashion_mnist": lambda: load("fashion-mnist", download=False),
        "minibatch_epoch": lambda: iterate(batches),
        "standardizer_fit": lambda: Standardizer().fit(X),
        "standardizer_transform": lambda: scaler.transform(X),
    }
    runs = interleaved_both(candidates, args.repeats)
    runs["augment_epoch"] = interleaved_both({"a": lambda: [augment(xb, rng) for xb, _ in batches]}, 1)["a"]
    if not args.skip_training:
        runs["training_epoch"] = interleaved_both({"t": lambda: training_epoch(X, y)}, max(1, args.repeats // 2))["t"]
    times = {name: [w for w, _ in r] for name, r in runs.items()}
    med = {name: median(values) for name, values in times.items()}
    print(f"data from {ds.source}; X {X.shape} + X_test {ds.X_test.shape} float32; medians of {args.repeats} runs")
    print(f"load fashion-mnist:                      {med['load_fashion_mnist']:8.3f} s   (target < 2 s: "
          f"{'ok' if med['load_fashion_mnist'] < 2 else 'MISSED'})")
    print(f"one shuffled epoch, batch {BATCH} ({len(batches)} batches): {med['minibatch_epoch'] * 1e3:8.1f} ms")
    print(f"Standardizer fit / transform, 60,000 x 784: {med['standardizer_fit']:.3f} s / "
          f"{med['standardizer_transform']:.3f} s")
    print(f"augmentation flip,shift:2,rotate:10,noise:0.05, one epoch: {med['augment_epoch']:.2f} s")
    result = {"machine": machine(), "batch_size": BATCH, "repeats": args.repeats, "seconds": times,
              "median_seconds": med, "summary": {name: summarize(r) for name, r in runs.items()}}
    if "training_epoch" in med:
        ratio = med["minibatch_epoch"] / med["training_epoch"]
        result["minibatch_over_training_epoch"] = ratio
        print(f"training epoch mlp(784, [256, 128], 10), Adam: {med['training_epoch']:.2f} s")
        verdict = "ok" if ratio < 0.05 else "MISSED"
        print(f"mini-batch iteration / training epoch: {ratio:.2%}   (target < 5%: {verdict})")
    print(f"wrote {save_results('data', result)}")


if __name__ == "__main__":
    main()
