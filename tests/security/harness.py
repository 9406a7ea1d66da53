"""The crafted-input suite's harness: cases as data, run through the real CLI under a 2 GiB address space.

A :class:`Case` is a row of a table: an id, a builder that writes the
crafted input into the case's directory and returns the ``tunenet`` argv,
the directory the command may write to (its run or study directory, or
none), and a pattern the ``error:`` line must match. Each test module lists
its cases and calls :func:`check_case` on each; the cases of a module run
together through ``runner.py`` (one interpreter that imports tunenet once
and forks one process per case, so every case is a real ``tunenet.cli.main``
with its own exit status) under ``RLIMIT_AS`` = 2 GiB. Cases marked
``direct`` run as ``python -m tunenet.cli`` in a subprocess of their own
instead, the same limit set in ``preexec_fn``.

Every case must end with: exit status 2, exactly one line on stderr, that
line ``error: ...`` matching the pattern, no traceback anywhere, no file
created or changed anywhere in the suite's directory except under the
case's allowed directory (creating or removing that directory may touch its
parents' mtime), and no marker file (the payloads that would run code create
one). ``HOME``, the data cache and matplotlib's config live inside the
watched directory, so a write there counts too.

To add cases: append ``Case(...)`` rows to a module's ``CASES`` (the modules
are by load path: model files, run directories and checkpoints, data files,
configs / search spaces / study names); ``builders.py`` forges safetensors
files with a recomputed digest, lying ``.npy``/IDX headers and pickle/YAML
payloads; ``ctx.base`` is a small trained run directory to copy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ADDRESS_SPACE = 2 * 2**30
TIMEOUT = 600


def limit_address_space() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@dataclass
class Ctx:
    """What a builder gets: its directory (the command's cwd), the marker path, the shared fixtures."""

    dir: Path
    marker: Path
    base: Path          # a small trained run directory (model, checkpoint, config) to copy and tamper with
    csv: Path           # the small CSV the base run was trained on


@dataclass
class Case:
    id: str
    build: Callable[[Ctx], list]
    expect: str = ""              # regex the error line must match (after "error: ")
    writes: str | None = None     # the directory (relative to the case's) the command may write to
    direct: bool = False          # run as its own `python -m tunenet.cli` subprocess

    def __repr__(self) -> str:
        return self.id


def env_for(root: Path, src: Path) -> dict:
    home = root / "home"
    home.mkdir(exist_ok=True)
    return {**{k: v for k, v in os.environ.items() if not k.startswith("TUNENET_")},
            "HOME": str(home), "TUNENET_CACHE_DIR": str(home / "cache"), "MPLCONFIGDIR": str(home / "mpl"),
            "PYTHONPATH": str(src), "COLUMNS": "200", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def _src() -> Path:
    import tunenet

    return Path(tunenet.__file__).resolve().parent.parent


def run_cases(cases: list[Case], root: Path, base: Path, csv: Path) -> dict[str, dict]:
    """Build every case under ``root/<id>/`` and run them; returns id -> result."""
    env = env_for(root, _src())
    specs, results = [], {}
    for case in cases:
        d = root / case.id
        d.mkdir()
        ctx = Ctx(d, root / f"MARKER-{case.id}", base, csv)
        argv = [str(a) for a in case.build(ctx)]
        specs.append({"id": case.id, "argv": argv, "cwd": str(d), "watch": str(root), "direct": case.direct})
    scratch = root.parent / f"{root.name}-scratch"
    scratch.mkdir()
    forked = [s for s in specs if not s["direct"]]
    if forked:
        (scratch / "cases.json").write_text(json.dumps(forked))
        proc = subprocess.run([sys.executable, str(HERE / "runner.py"), str(scratch / "cases.json"),
                               str(scratch / "results.json")], env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, preexec_fn=limit_address_space, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results.update({r["id"]: r for r in json.loads((scratch / "results.json").read_text())})
    sys.path.insert(0, str(HERE))
    from runner import listing

    for spec in specs:
        if spec["direct"]:
            before = listing(str(root))
            proc = subprocess.run([sys.executable, "-m", "tunenet.cli", *spec["argv"]], cwd=spec["cwd"], env=env,
                                  capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limit_address_space,
                                  stdin=subprocess.DEVNULL)
            results[spec["id"]] = {"id": spec["id"], "status": proc.returncode, "stdout": proc.stdout,
                                   "stderr": proc.stderr, "timed_out": False, "before": before,
                                   "after": listing(str(root))}
    return results


def check_case(case: Case, result: dict, root: Path) -> None:
    """The suite's assertions for one case (see the module docstring)."""
    where = f"case {case.id}: status {result['status']}\nstderr: {result['stderr'][-2000:]}\nstdout: " \
            f"{result['stdout'][-500:]}"
    assert "Traceback" not in result["stderr"] + result["stdout"], where
    assert result["status"] == 2, where
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), where
    assert re.search(case.expect, lines[0][len("error: "):]), f"{where}\nexpected /{case.expect}/"
    allowed = f"{case.id}/{case.writes}" if case.writes else None
    before, after = result["before"], result["after"]
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    # creating (or removing) the allowed directory touches its parents' mtime: that is not a write outside it
    parents = {p for p in changed if allowed and allowed.startswith(p + "/") and p in before and p in after}
    outside = [p for p in changed if p not in parents
               and not (allowed and (p == allowed or p.startswith(allowed + "/")))]
    assert not outside, f"{where}\nwritten outside {allowed or 'nothing'}: {outside[:5]}"
    assert not (root / f"MARKER-{case.id}").exists(), f"{where}\na payload ran code"


def suite(cases: list[Case]):
    """A module's ``results`` fixture (module scope: its cases run together) and its parametrised test."""
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids), "case ids must be unique"

    @pytest.fixture(scope="module")
    def results(base_run, tmp_path_factory):
        root = tmp_path_factory.mktemp("cases")
        return root, run_cases(cases, root, *base_run)

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_case(case, results):
        root, by_id = results
        check_case(case, by_id[case.id], root)

    return results, test_case
