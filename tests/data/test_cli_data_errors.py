"""Through the real CLI (a subprocess): `tunenet datasets`, and bad data files -> one `error: ...` line, status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tunenet.data import dataset_names


def tunenet(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")  # a wide table: one line per dataset
    return subprocess.run([sys.executable, "-m", "tunenet.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_datasets_command_lists_every_dataset_with_shape_and_offline_flag():
    result = tunenet("datasets")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert set(dataset_names()) <= set(lines)
    assert "1,797 x 64" in lines["digits"] and "yes (built in)" in lines["digits"]
    assert "60,000+10,000 x 784" in lines["fashion-mnist"] and "offline" in result.stdout


@pytest.mark.parametrize("name, content, extra, message", [
    ("age.csv", "age,label\n1,a\nabc,b\n3,a\n", [],
     "age.csv, line 3 (header is line 1), column 'age': 'abc' is not a number"),
    ("target.csv", "a,b,y\n1,2,0\n3,4,1\n", ["--target", "label"], "target.csv: no target column 'label'"),
])
def test_bad_data_file_is_one_error_line_and_exit_status_2(tmp_path, name, content, extra, message):
    path = tmp_path / name
    path.write_text(content)
    result = tunenet("train", "--data", str(path), *extra, "--epochs", "1", "--run-dir", str(tmp_path / "run"),
                     "--quiet")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr
