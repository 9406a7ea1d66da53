"""Repair: the doctor proves its advice by applying it.

:func:`repair` takes a diagnosed run directory and, up to ``max_repairs``
times:

1. picks the top finding (errors, then warnings, by magnitude) whose fix is a
   configuration change (``Finding.changes``, the alternatives from
   :mod:`tunenet.diagnose.advice`, first to last) that has not been tried yet
   and is not of a kind that already failed to move that finding;
2. trains the changed configuration through :func:`tunenet.run.train_run` (the
   one pipeline) in a new run directory beside the old one
   (``RUN_DIR-repair1``, ``-repair2``, ...), which diagnoses it;
3. records the change with the before/after train and dev accuracy and loss,
   and whether it moved the finding it targeted (:func:`moved`): gone, less
   severe, or -- for high bias and high variance -- its gap narrowed by more
   than one standard error of the dev error; for the per-layer ratios
   (vanishing, saturation, dead units, unscaled inputs, learning rate too
   low) its magnitude fell by more than :data:`MOVE_MAGNITUDE`. A change that
   did not move it is undone (the next change starts from the run before it)
   and not repeated in kind (another ``l2`` after an ``l2`` that did
   nothing): the next alternative of another kind is tried instead;
4. continues from the new run while it still has errors or warnings.

A high variance that a regulariser did not move, on a split where the
reference model overfits too and the network's dev error is within two
standard errors of the reference's, is the training set's
size: the repair stops and says so, with the row count ("more data is what
fixes it"); see :func:`_data_bound`.

It stops when the doctor finds no error or warning (repaired), when no
finding's fix can be applied automatically or every one was tried (each says
why: "more data"), or after ``max_repairs`` runs. The sequence is written to ``RUN_DIR/repair.json``
(``{"format": "tunenet-repair", "version": 1, "steps": [...], "outcome", "final_run_dir", "final"}``;
``final_run_dir`` is the last run kept -- not an undone one -- and ``final`` its scores).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .config import RunConfig
from .diagnose import diagnose_run
from .diagnose.bias_variance import REFERENCE_Z, dev_standard_error
from .diagnose.kinds import (
    BIAS,
    DEAD,
    ERROR,
    INPUT_SCALE,
    LR_LOW,
    SATURATION,
    SEVERITIES,
    VANISHING,
    VARIANCE,
    WARNING,
    Finding,
)
from .errors import ConfigError, DivergenceError
from .fileio import atomic_write_text, read_json_object
from .run import read_run_config, train_run

REPAIR_FILE = "repair.json"
REPAIRED, NOTHING_TO_DO, MANUAL, BUDGET = "repaired", "nothing to repair", "cannot repair automatically", "budget"


def _scores(run_dir: Path) -> dict:
    m = read_json_object(run_dir / "metrics.json") or {}
    return {k: m.get(k) for k in ("train_accuracy", "dev_accuracy", "train_loss", "dev_loss")}


def _problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity in (ERROR, WARNING)]


#: a per-layer ratio finding moved when its log-scale magnitude fell by more than this (a quarter decade)
MOVE_MAGNITUDE = 0.25
_RATIO_KINDS = (VANISHING, SATURATION, DEAD, INPUT_SCALE, LR_LOW)


def _gap(kind: str, metrics: dict) -> tuple[float, float] | None:
    """(gap, standard error of the dev error) of a bias or variance finding, from ``metrics.json``."""
    bv = metrics.get("bias_variance") if isinstance(metrics.get("bias_variance"), dict) else None
    if not bv:
        return None
    gap = bv.get("avoidable_bias") if kind == BIAS else bv.get("reducible_variance")
    return (float(gap), float(bv.get("se_dev") or 0.0)) if isinstance(gap, (int, float)) else None


def moved(target: Finding, findings: list[Finding], before: dict, after: dict) -> tuple[bool, str]:
    """Whether a change moved the finding it targeted, and how it was measured (one phrase).

    ``findings`` are the changed run's, ``before``/``after`` the two runs' ``metrics.json``.
    Kinds without a measure of size (divergence, exploding, frozen, overfitting) count as moved
    while the finding is still there: their fixes step along a direction (the lr range test's lr).
    """
    same = next((f for f in _problems(findings) if f.kind == target.kind), None)
    if same is None:
        return True, f"{target.kind}: gone"
    if SEVERITIES.index(same.severity) > SEVERITIES.index(target.severity):
        return True, f"{target.kind}: {target.severity} -> {same.severity}"
    if target.kind in (BIAS, VARIANCE):
        b, a = _gap(target.kind, before), _gap(target.kind, after)
        if b is None or a is None:
            return True, f"not measured: no bias/variance reading for {target.kind}"
        se = max(a[1], b[1])
        what = "avoidable bias" if target.kind == BIAS else "variance"
        text = f"{what} {b[0]:.1%} -> {a[0]:.1%} (1 standard error {se:.1%})"
        return b[0] - a[0] > se, text
    if target.kind in _RATIO_KINDS:
        text = f"magnitude {target.magnitude:.2f} -> {same.magnitude:.2f}"
        return target.magnitude - same.magnitude > MOVE_MAGNITUDE, text
    return True, f"not measured: {target.kind} has no size to compare, still found"


def _kind_of(change: dict) -> frozenset:
    """A change's kind: the options it sets (``{"l2"}``, ``{"activation", "init"}``)."""
    return frozenset(change)


def _next_change(findings: list[Finding], config: RunConfig, tried: list[RunConfig], failed: dict | None = None):
    """(finding, change, new config) for the first problem with an untried change of a kind not failed for it."""
    for f in _problems(findings):
        for change in f.changes or ([f.change] if f.change else []):
            if _kind_of(change) in (failed or {}).get(f.kind, ()):
                continue
            try:
                candidate = config.replace(**change)
            except ConfigError:
                continue
            if candidate not in tried:
                return f, change, candidate
    return None


def _data_bound(target: Finding, metrics: dict) -> str | None:
    """Why a high variance cannot be regularised away, when the reference model shows it (else None).

    Two measurements on the same split: the reference model (logistic regression) overfits too, its
    dev error more than ``REFERENCE_Z`` = 3 standard errors above its train error (too few rows for
    even a linear model), and the network's dev error is within 2 standard errors of the better
    reference's (logistic regression or 5-nearest neighbours): a simple model trained on the same rows
    does as well on new data, so the gap is the training set's size.
    """
    if target.kind != VARIANCE:
        return None
    ref = metrics.get("reference") if isinstance(metrics.get("reference"), dict) else {}
    bv = metrics.get("bias_variance") if isinstance(metrics.get("bias_variance"), dict) else {}
    ref_dev, ref_train, dev, se = ref.get("dev_error"), ref.get("train_error"), bv.get("dev_error"), bv.get("se_dev")
    n_dev = bv.get("n_dev")
    if not all(isinstance(v, (int, float)) for v in (ref_dev, ref_train, dev, se, n_dev)):
        return None
    if ref_dev - ref_train <= REFERENCE_Z * dev_standard_error(ref_dev, int(n_dev)):
        return None  # the reference generalises: the rows suffice for it, so the network's gap is its own
    model, best = ref.get("model", "the reference model"), ref_dev
    knn = ref.get("knn_dev_error")
    if isinstance(knn, (int, float)) and knn < best:
        model, best = "5-nearest neighbours", knn
    if abs(dev - best) > 2 * se:  # clearly worse (its own gap) or clearly better (it learns beyond the reference)
        return None
    n = metrics.get("n_train") or ref.get("n_train")
    rows = f"{n} rows" if n else "its rows"
    return (f"the gap is the training set's size: {rows}; a linear model overfits them too (train error "
            f"{ref_train:.1%}, dev error {ref_dev:.1%}) and {model} trained on them reaches dev error {best:.1%} "
            f"against the network's {dev:.1%} ± {se:.1%}, so regularisation has little to win; more data is what "
            "fixes it")


def _manual(findings: list[Finding], failed: dict) -> str:
    """The outcome when no change is left: each problem with why (its own reason, or what was tried)."""
    def why(f: Finding) -> str:
        if f.kind in failed:
            kinds = ", ".join("+".join(sorted(k)) for k in sorted(failed[f.kind], key=sorted))
            return f"{kinds} did not move it and no other change is left" + (f"; {f.manual}" if f.manual else "")
        return f.manual or "no configuration change left to try"
    return f"{MANUAL} ({'; '.join(f'{f.kind}: {why(f)}' for f in _problems(findings))})"


def repair(run_dir: str | os.PathLike, max_repairs: int = 3, progress=None, report: bool = True) -> dict:
    """Apply the doctor's fixes one by one (see the module docstring); returns the ``repair.json`` document.

    ``report=False`` skips each repair run's ``report.html`` (the benchmark's many runs); the lr range
    test, which the learning-rate fixes rely on, runs regardless.
    """
    if isinstance(max_repairs, bool) or not isinstance(max_repairs, int) or max_repairs < 1:
        raise ConfigError(f"--max-repairs must be a positive number of runs, got {max_repairs!r}")
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    current, findings = run_dir, diagnose_run(run_dir)
    tried, steps, outcome, failed = [config], [], None, {}
    for i in range(1, max_repairs + 1):
        if not _problems(findings):
            outcome = REPAIRED if steps else NOTHING_TO_DO
            break
        pick = _next_change(findings, config, tried, failed)
        if pick is None:
            outcome = _manual(findings, failed)
            break
        previous = config, current, findings  # where a change that does not move its finding is undone to
        finding, change, config = pick
        tried.append(config)
        target = run_dir.with_name(f"{run_dir.name}-repair{i}")
        if progress:
            progress(f"repair {i}: {finding.kind} -> {json.dumps(change)} in {target}")
        before = _scores(current)
        diverged = False
        try:
            train_run(config, target, progress=False, report=report, lr_range=True)
        except DivergenceError:
            diverged = True
        findings = diagnose_run(target) if (target / "history.csv").is_file() or diverged else []
        after_metrics = read_json_object(target / "metrics.json") or {}
        ok, measured = moved(finding, findings, read_json_object(current / "metrics.json") or {}, after_metrics)
        step = {"step": i, "finding": finding.kind, "severity": finding.severity, "evidence": finding.evidence,
                "change": change, "run_dir": str(target), "before": before, "after": _scores(target),
                "diverged": diverged, "moved": ok, "measured": measured,
                "remaining": [f"{f.severity}: {f.kind}" for f in _problems(findings)]}
        steps.append(step)
        current = target
        if not ok:
            failed.setdefault(finding.kind, set()).add(_kind_of(change))
            step["note"] = f"did not move {finding.kind} ({measured}): undone, not repeated in kind"
            why = _data_bound(finding, after_metrics) if any(f.kind == finding.kind for f in _problems(findings)) \
                else None
            config, current, findings = previous
            if why:
                outcome = f"{MANUAL} ({finding.kind}: {why})"
                break
    else:
        if not _problems(findings):
            outcome = REPAIRED
        elif _next_change(findings, config, tried, failed) is None:
            outcome = _manual(findings, failed)
        else:
            outcome = BUDGET
    doc = {"format": "tunenet-repair", "version": 1, "run_dir": str(run_dir), "steps": steps, "outcome": outcome,
           "final_run_dir": str(current), "final": _scores(current)}
    atomic_write_text(run_dir / REPAIR_FILE, json.dumps(doc, indent=2))
    return doc
