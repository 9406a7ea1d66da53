"""Core counts respect the process's CPU affinity (taskset, cpusets), not the machine's CPU count."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tunenet import cores
from tunenet.cores import available_cores

SRC = Path(cores.__file__).resolve().parent


def test_counts_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert available_cores() == 1


def test_falls_back_to_cpu_count_without_affinity(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert available_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert available_cores() == 1


@pytest.mark.skipif(shutil.which("taskset") is None or not hasattr(os, "sched_getaffinity"),
                    reason="needs Linux taskset")
def test_taskset_one_core_gives_one():
    code = "from tunenet.cores import available_cores; print(available_cores())"
    proc = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"


def test_no_module_counts_cores_with_cpu_count():
    """tune, lr-find, the estimators and the trainer all size work by available_cores()."""
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if p.name != "cores.py" and re.search(r"cpu_count\(", p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_tuner_and_estimators_use_the_helper(monkeypatch):
    from tunenet.estimators import base
    from tunenet.tune import tuner

    assert tuner.available_cores is available_cores and base.available_cores is available_cores
