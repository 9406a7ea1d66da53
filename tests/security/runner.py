"""Run many ``tunenet`` command lines, each in its own process, without paying the start-up each time.

    python runner.py CASES.json RESULTS.json

``CASES.json`` is a list of ``{"id", "argv", "cwd", "watch"}``. The runner
imports :mod:`tunenet.cli` and the modules its commands import lazily, once;
then for each case it forks. The child changes to ``cwd``, sends its file
descriptors 1 and 2 to files, and runs ``tunenet.cli.main(argv)`` exactly as
``python -m tunenet.cli`` does (an exception that escapes ``main`` prints
its traceback and exits 1, as the interpreter would); its exit status is the
case's. The parent records the status, stdout, stderr and a listing of the
``watch`` directory (path -> size, mtime) taken before and after.

Resource limits (the suite's 2 GiB address space) are set on this process by
the caller and inherited by every child.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

TIMEOUT = 120.0


def preload() -> None:
    """Import what the commands import lazily, so that each forked child starts warm."""
    import tunenet.cli
    import tunenet.commands.doctor  # noqa: F401
    import tunenet.commands.tuning  # noqa: F401
    import tunenet.predict  # noqa: F401
    import tunenet.run  # noqa: F401
    import tunenet.tune  # noqa: F401

    tunenet.cli.build_parser()
    for name in ("pyarrow.csv", "pyarrow.parquet", "pandas", "rich.console", "rich.table", "optuna"):
        __import__(name)


def listing(root: str) -> dict[str, list[int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            out[os.path.relpath(path, root)] = [st.st_size, st.st_mtime_ns]
    return out


def run_child(case: dict, out_path: str, err_path: str) -> None:
    """In the forked child: never returns."""
    code = 1
    try:
        os.chdir(case["cwd"])
        for fd, path in ((1, out_path), (2, err_path)):
            f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(f, fd)
            os.close(f)
        sys.stdout = os.fdopen(1, "w", closefd=False)
        sys.stderr = os.fdopen(2, "w", closefd=False)
        sys.argv = ["tunenet", *case["argv"]]
        from tunenet.cli import main

        try:
            code = main(case["argv"])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def run_case(case: dict, scratch: str) -> dict:
    out_path = os.path.join(scratch, f"{case['id']}.out")
    err_path = os.path.join(scratch, f"{case['id']}.err")
    before = listing(case["watch"])
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        run_child(case, out_path, err_path)
    status, timed_out = None, False
    while status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(raw)
        elif time.monotonic() - start > TIMEOUT:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            status, timed_out = -9, True
        else:
            time.sleep(0.005)
    with open(out_path, errors="replace") as f:
        stdout = f.read()
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    return {"id": case["id"], "status": status, "stdout": stdout, "stderr": stderr, "timed_out": timed_out,
            "seconds": time.monotonic() - start, "before": before, "after": listing(case["watch"])}


def main() -> None:
    cases_path, results_path = sys.argv[1:3]
    with open(cases_path) as f:
        cases = json.load(f)
    preload()
    scratch = os.path.dirname(os.path.abspath(results_path))
    results = [run_case(case, scratch) for case in cases]
    with open(results_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
