"""Repair: the doctor proves its advice by applying it.

:func:`repair` takes a diagnosed run directory and, up to ``max_repairs``
times:

1. picks the top finding (errors, then warnings, by magnitude) whose fix is a
   configuration change (``Finding.change``, from
   :mod:`tunenet.diagnose.advice`) that has not been tried yet;
2. trains the changed configuration through :func:`tunenet.run.train_run` (the
   one pipeline) in a new run directory beside the old one
   (``RUN_DIR-repair1``, ``-repair2``, ...), which diagnoses it;
3. records the change with the before/after train and dev accuracy and loss,
   and continues from the new run while it still has errors or warnings.

It stops when the doctor finds no error or warning (repaired), when no
finding's fix can be applied automatically (each says why: "more data"), or
after ``max_repairs`` runs. The sequence is written to ``RUN_DIR/repair.json``
(``{"format": "tunenet-repair", "version": 1, "steps": [...], "outcome"}``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .config import RunConfig
from .diagnose import diagnose_run
from .diagnose.kinds import ERROR, WARNING, Finding
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


def _next_change(findings: list[Finding], config: RunConfig, tried: list[RunConfig]):
    """(finding, change, new config) for the first problem whose change gives an untried configuration."""
    for f in _problems(findings):
        if not f.change:
            continue
        try:
            candidate = config.replace(**f.change)
        except ConfigError:
            continue
        if candidate not in tried:
            return f, f.change, candidate
    return None


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
    tried, steps, outcome = [config], [], None
    for i in range(1, max_repairs + 1):
        if not _problems(findings):
            outcome = REPAIRED if steps else NOTHING_TO_DO
            break
        pick = _next_change(findings, config, tried)
        if pick is None:
            reasons = "; ".join(f"{f.kind}: {f.manual or 'no configuration change left to try'}"
                                for f in _problems(findings))
            outcome = f"{MANUAL} ({reasons})"
            break
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
        steps.append({"step": i, "finding": finding.kind, "severity": finding.severity, "evidence": finding.evidence,
                      "change": change, "run_dir": str(target), "before": before, "after": _scores(target),
                      "diverged": diverged,
                      "remaining": [f"{f.severity}: {f.kind}" for f in _problems(findings)]})
        current = target
    else:
        outcome = REPAIRED if not _problems(findings) else BUDGET
    doc = {"format": "tunenet-repair", "version": 1, "run_dir": str(run_dir), "steps": steps, "outcome": outcome,
           "final_run_dir": str(current)}
    atomic_write_text(run_dir / REPAIR_FILE, json.dumps(doc, indent=2))
    return doc
