"""The security suite's shared fixture: one small trained run directory to copy and tamper with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def base_run(tmp_path_factory) -> tuple[Path, Path]:
    """A small trained run directory (CSV with a numeric and a text column) and its CSV."""
    from tunenet.config import RunConfig
    from tunenet.run import train_run

    d = tmp_path_factory.mktemp("security-base")
    rng = np.random.default_rng(0)
    rows = ["a,b,colour,label"] + [f"{rng.normal():.3f},{rng.normal():.3f},{['red', 'blue'][i % 2]},{'xy'[i % 3 == 0]}"
                                    for i in range(60)]
    csv = d / "train.csv"
    csv.write_text("\n".join(rows) + "\n")
    run = d / "run"
    train_run(RunConfig(data=str(csv), hidden=(4,), epochs=2, seed=0), run, progress=False, report=False)
    return run, csv


