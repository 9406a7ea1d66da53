"""Peak memory (RSS) of a Fashion-MNIST training run, each measured in a fresh child process.

Run: ``python benchmarks/bench_memory.py``; writes ``benchmarks/results/memory.json``.

- ``engine``: load Fashion-MNIST (``tunenet.data.load``, train + test as
  float32), train ``mlp(784, [256, 128], 10)`` with Adam at batch 128 for one
  epoch, evaluating on the test set: the engine's own footprint.
- ``cli``: ``tunenet train --data fashion-mnist --hidden 256,128 --epochs 1``
  (run as ``python -m tunenet.cli`` from this tree)
  (split, standardisation, checkpoint, plots: what a user runs).
- ``pipeline``: the stages of the CLI's data preparation called one by one
  as ``tunenet.run.prepare_data`` calls them (load, split in place, fit +
  transform in place), with the RSS after each, to show
  where the CLI's memory goes.

Peak RSS is the child's ``ru_maxrss`` from ``os.wait4``; stage figures come
from ``/proc/self/status`` (VmRSS, VmHWM). Target (issue 9): peak RSS at most
the dataset's float32 size (train + test images) plus 300 MB. MB = 10^6 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import machine, save_results

MB = 1e6
TARGET_EXTRA_MB = 300


def status_mb() -> dict[str, float]:
    """Current and peak resident set size of this process (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {key: int(fields[name].split()[0]) * 1024 / MB for key, name in (("rss", "VmRSS"), ("peak", "VmHWM"))}


def child_engine() -> dict:
    stages = {"start": status_mb()}
    from tunenet import mlp
    from tunenet.data import load
    from tunenet.optim import Adam
    from tunenet.train import Trainer

    stages["imports"] = status_mb()
    ds = load("fashion-mnist", download=False)
    stages["loaded"] = status_mb()
    model = mlp(784, [256, 128], 10, seed=0)
    Trainer(model, Adam(model, lr=1e-3), epochs=1, batch_size=128, seed=0, threads=1).fit(
        ds.X, ds.y, ds.X_test, ds.y_test)
    stages["trained"] = status_mb()
    return {"stages": stages, "dataset_mb": (ds.X.nbytes + ds.X_test.nbytes) / MB,
            "shapes": [list(ds.X.shape), list(ds.X_test.shape)], "dtype": str(ds.X.dtype)}


def child_libraries() -> dict:
    """RSS after numpy + tunenet's engine, after a tiny fit (numba and LLVM loading the cached kernels), after
    matplotlib drawing one figure: what the two libraries add to every ``tunenet train``."""
    import io

    import numpy as np

    from tunenet import mlp
    from tunenet.optim import Adam
    from tunenet.train import Trainer

    stages = {"engine imports": status_mb()}
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((512, 784), dtype=np.float32), rng.integers(0, 10, 512)
    model = mlp(784, [256, 128], 10, seed=0)
    Trainer(model, Adam(model, lr=1e-3), epochs=1, batch_size=128, seed=0, threads=1).fit(X, y)
    stages["numba kernels loaded"] = status_mb()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(np.arange(10))
    fig.savefig(io.BytesIO(), format="png")
    stages["matplotlib figure drawn"] = status_mb()
    return {"stages": stages}


def child_pipeline() -> dict:
    import numpy as np

    from tunenet.data import load, make_scaler, split_dataset

    stages = {"imports": status_mb()}
    ds = load("fashion-mnist", download=False)
    stages["load"] = status_mb()
    splits = split_dataset(ds, dev=None, test=None, seed=0, stratify=True, in_place=True)  # as tunenet.run does
    (X_tr, _), (X_dev, _), (X_te, _) = splits.train, splits.dev, splits.test
    stages["split"] = status_mb()
    scaler = make_scaler("standard")
    X_tr = scaler.fit(X_tr).transform(X_tr.astype(np.float32, copy=False), copy=False)
    stages["fit_transform(train)"] = status_mb()
    X_dev = scaler.transform(X_dev.astype(np.float32, copy=False), copy=False)
    X_te = scaler.transform(X_te.astype(np.float32, copy=False), copy=False)
    stages["transform(dev, test)"] = status_mb()
    return {"stages": stages, "dataset_mb": (ds.X.nbytes + ds.X_test.nbytes) / MB,
            "train_dev_test_rows": [len(X_tr), len(X_dev), len(X_te)]}


def run_child(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    """Peak RSS (MB, ``ru_maxrss`` from ``os.wait4``) and stdout of ``cmd``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with status {proc.returncode}: {errors[-2000:]}")
    return usage.ru_maxrss * 1024 / MB, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("engine", "pipeline", "libraries"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        children = {"engine": child_engine, "pipeline": child_pipeline, "libraries": child_libraries}
        print(json.dumps(children[args.child]()))
        return
    me = [sys.executable, str(Path(__file__).resolve())]
    result: dict = {"machine": machine(), "target_extra_mb": TARGET_EXTRA_MB}
    peak, text = run_child([*me, "--child", "engine"])
    result["engine"] = {"peak_mb": peak, **json.loads(text)}
    dataset = result["engine"]["dataset_mb"]
    result["dataset_mb"] = dataset
    result["target_mb"] = dataset + TARGET_EXTRA_MB
    print(f"dataset float32 (train + test images): {dataset:.1f} MB; target <= {dataset + TARGET_EXTRA_MB:.1f} MB")
    print(f"engine run peak RSS: {peak:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:  # this tree's CLI (python -m), not whichever tunenet is installed
        # twice with one empty numba cache: the first run after an install compiles the kernels (LLVM's
        # compiler in memory), every later run loads them from the cache
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cache")}
        for key, what in (("cli_first", "the first run after an install, which compiles the kernels"),
                          ("cli", "later runs, which load the kernels from the cache")):
            run_dir = Path(tmp) / key
            cmd = [sys.executable, "-m", "tunenet.cli", "train", "--data", "fashion-mnist",
                   "--hidden", "256,128", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "128",
                   "--epochs", "1", "--threads", "1", "--quiet", "--run-dir", str(run_dir)]
            try:
                peak, _ = run_child(cmd, env)
                result[key] = {"peak_mb": peak, "command": " ".join(["tunenet", *cmd[3:-2]]), "what": what}
                print(f"CLI run peak RSS, {what}: {peak:.1f} MB")
            except (RuntimeError, OSError) as exc:
                result[key] = {"error": str(exc)}
                print(f"CLI run failed: {exc}")
        try:
            _, text = run_child([*me, "--child", "libraries"], env)
            result["libraries"] = json.loads(text)
        except (RuntimeError, OSError) as exc:
            result["libraries"] = {"error": str(exc)}
    try:
        _, text = run_child([*me, "--child", "pipeline"])
        result["pipeline"] = json.loads(text)
    except (RuntimeError, OSError) as exc:
        result["pipeline"] = {"error": str(exc)}
    print(f"wrote {save_results('memory', result)}")


if __name__ == "__main__":
    main()
