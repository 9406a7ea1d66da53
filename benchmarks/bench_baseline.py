"""Before / after: the current engine against a baseline git revision, timed and fingerprinted.

Run: ``python benchmarks/bench_baseline.py [--baseline 9f3d936] [--quick]``;
writes ``benchmarks/results/baseline.json``.

The baseline's ``src/`` is extracted with ``git archive`` into a temporary
directory and imported next to the current engine as the package
``tunenet_baseline`` (the engine imports itself only relatively). Per case,
``--instances`` trainers of each tree (separately allocated models differ by
a few percent in speed) train alternating epochs, baseline / current, for
``--repeats`` rounds on random 784-feature data with Adam and one BLAS thread;
medians of wall and CPU time per epoch, scaled to 60,000 samples. Then one
more epoch of each tree runs under a phase profiler that wraps the layers'
``forward``/``backward``, the loss, the optimiser step, the batch gather and
the accuracy with ``time.process_time`` (the wrapping adds about 1 us per
call, counted in the phase it wraps).

The fingerprint trains 11 small configurations (every activation, batch norm
before/after, dropout, L2, L1, every optimiser, partial last batches, binary
and regression outputs) for 3 epochs with a fixed seed in each tree and hashes
the final weights, batch-norm statistics, every step's loss and the
predictions, plus the per-epoch history: equal fingerprints mean bit-identical
training.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "9f3d936"  # the engine before the performance work
CASES = {  # name: (hidden, extra mlp kwargs, batch, samples per timed epoch)
    "mlp(784, [256, 128], 10), batch 32": ([256, 128], {}, 32, 15_000),
    "mlp(784, [256, 128], 10), batch 128": ([256, 128], {}, 128, 60_000),
    "mlp(784, [256, 128], 10), batch 1024": ([256, 128], {}, 1024, 30_720),
    "mlp(784, [256, 128], 10) + batch norm + dropout, batch 128": (
        [256, 128], {"batchnorm": True, "keep_prob": 0.8}, 128, 30_000),
    "mlp(784, [1024, 1024], 10), batch 256": ([1024, 1024], {}, 256, 15_360),  # issue 19's wide target case
}
QUICK_CASES = ("mlp(784, [256, 128], 10), batch 128",)


# -- loading a second copy of the engine ------------------------------------------------------------------------
def load_tree(src: Path, name: str):
    """Import the ``tunenet`` package under ``src`` as the top-level package ``name``.

    The engine imports itself only relatively, so a second copy lives side by side with the installed one.
    """
    spec = importlib.util.spec_from_file_location(name, src / "tunenet" / "__init__.py",
                                                  submodule_search_locations=[str(src / "tunenet")])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def trainer_for(pkg, case: str):
    hidden, kwargs, batch, _ = CASES[case]
    model = pkg.mlp(784, hidden, 10, seed=0, **kwargs)
    train = importlib.import_module(f"{pkg.__name__}.train.trainer")
    optim = importlib.import_module(f"{pkg.__name__}.optim")
    return train.Trainer(model, optim.Adam(model, lr=1e-3), epochs=0, batch_size=batch, seed=0, threads=1)


def run_epoch(trainer, X, y) -> tuple[float, float]:
    trainer.epochs += 1
    cpu, wall = time.process_time(), time.perf_counter()
    trainer.fit(X, y)
    return time.perf_counter() - wall, time.process_time() - cpu


def profiled_epoch(pkg, trainer, X, y) -> tuple[float, dict[str, float]]:
    """CPU time of one epoch and of its phases, with ``pkg``'s classes wrapped by timers for that epoch only."""
    import numpy as np

    name = pkg.__name__
    layers = importlib.import_module(f"{name}.nn.layers")
    losses = importlib.import_module(f"{name}.nn.losses")
    optimizers = importlib.import_module(f"{name}.optim.optimizers")
    trainer_module = importlib.import_module(f"{name}.train.trainer")
    batches_module = importlib.import_module(f"{name}.data.batches")
    phases: dict[str, float] = defaultdict(float)
    clock = time.process_time
    undo = []
    inner = []  # time spent in wrapped calls nested in the running one: each phase counts its own time only

    def timed(function, label):
        """``function`` timed into ``phases[label]`` (``label(first arg)`` if callable), less nested timed calls."""
        def run(*args, **kw):
            inner.append(0.0)
            start = clock()
            try:
                return function(*args, **kw)
            finally:
                elapsed = clock() - start
                nested = inner.pop()
                phases[label(args[0]) if callable(label) else label] += elapsed - nested
                if inner:
                    inner[-1] += elapsed
        return run

    def wrap(owner, attr, label):
        original = owner.__dict__.get(attr)
        if original is None:  # a method the other tree does not have (the fused paths are newer than 9f3d936)
            return
        setattr(owner, attr, timed(original, label))
        undo.append((owner, attr, original))

    for cls in (layers.Dense, layers.ReLU, layers.BatchNorm, layers.Dropout):
        wrap(cls, "forward", lambda s: f"{type(s).__name__} forward")
        wrap(cls, "backward", lambda s: f"{type(s).__name__} backward")
    # the fused paths (issue 19): a Dense layer's products, its bias + ReLU kernel, its ReLU mask + db kernel,
    # and the bias + softmax cross-entropy kernel, each timed on its own (exclusive of the products it calls)
    wrap(layers.Dense, "forward_product", "Dense forward")
    wrap(layers.Dense, "backward_products", "Dense backward")
    wrap(layers.Dense, "forward_relu", "ReLU forward")
    wrap(layers.Dense, "backward_relu", "ReLU backward")
    wrap(losses.SoftmaxCrossEntropy, "fused_data_loss", "loss")
    wrap(losses.Loss, "__call__", "loss")
    wrap(optimizers.Optimizer, "step", "optimizer (Adam)")
    wrap(trainer_module, "accuracy", "accuracy")
    # the bound step (nn/step.py, newer than 9f3d936) takes its products from blas.bind and its kernels from
    # jit.compiled when it is built, which happens inside this epoch (the replan below drops the bound steps)
    blas_module = importlib.import_module(f"{name}.blas") if importlib.util.find_spec(f"{name}.blas") else None
    jit_module = importlib.import_module(f"{name}.jit") if importlib.util.find_spec(f"{name}.jit") else None
    values = trainer.model.flat_values

    if blas_module is not None and "bind" in blas_module.__dict__:
        original_bind = blas_module.bind

        def bind(a, b, out):  # X @ W reads a weight matrix as stored; dX = dZ @ W.T its transpose; dW = X.T @ dZ
            forward = b.flags.c_contiguous and np.shares_memory(b, values)
            return timed(original_bind(a, b, out), "Dense forward" if forward else "Dense backward")
        blas_module.bind = bind
        undo.append((blas_module, "bind", original_bind))
    if jit_module is not None and "compiled" in jit_module.__dict__:
        original_compiled = jit_module.compiled
        kernel_labels = {"bias_relu_kernel": "ReLU forward", "relu_mask_db_kernel": "ReLU backward",
                         "relu_mask_db_inplace_kernel": "ReLU backward"}

        def compiled(function):
            name = getattr(function, "__name__", "")
            result = original_compiled(function)
            return timed(result, kernel_labels[name]) if name in kernel_labels else result
        jit_module.compiled = compiled
        undo.append((jit_module, "compiled", original_compiled))
    original_iter = batches_module.MiniBatches.__iter__

    def timed_iter(self):
        it = original_iter(self)
        while True:
            start = clock()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                phases["batch gather"] += clock() - start
            yield item
    batches_module.MiniBatches.__iter__ = timed_iter
    undo.append((batches_module.MiniBatches, "__iter__", original_iter))
    replan = getattr(trainer.model, "_plan", None)  # the model's training passes are bound methods: rebind them
    try:
        if replan:
            replan()
        _, cpu = run_epoch(trainer, X, y)
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)
        if replan:
            replan()
    phases["rest (loop, checks, Python)"] = cpu - sum(phases.values())
    return cpu, dict(phases)


def compare(trees: dict, case: str, samples: int, repeats: int, instances: int) -> dict:
    """Epoch times of both trees, alternating, over ``instances`` trainers each; then one profiled epoch each."""
    import numpy as np

    _, _, batch, _ = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.random((samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    trainers = {name: [trainer_for(pkg, case) for _ in range(instances)] for name, pkg in trees.items()}
    for group in trainers.values():
        for trainer in group:
            run_epoch(trainer, X[:8 * batch], y[:8 * batch])  # warm-up: first calls, work arrays
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    order = list(trees)
    for r in range(repeats):
        for i in range(instances):
            for name in (order if (r + i) % 2 == 0 else order[::-1]):
                runs[name].append(run_epoch(trainers[name][i], X, y))
    out = {}
    scale = 60_000 / samples
    for name, pkg in trees.items():
        cpu, phases = profiled_epoch(pkg, trainers[name][0], X, y)
        out[name] = {"wall": statistics.median(w for w, _ in runs[name]) * scale,
                     "cpu": statistics.median(c for _, c in runs[name]) * scale,
                     "wall_runs": [w * scale for w, _ in runs[name]], "cpu_runs": [c * scale for _, c in runs[name]],
                     "profiled_cpu": cpu * scale, "phases": {k: v * scale for k, v in phases.items()}}
    return out


def child_fingerprint() -> dict:
    import numpy as np

    import tunenet
    from tunenet.optim import make_optimizer
    from tunenet.train.trainer import Trainer

    rng = np.random.default_rng(1)
    X = rng.standard_normal((1000, 50)).astype(np.float32)
    labels = {"softmax": rng.integers(0, 5, 1000), "binary": rng.integers(0, 2, 1000),
              "regression": rng.standard_normal((1000, 3)).astype(np.float32)}
    configs = {
        "relu adam": ({"hidden": [64, 32], "n_out": 5}, "adam", 64, {}),
        "relu adam, full batch": ({"hidden": [64, 32], "n_out": 5}, "adam", 1000, {}),
        "relu adam, batch 7": ({"hidden": [16], "n_out": 5}, "adam", 7, {}),
        "batch norm + dropout": ({"hidden": [64, 32], "n_out": 5, "batchnorm": True, "keep_prob": 0.8}, "adam", 96,
                                 {}),
        "batch norm after, momentum": ({"hidden": [64, 32], "n_out": 5, "batchnorm": "after",
                                        "keep_prob": [0.7, 1.0]}, "momentum", 96, {}),
        "tanh rmsprop l2": ({"hidden": [64, 32], "n_out": 5, "activation": "tanh"}, "rmsprop", 50, {"l2": 0.1}),
        "sigmoid sgd l1": ({"hidden": [64], "n_out": 5, "activation": "sigmoid"}, "sgd", 33, {"l1": 0.01}),
        "leaky relu nesterov": ({"hidden": [64, 32], "n_out": 5, "activation": "leaky_relu"}, "nesterov", 128, {}),
        "linear adamw": ({"hidden": [32], "n_out": 5, "activation": "linear"}, "adamw", 128, {}),
        "binary": ({"hidden": [32], "n_out": 1, "output": "sigmoid"}, "adam", 64, {"y": "binary"}),
        "regression": ({"hidden": [32], "n_out": 3, "output": "linear"}, "adam", 64, {"y": "regression"}),
    }
    out = {}
    for name, (arch, opt_name, batch, extra) in configs.items():
        model = tunenet.mlp(50, seed=3, **arch)
        opt = make_optimizer(opt_name, model, 1e-3 if opt_name in ("adam", "adamw", "rmsprop") else 0.05)
        y = labels[extra.get("y", "softmax")]
        trainer = Trainer(model, opt, epochs=3, batch_size=batch, l2=extra.get("l2", 0.0), l1=extra.get("l1", 0.0),
                          seed=5, threads=1)
        history = trainer.fit(X, y, X[:200], y[:200])
        state = [v.tobytes() for v in model.state().values()]
        digest = hashlib.sha256(model.flat_values.tobytes() + b"".join(state)
                                + np.asarray(history.steps).tobytes()
                                + model.predict_proba(X[:300]).tobytes())
        rows = [{k: v for k, v in row.items() if k != "time"} for row in history.epochs]
        out[name] = {"sha256": digest.hexdigest(), "history": rows}
    return out


# -- parent ----------------------------------------------------------------------------------------------------
def extract(revision: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{revision}^{{commit}}"], check=True,
                   capture_output=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def run_child(src: Path, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare with")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None, help="rounds of alternating epochs (3, quick 1)")
    parser.add_argument("--instances", type=int, default=3,
                        help="trainers per tree (separately allocated models differ by a few percent)")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child_fingerprint()))
        return
    from common import machine, save_results
    from threadpoolctl import threadpool_limits

    import tunenet

    repeats = args.repeats or (1 if args.quick else 3)
    current = REPO / "src"
    with tempfile.TemporaryDirectory() as tmp:
        baseline_src = extract(args.baseline, Path(tmp))
        fingerprints = {name: run_child(src, "fingerprint")
                        for name, src in (("baseline", baseline_src), ("current", current))}
        same = {k: fingerprints["baseline"][k] == fingerprints["current"][k] for k in fingerprints["current"]}
        print(f"fingerprints identical: {sum(same.values())}/{len(same)}", flush=True)
        trees = {"baseline": load_tree(baseline_src, "tunenet_baseline"), "current": tunenet}
        cases = {}
        with threadpool_limits(limits=1):
            for case, (_, _, _, samples) in CASES.items():
                if args.quick and case not in QUICK_CASES:
                    continue
                if args.quick:
                    samples //= 4
                summary = compare(trees, case, samples, repeats, args.instances)
                summary["speedup"] = {c: summary["baseline"][c] / summary["current"][c] for c in ("wall", "cpu")}
                summary["samples_timed"] = samples
                summary["epochs_timed"] = repeats * args.instances
                cases[case] = summary
                print(f"{case}: epoch CPU {summary['baseline']['cpu']:.3f} s -> {summary['current']['cpu']:.3f} s "
                      f"(x{summary['speedup']['cpu']:.2f}), wall x{summary['speedup']['wall']:.2f}", flush=True)
    result = {"machine": machine(), "baseline": args.baseline, "repeats": repeats, "instances": args.instances,
              "quick": args.quick, "fingerprints_identical": same, "fingerprints": fingerprints, "cases": cases}
    print(f"wrote {save_results('baseline', result)}")


if __name__ == "__main__":
    main()
