"""`tunenet lab NAME` and `tunenet lab --list`, in process and end to end."""

import json
import subprocess
import sys

import pytest

from tunenet.cli import main
from tunenet.labs import LABS


def test_list_names_every_lab(capsys):
    assert main(["lab", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out and LABS[name][1] in out for name in LABS)


@pytest.mark.parametrize("argv, message", [(["lab"], "name a lab"), (["lab", "nope"], "unknown lab 'nope'"),
                                           (["lab", "ewa", "--seed", "-2"], "--seed")])
def test_mistakes_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_lab_command_end_to_end(tmp_path):
    out = tmp_path / "gc"
    proc = subprocess.run([sys.executable, "-m", "tunenet.cli", "lab", "gradcheck", "--out", str(out), "--seed", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "dense1.W" in proc.stdout and "table.json" in proc.stdout
    data = json.loads((out / "table.json").read_text())
    assert data["settings"]["seed"] == 2 and (out / "gradcheck_diffs.png").exists()
