"""Render docs/benchmarks.md from benchmarks/results/*.json (written by run_all.py).

Run: ``python benchmarks/report.py`` (after ``run_all.py``, which calls it).
Every number on the page comes from the result files of the last run.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from common import load_results

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADLINE = ("mlp(784, [256, 128], 10)", 128)
CLOCKS = ("wall", "cpu")
NAMES = {"tunenet": "tunenet", "pytorch": "PyTorch", "sklearn": "scikit-learn"}


def threads_text(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


# -- formatting -------------------------------------------------------------------------------------------------
def secs(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def ratio(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.2f}"


def pct(x: float | None, digits: int = 0) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.{digits}f}%"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def both(values: dict, fmt=ratio) -> str:
    """``wall (CPU)`` of a {"wall": x, "cpu": y} dict."""
    return f"{fmt(values['wall'])} ({fmt(values['cpu'])})"


def verdict(ok: dict[str, bool]) -> str:
    if all(ok.values()):
        return "**met**"
    if not any(ok.values()):
        return "**not met**"
    return "met on " + " and ".join(c if c != "cpu" else "CPU time" for c, v in ok.items() if v) + " only"


# -- sections ---------------------------------------------------------------------------------------------------
def machine_section(run: dict | None, training: dict | None) -> str:
    m = (training or {}).get("machine") or (run or {}).get("machine_start") or {}
    if not m:
        return "No machine description (run the suite first)."
    start = (run or {}).get("machine_start", {}).get("load_average") or m.get("load_average")
    end = (run or {}).get("machine_end", {}).get("load_average") or m.get("load_average_end")
    env = m.get("openblas_env") or {}
    rows = [["CPU", f"{m.get('cpu')}, {m.get('cores')} logical cores ({m.get('available_cores')} available)"],
            ["memory", f"{m.get('memory_gb')} GB"],
            ["load average (1, 5, 15 min)", f"{start} at the start, {end} at the end of the run"],
            ["Python / NumPy", f"{m.get('python')} / {m.get('numpy')}"],
            ["BLAS libraries loaded (NumPy's first, then SciPy's)", "; ".join(m.get("blas") or ["?"])],
            ["PyTorch", str(m.get("torch"))], ["scikit-learn", str(m.get("sklearn"))],
            ["OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE", ", ".join(f"{k}={v}" for k, v in env.items()) or "not set"]]
    return table(["", ""], rows, "ll")


def case_map(training: dict) -> dict:
    return {(c["model"], c["batch"]): c for c in training["cases"]}


def epoch(case: dict, lib: str) -> dict | None:
    return case["epoch_seconds"].get(lib)


def lib_ratio(case: dict, num: str, den: str) -> dict | None:
    a, b = epoch(case, num), epoch(case, den)
    if a is None or b is None:
        return None
    return {c: a[c] / b[c] for c in CLOCKS}


def spread(case: dict, key: str, invert: bool = False, minus_one: bool = False) -> str:
    """The range over repetitions of ``key``'s time / tunenet's (paired within each rotation), wall clock."""
    paired = case.get("paired_over_tunenet", {}).get(key, {}).get("wall")
    if not paired:
        return ""
    values = [1 / v if invert else v for v in paired]
    values = [v - 1 for v in values] if minus_one else values
    fmt = (lambda v: f"{100 * v:+.1f}%") if minus_one else (lambda v: f"{v:.2f}")
    return f" [{fmt(min(values))} to {fmt(max(values))} over {len(values)} repetitions]"


def training_tables(training: dict) -> str:
    out = []
    rows = []
    for case in training["cases"]:
        t, p, s = (epoch(case, k) for k in ("tunenet", "pytorch", "sklearn"))
        pt, st = lib_ratio(case, "tunenet", "pytorch"), lib_ratio(case, "sklearn", "tunenet")
        rows.append([case["model"], str(case["batch"]), pct(case["fraction"]),
                     both(t, secs) if t else "-", both(p, secs) if p else "-", both(s, secs) if s else "n/a",
                     both(pt) if pt else "-", both(st) if st else "n/a"])
    out.append(table(["network", "batch", "epoch timed", "tunenet", "PyTorch", "scikit-learn",
                      "tunenet / PyTorch", "scikit-learn / tunenet"], rows, "lrrrrrrr"))
    return "\n".join(out)


CONTENDERS = ("pytorch", "pytorch fused Adam", "pytorch fused Adam + torch.compile", "jax scan", "sklearn")


def kernels_section(training: dict | None, baseline: dict | None = None) -> str:
    """Issue 19: tunenet's epoch against its matrix-product floor and against every contender, CPU time.

    A case that misses its floor target is explained from the phase profile of the same suite run
    (``bench_baseline``), when that profiled the same network and batch."""
    if not training or not any("floor" in c["epoch_seconds"] for c in training["cases"]):
        return "not run (`python benchmarks/run_all.py --only training`; needs the `bench` extra for JAX/PyTorch)"
    rows, notes = [], []
    for case in training["cases"]:
        e = case["epoch_seconds"]
        if "floor" not in e or "tunenet" not in e:
            continue
        t = e["tunenet"]["cpu"]
        over = t / e["floor"]["cpu"]
        target = case.get("target_over_floor")
        others = {k: e[k]["cpu"] / t for k in CONTENDERS if k in e}
        jax = e.get("jax scan")
        fastest = "yes" if all(v > 1.02 for v in others.values()) else \
            "within 2% of " + ", ".join(k for k, v in others.items() if v <= 1.02) if all(v > 0.98 for v in
                                                                                        others.values()) else "no"
        openblas = e.get("floor OpenBLAS")
        paired = case.get("paired_over_floor", {}).get("tunenet", {}).get("cpu") or [over]
        paired_median = statistics.median(paired)
        spread = f"; paired {min(paired):.2f}-{max(paired):.2f}, median {paired_median:.2f}" if len(paired) > 1 else ""
        rows.append([case["model"], str(case["batch"]), secs(t), f"{over:.2f}"
                     + (f" ({'met' if over <= target else 'missed'}: <= {target}{spread})" if target else ""),
                     f"{t / openblas['cpu']:.2f}" if openblas else "-",
                     *[f"{others[k]:.2f}" if k in others else "-" for k in CONTENDERS],
                     (f"{t / jax['cpu']:.2f}" if jax else "-")
                     + (f" ({'met' if t / jax['cpu'] <= 0.9 else 'missed'}: <= 0.9)" if jax and case.get("headline")
                        else ""),
                     fastest])
        notes += [f"{case['model']} batch {case['batch']}: {n}" for n in case.get("notes", []) if "torch" in n
                  or "JAX" in n]
        layered = e.get("tunenet layer by layer")
        if layered:
            ratios = case.get("paired_over_tunenet", {}).get("tunenet layer by layer", {}).get("cpu") or []
            steps = case["steps_per_epoch"]
            notes.append(f"{case['model']} batch {case['batch']}: the bound step (`nn/step.py`) against the layers' "
                         f"own passes in the same Trainer: {secs(t)} against {secs(layered['cpu'])} per epoch, "
                         f"{(layered['cpu'] - t) / steps * 1e6:.0f} us a step"
                         + (f" (paired: layer by layer / bound {min(ratios):.3f}-{max(ratios):.3f})" if ratios else ""))
        if target and max(over, paired_median) > target:  # a miss, or met by the ratio of medians only
            why = miss_reason(case, (baseline or {}).get("cases", {}).get(f"{case['model']}, batch {case['batch']}"))
            if why:
                notes.append(why)
    text = table(["network", "batch", "tunenet CPU s / epoch", "tunenet / floor", "tunenet / floor OpenBLAS",
                  *[f"{k} / tunenet" for k in CONTENDERS], "tunenet / JAX scan", "tunenet fastest"], rows,
                 "lrrrrrrrrrrr")
    return text + ("\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")


def miss_reason(case: dict, profiled: dict | None) -> str:
    """Where a case's time above its matrix-product floor goes, from the phase profile of the same network."""
    if not profiled or "phases" not in profiled.get("current", {}):
        return ""
    ph, total = profiled["current"]["phases"], profiled["current"]["profiled_cpu"]
    floor, t = case["epoch_seconds"]["floor"]["cpu"], case["epoch_seconds"]["tunenet"]["cpu"]
    products = ph.get("Dense forward", 0.0) + ph.get("Dense backward", 0.0)
    if not products:
        return ""
    others = sorted(((v, k) for k, v in ph.items() if not k.startswith("Dense")), reverse=True)
    parts = ", ".join(f"{k} {secs(v)} ({pct(v / floor)} of the floor)" for v, k in others if v >= 0.005)
    verdict = "misses its target" if t / floor > case["target_over_floor"] else \
        "meets its target only by the ratio of medians, not by the median of the paired repetitions"
    return (f"Why {case['model']} at batch {case['batch']} {verdict} ({t / floor:.2f}x the floor of "
            f"{secs(floor)} against <= {case['target_over_floor']}): in the phase profile of the same run "
            f"({secs(total)} per epoch with the timers), the matrix products take {secs(products)}, "
            f"{products / floor:.2f}x the same products timed alone, and the rest adds {parts}.")


def flops_table(training: dict) -> str:
    rows = []
    for case in training["cases"]:
        g, peak = case["gflops"], case["peak_gflops"]
        t = g.get("tunenet")
        rows.append([case["model"], str(case["batch"]), f"{case['flops_per_step'] / 1e6:.0f}",
                     both(peak, lambda x: f"{x:.0f}"),
                     both(t, lambda x: f"{x:.1f}") if t else "-",
                     both(g["pytorch"], lambda x: f"{x:.1f}") if "pytorch" in g else "-",
                     both(g["sklearn"], lambda x: f"{x:.1f}") if "sklearn" in g else "n/a",
                     both({c: t[c] / peak[c] for c in CLOCKS}, pct) if t else "-"])
    return table(["network", "batch", "MFLOP / step", "sgemm peak GFLOP/s", "tunenet GFLOP/s", "PyTorch GFLOP/s",
                  "scikit-learn GFLOP/s", "tunenet / peak"], rows, "lrrrrrrr")


def tuner_rows(tuner: dict) -> list[list[str]]:
    """Issue 6's two speed targets: parallel trials and the epochs pruning saves."""
    t, p = tuner["throughput"], tuner["pruning"]
    per_min = t["trials_per_minute"]
    rows = [["6", "2 workers: >= 1.8x the trials per minute of 1 worker",
             f"{per_min['2']:.1f} / {per_min['1']:.1f} trials per minute = {t['speedup']:.2f}x",
             "**met**" if t["speedup"] >= 1.8 else "**not met**"]]
    if p["ratio"] is None:
        measured = (f"ASHA never reached random search's best dev accuracy {p['random_best_dev']:.4f} "
                    f"(its best: {p['asha_best_dev']:.4f})")
    else:
        measured = (f"{p['asha_epochs_to_best']} of {p['random_epochs']} epochs = {pct(p['ratio'])} "
                    f"(dev accuracy {p['random_best_dev']:.4f})")
    rows.append(["6", f"ASHA reaches the best dev accuracy of {p['trials']}-trial random search in <= 1/3 of its "
                 f"epochs", measured, "**met**" if p["ratio"] is not None and p["ratio"] <= 1 / 3 else "**not met**"])
    return rows


def tuner_section(tuner: dict) -> str:
    t, p, base = tuner["throughput"], tuner["pruning"], tuner["base"]
    runs = {w: ", ".join(f"{x:.1f}" for x in v) for w, v in t["runs"].items()}
    space = ", ".join(f"{k} {v}" for k, v in tuner["space"].items())
    return "\n".join([
        f"`benchmarks/bench_tuner.py`, through `tunenet.tune.tuner.tune` (real worker processes, journal storage). "
        f"Trials: `digits`, hidden {base['hidden']}, {base['epochs']} epochs, batch {base['batch_size']}; "
        f"searched: {space}.", "",
        f"- **Parallel trials.** The same {t['trials']}-trial study (no pruning; the trial-number-seeded sampler "
        f"draws the same trials whatever the number of workers) with `--workers 1` (its one worker gets every "
        f"core's BLAS thread) and `--workers 2` (one thread each), interleaved, {t['repeats']} times each, "
        f"wall-clock to the last trial's end: {t['trials_per_minute']['1']:.1f} trials per minute with 1 worker "
        f"(runs: {runs['1']}) and {t['trials_per_minute']['2']:.1f} with 2 (runs: {runs['2']}), "
        f"**{t['speedup']:.2f}x**. Small matrix products gain little from a second BLAS thread; a second "
        f"process running another trial uses the second core fully. The time includes starting the worker "
        f"processes (a few seconds, once per study), which weighs more on shorter studies: a 12-trial study of "
        f"these sub-second trials shows a smaller ratio. For wider networks than these, one worker's second BLAS "
        f"thread does speed up its products, and two workers gain less over one.",
        f"- **Pruning.** Plain random search, {p['trials']} trials of {p['epochs_per_trial']} epochs "
        f"({p['random_epochs']} epochs), one worker: best dev accuracy {p['random_best_dev']:.4f}. ASHA "
        f"(`--prune asha`, rungs from an eighth of the epochs, reduction factor 3) on the same {p['trials']} "
        f"trials pruned {p['asha_pruned']} of them and spent {p['asha_epochs_total']} epochs in all "
        f"({pct(p['asha_epochs_total'] / p['random_epochs'])}); "
        + (f"it first reported a dev accuracy of at least {p['random_best_dev']:.4f} after "
           f"**{p['asha_epochs_to_best']} epochs, {pct(p['ratio'])}** of random search's."
           if p["ratio"] is not None else f"it never reached {p['random_best_dev']:.4f} (best "
           f"{p['asha_best_dev']:.4f})."),
    ])


def estimator_rows(est: dict) -> list[list[str]]:
    """Issue 7's targets: accuracy within 0.5 pp of scikit-learn's MLP, fit >= 1.5x faster on Fashion-MNIST."""
    d, f = est["digits"], est["fashion_mnist"]
    pp = {"digits": d["accuracy_difference_pp"], "Fashion-MNIST": f["accuracy_difference_pp_vs_sklearn_float64"]}
    rows = [["7", "`MLPClassifier` with scikit-learn's defaults: accuracy within 0.5 pp of scikit-learn's or better",
             "; ".join(f"{k} {v:+.2f} pp" for k, v in pp.items()),
             "**met**" if all(v >= -0.5 for v in pp.values()) else "**not met**"]]
    for name, label in (("sklearn_float64", "float64 X, scikit-learn's default use"),
                        ("sklearn_float32", "scikit-learn on float32 X, tunenet on float64 X")):
        r = {"wall": f[f"speedup_vs_{name}"], "cpu": f[f"cpu_speedup_vs_{name}"]}
        rows.append(["7", f"Fashion-MNIST fit, same {f['epochs']} epochs, {label}: >= 1.5x faster than scikit-learn",
                     f"scikit-learn / tunenet = {both(r)}", verdict({c: r[c] >= 1.5 for c in CLOCKS})])
    if "speedup_float32_vs_sklearn_float32" in f:  # both estimators given the same float32 X
        r = {"wall": f["speedup_float32_vs_sklearn_float32"], "cpu": f["cpu_speedup_float32_vs_sklearn_float32"]}
        rows.append(["7", f"Fashion-MNIST fit, same {f['epochs']} epochs, float32 X for both: >= 1.5x faster than "
                     "scikit-learn", f"scikit-learn / tunenet = {both(r)}", verdict({c: r[c] >= 1.5 for c in CLOCKS})])
    return rows


def estimator_section(est: dict) -> str:
    d, f = est["digits"], est["fashion_mnist"]
    rows = [[label, f"{f[k]['accuracy_median']:.4f}",
             both({"wall": f[k]["fit_seconds_median"], "cpu": f[k]["fit_cpu_seconds_median"]}, secs),
             "" if k == "tunenet" else both({"wall": f[f"speedup_vs_{k}"], "cpu": f[f"cpu_speedup_vs_{k}"]})]
            for k, label in (("tunenet", "tunenet `MLPClassifier` (float32), float64 X"),
                             ("sklearn_float64", "scikit-learn, float64 X (its default)"),
                             ("sklearn_float32", "scikit-learn, float32 X"))]
    if "tunenet_float32" in f:  # given the same float32 X as scikit-learn: no conversion of X in the fit
        g = f["tunenet_float32"]
        rows.append(["tunenet `MLPClassifier`, float32 X", f"{g['accuracy_median']:.4f}",
                     both({"wall": g["fit_seconds_median"], "cpu": g["fit_cpu_seconds_median"]}, secs),
                     both({"wall": f["speedup_float32_vs_sklearn_float32"],
                           "cpu": f["cpu_speedup_float32_vs_sklearn_float32"]}) + " (scikit-learn float32 X / this)"])
    return "\n".join([
        f"`benchmarks/bench_estimators.py`: `tunenet.MLPClassifier` and `sklearn.neural_network.MLPClassifier` "
        f"with the same settings, scikit-learn's defaults (one hidden layer of 100 ReLU units, Adam at 1e-3, "
        f"alpha 1e-4, batch 200), {threads_text(est['threads'])}. scikit-learn trains in the dtype of X, so it "
        f"is timed on float64 X (what `pixels / 255` gives) and on float32 X. Digits: test accuracy averaged over "
        f"{len(d['tunenet']['accuracy_runs'])} stratified 75/25 splits, tunenet {d['tunenet']['accuracy_mean']:.4f}, "
        f"scikit-learn {d['sklearn']['accuracy_mean']:.4f} ({d['accuracy_difference_pp']:+.2f} pp). "
        f"Fashion-MNIST (60,000 / 10,000, {f['epochs']} epochs each, median of {f['repeats']} interleaved "
        f"repetitions, fit time including input validation):", "",
        table(["candidate", "test accuracy", "fit, wall (CPU)", "scikit-learn / tunenet, wall (CPU)"],
              rows, "lrrr"),
        "", "More on accuracy and where the fit's time goes in [estimators.md](estimators.md).",
    ])


def lbfgs_section(lbfgs: dict | None) -> str:
    """``bench_lbfgs.py``: L-BFGS fit time against scikit-learn's (issue 16)."""
    if not lbfgs:
        return "`benchmarks/bench_lbfgs.py`: not run (no `benchmarks/results/lbfgs.json`)."
    labels = {"breast_cancer": "breast cancer", "digits": "digits", "fashion_mnist": "Fashion-MNIST subset"}
    rows = []
    for name, c in lbfgs["cases"].items():
        t, s = c["tunenet"], c["sklearn"]
        rows.append([f"{labels.get(name, name)} ({c['rows']:,} x {c['features']}, max_iter {c['max_iter']})",
                     f"{t['iterations']} / {s['iterations']}", f"{t['accuracy']:.4f} / {s['accuracy']:.4f}",
                     both({"wall": t["fit_seconds_median"], "cpu": t["fit_cpu_seconds_median"]}, secs),
                     both({"wall": s["fit_seconds_median"], "cpu": s["fit_cpu_seconds_median"]}, secs),
                     both(c["speedup"]), ratio(c["speedup_per_iteration_cpu"])])
    return "\n".join([
        "`benchmarks/bench_lbfgs.py`: `MLPClassifier(solver='lbfgs')`, tunenet's against scikit-learn's, the same "
        "settings (100 ReLU units, alpha 1e-4, tol 1e-4, max_fun 15000), both running scipy's L-BFGS-B in float64, "
        f"{threads_text(lbfgs['threads'])}, median of {lbfgs['repeats']} interleaved fits. They start from "
        "different random weights and so may stop after different numbers of iterations; the last column compares "
        "the CPU time per iteration.", "",
        table(["data", "iterations tunenet / sklearn", "test accuracy tunenet / sklearn", "tunenet fit, wall (CPU)",
               "scikit-learn fit, wall (CPU)", "scikit-learn / tunenet, wall (CPU)", "per iteration (CPU)"],
              rows, "lrrrrrr"),
    ])


def wide_csv_section(wide: dict | None) -> str:
    """``bench_wide_csv.py``: a 100,000-column CSV loaded by tunenet, parsed by pandas and pyarrow (issue 15)."""
    if not wide:
        return "`benchmarks/bench_wide_csv.py`: not run (no `benchmarks/results/wide_csv.json`)."
    what = {"tunenet": "`tunenet.data.load(path)`: parse, column types, encoding, X float32",
            "pandas": "`pandas.read_csv(path)`: parse only", "pyarrow": "`pyarrow.csv.read_csv(path)`: parse only "
            "(tunenet's reader before the vectorised wide path)"}
    r = wide["results"]
    rows = [[what.get(name, name), str(len(v["wall_runs"])), both({"wall": v["wall"], "cpu": v["cpu"]}, secs),
             ratio(v["wall"] / r["tunenet"]["wall"])] for name, v in r.items()]
    return "\n".join([
        f"`benchmarks/bench_wide_csv.py`: a CSV of {wide['columns']:,} columns x {wide['rows']} rows of single "
        f"digits ({wide['bytes'] / 1e6:.1f} MB), one BLAS thread, interleaved. Target (issue 15): tunenet's load "
        f"under {wide['target_seconds']:g} s: **{'met' if wide['met'] else 'not met'}**.", "",
        table(["what", "runs", "median, wall (CPU)", "/ tunenet (wall)"], rows, "lrrr"),
    ])


def doctor_section(doc: dict | None) -> str:
    """``bench_doctor.py``: the doctor on faulty and healthy runs (issue 14)."""
    if not doc:
        return "`benchmarks/bench_doctor.py`: not run (no `benchmarks/results/doctor.json`)."
    s = doc["summary"]
    rows = [["recall (an acceptable finding among the errors and warnings)", pct(s["recall"]), ">= 90%"],
            ["top-1 (the first finding is acceptable)", pct(s["top1"]), ">= 80%"],
            ["false positives on healthy runs", f"{s['false_positives']} of {s['healthy']}", "<= 1 in 10"],
            [f"repair (at most {s['max_repairs']} runs) within 2 points of the healthy run, or rightly short of it",
             pct(s["repair_rate"]), ">= 80%"]]
    return "\n".join([
        f"`benchmarks/bench_doctor.py`: {s['faults']} faulty and {s['healthy']} healthy runs "
        f"({s['faults_that_showed']} faults showed without the doctor), cases in "
        f"`benchmarks/doctor_cases/` ({', '.join(s['datasets'])}); {s['seconds']:.0f} s.", "",
        table(["measure", "measured", "target"], rows, "lrr")])


def doctor_pruning_section(dp: dict | None) -> str:
    """``bench_doctor_pruning.py``: the same study with and without ``--prune doctor`` (issue 14)."""
    if not dp:
        return "`benchmarks/bench_doctor_pruning.py`: not run (no `benchmarks/results/doctor_pruning.json`)."
    s, r = dp["summary"], dp["ratio"]
    rows = [[name, f"{s[name]['best_dev_accuracy']:.4f} (trial #{s[name]['best_trial']})",
             ", ".join(f"{n} {k}" for k, n in s[name]["states"].items()), secs(s[name]["wall"]), secs(s[name]["cpu"])]
            for name in ("none", "doctor")]
    stopped = ", ".join(f"{n} {k}" for k, n in s["doctor"]["doctor"].items()) or "none"
    return "\n".join([
        f"`benchmarks/bench_doctor_pruning.py`: {dp['trials']} trials of {dp['epochs']} epochs on digits over "
        f"{dp['space']}; one worker, one thread, interleaved, medians of {dp['repeats']} runs.", "",
        table(["--prune", "best dev accuracy", "trials", "wall", "CPU"], rows, "llrrr"), "",
        f"The doctor stopped: {stopped}. Doctor / none: wall x{r['wall']:.2f}, CPU x{r['cpu']:.2f}; same best: "
        f"{'yes' if dp['same_best'] else 'no'} (target: the same best in at most 60% of the wall time: "
        f"{'met' if dp['target_met'] else 'not met'})."])


#: why a case's logged history may differ from the baseline's while its weights do not
HISTORY_NOTE = ("their logged train_loss changed, not their training: since 56b5aca it is the data loss the step "
                "computed, where it used to be J less the penalty summed a second time another way, which carried "
                "the difference in rounding between the two sums")


def fingerprint_row(baseline: dict) -> list[str]:
    """Issue 9: same seed, same weights (sha256 of parameters, state, steps); history differences named."""
    prints = baseline.get("fingerprints", {})
    old, new = prints.get("baseline", {}), prints.get("current", {})
    weights = {k: old[k]["sha256"] == new[k]["sha256"] for k in old if k in new}
    # json.dumps compares NaN-aware (regression rows log NaN accuracies)
    history = [k for k in weights if weights[k] and json.dumps(old[k]["history"]) != json.dumps(new[k]["history"])]
    measured = (f"{sum(weights.values())} of {len(weights)} cases bit-identical to {baseline['baseline']} "
                f"(weights, state, per-step record)")
    if history:
        measured += f"; {len(history)} with L2/L1 ({', '.join(history)}): {HISTORY_NOTE}"
    return ["9", "training results unchanged for a fixed seed", measured,
            "**met**" if weights and all(weights.values()) else "**not met**"]


def targets_section(training, memory, data, baseline, engine, tuner=None, estimators=None) -> tuple[str, list[str]]:
    rows, notes = [], []
    if training:
        cases = case_map(training)
        head = cases.get(HEADLINE)
        if head:
            r = lib_ratio(head, "tunenet", "pytorch")
            if r:
                rng = spread(head, "pytorch", invert=True)
                rows.append(["9", "batch 128, mlp(784, [256, 128], 10), Adam: tunenet epoch <= 1/2 of PyTorch's",
                             f"tunenet / PyTorch = {both(r)}{rng}", verdict({c: r[c] <= 0.5 for c in CLOCKS})])
                rows.append(["4", "same case: tunenet at least as fast as PyTorch",
                             f"tunenet / PyTorch = {both(r)}", verdict({c: r[c] <= 1.0 for c in CLOCKS})])
            s = lib_ratio(head, "sklearn", "tunenet")
            if s:
                rows.append(["4", "same case: >= 1.5x faster than scikit-learn",
                             f"scikit-learn / tunenet = {both(s)}{spread(head, 'sklearn')}",
                             verdict({c: s[c] >= 1.5 for c in CLOCKS})])
        for (model, batch), case in cases.items():
            if batch == 1024 and model == HEADLINE[0] and "tunenet" in case["gflops"]:
                g, peak = case["gflops"]["tunenet"], case["peak_gflops"]
                f = {c: g[c] / peak[c] for c in CLOCKS}
                rows.append(["9", f"batch 1024, {model}: training step >= 60% of the measured sgemm peak",
                             f"{both(g, lambda x: f'{x:.0f}')} of {both(peak, lambda x: f'{x:.0f}')} GFLOP/s "
                             f"= {both(f, pct)}", verdict({c: f[c] >= 0.6 for c in CLOCKS})])
        sk = [(k, lib_ratio(c, "sklearn", "tunenet")) for k, c in cases.items() if "sklearn" in c["epoch_seconds"]]
        if sk:
            met = [k for k, r in sk if all(r[c] >= 2 for c in CLOCKS)]
            lo = min(sk, key=lambda kr: kr[1]["wall"])
            hi = max(sk, key=lambda kr: kr[1]["wall"])
            head_sk = lib_ratio(head, "sklearn", "tunenet") if head else None
            rows.append(["9", ">= 2x faster per epoch than scikit-learn (same network and optimiser)",
                         f"batch 128: {both(head_sk) if head_sk else '-'}; all {len(sk)} cases: "
                         f"{lo[1]['wall']:.2f} ({lo[0][0]}, batch {lo[0][1]}) to {hi[1]['wall']:.2f} "
                         f"({hi[0][0]}, batch {hi[0][1]}) wall",
                         f"**met in {len(met)} of {len(sk)} cases**" if met and len(met) < len(sk)
                         else ("**met**" if met else "**not met**")])
        health = head.get("health") if head else None
        if head and health and health.get("default_every"):
            key = f"tunenet + health (every={health['default_every']})"
            with_h = epoch(head, key)
            if with_h:
                base = epoch(head, "tunenet")
                over = {c: with_h[c] / base[c] - 1 for c in CLOCKS}
                measured = f"overhead {both(over, lambda x: f'{100 * x:+.1f}%')}{spread(head, key, minus_one=True)}"
                every1 = epoch(head, "tunenet + health (every=1)")
                if every1:
                    one = {c: (every1[c] / base[c] - 1) / health["default_every"] for c in CLOCKS}
                    measured += (f"; every=1 costs {both({c: every1[c] / base[c] - 1 for c in CLOCKS}, pct)}, "
                                 f"i.e. {both(one, lambda x: f'{100 * x:+.1f}%')} per sampled step of "
                                 f"{health['default_every']}")
                rows.append(["5", f"health monitor (every={health['default_every']}) costs < 5% of training time",
                             measured, verdict({c: over[c] < 0.05 for c in CLOCKS})])
        elif head:
            rows.append(["5", "health monitor costs < 5% of training time", "not measured: "
                         + "; ".join(n for n in head.get("notes", []) if "health" in n), "pending"])
        if head and "mini-batch iteration only" in head["epoch_seconds"]:
            it = epoch(head, "mini-batch iteration only")
            base = epoch(head, "tunenet")
            f = {c: it[c] / base[c] for c in CLOCKS}
            rows.append(["3", "one shuffled mini-batch epoch (batch 128) < 5% of a training epoch",
                         f"{both(it, secs)} = {both(f, lambda x: pct(x, 1))} of the epoch",
                         verdict({c: f[c] < 0.05 for c in CLOCKS})])
    if data:
        s = data.get("summary", {}).get("load_fashion_mnist")
        if s:
            rows.append(["3", "loading Fashion-MNIST from local files < 2 s", both(s, secs),
                         verdict({c: s[c] < 2 for c in CLOCKS})])
    if memory and "engine" in memory:
        target = memory["target_mb"]
        rows.append(["9", f"peak RSS of a Fashion-MNIST training run <= dataset ({memory['dataset_mb']:.1f} MB) "
                     f"+ 300 MB = {target:.1f} MB", f"engine run {memory['engine']['peak_mb']:.1f} MB",
                     "**met**" if memory["engine"]["peak_mb"] <= target else "**not met**"])
        for key in ("cli", "cli_first"):
            cli = memory.get(key, {})
            if "peak_mb" in cli:
                what = cli.get("what", "later runs, which load the kernels from the cache")
                rows.append(["19", f"the same through `tunenet train` (split, standardisation, plots), {what}",
                             f"CLI run {cli['peak_mb']:.1f} MB",
                             "**met**" if cli["peak_mb"] <= target else "**not met** (see Memory)"])
    if baseline:
        rows.append(fingerprint_row(baseline))
    if engine and "pytorch_over_tunenet" in engine:
        r = engine["pytorch_over_tunenet"]
        rows.append(["2", "forward + backward at batch 128 vs PyTorch (reported)",
                     f"PyTorch / tunenet = {both(r)}", "reported"])
    if tuner:
        rows += tuner_rows(tuner)
    if estimators:
        rows += estimator_rows(estimators)
    return table(["issue", "target", "measured (wall (CPU))", "verdict"], rows, "llll"), notes


def bound_section(training: dict, baseline: dict | None, engine: dict | None) -> str:
    """Why the 2x targets are out of reach: the matrix products alone, measured in the profile."""
    if not training or not baseline:
        return ""
    case = baseline["cases"].get("mlp(784, [256, 128], 10), batch 128")
    head = case_map(training).get(HEADLINE)
    if not case or not head or "pytorch" not in head["epoch_seconds"]:
        return ""
    products = ((engine or {}).get("products") or {}).get("gflops", {})
    ph = case["current"]["phases"]
    dense = ph.get("Dense forward", 0) + ph.get("Dense backward", 0)
    adam = ph.get("optimizer (Adam)", 0)
    total = case["current"]["profiled_cpu"]
    if not dense:  # bench_baseline's profiler hooks the layers' methods; the fused kernels bypass them
        return ("The profile below could not time the Dense layers separately: with the fused numba kernels "
                "(issue 19) a Dense layer and its ReLU run as one call that bench_baseline's per-layer hooks do "
                "not see, so their time is inside \"rest\". The floors of issue 19's table (products only) "
                "replace this bound.")
    torch_cpu = head["epoch_seconds"]["pytorch"]["cpu"]
    sk = head["epoch_seconds"].get("sklearn", {}).get("cpu")
    lines = [
        f"In the profile below (batch 128, CPU time per 60,000-sample epoch) the Dense layers' matrix products "
        f"take {secs(dense)} of tunenet's {secs(total)} ({pct(dense / total)}) and Adam {secs(adam)} "
        f"({pct(adam / total)}). PyTorch's epoch took {secs(torch_cpu)} of CPU time in the training benchmark "
        f"(same suite run). Both libraries spend that matrix-product time at the speed of their BLAS"
        + (f": the engine benchmark runs the same float32 products through NumPy at "
           f"{products.get('numpy (OpenBLAS)', {}).get('cpu', float('nan')):.0f} GFLOP/s and through `torch.mm` at "
           f"{products.get('torch.mm (MKL)', {}).get('cpu', float('nan')):.0f} GFLOP/s (CPU time)" if products else "")
        + f". So an engine whose only cost were those products would take {pct(dense / torch_cpu)} of "
        f"PyTorch's time, and one that adds nothing but Adam's update {pct((dense + adam) / torch_cpu)}: "
        + ("the 1/2 target is out of reach for any engine using these matrix products on one thread here."
           if dense / torch_cpu > 0.5 else
           "the 1/2 target is out of reach for an engine that adds Adam to these products on one thread here."
           if (dense + adam) / torch_cpu > 0.5 else
           "the 1/2 target is within reach in principle; the rest of the profile is the remaining overhead."),
    ]
    if sk:
        lines.append(f"Against scikit-learn ({secs(sk)} CPU per epoch, NumPy and the same OpenBLAS), the same floors "
                     f"allow a speed-up of at most {ratio(sk / dense)}x with nothing but the products and "
                     f"{ratio(sk / (dense + adam))}x with Adam; tunenet's remaining "
                     f"{secs(total - dense - adam)} (gather, loss, activations, checks, Python) bring it to the "
                     f"measured ratio.")
    return "\n\n".join(lines)


def profile_section(baseline: dict) -> str:
    out = []
    order = ["Dense forward", "Dense backward", "optimizer (Adam)", "batch gather", "loss", "ReLU forward",
             "ReLU backward", "BatchNorm forward", "BatchNorm backward", "Dropout forward", "Dropout backward",
             "accuracy", "rest (loop, checks, Python)"]
    for name, case in baseline["cases"].items():
        b, c = case["baseline"], case["current"]
        phases = [p for p in order if p in c["phases"] or p in b["phases"]]
        phases += [p for p in c["phases"] if p not in phases]
        rows = []
        for p in phases:
            pb, pc = b["phases"].get(p, 0.0), c["phases"].get(p, 0.0)
            rows.append([p, secs(pb), pct(pb / b["profiled_cpu"]), secs(pc), pct(pc / c["profiled_cpu"]),
                         ratio(pc / pb) if pb else "-"])
        rows.append(["**epoch (profiled)**", secs(b["profiled_cpu"]), "100%", secs(c["profiled_cpu"]), "100%",
                     ratio(c["profiled_cpu"] / b["profiled_cpu"])])
        rows.append(["**epoch (not profiled), wall (CPU)**", both(b, secs), "", both(c, secs), "",
                     both({k: c[k] / b[k] for k in CLOCKS})])
        out.append(f"**{name}** ({case['samples_timed']:,} samples per timed epoch, scaled to 60,000; "
                   f"epoch times: median of {case.get('epochs_timed', baseline['repeats'])} alternating epochs per "
                   f"tree; phases: one profiled epoch per tree)\n")
        out.append(table(["phase", f"before ({baseline['baseline']})", "share", "after", "share", "after / before"],
                         rows, "lrrrrr"))
        out.append("")
    return "\n".join(out)


def findings_section(baseline: dict, changes: dict | None) -> str:
    """What the profile of the engine before this work showed (generated from its phase table)."""
    case = baseline["cases"].get("mlp(784, [256, 128], 10), batch 128")
    if not case:
        return ""
    b = case["baseline"]
    ph, total = b["phases"], b["profiled_cpu"]

    def share(*names):
        return pct(sum(ph.get(n, 0.0) for n in names) / total)

    dense = share("Dense forward", "Dense backward")
    pairs = (changes or {}).get("pairs", {})
    rejected = (changes or {}).get("rejected", {})

    def faster(name):
        r = pairs.get(name, {}).get("ratio")
        return f"{1 / r:.1f}x" if r else "several times"

    blocks = [f"{v['ratio']:.2f}x the time in blocks of {k.split('blocks of ')[1].split(' ')[0]}"
              for k, v in rejected.items() if k.startswith("Adam")]
    return "\n".join([
        f"Profiled at `{baseline['baseline']}` (batch 128, mlp(784, [256, 128], 10), the phase table below; "
        f"cProfile and line_profiler on the same epoch pointed at the same lines), an epoch spent {dense} in the "
        f"Dense layers' matrix products, already single BLAS calls at close to the machine's sgemm speed, "
        f"{share('optimizer (Adam)')} in Adam's update, {share('batch gather')} gathering mini-batches, "
        f"{share('loss')} in the loss, {share('ReLU forward', 'ReLU backward')} in ReLU and "
        f"{share('accuracy', 'rest (loop, checks, Python)')} in the loop, its checks and the accuracy. "
        f"The engine already kept its parameters in one flat buffer, updated them with vectorised in-place "
        f"operations on preallocated arrays, gathered batches into a reused buffer, skipped the first layer's "
        f"`dX` and stayed in float32. What was left:",
        "",
        "- `np.where(y > 0, dout, 0)` in ReLU's backward pass: a slow general-purpose select, far slower than a "
        "multiply by a mask, the more so when the signs are unpredictable (after batch norm);",
        "- `np.maximum(x, 0)`: NumPy's loop for an array and a scalar is not vectorised the way the loop for two "
        f"arrays is, so the maximum against an array of zeros is {faster('ReLU forward')} faster, with the same "
        "result;",
        "- `np.take(X, idx, axis=0, out=...)` with the default `mode='raise'` gathers into a temporary and "
        "copies it (NumPy documents this); `mode='clip'` writes straight into the batch buffer;",
        "- `np.mean(argmax == y)` for the accuracy every step: the Python-level `mean` wrapper costs more than "
        "the work on a 128-row batch;",
        "- a new array for every layer's output and gradient each step (measured below: they cost little, "
        "NumPy's allocator reuses freed memory well at these sizes).",
        "",
        "Adam's update is 12 element-wise passes over all 235,146 parameters; each pass is one NumPy operation, "
        "none can be merged without changing the rounding, and splitting the update into cache-sized blocks was "
        "slower (one Python call per operation and block"
        + (f": {'; '.join(blocks)}" if blocks else "") + "). It stays as it was.",
    ])


def changes_section(changes: dict, changes_big: dict | None) -> str:
    rows = []
    big = (changes_big or {}).get("pairs", {})
    for name, r in changes["pairs"].items():
        b = next((v for k, v in big.items() if k.split(",")[0] == name.split(",")[0]), None)
        rows.append([name, f"{r['before_us']:.1f}", f"{r['after_us']:.1f}", ratio(r["ratio"]),
                     ratio(b["ratio"]) if b else "-", "yes" if r["identical"] and (not b or b["identical"]) else "NO"])
    head = ["operation (one call)", f"before, us (batch {changes['batch']})", "after, us",
            "after / before", f"after / before, batch {changes_big['batch']}" if changes_big else "batch 1024",
            "bit-identical"]
    return table(head, rows, "lrrrrl")


def memory_section(memory: dict) -> str:
    e = memory["engine"]
    rows = [[stage, f"{v['rss']:.1f}", f"{v['peak']:.1f}"] for stage, v in e["stages"].items()]
    out = [f"Dataset: Fashion-MNIST train + test images as float32, {e['shapes'][0]} + {e['shapes'][1]} = "
           f"{memory['dataset_mb']:.1f} MB; target {memory['target_mb']:.1f} MB.", "",
           f"Engine run (load, train one epoch at batch 128, evaluate on the test set): peak RSS "
           f"**{e['peak_mb']:.1f} MB**, of which {e['stages']['imports']['rss']:.0f} MB are the interpreter and "
           f"imports and {e['stages']['loaded']['rss'] - e['stages']['imports']['rss']:.0f} MB the dataset; "
           f"training adds {e['stages']['trained']['peak'] - e['stages']['loaded']['peak']:.1f} MB "
           f"(numba and LLVM loading the kernels, parameters, Adam state, work arrays, one gathered batch).", "",
           table(["engine run, after", "RSS, MB", "peak so far, MB"], rows, "lrr")]
    runs = [memory[key] for key in ("cli_first", "cli") if "peak_mb" in memory.get(key, {})]
    if runs:
        out += ["", f"CLI run (`{runs[0]['command']}`), twice with one empty numba cache: peak RSS "
                + " and ".join(f"**{r['peak_mb']:.1f} MB** in {r.get('what', 'a later run')}" for r in runs)
                + "."]
    libs = memory.get("libraries", {}).get("stages")
    if libs:
        rss = [v["rss"] for v in libs.values()]
        out += ["", f"Of that, the two libraries every run loads (measured alone, same cache): numba and LLVM, "
                f"loading the cached kernels, add **{rss[1] - rss[0]:.0f} MB** to numpy and tunenet's engine "
                f"({rss[0]:.0f} MB); matplotlib, drawing a figure, **{rss[2] - rss[1]:.0f} MB** more."]
    pipe = memory.get("pipeline", {}).get("stages")
    if pipe:
        rows = [[stage, f"{v['rss']:.1f}", f"{v['peak']:.1f}"] for stage, v in pipe.items()]
        out += ["", "Where the CLI's memory goes: its data preparation, stage by stage (the same public functions "
                "`run.prepare_data` calls):", "", table(["pipeline, after", "RSS, MB", "peak so far, MB"], rows, "lrr")]
    return "\n".join(out)


def multithread_section(training: dict) -> str:
    mt = training.get("multithread")
    if not mt:
        return ""
    rows = []
    head = case_map(training).get(HEADLINE)
    for lib in ("tunenet", "pytorch"):
        one = epoch(head, lib) if head else None
        many = epoch(mt, lib)
        if many:
            rows.append([NAMES[lib], both(one, secs) if one else "-", both(many, secs),
                         both({c: many[c] / one[c] for c in CLOCKS}) if one else "-"])
    return (f"The headline case again with {mt['threads']} threads for both libraries "
            f"({mt['steps_timed']} steps timed, scaled to an epoch, {mt['repeats']} repetitions):\n\n"
            + table(["library", threads_text(training["threads"]), threads_text(mt["threads"]), "ratio"], rows,
                    "lrrr"))


def startup_section(startup: dict | None) -> str:
    """``bench_startup.py``: ``tunenet --help`` and ``tunenet train --data digits``, with the breakdown."""
    if not startup:
        return "Not run (`python benchmarks/run_all.py --only startup`)."
    help_, train = startup["help"], startup["train"]
    lines = [f"Fresh interpreters, median of {startup['repeats']} interleaved runs, wall (CPU = the child's user + "
             f"system time); load average {startup['machine'].get('load_average')}.", "",
             table(["command", "wall", "CPU", "target"],
                   [[f"`{startup['commands']['help']}`", secs(help_["wall"]), secs(help_["cpu"]), "<= 0.5 s"],
                    [f"`{startup['commands']['train']}`", secs(train["wall"]), secs(train["cpu"]), "<= 4 s"]],
                   "lrrr"), "",
             "Phases of the same `train` inside one interpreter (medians):", "",
             table(["phase", "wall", "CPU"], [[k, secs(v["wall"]), secs(v["cpu"])]
                                              for k, v in startup["phases"].items()], "lrr"), ""]
    imports = startup["imports"]["train"]
    lines += [f"`python -X importtime` of that `train`: {imports['total_ms'] / 1000:.2f} s of imports (wall), by "
              "package: " + ", ".join(f"{k} {v / 1000:.2f} s" for k, v in list(imports["top_ms"].items())[:8])
              + ".", "",
              f"Heavy packages loaded by `--help`: {', '.join(startup['loaded']['help']) or 'none'}; by `train`: "
              f"{', '.join(startup['loaded']['train'])} (numba imported by training: "
              f"{'yes' if startup.get('numba_imported_by_train') else 'no'})."]
    return "\n".join(lines)


def write_report(path: Path = DOC) -> Path:
    run = load_results("run_all")
    training, memory, data = load_results("training"), load_results("memory"), load_results("data")
    baseline, changes, engine = load_results("baseline"), load_results("changes"), load_results("engine")
    changes_big = load_results("changes_batch1024")
    tuner, estimators = load_results("tuner"), load_results("estimators")
    quick = bool(run and run.get("quick"))
    parts = ["# Benchmarks", "",
             "<!-- generated by benchmarks/report.py from benchmarks/results/*.json; do not edit by hand -->", ""]
    parts += ["Speed and memory of tunenet's NumPy engine next to PyTorch and scikit-learn on the same machine, "
              "in one run. Reproduce with", "", "```", "python benchmarks/run_all.py           # full suite",
              "python benchmarks/run_all.py --quick   # a smoke test, shorter partial epochs", "```", "",
              "(`pip install -e '.[bench]'` for PyTorch). It writes `benchmarks/results/*.json` and then this page "
              "(`python benchmarks/report.py` re-renders it from the results). If `OPENBLAS_CORETYPE` or "
              "`OPENBLAS_L2_SIZE` is set in your environment, NumPy may not use its best kernel: run the suite as "
              "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run_all.py` (the suite warns and "
              "records them under Machine).", "",
              "Also in `benchmarks/`, run on its own: `bench_health.py` (the health monitor's cost on a small "
              "model).", ""]
    if run:
        parts.append(f"This page: `{run['command']}`, started {run['started']}, took "
                     f"{run.get('seconds', float('nan')) / 60:.1f} min"
                     + (" (**quick mode**: short partial epochs, few repetitions)" if quick else "") + ".")
        for rerun in run.get("reruns", []):
            parts.append(f"Rerun since, and shown here from that rerun: {', '.join(rerun['only'])} "
                         f"(`--only`, started {rerun['started']}, took {rerun.get('seconds', float('nan')) / 60:.1f} "
                         "min).")
        failed = [k for k, v in run.get("steps", {}).items() if v["status"]]
        if failed:
            parts.append(f"**Failed benchmarks:** {', '.join(failed)} (their sections are missing or stale).")
        parts.append("")
    parts += ["## Machine", "", machine_section(run, training), ""]
    parts += ["## How it is measured", "",
              "- **Interleaved repetitions.** Every benchmark runs its candidates in turn (A B C, A B C, ...; the "
              "order rotates each repetition) and reports medians and ratios of medians. Two clocks per run: "
              "wall time and the CPU time of the whole process (all its threads). The machine is shared with other "
              "busy processes (see the load average above): with one thread per library, CPU time measures the "
              "work done and is the steadier number; wall time is shown first, CPU time in parentheses.",
              "- **Same work.** 60,000 x 784 float32 inputs (Fashion-MNIST's training images scaled to [0, 1]), "
              "10 classes, softmax cross-entropy, Adam (lr 1e-3, betas 0.9 / 0.999, eps 1e-8), no L2, a fresh "
              "shuffle every epoch, the same BLAS thread count for everyone (1 unless stated). tunenet runs its "
              "real `Trainer` (divergence check, loss and accuracy every step); PyTorch a plain loop "
              "(`randperm`, gather, `zero_grad`, forward, `CrossEntropyLoss`, `backward`, `Adam.step`, loss and "
              "accuracy accumulated) with `torch.set_num_threads`; scikit-learn `MLPClassifier(solver='adam', "
              "alpha=0, batch_size=...)`, one `partial_fit` per epoch (it has no batch norm or dropout).",
              "- **Partial epochs.** Where a full epoch would make the suite too long, a run trains on the first "
              "`fraction x 60,000` samples (a whole number of batches) and its time is scaled to 60,000; the "
              "fraction is in the tables. The headline case (batch 128, mlp(784, [256, 128], 10)) runs full epochs "
              "in the full suite.",
              "- **GFLOP/s** count the matrix products of a step only: per Dense layer (a, b) `2mab` for "
              "`XW`, `2mab` for `X^T dZ`, and `2mab` for `dZ W^T` except in the first layer. The **peak** is "
              "the fastest of two float32 2048 x 2048 products through NumPy, measured in the same rotation.", ""]
    table_text, _ = targets_section(training, memory, data, baseline, engine, tuner, estimators)
    parts += ["## Targets", "", table_text, ""]
    bound = bound_section(training, baseline, engine)
    if bound:
        parts += ["### Why the 2x targets are not reached", "", bound, "",
                  "The element-wise work is now fused in numba kernels (issue 19; see the section on the matrix-"
                  "product floor); the changes and the profile below show where the time goes.", ""]
    pinned = (training or {}).get("machine", {}).get("pinned_core")
    pinning = "" if pinned is None else (f"; the process pinned to core {pinned}, since JAX's XLA flags for one "
                                         "thread leave it running on about 1.8 cores")
    parts += ["## Fused kernels: the epoch against its matrix products (issue 19)", "",
              "CPU seconds per 60,000-sample epoch (medians of the interleaved repetitions, one thread each"
              f"{pinning}). "
              "The floor is the step's matrix products alone, made as tunenet's one-thread Trainer makes them "
              "(`tunenet.blas.matmul`: MKL's GEMM where installed, `benchmarks/contenders.py`); `floor OpenBLAS` is "
              "the same products through NumPy's OpenBLAS, which tunenet used before `tunenet.blas`; "
              "ratios above 1 in the contender columns favour tunenet. Kernels, first-call cost and switches: "
              "`docs/training.md`.", "", kernels_section(training, baseline), ""]
    if training:
        parts += ["## Epoch time", "",
                  f"Seconds per 60,000-sample epoch, median of {training['repeats']} interleaved repetitions, "
                  f"{threads_text(training['threads'])}, wall (CPU). Ratios below 1 in the tunenet / PyTorch "
                  f"column and above 1 in the scikit-learn / tunenet column favour tunenet. "
                  f"Data: {training['data']}.", "",
                  training_tables(training), ""]
        parts += ["## Throughput against the matrix-multiply peak", "", flops_table(training), ""]
        mt = multithread_section(training)
        if mt:
            parts += ["## More threads on a shared machine", "", mt, ""]
            head, multi = case_map(training).get(HEADLINE), training["multithread"]
            slower = head and all(epoch(multi, lib)["wall"] > epoch(head, lib)["wall"]
                                  for lib in ("tunenet", "pytorch") if epoch(multi, lib) and epoch(head, lib))
            if slower:
                parts += ["More threads made both libraries slower in this run. A multi-threaded matrix product "
                          "waits for its slowest thread; while other processes occupy the cores (load average "
                          "above), every product stalls until all its threads are scheduled, for tunenet (OpenBLAS) "
                          "and PyTorch (OpenMP) alike. On a shared machine, train with `--threads 1` (the tuner "
                          "already gives each worker `cores // workers` threads); the trainer's default, every "
                          "available core, pays off only when the cores are otherwise idle.", ""]
    parts += ["## Start-up and fixed costs", "", startup_section(load_results("startup")), ""]
    if tuner:
        parts += ["## The tuner: parallel trials and pruning", "", tuner_section(tuner), ""]
    if estimators:
        parts += ["## The scikit-learn estimator against scikit-learn's MLP", "", estimator_section(estimators), ""]
    parts += ["## L-BFGS against scikit-learn's", "", lbfgs_section(load_results("lbfgs")), ""]
    parts += ["## Loading a wide CSV", "", wide_csv_section(load_results("wide_csv")), ""]
    parts += ["## The doctor on faulty runs", "", doctor_section(load_results("doctor")), ""]
    parts += ["## The doctor as a pruner", "", doctor_pruning_section(load_results("doctor_pruning")), ""]
    if baseline:
        findings = findings_section(baseline, changes)
        if findings:
            parts += ["## What the profile showed", "", findings, ""]
        parts += ["## Profile: where the time goes, before and after", "",
                  f"Phase profile of a tunenet epoch (CPU time, 1 thread, `benchmarks/bench_baseline.py`), the "
                  f"engine at `{baseline['baseline']}` (before this work, imported from its own `src/` next to the "
                  f"current one) against the current tree, in one process, alternating epochs over "
                  f"{baseline.get('instances', 1)} separately built trainers per tree. Each phase counts its own time, "
                  f"not that of the timed calls inside it. In the current tree the fused numba kernels (issue 19) "
                  f"add the biases: its Dense rows are the matrix products alone, its ReLU rows the bias + ReLU "
                  f"and ReLU mask + db kernels, its loss row the bias + softmax cross-entropy kernel (with the "
                  f"accuracy); \"rest\" holds the gradient norm, the divergence checks and the loop.", "",
                  "Whole epochs, before / after (CPU time): " + "; ".join(
                      f"{name}: x{case['speedup']['cpu']:.2f}" for name, case in baseline["cases"].items())
                  + ".", "",
                  profile_section(baseline), ""]
    if changes:
        parts += ["## The engine changes one by one", "",
                  "- **Work arrays.** In training mode and in `backward`, every layer writes its result into an "
                  "array it keeps (`Layer._buffer`, one per shape, so the last partial batch of an epoch has its "
                  "own): `Dense` computes `Z = X W` with `np.matmul(..., out=Z)` and `dX = dZ W^T` likewise; "
                  "activations, dropout and batch norm fill their own arrays; `db` and the batch-norm sums use "
                  "`np.add.reduce(..., out=)`. After the first step, no batch-sized array is allocated by the "
                  "layers (per-feature vectors and the loss's small (m, 10) arrays still are). What `forward("
                  "training=True)` and `backward` return is valid until that layer's next training step: copy it "
                  "to keep it. Inference still returns new arrays. Measured alone (the Dense, Tanh, Sigmoid and "
                  "Dropout rows below), avoiding the allocations buys little: NumPy's allocator reuses freed "
                  "memory well at these sizes.",
                  "- **ReLU**: `max(x, 0)` against a zeros array; backward `dout * (y > 0) + 0` (the `+ 0` turns "
                  "the -0.0 of a negative `dout` times False into +0.0, exactly as `where` gave).",
                  "- **LeakyReLU**: `max(x, slope x)` (equal to `where(x > 0, x, slope x)` for 0 <= slope < 1).",
                  "- **Dropout**: the uniform draws go into a kept array (`Generator.random(out=)`, the same "
                  "stream), the mask is `(u < keep_prob)` written as 0/1 floats and scaled in place.",
                  "- **Batch gather**: `np.take(..., mode='clip')` (indices come from a permutation, always in "
                  "range).",
                  "- **Accuracy**: `count_nonzero(hits) / m`, the same float64 as `mean(hits)`.",
                  "- **Threads**: the trainer's default is now the cores this process may run on "
                  "(`os.sched_getaffinity`), not `os.cpu_count()`; see the thread section for why 1 is the right "
                  "choice on a shared machine.",
                  "",
                  f"`benchmarks/bench_changes.py`: the previous code of each changed method (kept verbatim in a "
                  f"subclass) against the current one on the same arrays, median CPU time per call of "
                  f"{changes['repeats']} interleaved runs; outputs and gradients compared bit for bit.", "",
                  changes_section(changes, changes_big), ""]
        rejected = changes.get("rejected")
        if rejected:
            rows = [[k, f"{v['current_us']:.1f}", f"{v['alternative_us']:.1f}", ratio(v["ratio"]),
                     "yes" if v["identical"] else "no"] for k, v in rejected.items()]
            parts += ["Tried and not adopted (same benchmark, current code against the alternative):", "",
                      table(["alternative", "current, us", "alternative, us", "alternative / current",
                             "bit-identical"], rows, "lrrrl"), ""]
    if memory:
        parts += ["## Memory", "", memory_section(memory), ""]
    if data:
        med = data["median_seconds"]
        parts += ["## Data loading and iteration (issue 3)", "",
                  table(["operation", "median wall"],
                        [["load Fashion-MNIST (train + test, local IDX files)", secs(med.get("load_fashion_mnist"))],
                         ["one shuffled epoch of mini-batches, batch 128", secs(med.get("minibatch_epoch"))],
                         ["Standardizer fit, 60,000 x 784", secs(med.get("standardizer_fit"))],
                         ["Standardizer transform, 60,000 x 784", secs(med.get("standardizer_transform"))],
                         ["augmentation flip, shift 2, rotate 10, noise 0.05, one epoch",
                          secs(med.get("augment_epoch"))]], "lr"), ""]
    if engine:
        ms = engine["ms_per_step"]
        rows = [[NAMES.get(k, k), both(v, lambda x: f"{x:.3f} ms"), both(engine["gflops"][k], lambda x: f"{x:.1f}")]
                for k, v in ms.items()]
        parts += ["## Forward + backward (issue 2)", "",
                  f"mlp(784, [256, 128], 10), batch {engine['batch']}, loss gradient and backward pass, no optimiser "
                  f"step, {threads_text(engine['threads'])}, median of {engine['repeats']}:", "",
                  table(["library", "per step, wall (CPU)", "GFLOP/s"], rows, "lrr"), ""]
    DOC.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(parts).rstrip() + "\n")
    return path


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOC, help=f"the page to write (default: {DOC})")
    print(f"wrote {write_report(parser.parse_args().out)}")
