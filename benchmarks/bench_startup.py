"""Start-up and fixed costs: ``tunenet --help`` and the default ``tunenet train --data digits``.

Each command runs in a fresh interpreter (``python -m tunenet.cli ...``, as a
user types it; this tree's ``src`` on ``PYTHONPATH``), interleaved (help,
train, phases, help, train, phases, ...), and records wall and CPU time
(the child's user + system time from ``wait4``). Medians are reported.

The breakdown comes from two more kinds of child process:

- ``phases``: the same ``tunenet train`` run inside one interpreter with
  timers around the pipeline's steps (imports of the CLI and of
  ``tunenet.run``, ``prepare_data`` (loading digits), ``Trainer.fit``,
  ``final_metrics``, ``write_run_outputs`` (model, metrics, curves.png),
  ``diagnose_run`` and ``write_report``);
- ``python -X importtime``: the import time of ``train`` and ``--help`` summed
  per top-level package (``self`` times, so the packages add up to the total),
  and which heavy packages each command loads at all.

Usage: ``python benchmarks/bench_startup.py [--repeats 5]``; writes
``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, median, save_results

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "scipy", "sklearn", "pandas", "matplotlib", "numba", "optuna", "yaml", "rich", "safetensors",
         "threadpoolctl")

PHASES = r"""
import json, sys, time
t = {}
def clock():
    return time.perf_counter(), time.process_time()
def since(start):
    w, c = clock()
    return [w - start[0], c - start[1]]
start = clock()
import tunenet.cli as cli
t["import cli"] = since(start)
s = clock()
import tunenet.run as run
t["import run (numpy, matplotlib, ...)"] = since(s)
from tunenet.train import trainer as trainer_module

def wrap(owner, name, label):
    original = getattr(owner, name)
    def timed(*args, **kwargs):
        s = clock()
        try:
            return original(*args, **kwargs)
        finally:
            w, c = since(s)
            old = t.get(label, [0.0, 0.0])
            t[label] = [old[0] + w, old[1] + c]
    setattr(owner, name, timed)

wrap(run, "prepare_data", "load and split digits")
wrap(trainer_module.Trainer, "fit", "train (30 epochs)")
wrap(run, "final_metrics", "final metrics")
wrap(run, "write_run_outputs", "write model, metrics, curves.png")
wrap(run, "diagnose_run", "diagnose")
wrap(run, "write_report", "write report.html")
code = cli.main(sys.argv[1:])
t["total"] = since(start)
t["numba imported"] = "numba" in sys.modules
print("PHASES " + json.dumps(t))
sys.exit(code)
"""

# main(), not the command's entry(): entry() ends the process with os._exit before anything could be printed
LOADED = "import sys\nfrom tunenet.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n" \
         "print('LOADED ' + ','.join(sorted({m.split('.')[0] for m in sys.modules})))\n"


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}


def run_child(args: list[str], cwd: str) -> tuple[float, float, str, str]:
    """(wall, cpu, stdout, stderr) of one child process; cpu = its user + system time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=child_env(),
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode:
        raise RuntimeError(f"{args}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout, proc.stderr


def import_breakdown(args: list[str], cwd: str) -> dict:
    """Self import time (ms) summed per top-level package from ``python -X importtime``."""
    _, _, _, err = run_child(["-X", "importtime", "-m", "tunenet.cli", *args], cwd)
    per: dict[str, float] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _, name = line[len("import time:"):].split("|")
        root = name.strip().split(".")[0]
        per[root] = per.get(root, 0.0) + int(self_us) / 1000
    top = dict(sorted(per.items(), key=lambda kv: -kv[1])[:12])
    return {"total_ms": sum(per.values()), "top_ms": top}


def loaded_packages(args: list[str], cwd: str) -> list[str]:
    _, _, out, _ = run_child(["-c", LOADED, *args], cwd)
    line = next(line for line in out.splitlines() if line.startswith("LOADED "))
    return sorted(set(line[7:].split(",")) & set(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    help_runs, train_runs, phase_runs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        train_args = ["train", "--data", "digits", "--quiet", "--threads", "1"]
        # warm-up: .pyc files, numba's on-disk kernel cache, matplotlib's font cache
        run_child(["-m", "tunenet.cli", *train_args, "--run-dir", f"{tmp}/warm"], tmp)
        for i in range(args.repeats):
            help_runs.append(run_child(["-m", "tunenet.cli", "--help"], tmp)[:2])
            train_runs.append(run_child(["-m", "tunenet.cli", *train_args, "--run-dir", f"{tmp}/t{i}"], tmp)[:2])
            out = run_child(["-c", PHASES, *train_args, "--run-dir", f"{tmp}/p{i}"], tmp)[2]
            phase_runs.append(json.loads(next(line for line in out.splitlines() if line.startswith("PHASES "))[7:]))
            print(f"repeat {i + 1}: help {help_runs[-1][0]:.2f} s, train {train_runs[-1][0]:.2f} s wall", flush=True)
        imports = {"train": import_breakdown([*train_args, "--run-dir", f"{tmp}/imp"], tmp),
                   "help": import_breakdown(["--help"], tmp)}
        loaded = {"help": loaded_packages(["--help"], tmp),
                  "train": loaded_packages([*train_args, "--run-dir", f"{tmp}/loaded"], tmp)}
    labels = [k for k in phase_runs[0] if k != "numba imported"]
    phases = {k: {"wall": median(r[k][0] for r in phase_runs if k in r),
                  "cpu": median(r[k][1] for r in phase_runs if k in r)} for k in labels}
    result = {
        "machine": machine(), "repeats": args.repeats,
        "commands": {"help": "tunenet --help", "train": "tunenet " + " ".join(train_args) + " --run-dir DIR"},
        "help": {"wall": median(w for w, _ in help_runs), "cpu": median(c for _, c in help_runs),
                 "wall_runs": [w for w, _ in help_runs]},
        "train": {"wall": median(w for w, _ in train_runs), "cpu": median(c for _, c in train_runs),
                  "wall_runs": [w for w, _ in train_runs]},
        "phases": phases, "numba_imported_by_train": phase_runs[0].get("numba imported"),
        "imports": imports, "loaded": loaded,
    }
    save_results("startup", result)
    print(json.dumps({k: result[k] for k in ("help", "train", "phases", "loaded")}, indent=1))


if __name__ == "__main__":
    main()
