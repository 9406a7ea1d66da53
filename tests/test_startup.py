"""Start-up: what `tunenet --help` and loading digits import (the cost is measured in benchmarks/bench_startup.py)."""

import subprocess
import sys

import numpy as np

HEAVY = {"numpy", "scipy", "sklearn", "pandas", "matplotlib", "numba", "optuna", "yaml", "rich"}


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(','.join(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.strip().splitlines()[-1].split(","))


def test_help_imports_no_heavy_package():
    code = ("import contextlib, io\nfrom tunenet.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as f:\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "assert 'train' in f.getvalue() and 'tune' in f.getvalue()")
    assert not loaded_after(code) & HEAVY
    assert not loaded_after("import tunenet") & HEAVY  # the public names load on first use


def test_public_names_still_resolve():
    import tunenet

    assert callable(tunenet.mlp) and tunenet.Dense.__name__ == "Dense" and "MLPRegressor" in dir(tunenet)


def test_digits_loads_without_scikit_learn_and_equals_its_loader():
    assert "sklearn" not in loaded_after("from tunenet.data import load\nload('digits')")
    from sklearn.datasets import load_digits as sk_load_digits

    from tunenet.data import load

    ours, theirs = load("digits"), sk_load_digits()
    np.testing.assert_array_equal(ours.X, (theirs.data / 16.0).astype(np.float32))
    np.testing.assert_array_equal(ours.y, theirs.target)
    assert ours.feature_names == list(theirs.feature_names) and ours.image_shape == (8, 8)
