"""Each lab runs once per session, with its real settings and seed 0, on first use.

``TUNENET_LAB_SEED=N pytest tests/labs`` checks the same qualitative claims
under another seed.
"""

import os

import pytest

from tunenet.labs import LABS


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory):
    """``lab_run(name) -> (LabResult, out_dir)``, cached for the session."""
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(f"lab-{name}")
            run, _ = LABS[name]
            cache[name] = (run(out, seed=int(os.environ.get("TUNENET_LAB_SEED", "0"))), out)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def rows_by():
    """``rows_by(result, *keys)``: the result's rows keyed by the tuple of ``keys`` (or the single key)."""

    def index(result, *keys):
        return {(tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]): r for r in result.rows}

    return index
