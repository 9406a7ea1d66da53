"""Running the real ``tunenet`` command line in a subprocess."""

import os
import subprocess
import sys
import time

TUNENET = [sys.executable, "-m", "tunenet.cli"]


def tunenet(*args, cwd=None, timeout=600, check=None, env=None):
    """Run ``tunenet ARGS``; returns the CompletedProcess (``check``: expected exit status)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    result = subprocess.run([*TUNENET, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)
    if check is not None:
        assert result.returncode == check, (result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    return result


def popen(*args, cwd=None, env=None):
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.Popen([*TUNENET, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=full_env, stdin=subprocess.DEVNULL)


def wait_for(predicate, timeout, interval=0.05):
    """Poll ``predicate()`` until it returns something truthy (returned) or ``timeout`` seconds pass (fail)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
