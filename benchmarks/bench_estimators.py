"""tunenet.estimators.MLPClassifier vs sklearn.neural_network.MLPClassifier, scikit-learn's default settings.

Both estimators get the same settings, scikit-learn's defaults: one hidden layer of 100 ReLU units,
Adam at lr 1e-3, alpha (L2) 1e-4, batch min(200, n), tol 1e-4 / n_iter_no_change 10, no early
stopping. tunenet trains in its default float32; scikit-learn trains in the dtype of X, so it is
timed on float64 X (what ``pixels / 255`` gives) and on float32 X.

- digits: ``--digit-seeds`` stratified 75/25 splits, pixels / 16, max_iter 200 (the default; either
  may stop earlier by the tol rule), test accuracy averaged over the splits.
- Fashion-MNIST: 60,000 train / 10,000 test, pixels / 255, ``--epochs`` epochs each (10: too few for
  the tol rule to stop anyone, so both run the same number of epochs), ``--repeats`` interleaved
  repetitions; medians of fit time (input validation included), wall-clock and process CPU time
  (the steadier of the two on a shared machine), and of test accuracy.

Run: ``python benchmarks/bench_estimators.py`` (``--profile`` adds a cProfile of one tunenet fit).
Prints a table and writes ``benchmarks/results/estimators.json``. The BLAS thread count is the same
for both (``--threads``, default 1: the benchmark machine's cores are shared).
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import pstats
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from common import machine, save_results
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from threadpoolctl import threadpool_limits

from tunenet.estimators import MLPClassifier

FASHION = Path("/usr/share/datasets/fashion-mnist")
SETTINGS = dict(hidden_layer_sizes=(100,), activation="relu", solver="adam", learning_rate_init=1e-3, alpha=1e-4,
                batch_size="auto", early_stopping=False)  # scikit-learn's defaults, spelled out


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (big-endian header: 0, 0, type 0x08 = uint8, ndim, then ndim uint32 sizes)."""
    data = path.read_bytes()
    data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X = read_idx(FASHION / "train-images-idx3-ubyte.gz").reshape(60000, -1) / 255.0
    y = read_idx(FASHION / "train-labels-idx1-ubyte.gz")
    X_test = read_idx(FASHION / "t10k-images-idx3-ubyte.gz").reshape(10000, -1) / 255.0
    y_test = read_idx(FASHION / "t10k-labels-idx1-ubyte.gz")
    return X, y, X_test, y_test


def timed_fit(est, X, y, X_test, y_test) -> dict:
    """Fit ``est``; wall-clock and process CPU seconds of the fit, test accuracy, epochs run."""
    wall, cpu = time.perf_counter(), time.process_time()
    est.fit(X, y)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"seconds": wall, "cpu_seconds": cpu, "accuracy": float(est.score(X_test, y_test)),
            "epochs": int(est.n_iter_)}


def bench_digits(seeds: int) -> dict:
    X, y = load_digits(return_X_y=True)
    runs: dict[str, list[dict]] = {"tunenet": [], "sklearn": []}
    for seed in range(seeds):
        X_tr, X_te, y_tr, y_te = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=seed)
        runs["tunenet"].append(timed_fit(MLPClassifier(**SETTINGS, random_state=seed), X_tr, y_tr, X_te, y_te))
        runs["sklearn"].append(timed_fit(SkMLPClassifier(**SETTINGS, random_state=seed), X_tr, y_tr, X_te, y_te))
    out = {name: {"accuracy_mean": statistics.mean(r["accuracy"] for r in rs),
                  "accuracy_runs": [r["accuracy"] for r in rs],
                  "epochs_median": statistics.median(r["epochs"] for r in rs),
                  "fit_seconds_median": statistics.median(r["seconds"] for r in rs)} for name, rs in runs.items()}
    out["accuracy_difference_pp"] = 100 * (out["tunenet"]["accuracy_mean"] - out["sklearn"]["accuracy_mean"])
    return out


def bench_fashion(epochs: int, repeats: int) -> dict:
    X, y, X_test, y_test = fashion_mnist()
    X32, X_test32 = X.astype(np.float32), X_test.astype(np.float32)
    candidates = {
        "tunenet": lambda seed: timed_fit(MLPClassifier(**SETTINGS, max_iter=epochs, random_state=seed),
                                          X, y, X_test, y_test),
        "sklearn_float64": lambda seed: timed_fit(SkMLPClassifier(**SETTINGS, max_iter=epochs, random_state=seed),
                                                  X, y, X_test, y_test),
        "sklearn_float32": lambda seed: timed_fit(SkMLPClassifier(**SETTINGS, max_iter=epochs, random_state=seed),
                                                  X32, y, X_test32, y_test),
        # the same float32 X as sklearn_float32: no float64 -> float32 copy of X inside the timed fit
        "tunenet_float32": lambda seed: timed_fit(MLPClassifier(**SETTINGS, max_iter=epochs, random_state=seed),
                                                  X32, y, X_test32, y_test),
    }
    runs: dict[str, list[dict]] = {name: [] for name in candidates}
    for seed in range(repeats):  # interleaved: A B C A B C ...
        for name, run in candidates.items():
            runs[name].append(run(seed))
            print(f"  fashion-mnist repeat {seed + 1}/{repeats} {name}: {runs[name][-1]}", flush=True)
    out = {name: {"fit_seconds_median": statistics.median(r["seconds"] for r in rs),
                  "fit_seconds_runs": [r["seconds"] for r in rs],
                  "fit_cpu_seconds_median": statistics.median(r["cpu_seconds"] for r in rs),
                  "fit_cpu_seconds_runs": [r["cpu_seconds"] for r in rs],
                  "accuracy_median": statistics.median(r["accuracy"] for r in rs),
                  "accuracy_runs": [r["accuracy"] for r in rs],
                  "epochs": [r["epochs"] for r in rs]} for name, rs in runs.items()}
    t, c = out["tunenet"]["fit_seconds_median"], out["tunenet"]["fit_cpu_seconds_median"]
    for name in ("sklearn_float64", "sklearn_float32"):
        out[f"speedup_vs_{name}"] = out[name]["fit_seconds_median"] / t
        out[f"cpu_speedup_vs_{name}"] = out[name]["fit_cpu_seconds_median"] / c
        out[f"accuracy_difference_pp_vs_{name}"] = 100 * (out["tunenet"]["accuracy_median"]
                                                          - out[name]["accuracy_median"])
    # both given the same float32 X (the float64 rows above include tunenet's conversion of X to float32)
    out["speedup_float32_vs_sklearn_float32"] = (out["sklearn_float32"]["fit_seconds_median"]
                                                 / out["tunenet_float32"]["fit_seconds_median"])
    out["cpu_speedup_float32_vs_sklearn_float32"] = (out["sklearn_float32"]["fit_cpu_seconds_median"]
                                                     / out["tunenet_float32"]["fit_cpu_seconds_median"])
    return out


def profile_tunenet(epochs: int) -> str:
    X, y, _, _ = fashion_mnist()
    profiler = cProfile.Profile()
    profiler.enable()
    MLPClassifier(**SETTINGS, max_iter=epochs, random_state=0).fit(X, y)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="Fashion-MNIST epochs for both (default 10)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved Fashion-MNIST repetitions (default 5)")
    parser.add_argument("--digit-seeds", type=int, default=10, help="digits splits (default 10)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both (default 1)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one tunenet fit")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(limits=args.threads):
        print("digits ...", flush=True)
        digits = bench_digits(args.digit_seeds)
        print("fashion-mnist ...", flush=True)
        fashion = bench_fashion(args.epochs, args.repeats)
        profile = profile_tunenet(min(args.epochs, 2)) if args.profile else None
    results = {"machine": machine(), "threads": args.threads, "settings": {**SETTINGS, "tol": 1e-4,
                                                                           "n_iter_no_change": 10},
               "digits": digits, "fashion_mnist": {"epochs": args.epochs, "repeats": args.repeats, **fashion}}
    path = save_results("estimators", results)
    d, f = digits, fashion
    print(f"\ndigits ({args.digit_seeds} splits, max_iter 200)   accuracy   epochs   fit s")
    for name in ("tunenet", "sklearn"):
        print(f"  {name:<17} {d[name]['accuracy_mean']:.4f}   {d[name]['epochs_median']:>6}   "
              f"{d[name]['fit_seconds_median']:.2f}")
    print(f"  tunenet - sklearn: {d['accuracy_difference_pp']:+.2f} pp")
    print(f"\nFashion-MNIST ({args.epochs} epochs, median of {args.repeats}, {args.threads} BLAS thread(s))")
    print("  candidate         accuracy   fit s (wall)   fit s (CPU)   sklearn/tunenet wall   CPU")
    for name in ("tunenet", "sklearn_float64", "sklearn_float32", "tunenet_float32"):
        ratio = "" if name == "tunenet" else (f"{f['speedup_vs_' + name]:>20.2f}x "
                                              f"{f['cpu_speedup_vs_' + name]:>5.2f}x") if name != "tunenet_float32" \
            else (f"{f['speedup_float32_vs_sklearn_float32']:>20.2f}x "
                  f"{f['cpu_speedup_float32_vs_sklearn_float32']:>5.2f}x (sklearn_float32 / this)")
        print(f"  {name:<17} {f[name]['accuracy_median']:.4f}   {f[name]['fit_seconds_median']:12.2f}   "
              f"{f[name]['fit_cpu_seconds_median']:11.2f}{ratio}")
    if profile:
        print("\n" + profile)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
