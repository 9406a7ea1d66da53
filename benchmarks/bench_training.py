"""Training speed: tunenet vs PyTorch vs scikit-learn, and tunenet against the machine's matmul peak.

Run: ``python benchmarks/bench_training.py [--quick] [--threads 1] [--repeats N]``
(normally through ``benchmarks/run_all.py``); writes ``benchmarks/results/training.json``.

For each network and batch size (32, 128, 1024), on 60,000 x 784 float32 data
(Fashion-MNIST scaled to [0, 1]; random data if it is not installed), with
Adam (lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8) and the same number of BLAS
threads everywhere, one interleaved rotation times:

- ``tunenet``: one epoch of the real :class:`tunenet.train.Trainer` (shuffled
  mini-batches, divergence check, loss and accuracy per step);
- ``pytorch``: the same network in a plain loop (``torch.randperm`` index per
  epoch, gather, ``zero_grad``, forward, ``CrossEntropyLoss``, ``backward``,
  ``Adam.step``, loss and accuracy accumulated), ``torch.set_num_threads``;
- ``sklearn``: ``MLPClassifier(solver="adam", alpha=0, batch_size=...)``, one
  ``partial_fit`` = one epoch (it has no batch norm or dropout: skipped there);
- for plain MLPs (issue 19, ``benchmarks/contenders.py``): PyTorch with
  ``Adam(fused=True)``, JAX (jit + ``lax.scan`` over the epoch), and the
  matrix-product floor (the step's products alone, through :func:`tunenet.blas.matmul` as the
  Trainer calls them: MKL where installed) and the same products through NumPy / OpenBLAS
  (``floor OpenBLAS``); on the target cases also
  PyTorch with ``torch.compile`` (``--no-compile`` skips it);
- the float32 matrix-multiply peak: the fastest of two 2048 x 2048 products;
- for ``mlp(784, [256, 128], 10)`` at batch 128 (the headline case) also
  tunenet with the health monitor (issue 5; the same Trainer as the plain
  ``tunenet`` runs, with the callback added), the same Trainer without its bound
  step (``tunenet layer by layer``: the layers' own passes, what ``nn/step.py`` saves)
  and a bare epoch of mini-batch iteration (issue 3).

With ``--threads 1`` (the default) the process is pinned to one core for the
main table (:func:`pin_to_one_core`: JAX ignores its single-thread flags), so
every contender's CPU time is one core's work; the extra multi-thread run of
the headline case gets the process's cores back.

Epochs are partial where full ones would take too long: each run trains on the
first ``fraction * 60,000`` samples (a whole number of batches) and its time is
scaled to 60,000 samples; the fraction is recorded per case. Achieved GFLOP/s
count only the matrix products of a step (:func:`common.train_step_flops`).
"""

from __future__ import annotations

import argparse
import math
import os
import warnings

import numpy as np
from common import (
    available_cores,
    machine,
    save_results,
    sgemm_seconds,
    summarize,
    timed,
    train_step_flops,
    warn_openblas_env,
)
from contenders import floor_epoch, jax_scan_epoch, jax_single_thread, torch_training_epoch, torch_variant_epoch
from threadpoolctl import threadpool_limits

N_SAMPLES, N_IN, N_OUT, LR = 60_000, 784, 10, 1e-3
CLOCKS = ("wall", "cpu")
BATCHES = (32, 128, 1024)
MODELS = {
    "mlp(784, [256, 128], 10)": {"hidden": [256, 128]},
    "mlp(784, [1024, 512, 256, 128], 10)": {"hidden": [1024, 512, 256, 128]},
    "mlp(784, [256, 128], 10) + batch norm + dropout 0.8": {"hidden": [256, 128], "batchnorm": True,
                                                             "keep_prob": 0.8},
    "mlp(784, [1024, 1024], 10)": {"hidden": [1024, 1024]},
}
#: the cases timed (model, batch); issue 19's targets: tunenet / floor <= 1.25 at HEADLINE, <= 1.15 at TARGET_115
CASES = [(name, batch) for name in list(MODELS)[:3] for batch in BATCHES] + [("mlp(784, [1024, 1024], 10)", 256)]
TARGET_115 = [("mlp(784, [256, 128], 10)", 1024), ("mlp(784, [1024, 1024], 10)", 256)]
#: contenders beyond tunenet, PyTorch eager and scikit-learn (plain MLPs only); torch.compile only on the target cases
EXTRA = ("pytorch fused Adam", "jax scan", "floor", "floor OpenBLAS")
COMPILE = "pytorch fused Adam + torch.compile"
HEADLINE = ("mlp(784, [256, 128], 10)", 128)
#: fraction of an epoch timed per run, full mode (quick mode divides by QUICK_DIVISOR)
FRACTION = {
    ("mlp(784, [256, 128], 10)", 32): 0.15, ("mlp(784, [256, 128], 10)", 128): 1.0,
    ("mlp(784, [256, 128], 10)", 1024): 0.3,
    ("mlp(784, [1024, 512, 256, 128], 10)", 32): 0.04, ("mlp(784, [1024, 512, 256, 128], 10)", 128): 0.08,
    ("mlp(784, [1024, 512, 256, 128], 10)", 1024): 0.1,
    ("mlp(784, [1024, 1024], 10)", 256): 0.08,
}
DEFAULT_FRACTION = 0.15
QUICK_DIVISOR = 5


def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from tunenet.data import load

        ds = load("fashion-mnist", download=False)
        return np.ascontiguousarray(ds.X, np.float32), ds.y, f"Fashion-MNIST train set ({ds.source})"
    except Exception as exc:  # noqa: BLE001 - any failure: fall back to random data of the same shape
        rng = np.random.default_rng(0)
        X = rng.random((N_SAMPLES, N_IN), dtype=np.float32)
        return X, rng.integers(0, N_OUT, N_SAMPLES), f"random uniform data (Fashion-MNIST unavailable: {exc})"


# -- candidates: each returns a function that trains one epoch over (X, y) -----------------------------------
def tunenet_trainer(spec: dict, batch: int, threads: int):
    from tunenet import mlp
    from tunenet.optim import Adam
    from tunenet.train import Trainer

    model = mlp(N_IN, spec["hidden"], N_OUT, batchnorm=spec.get("batchnorm", False),
                keep_prob=spec.get("keep_prob", 1.0), seed=0)
    return Trainer(model, Adam(model, lr=LR), epochs=0, batch_size=batch, seed=0, threads=threads)


def tunenet_epoch(trainer, X, y, callbacks=()):
    """One more epoch of ``trainer`` with ``callbacks`` (runs sharing a trainer differ only in them)."""
    def run():
        trainer.callbacks = list(callbacks)
        trainer.epochs += 1
        trainer.fit(X, y)

    return run


def layer_by_layer_epoch(trainer, X, y):
    """One more epoch of ``trainer`` without its bound step (``nn/step.py``): the layers' own fused passes."""
    def run():
        model = trainer.model
        chain, model._chain = model._chain, None
        try:
            tunenet_epoch(trainer, X, y)()
        finally:
            model._chain = chain

    return run


def torch_epoch(spec: dict, X, y, batch: int, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layers, width = [], N_IN
    for units in spec["hidden"]:
        bn = spec.get("batchnorm", False)
        layers.append(torch.nn.Linear(width, units, bias=not bn))
        if bn:
            layers.append(torch.nn.BatchNorm1d(units, eps=1e-5, momentum=0.1))  # = tunenet's momentum 0.9
        layers.append(torch.nn.ReLU())
        if spec.get("keep_prob", 1.0) < 1.0:
            layers.append(torch.nn.Dropout(1.0 - spec["keep_prob"]))
        width = units
    layers.append(torch.nn.Linear(width, N_OUT))
    net = torch.nn.Sequential(*layers)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    return torch_training_epoch(net, opt, X, y, batch)


def sklearn_epoch(spec: dict, X, y, batch: int):
    from sklearn.neural_network import MLPClassifier

    if spec.get("batchnorm") or spec.get("keep_prob", 1.0) < 1.0:
        return None
    clf = MLPClassifier(hidden_layer_sizes=tuple(spec["hidden"]), activation="relu", solver="adam", alpha=0.0,
                        batch_size=batch, learning_rate_init=LR, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                        shuffle=True, early_stopping=False, random_state=0)
    clf.partial_fit(X[:batch], y[:batch], classes=np.arange(N_OUT))  # initialises the weights

    def run():
        clf.partial_fit(X, y)  # one pass (epoch) over (X, y)

    return run


def iterate_epoch(X, y, batch: int):
    from tunenet.data import MiniBatches

    batches = MiniBatches(X, y, batch, np.random.default_rng(0))

    def run():
        for _ in batches:
            pass

    return run


def health_monitor(every: int | None):
    try:
        from tunenet.diagnose.health import HealthMonitor
    except ImportError as exc:
        return None, f"tunenet.diagnose.health not available ({exc})"
    return (HealthMonitor() if every is None else HealthMonitor(every)), None


# -- the rotation -----------------------------------------------------------------------------------------------
def make_candidates(spec: dict, X, y, batch: int, threads: int, libs: tuple[str, ...], notes: list[str],
                    trainers: dict | None = None) -> dict:
    """One epoch function per library; ``trainers["tunenet"]`` receives tunenet's Trainer."""
    candidates = {}
    if "tunenet" in libs:
        trainer = tunenet_trainer(spec, batch, threads)
        candidates["tunenet"] = tunenet_epoch(trainer, X, y)
        if trainers is not None:
            trainers["tunenet"] = trainer
    if "pytorch" in libs:
        try:
            candidates["pytorch"] = torch_epoch(spec, X, y, batch, threads)
        except ImportError:
            notes.append("PyTorch not installed")
    if "sklearn" in libs:
        sk = sklearn_epoch(spec, X, y, batch)
        if sk is None:
            notes.append("scikit-learn's MLPClassifier has no batch norm or dropout")
        else:
            candidates["sklearn"] = sk
    plain = not spec.get("batchnorm") and spec.get("keep_prob", 1.0) == 1.0
    for key in ("pytorch fused Adam", COMPILE):
        if key in libs and plain:
            try:
                run, why = torch_variant_epoch(spec["hidden"], X, y, batch, threads, compile_net=key == COMPILE)
            except ImportError:
                run, why = None, "PyTorch not installed"
            if run is None:
                notes.append(f"{key}: {why}")
            else:
                candidates[key] = run
    if "jax scan" in libs and plain:
        try:
            candidates["jax scan"] = jax_scan_epoch(spec["hidden"], X, y, batch)
        except ImportError as exc:
            notes.append(f"JAX not installed ({exc}); pip install '.[bench]'")
    if "floor" in libs:  # the products tunenet's Trainer calls: MKL on one thread where installed
        candidates["floor"] = floor_epoch(spec["hidden"], X, batch, engine_blas=threads == 1)
    if "floor OpenBLAS" in libs:  # the same products through NumPy (what tunenet did before tunenet.blas)
        candidates["floor OpenBLAS"] = floor_epoch(spec["hidden"], X, batch)
    return candidates


def run_case(name: str, spec: dict, batch: int, X, y, threads: int, repeats: int, fraction: float,
             extras: bool, full: bool, libs: tuple[str, ...]) -> dict:
    steps = max(1, round(fraction * N_SAMPLES / batch))
    n = min(N_SAMPLES, steps * batch)
    Xs, ys = X[:n], y[:n]
    notes: list[str] = []
    with threadpool_limits(limits=threads):
        warm_libs = tuple(lib for lib in libs if lib not in (*EXTRA, COMPILE))  # those warm up when built
        for warm in make_candidates(spec, Xs[:4 * batch], ys[:4 * batch], batch, threads, warm_libs, []).values():
            warm()  # first calls into each library, outside the timings
        trainers: dict = {}
        candidates = make_candidates(spec, Xs, ys, batch, threads, libs, notes, trainers)
        health = {}
        if extras:
            monitor, why = health_monitor(None)
            if monitor is None:
                notes.append(f"health overhead not measured: {why}")
            else:
                # the same Trainer as "tunenet", only with the callback: two separately allocated models
                # can differ by a few percent in speed (memory placement), more than the monitor costs
                health["default_every"] = monitor.every
                shared = trainers["tunenet"]
                candidates[f"tunenet + health (every={monitor.every})"] = tunenet_epoch(shared, Xs, ys, [monitor])
                if full:
                    candidates["tunenet + health (every=1)"] = tunenet_epoch(shared, Xs, ys, [health_monitor(1)[0]])
            if getattr(trainers["tunenet"].model, "_chain", None) is not None:  # the bound step's worth, same trainer
                candidates["tunenet layer by layer"] = layer_by_layer_epoch(trainers["tunenet"], Xs, ys)
            candidates["mini-batch iteration only"] = iterate_epoch(X, y, batch)  # always all 60,000 rows
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in candidates}
        peak_runs: list[tuple[float, float]] = []
        for r in range(repeats):
            keys = list(candidates)
            keys = keys[r % len(keys):] + keys[:r % len(keys)]  # rotate the order each repetition
            for key in keys:
                runs[key].append(timed(candidates[key]))
            peak_runs.append(sgemm_seconds())
    scale = N_SAMPLES / n
    flops = train_step_flops(N_IN, spec["hidden"], N_OUT, batch)
    epoch_flops = flops * (N_SAMPLES // batch) + train_step_flops(N_IN, spec["hidden"], N_OUT, N_SAMPLES % batch)
    gemm = 2 * 2048**3
    peak = summarize(peak_runs)
    result = {"model": name, "spec": spec, "batch": batch, "threads": threads, "repeats": repeats,
              "fraction": n / N_SAMPLES, "steps_timed": steps, "samples_timed": n,
              "steps_per_epoch": math.ceil(N_SAMPLES / batch), "flops_per_step": flops,
              "flops_per_epoch": epoch_flops, "notes": notes, "health": health,
              "peak_gflops": {"wall": gemm / peak["wall"] / 1e9, "cpu": gemm / peak["cpu"] / 1e9},
              "peak_gflops_runs": {"wall": [gemm / w / 1e9 for w, _ in peak_runs],
                                   "cpu": [gemm / c / 1e9 for _, c in peak_runs]},
              "epoch_seconds": {}, "gflops": {}}
    # per repetition, each candidate against tunenet (paired: timed within the same rotation)
    if "floor" in runs:
        result["paired_over_floor"] = {
            key: {clock: [r[i] / f[i] for r, f in zip(key_runs, runs["floor"])] for i, clock in enumerate(CLOCKS)}
            for key, key_runs in runs.items() if key not in ("floor", "mini-batch iteration only")}
    if "tunenet" in runs:
        result["paired_over_tunenet"] = {
            key: {clock: [r[i] / t[i] for r, t in zip(key_runs, runs["tunenet"])] for i, clock in enumerate(CLOCKS)}
            for key, key_runs in runs.items() if key != "tunenet"}
    for key, key_runs in runs.items():
        iteration = key == "mini-batch iteration only"
        s = summarize(key_runs, 1.0 if iteration else scale)
        result["epoch_seconds"][key] = s
        if not iteration:
            result["gflops"][key] = {clock: epoch_flops / s[clock] / 1e9 for clock in ("wall", "cpu")}
    return result


def pin_to_one_core() -> tuple[set[int] | None, int | None]:
    """Run this process on one core; returns (the cores it had, the core it has now), or (None, None).

    One BLAS thread is not one core for every contender: JAX 0.10's XLA CPU client ignores
    ``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` and runs a ``lax.scan`` epoch on
    about 1.8 cores (CPU time 1.7x its wall time here). Pinned before JAX starts, its thread pool is sized
    for, and bound to, the one core, as every other contender's work is.
    """
    try:
        cores = os.sched_getaffinity(0)
        core = min(cores)
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        return None, None
    return cores, core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter partial epochs, 3 repetitions")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repetitions (default 5, quick 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads for the main table (default 1)")
    parser.add_argument("--no-multithread", action="store_true",
                        help="skip the extra run of the headline case with every available core")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile contender")
    parser.add_argument("--only-case", default=None, help="run only the cases whose model name contains this text")
    args = parser.parse_args()
    cores_before, pinned = None, None
    if args.threads == 1:
        jax_single_thread()
        cores_before, pinned = pin_to_one_core()
    if args.only_case:
        CASES[:] = [c for c in CASES if args.only_case in f"{c[0]} batch {c[1]}"]
    warn_openblas_env()
    warnings.filterwarnings("ignore", category=UserWarning)
    repeats = args.repeats or (3 if args.quick else 5)
    X, y, source = load_data()
    info = machine()
    cases = []
    print(f"data: {source}; threads {args.threads}; {repeats} interleaved repetitions", flush=True)
    for name, batch in CASES:
        spec = MODELS[name]
        fraction = FRACTION.get((name, batch), DEFAULT_FRACTION) / (QUICK_DIVISOR if args.quick else 1)
        headline = (name, batch) == HEADLINE
        target = headline or (name, batch) in TARGET_115
        libs = ("tunenet", "pytorch", "sklearn", *EXTRA, *((COMPILE,) if target and not args.no_compile else ()))
        case = run_case(name, spec, batch, X, y, args.threads, repeats, fraction, extras=headline,
                        full=not args.quick, libs=libs)
        case["headline"] = headline
        case["target_over_floor"] = 1.25 if headline else 1.15 if target else None
        cases.append(case)
        e = case["epoch_seconds"]
        line = "  ".join(f"{k} {v['wall']:.2f}s/{v['cpu']:.2f}s" for k, v in e.items())
        print(f"{name} batch {batch} ({case['fraction']:.0%} epochs; wall/cpu per 60k): {line}", flush=True)
    multithread = None
    if cores_before is not None:
        os.sched_setaffinity(0, cores_before)  # threads started from here on may use every core again
    cores = available_cores()
    if not args.no_multithread and not args.quick and cores > 1 and cores != args.threads:
        name, batch = HEADLINE
        multithread = run_case(name, MODELS[name], batch, X, y, cores, 3, 0.05, extras=False, full=False,
                               libs=("tunenet", "pytorch"))
        e = multithread["epoch_seconds"]
        print(f"{name} batch {batch}, {cores} threads: "
              + "  ".join(f"{k} {v['wall']:.2f}s/{v['cpu']:.2f}s" for k, v in e.items()), flush=True)
    info["load_average_end"] = machine()["load_average"]
    try:
        import torch

        info["torch"] = f"{torch.__version__} (BLAS: {'MKL' if torch.backends.mkl.is_available() else 'other'})"
    except ImportError:
        info["torch"] = None
    import sklearn

    info["sklearn"] = sklearn.__version__
    try:
        import jax

        info["jax"] = jax.__version__
    except ImportError:
        info["jax"] = None
    import numba

    info["numba"] = numba.__version__
    info["pinned_core"] = pinned
    path = save_results("training", {"machine": info, "data": source, "threads": args.threads, "quick": args.quick,
                                     "repeats": repeats, "cases": cases, "multithread": multithread})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
