"""The tuner's speed: trials per minute with 1 and 2 workers, and the epochs pruning saves.

Run: ``python benchmarks/bench_tuner.py`` (``--quick`` for a smoke test); writes
``benchmarks/results/tuner.json``. Everything goes through ``tunenet.tune.tuner.tune``,
the function behind ``tunenet tune``, with real worker processes and the default
journal storage in a temporary directory.

- **Parallel trials.** The same study (``--trials`` trials of a 2-layer network on
  ``digits``, no pruning) run with ``--workers 1`` and ``--workers 2``, interleaved,
  ``--repeats`` times each. The trial-number-seeded sampler makes both draw the same
  trials, so both do the same work. The tuner gives each worker ``cores // workers``
  BLAS threads: the one-worker study uses every core for its products, exactly
  what a user gets from ``--workers 1``. Time is wall-clock from the call to the
  last trial's end (no final evaluation or report). Target (issue 6): 2 workers
  at least 1.8x the trials per minute of 1.
- **Pruning.** Plain random search (``--prune none``), 40 trials of
  ``--epochs`` epochs each, one worker, gives the best dev accuracy B and spends
  40 x epochs epochs. Then ASHA (``--prune asha``) on the same 40 trials (the
  same seed draws the same configurations, trained identically until pruned):
  the epochs it spends, in the order it runs them, until some trial reports a
  dev accuracy of at least B. Target (issue 6): a third or less of random
  search's epochs. One worker, so that the order and the pruning decisions are
  deterministic.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from common import available_cores, machine, median, save_results

from tunenet.config import RunConfig
from tunenet.tune.space import SearchSpace
from tunenet.tune.study import load_study, make_storage
from tunenet.tune.tuner import tune

#: the searched space of both parts: a wide learning rate, width and dropout, so many trials are poor
SPACE = {"lr": "loguniform(1e-4, 1.0)", "units": "int(32, 256, log=true)", "keep_prob": "uniform(0.5, 1.0)"}


def run_study(root: Path, name: str, base: RunConfig, trials: int, workers: int, prune: str):
    """Run one study quietly; (wall seconds, its trials in number order)."""
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        tune(base, SearchSpace.from_dict(SPACE), trials=trials, rounds=1, workers=workers, prune=prune, seed=0,
             study_name=name, root=root, live=False, finalize_study=False)
    wall = time.perf_counter() - t0
    study = load_study(name, make_storage(None, root / name))
    return wall, sorted(study.get_trials(), key=lambda t: t.number)


def throughput(root: Path, base: RunConfig, trials: int, repeats: int) -> dict:
    runs: dict[int, list[float]] = {1: [], 2: []}
    for rep in range(repeats):
        for workers in ((1, 2) if rep % 2 == 0 else (2, 1)):
            wall, done = run_study(root, f"throughput-w{workers}-{rep}", base, trials, workers, "none")
            finished = sum(t.state.name == "COMPLETE" for t in done)
            runs[workers].append(finished / wall * 60)
            print(f"  {workers} worker(s), repetition {rep + 1}: {finished} trials in {wall:.1f} s "
                  f"= {runs[workers][-1]:.1f} trials/min", flush=True)
    per_min = {w: median(v) for w, v in runs.items()}
    return {"trials": trials, "repeats": repeats, "trials_per_minute": per_min,
            "runs": {str(w): v for w, v in runs.items()}, "speedup": per_min[2] / per_min[1]}


def epochs_until(trials, target: float) -> int | None:
    """Epochs spent, trial after trial, until a reported dev accuracy reaches ``target`` (None: never)."""
    spent = 0
    for t in trials:
        for step, value in sorted(t.intermediate_values.items()):
            if value >= target:
                return spent + step
        spent += len(t.intermediate_values)
    return None


def pruning(root: Path, base: RunConfig, trials: int) -> dict:
    _, plain = run_study(root, "random-search", base, trials, 1, "none")
    _, asha = run_study(root, "asha", base, trials, 1, "asha")
    best = max(t.value for t in plain if t.value is not None)
    plain_epochs = sum(len(t.intermediate_values) for t in plain)
    asha_total = sum(len(t.intermediate_values) for t in asha)
    reached = epochs_until(asha, best)
    asha_best = max(max(t.intermediate_values.values()) for t in asha if t.intermediate_values)
    return {"trials": trials, "epochs_per_trial": base.epochs, "random_best_dev": best,
            "random_epochs": plain_epochs, "asha_epochs_total": asha_total, "asha_epochs_to_best": reached,
            "asha_best_dev": asha_best, "asha_pruned": sum(t.state.name == "PRUNED" for t in asha),
            "ratio": None if reached is None else reached / plain_epochs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter trials (a smoke test)")
    parser.add_argument("--trials", type=int, default=36, help="trials per throughput study")
    parser.add_argument("--repeats", type=int, default=3, help="throughput studies per worker count")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per trial")
    args = parser.parse_args()
    trials, repeats, epochs, search = (4, 1, 5, 12) if args.quick else (args.trials, args.repeats, args.epochs, 40)
    base = RunConfig(data="digits", hidden=(128, 128), epochs=epochs, batch_size=32)
    result = {"machine": machine(), "cores": available_cores(), "data": "digits", "quick": args.quick,
              "base": {"hidden": list(base.hidden), "epochs": epochs, "batch_size": base.batch_size}, "space": SPACE}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"throughput: {trials} trials, 1 vs 2 workers, {repeats} repetitions", flush=True)
        result["throughput"] = throughput(Path(tmp), base, trials, repeats)
        print(f"pruning: {search} trials, random search vs ASHA", flush=True)
        result["pruning"] = pruning(Path(tmp), base, search)
    p = result["pruning"]
    print(f"2 workers / 1 worker: {result['throughput']['speedup']:.2f}x trials per minute")
    print(f"random search best dev {p['random_best_dev']:.4f} in {p['random_epochs']} epochs; ASHA reached it after "
          f"{p['asha_epochs_to_best']} epochs ({p['asha_epochs_total']} for all {search} trials)")
    print(f"wrote {save_results('tuner', result)}")


if __name__ == "__main__":
    main()
