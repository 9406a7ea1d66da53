"""The doctor on a benchmark of faulty and healthy runs: recall, top-1, false positives, repair rate.

The cases are data: ``benchmarks/doctor_cases/*.yaml``, each a list of
``{name, data, config, accept, showed, healthy, repairable, reference}``:

* ``config`` changes the benchmark's base configuration (a small network,
  20 epochs, one thread, the reference model on) with DeepCrime's mutation operators (learning rate,
  optimiser, initialisation, activation, batch size, epochs, regularisation)
  or AutoTrainer's symptom classes (vanishing/exploding gradients, dying ReLU,
  oscillation, slow convergence), plus unscaled inputs, label noise, too
  little data and too small a network;
* ``accept``: the finding kinds that are right answers;
* ``showed``: checks made from the run's own files WITHOUT the doctor that the
  fault really showed (``diverged``, ``worse`` = dev accuracy 5 points below
  the dataset's healthy run, ``gap`` = train - dev accuracy > 5 points,
  ``zero_gradients``, ``vanishing``, ``saturated``, ``unscaled``); a case
  counts when any of its checks holds;
* ``repairable: false`` where no configuration change can reach the healthy
  accuracy (label noise): the repair is right to stop short.

Scores: **recall** = faulty runs with an acceptable finding among their errors
and warnings; **top-1** = faulty runs whose first finding is acceptable; **false
positives** = healthy runs with any error or warning; **repair rate** = faulty
runs that ``tunenet diagnose --repair`` (at most ``--max-repairs`` runs) brings
within 2 points of the dataset's healthy dev accuracy, or, for unrepairable
cases, that it does not claim to have repaired. Data sets that are not built
in are written once to ``benchmarks/results/doctor_data/`` from scikit-learn's
bundled tables and the Debian Fashion-MNIST files.

    python benchmarks/bench_doctor.py [--only NAME ...] [--max-repairs 2]

Writes ``benchmarks/results/doctor.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import save_results  # noqa: E402

CASES = HERE / "doctor_cases"
WORK = HERE / "results" / "doctor_runs"
DATA = HERE / "results" / "doctor_data"
BASE = {"hidden": [64], "epochs": 20, "threads": 1, "seed": 0, "reference": "on"}
WORSE, GAP, WITHIN = 0.05, 0.05, 0.02


def write_csv(path: Path, X: np.ndarray, y: np.ndarray, names=None) -> None:
    names = names or [f"x{i}" for i in range(X.shape[1])]
    with open(path, "w") as f:
        f.write(",".join(names + ["target"]) + "\n")
        for row, label in zip(X, y, strict=True):
            f.write(",".join(f"{v:.6g}" for v in row) + f",{int(label)}\n")


def dataset(key: str) -> str:
    """A built-in name, or the path of a generated CSV for ``@name``."""
    if not key.startswith("@"):
        return key
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{key[1:]}.csv"
    if path.is_file():
        return str(path)
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine

    if key == "@breast_cancer":
        d = load_breast_cancer()
        write_csv(path, d.data, d.target, [n.replace(" ", "_") for n in d.feature_names])
    elif key == "@wine":
        d = load_wine()
        write_csv(path, d.data, d.target, list(d.feature_names))
    elif key in ("@digits_noise40", "@digits_noise20"):
        d = load_digits()
        rng = np.random.default_rng(0)
        flip = rng.random(len(d.target)) < int(key[-2:]) / 100
        y = np.where(flip, (d.target + rng.integers(1, 10, len(d.target))) % 10, d.target)
        write_csv(path, d.data, y)
    elif key == "@fashion3k":
        from tunenet.data import load

        ds = load("fashion-mnist")
        rows = np.sort(np.random.default_rng(0).choice(len(ds.X), 3000, replace=False))
        write_csv(path, ds.X[rows].astype(np.float64), ds.y[rows])
    else:
        raise SystemExit(f"unknown generated dataset {key}")
    return str(path)


def load_cases() -> list[dict]:
    cases = []
    for file in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text()):
            case["file"] = file.name
            cases.append(case)
    return cases


def showed(case: dict, run_dir: Path, metrics: dict, diverged: bool, healthy_dev: float | None) -> list[str]:
    """The checks of ``case["showed"]`` that hold, from the run's files (no doctor)."""
    held = []
    health = json.loads((run_dir / "health.json").read_text()) if (run_dir / "health.json").is_file() else {}
    stats = health.get("layer_stats", {})
    names = [layer["name"] for layer in health.get("layers", [])]

    def med(name, metric):
        v = np.array([x for x in stats.get(name, {}).get(metric, []) if x is not None], dtype=float)
        return float(np.median(v)) if v.size else float("nan")

    dev = metrics.get("dev_accuracy")
    for check in case.get("showed", []):
        ok = False
        if check == "diverged":
            ok = diverged
        elif check == "worse":
            ok = diverged or (dev is not None and healthy_dev is not None and dev < healthy_dev - WORSE)
        elif check == "gap":
            ok = dev is not None and metrics.get("train_accuracy", 0) - dev > GAP
        elif check == "zero_gradients":
            ok = any(all(g == 0 for g in stats[n]["grad_norm"] if g is not None) for n in names)
        elif check == "vanishing":
            ok = len(names) > 1 and med(names[0], "grad_norm") < 1e-2 * med(names[-1], "grad_norm")
        elif check == "saturated":
            ok = any(med(n, "saturated") > 0.25 for n in names)
        elif check == "unscaled":
            scale = metrics.get("input_scale") or {}
            ok = max(scale.get("max_std", 0), scale.get("max_abs_mean", 0)) > 10
        if ok:
            held.append(check)
    return held


def run_case(case: dict) -> dict:
    from tunenet.config import from_dict
    from tunenet.diagnose import read_diagnosis
    from tunenet.errors import DivergenceError
    from tunenet.run import train_run

    run_dir = WORK / case["name"]
    shutil.rmtree(run_dir, ignore_errors=True)
    for old in WORK.glob(f"{case['name']}-repair*"):
        shutil.rmtree(old, ignore_errors=True)
    config = from_dict({**BASE, **case.get("config", {}), "data": dataset(case["data"])})
    start = time.perf_counter()
    diverged = False
    try:
        train_run(config, run_dir, progress=False, report=False, lr_range=True)
    except DivergenceError:
        diverged = True
    metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file() else {}
    findings = [f for f in read_diagnosis(run_dir) if f.severity in ("error", "warning")]
    return {"name": case["name"], "file": case["file"], "healthy": bool(case.get("healthy")), "run_dir": run_dir,
            "diverged": diverged, "metrics": metrics, "seconds": time.perf_counter() - start,
            "findings": [f"{f.severity}: {f.kind}" for f in findings], "kinds": [f.kind for f in findings]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="case names")
    parser.add_argument("--max-repairs", type=int, default=3)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from tunenet.errors import TunenetError
    from tunenet.repair import MANUAL, NOTHING_TO_DO, repair

    cases = [c for c in load_cases() if not args.only or c["name"] in args.only]
    WORK.mkdir(parents=True, exist_ok=True)
    results, healthy_dev = [], {}
    start = time.perf_counter()
    with threadpool_limits(1):
        for case in sorted(cases, key=lambda c: not c.get("healthy")):  # the healthy references first
            try:
                r = run_case(case)
            except TunenetError as exc:  # a case the pipeline refuses: a broken case file, not a finding
                print(f"{case['name']}: error: {exc}", flush=True)
                continue
            if r["healthy"]:
                healthy_dev[case["data"]] = r["metrics"].get("dev_accuracy")
                healthy_dev[case["name"]] = r["metrics"].get("dev_accuracy")
            else:
                ref = healthy_dev.get(case.get("reference") or case["data"])
                r["reference_dev_accuracy"] = ref
                r["showed"] = showed(case, r["run_dir"], r["metrics"], r["diverged"], ref)
                accept = case["accept"]
                r["accept"] = accept
                r["recall"] = any(k in accept for k in r["kinds"])
                r["top1"] = bool(r["kinds"]) and r["kinds"][0] in accept
                doc = repair(r["run_dir"], max_repairs=args.max_repairs, report=False)
                final = doc["final"].get("dev_accuracy")  # the last run kept (a change that did nothing is undone)
                r["repair"] = {"outcome": doc["outcome"], "changes": [s["change"] for s in doc["steps"]],
                               "final_dev_accuracy": final,
                               "steps": [{k: s.get(k) for k in ("finding", "change", "before", "after", "remaining",
                                                                "moved", "measured", "note")}
                                         for s in doc["steps"]]}
                if case.get("repairable", True):
                    r["repaired"] = final is not None and ref is not None and final >= ref - WITHIN
                else:  # right to stop short: it must not claim the run repaired to the healthy level
                    r["repaired"] = doc["outcome"].startswith((MANUAL, NOTHING_TO_DO, "budget")) or (
                        final is not None and ref is not None and final < ref - WITHIN)
                    r["repair_refusal"] = True
            print(f"{r['name']:32s} {'healthy' if r['healthy'] else 'fault':7s} {r['seconds']:5.1f}s "
                  f"dev {r['metrics'].get('dev_accuracy', float('nan')):.3f} "
                  + ("" if r["healthy"] else f"recall {int(r['recall'])} top1 {int(r['top1'])} "
                     f"repaired {int(r['repaired'])} showed {r['showed']} ")
                  + f"{r['findings'][:3]}", flush=True)
            r["run_dir"] = str(r["run_dir"])
            results.append(r)
    faults = [r for r in results if not r["healthy"]]
    healthy = [r for r in results if r["healthy"]]
    shown = [r for r in faults if r["showed"]]
    summary = {
        "cases": len(results), "faults": len(faults), "healthy": len(healthy),
        "faults_that_showed": len(shown),
        "recall": sum(r["recall"] for r in shown) / max(len(shown), 1),
        "top1": sum(r["top1"] for r in shown) / max(len(shown), 1),
        "false_positives": sum(bool(r["findings"]) for r in healthy),
        "repair_rate": sum(r["repaired"] for r in shown) / max(len(shown), 1),
        "datasets": sorted({r["file"] for r in results}), "max_repairs": args.max_repairs,
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(summary, indent=2))
    save_results("doctor", {"summary": summary, "results": results})


if __name__ == "__main__":
    main()
