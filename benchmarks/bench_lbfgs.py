"""L-BFGS fit time: tunenet's MLPClassifier(solver='lbfgs') against scikit-learn's, on the same data.

Both estimators get the same settings (scikit-learn's defaults but the solver: one hidden layer of
100 ReLU units, alpha 1e-4, tol 1e-4, max_fun 15000) and the same ``max_iter``, and both run
scipy's L-BFGS-B in float64 (tunenet on a float64 copy of its network, scikit-learn on float64 X).
They start from different random weights, so they may stop after different numbers of iterations:
the table gives the iterations, and the time per iteration next to the fit time.

- breast cancer (569 x 30, standardised), digits (1,797 x 64, pixels / 16): max_iter 200;
- Fashion-MNIST, the first ``--fashion-rows`` training images (pixels / 255), max_iter ``--fashion-iter``,
  tested on the 10,000 test images.

Candidates are interleaved (A B A B ...) for ``--repeats`` repetitions with the same random_state
each time; medians of fit wall-clock and process CPU time, and their ratios scikit-learn / tunenet
(above 1: tunenet is faster). One BLAS thread for both (``--threads``).

Run: ``python benchmarks/bench_lbfgs.py``; writes ``benchmarks/results/lbfgs.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

from common import machine, save_results
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from tunenet.estimators import MLPClassifier

FASHION = Path("/usr/share/datasets/fashion-mnist")
SETTINGS = dict(hidden_layer_sizes=(100,), activation="relu", solver="lbfgs", alpha=1e-4, tol=1e-4, max_fun=15000)


def datasets(fashion_rows: int, fashion_iter: int) -> dict:
    out = {}
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    out["breast_cancer"] = (scaler.transform(X_tr), y_tr, scaler.transform(X_te), y_te, 200)
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    out["digits"] = (X_tr, y_tr, X_te, y_te, 200)
    if (FASHION / "train-images-idx3-ubyte.gz").exists():
        from bench_estimators import fashion_mnist

        X, y, X_test, y_test = fashion_mnist()
        out["fashion_mnist"] = (X[:fashion_rows], y[:fashion_rows], X_test, y_test, fashion_iter)
    return out


def timed_fit(est, X, y, X_test, y_test) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    est.fit(X, y)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"seconds": wall, "cpu_seconds": cpu, "iterations": int(est.n_iter_),
            "accuracy": float(est.score(X_test, y_test)), "loss": float(est.loss_)}


def bench(data: tuple, repeats: int) -> dict:
    X, y, X_test, y_test, max_iter = data
    candidates = {"tunenet": lambda: MLPClassifier(**SETTINGS, max_iter=max_iter, random_state=0),
                  "sklearn": lambda: SkMLPClassifier(**SETTINGS, max_iter=max_iter, random_state=0)}
    runs: dict[str, list[dict]] = {name: [] for name in candidates}
    for rep in range(repeats):
        order = list(candidates) if rep % 2 == 0 else list(candidates)[::-1]  # the order alternates
        for name in order:
            runs[name].append(timed_fit(candidates[name](), X, y, X_test, y_test))
    out: dict = {"rows": int(X.shape[0]), "features": int(X.shape[1]), "max_iter": max_iter}
    for name, rs in runs.items():
        it = rs[0]["iterations"]
        out[name] = {"fit_seconds_median": statistics.median(r["seconds"] for r in rs),
                     "fit_cpu_seconds_median": statistics.median(r["cpu_seconds"] for r in rs),
                     "fit_seconds_runs": [r["seconds"] for r in rs],
                     "iterations": it, "accuracy": rs[0]["accuracy"], "loss": rs[0]["loss"]}
        out[name]["cpu_ms_per_iteration"] = 1000 * out[name]["fit_cpu_seconds_median"] / max(it, 1)
    t, s = out["tunenet"], out["sklearn"]
    out["speedup"] = {"wall": s["fit_seconds_median"] / t["fit_seconds_median"],
                      "cpu": s["fit_cpu_seconds_median"] / t["fit_cpu_seconds_median"]}
    out["speedup_per_iteration_cpu"] = s["cpu_ms_per_iteration"] / t["cpu_ms_per_iteration"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repetitions (default 5)")
    parser.add_argument("--fashion-rows", type=int, default=5000, help="Fashion-MNIST training rows (5,000)")
    parser.add_argument("--fashion-iter", type=int, default=50, help="Fashion-MNIST max_iter (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both (default 1)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = {"machine": machine(), "threads": args.threads, "repeats": args.repeats,
               "settings": SETTINGS, "cases": {}}
    with threadpool_limits(limits=args.threads):
        for name, data in datasets(args.fashion_rows, args.fashion_iter).items():
            print(f"{name} ...", flush=True)
            results["cases"][name] = bench(data, args.repeats)
    path = save_results("lbfgs", results)
    print(f"\nL-BFGS fit, median of {args.repeats}, {args.threads} BLAS thread(s)")
    print("  data            rows   iters (tn/sk)   accuracy (tn/sk)   fit s tunenet   fit s sklearn   "
          "sklearn/tunenet wall  CPU  per iteration (CPU)")
    for name, c in results["cases"].items():
        t, s = c["tunenet"], c["sklearn"]
        print(f"  {name:<14} {c['rows']:>5}   {t['iterations']:>5}/{s['iterations']:<5}     "
              f"{t['accuracy']:.4f}/{s['accuracy']:.4f}    {t['fit_seconds_median']:8.2f}      "
              f"{s['fit_seconds_median']:8.2f}        {c['speedup']['wall']:6.2f}x {c['speedup']['cpu']:5.2f}x "
              f"{c['speedup_per_iteration_cpu']:8.2f}x")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
