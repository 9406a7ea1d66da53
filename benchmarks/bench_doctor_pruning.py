"""The doctor as a pruner (issue 14): the same study with and without ``--prune doctor``.

Run: ``python benchmarks/bench_doctor_pruning.py``; writes ``benchmarks/results/doctor_pruning.json``.
One study on ``digits`` over a space with bad regions (lr up to 10, init he or
large, ReLU or sigmoid, 1 to 6 layers), ``--trials`` trials of ``--epochs``
epochs, one worker in this process (``tunenet.tune.tuner.tune`` with
``workers=0``, then :func:`tunenet.tune.workers.worker_loop`), one BLAS thread.
The trial-seeded sampler draws the same configurations with the same seeds in
both studies; the two are run interleaved ``--repeats`` times (none, doctor,
none, doctor ...). Reported: each one's best dev accuracy, the trials the
doctor stopped per finding, and the ratios of median wall and CPU time of the
trials (no final evaluation). Target: the same best dev accuracy in at most 60%
of the wall time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine, median, save_results, timed
from threadpoolctl import threadpool_limits


def run_study(root: Path, name: str, prune: str, trials: int, epochs: int) -> dict:
    from tunenet.config import RunConfig
    from tunenet.tune import SearchSpace
    from tunenet.tune.doctor_pruner import doctor_counts
    from tunenet.tune.space import Choice, IntRange, LogUniform
    from tunenet.tune.study import load_study, make_storage
    from tunenet.tune.tuner import tune
    from tunenet.tune.workers import worker_loop

    base = RunConfig(data="digits", hidden=(64,), epochs=epochs, early_stopping=0, threads=1)
    space = SearchSpace({"lr": LogUniform(1e-4, 10), "init": Choice(("he", "large")),
                         "activation": Choice(("relu", "sigmoid")), "layers": IntRange(1, 6)})
    tune(base, space, trials=trials, rounds=1, workers=0, root=root, study_name=name, prune=prune, seed=0)
    wall, cpu = timed(lambda: worker_loop(name, None, root / name))
    study = load_study(name, make_storage(None, root / name))
    done = [t for t in study.get_trials() if t.state.name == "COMPLETE" and t.value is not None]
    best = max(done, key=lambda t: t.value)
    states: dict = {}
    for t in study.get_trials():
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    return {"wall": wall, "cpu": cpu, "best_dev_accuracy": best.value, "best_trial": best.number,
            "best_values": best.user_attrs.get("values"), "states": states,
            "doctor": doctor_counts(study.get_trials()),
            "epochs": sum(len(t.intermediate_values) for t in study.get_trials())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    runs: dict = {"none": [], "doctor": []}
    with threadpool_limits(1), tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for prune in runs:
                out = run_study(Path(tmp), f"{prune}-{r}", prune, args.trials, args.epochs)
                runs[prune].append(out)
                print(f"{prune:7s} repeat {r}: best {out['best_dev_accuracy']:.4f} wall {out['wall']:.1f} s "
                      f"cpu {out['cpu']:.1f} s states {out['states']} doctor {out['doctor']}", flush=True)
    summary = {p: {"best_dev_accuracy": rs[0]["best_dev_accuracy"], "best_trial": rs[0]["best_trial"],
                   "wall": median(x["wall"] for x in rs), "cpu": median(x["cpu"] for x in rs),
                   "states": rs[0]["states"], "doctor": rs[0]["doctor"], "epochs": rs[0]["epochs"]}
               for p, rs in runs.items()}
    ratio = {"wall": summary["doctor"]["wall"] / summary["none"]["wall"],
             "cpu": summary["doctor"]["cpu"] / summary["none"]["cpu"]}
    same = abs(summary["doctor"]["best_dev_accuracy"] - summary["none"]["best_dev_accuracy"]) < 1e-12
    result = {"trials": args.trials, "epochs": args.epochs, "repeats": args.repeats, "summary": summary,
              "ratio": ratio, "same_best": same, "target_met": same and ratio["wall"] <= 0.6,
              "space": "lr loguniform(1e-4, 10), init he|large, activation relu|sigmoid, layers 1-6, 64 units",
              "runs": runs, "seconds": time.perf_counter() - started, "machine": machine()}
    save_results("doctor_pruning", result)
    print(f"doctor/none: wall x{ratio['wall']:.2f}, cpu x{ratio['cpu']:.2f}; same best: {same}")


if __name__ == "__main__":
    main()
