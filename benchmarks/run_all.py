"""Run the whole benchmark suite, then write docs/benchmarks.md from its results.

Usage (from the repository root, with the ``bench`` extra installed)::

    python benchmarks/run_all.py            # full suite, about 10-15 minutes on 2 cores
    python benchmarks/run_all.py --quick    # shorter runs, about 3 minutes
    python benchmarks/run_all.py --only training memory   # some benchmarks, then the report

Each benchmark runs in its own process (``benchmarks/bench_*.py``) and writes
``benchmarks/results/<name>.json``; :mod:`report` then renders
``docs/benchmarks.md`` from those files (``--no-doc`` skips it). A failing
benchmark is recorded and the others still run.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from common import load_results, machine, save_results, warn_openblas_env

HERE = Path(__file__).resolve().parent
#: name -> (script, extra arguments in full mode, extra arguments in quick mode)
BENCHMARKS = {
    "engine": ("bench_engine.py", [], ["--repeats", "3"]),
    "data": ("bench_data.py", ["--skip-training"], ["--skip-training", "--repeats", "3"]),
    "training": ("bench_training.py", [], ["--quick"]),
    "memory": ("bench_memory.py", [], []),
    "changes": ("bench_changes.py", [], ["--repeats", "5"]),
    "changes_batch1024": ("bench_changes.py", ["--batch", "1024"], ["--batch", "1024", "--repeats", "5"]),
    "baseline": ("bench_baseline.py", [], ["--quick"]),
    "tuner": ("bench_tuner.py", [], ["--quick"]),
    "estimators": ("bench_estimators.py", [], ["--epochs", "3", "--repeats", "2", "--digit-seeds", "3"]),
    "lbfgs": ("bench_lbfgs.py", [], ["--repeats", "1", "--fashion-rows", "2000", "--fashion-iter", "20"]),
    "wide_csv": ("bench_wide_csv.py", [], ["--repeats", "1", "--pyarrow-repeats", "0"]),
    "startup": ("bench_startup.py", [], ["--repeats", "2"]),
    "doctor": ("bench_doctor.py", [], ["--max-repairs", "1"]),
    "doctor_pruning": ("bench_doctor_pruning.py", [], ["--repeats", "1"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test of the suite)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    warn_openblas_env()
    started = time.perf_counter()
    log = {"command": "python benchmarks/run_all.py" + (" --quick" if args.quick else ""),
           "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
           "machine_start": machine(), "steps": {}}
    previous = load_results("run_all") or {}
    if args.only:  # keep the record of benchmarks not rerun, and of the run they came from
        log["steps"] = {k: v for k, v in previous.get("steps", {}).items() if k not in args.only}
        log["command"] = previous.get("command", log["command"])
        rerun = {"only": list(args.only), "started": log["started"]}
        for key in ("started", "seconds", "machine_start", "machine_end"):
            if key in previous:
                log[key] = previous[key]
            elif key.startswith("machine"):  # not this rerun's machine reading under the full run's name
                log.pop(key, None)
        log["reruns"] = [*previous.get("reruns", []), rerun]
    for name, (script, full_args, quick_args) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        cmd = [sys.executable, str(HERE / script), *(quick_args if args.quick else full_args)]
        print(f"\n=== {name}: {' '.join(shlex.quote(c) for c in cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=HERE)
        log["steps"][name] = {"seconds": round(time.perf_counter() - t0, 1), "status": proc.returncode,
                              "args": cmd[2:]}
        if proc.returncode:
            print(f"!!! {name} failed with status {proc.returncode}", flush=True)
    seconds = round(time.perf_counter() - started, 1)
    if args.only:
        log["reruns"][-1]["seconds"] = seconds
    else:
        log["seconds"] = seconds
        log["machine_end"] = machine()
    save_results("run_all", log)
    print(f"\nsuite finished in {seconds / 60:.1f} min", flush=True)
    if not args.no_doc:
        from report import write_report

        print(f"wrote {write_report()}")
    failed = [k for k, v in log["steps"].items() if v["status"]]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
