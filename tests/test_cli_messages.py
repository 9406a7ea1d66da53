"""One message per mistake, ``tunenet evaluate``, ``study list`` and the study's objective name, through subprocess."""

import json
import os
import subprocess

import numpy as np
import optuna
import pytest

from cli_helpers import TUNENET, tunenet
from tunenet.tune.study import make_storage

FAST = ["--hidden", "8", "--epochs", "3", "--batch-size", "16", "--quiet"]


def write_csv(path, rows=80, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    lines = ["a,b,colour,y"]
    for i in range(rows):
        a, b = rng.normal(size=2)
        y = f"{3 * a - b:.4f}" if regression else ("yes" if a + b > 0 else "no")
        lines.append(f"{a:.4f},{b:.4f},{'rgb'[i % 3]},{y}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("command", [["predict", "{run}", "{file}"], ["evaluate", "{run}", "{file}"],
                                     ["diagnose", "{run}"], ["report", "{run}"], ["train", "--resume", "{run}"]])
def test_a_missing_run_directory_gets_one_text_from_every_command(tmp_path, command):
    run, file = tmp_path / "no-such-run", write_csv(tmp_path / "new.csv")
    args = [a.format(run=run, file=file) for a in command]
    r = tunenet(*args, check=2)
    assert r.stderr == f"error: {run}: no such run directory (`tunenet train` writes one, under runs/ by default)\n"


def test_diagnose_in_a_log_prints_one_line_per_finding(tmp_path):
    run = tmp_path / "r"
    tunenet("train", "--data", write_csv(tmp_path / "t.csv"), *FAST, "--run-dir", run, check=0)
    findings = json.loads((run / "diagnosis.json").read_text())["findings"]
    out = tunenet("diagnose", run, env={"COLUMNS": "80"}, check=0).stdout.splitlines()
    assert findings and out[0] == f"diagnosis of {run}:"
    for f in findings:  # the whole fix on the finding's line, commands unsplit
        assert any(line.startswith(f"[{f['severity']}] {f['kind']}") and line.endswith(f"Fix: {f['fix']}")
                   for line in out)


def test_evaluate_scores_a_labelled_file(tmp_path):
    train = write_csv(tmp_path / "train.csv")
    tunenet("train", "--data", train, *FAST, "--run-dir", tmp_path / "r", check=0)
    new = write_csv(tmp_path / "new.csv", rows=40, seed=1)
    r = tunenet("evaluate", tmp_path / "r", new, check=0)
    line = r.stdout.strip()
    assert line.startswith(f"{new}: 40 rows; loss ") and ", accuracy " in line
    accuracy = float(line.rsplit(" ", 1)[1])
    # the same number as predict's labels against the file's labels
    predicted = [row.split(",")[0] for row in tunenet("predict", tmp_path / "r", new, check=0).stdout.splitlines()[1:]]
    truth = [row.rsplit(",", 1)[1] for row in new.read_text().splitlines()[1:]]
    assert accuracy == pytest.approx(np.mean([p == t for p, t in zip(predicted, truth)]), abs=1e-4)
    # a file without the label column, and a label never seen in training
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("a,b,colour\n0.1,0.2,r\n")
    r = tunenet("evaluate", tmp_path / "r", unlabelled, check=2)
    assert "no target column 'y'" in r.stderr and len(r.stderr.splitlines()) == 1
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("a,b,colour,y\n0.1,0.2,r,maybe\n")
    r = tunenet("evaluate", tmp_path / "r", unseen, check=2)
    assert "'maybe'" in r.stderr and len(r.stderr.splitlines()) == 1


def test_evaluate_regression_reports_r2_rmse_mae(tmp_path):
    train = write_csv(tmp_path / "train.csv", regression=True)
    tunenet("train", "--data", train, *FAST, "--run-dir", tmp_path / "r", check=0)
    new = write_csv(tmp_path / "new.csv", rows=40, seed=1, regression=True)
    r = tunenet("evaluate", tmp_path / "r", new, check=0)
    scores = dict(part.rsplit(" ", 1) for part in r.stdout.strip().split("; ", 1)[1].split(", "))
    assert set(scores) == {"loss", "R²", "RMSE", "MAE"}
    # RMSE from predict's values
    predicted = np.array([float(v) for v in tunenet("predict", tmp_path / "r", new, check=0).stdout.split()[1:]])
    truth = np.array([float(row.rsplit(",", 1)[1]) for row in new.read_text().splitlines()[1:]])
    assert float(scores["RMSE"]) == pytest.approx(np.sqrt(np.mean((predicted - truth) ** 2)), rel=1e-3)
    assert float(scores["MAE"]) == pytest.approx(np.mean(np.abs(predicted - truth)), rel=1e-3)


def test_study_list_predict_on_a_study_and_the_objective_name(tmp_path):
    r = tunenet("study", "list", "--root", tmp_path / "studies", check=0)
    assert r.stdout == f"no studies in {tmp_path / 'studies'}/; `tunenet tune` creates one\n"
    r = tunenet("tune", "--data", "moons", "--hidden", "8", "--epochs", "2", "--trials", "2", "--rounds", "1",
                "--workers", "1", "--study", "s", "--root", tmp_path / "studies", check=0)
    # not on a terminal: the data read, then one line per trial
    assert r.stdout.startswith("data: moons, 1,000 rows; target y -> classification, 2 classes")
    assert sum(line.startswith("trial ") and " complete dev_accuracy 0." in line for line in r.stdout.splitlines()) == 2
    study_dir = tmp_path / "studies" / "s"
    study = optuna.load_study(study_name="s", storage=make_storage(None, study_dir))
    assert study.metric_names == ["dev_accuracy"]
    best = json.loads((study_dir / "summary.json").read_text())["best"]["trial"]  # the 1-SE rule's pick
    lines = tunenet("study", "list", "--root", tmp_path / "studies", check=0).stdout.splitlines()
    assert lines == [f"s: 2 trials (2 complete); best dev_accuracy {study.trials[best].value:.4f} (trial #{best})"]
    # predict on the study directory points to its best model
    new = tmp_path / "new.csv"
    new.write_text("x0,x1\n0.5,0.2\n")
    r = tunenet("predict", study_dir, new, check=2)
    assert r.stderr.strip() == (f"error: {study_dir}: is a study directory, not a run; its best model is the run "
                                f"directory {study_dir / 'best-model'}")
    assert tunenet("predict", study_dir / "best-model", new, check=0).stdout.startswith("prediction,")


@pytest.mark.parametrize("command", [["study", "show"], ["study", "export"], ["tune", "--resume"], ["dashboard"]])
def test_a_missing_study_is_one_line_and_creates_nothing(tmp_path, command):
    r = tunenet(*command, "nope", cwd=tmp_path, check=2)
    assert r.stderr == ("error: no study 'nope': no studies/nope/journal.log (`tunenet study list --root studies` "
                        "lists the studies there; --storage URL for one in a database)\n")
    assert list(tmp_path.iterdir()) == []


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    data = write_csv(tmp_path / "t.csv", rows=60)
    tunenet("train", "--data", data, *FAST, "--run-dir", tmp_path / "r", check=0)
    read_end, write_end = os.pipe()
    os.close(read_end)  # `tunenet predict ... | head -1`, once head has gone
    try:
        r = subprocess.run([*TUNENET, "predict", str(tmp_path / "r"), str(data)], stdout=write_end,
                           stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)
    assert (r.returncode, r.stderr) == (141, "")  # not "internal error: BrokenPipeError"


def test_a_study_created_for_remote_workers_prints_the_worker_command(tmp_path):
    root = tmp_path / "studies"
    r = tunenet("tune", "--data", "moons", "--workers", "0", "--trials", "2", "--study", "w", "--root", root,
                check=0)
    command = r.stdout.splitlines()[-1]
    assert command == f"tunenet worker --study w --storage {root / 'w' / 'journal.log'} --study-dir {root / 'w'}"
    lines = tunenet("study", "list", "--root", root, check=0).stdout.splitlines()
    assert lines == ["w: 0 trials; no completed trial yet"]
