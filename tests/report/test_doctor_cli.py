"""`tunenet diagnose`, `tunenet report` and `tunenet lr-find` end to end, through the real command line."""

import json
import re
import shutil

from cli_helpers import tunenet


def test_diagnose_prints_the_findings_and_writes_json(dead_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(dead_run, run)
    (run / "diagnosis.json").unlink()
    result = tunenet("diagnose", run, check=0)
    # off a terminal: one line per finding, its severity in brackets
    assert re.search(r"^\[error\] dead units .*leaky", result.stdout, re.M), result.stdout
    assert f"wrote {run / 'diagnosis.json'}" in result.stdout
    doc = json.loads((run / "diagnosis.json").read_text())
    assert "dead units" in {f["kind"] for f in doc["findings"]}


def test_report_writes_the_html_and_prints_its_path(dead_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(dead_run, run)
    result = tunenet("report", run, check=0)
    assert result.stdout.startswith(f"report: {run / 'report.html'}")
    assert "errors" in result.stdout
    assert "dead units" in (run / "report.html").read_text()
    other = tmp_path / "elsewhere.html"
    assert tunenet("report", run, "-o", other, check=0).stdout.startswith(f"report: {other}")


def test_user_mistakes_exit_2_with_one_line(tmp_path):
    for args, message in ((("diagnose", tmp_path / "missing"), "no such run directory"),
                          (("report", tmp_path), "not a run directory"),
                          (("lr-find", "--lr-min", "1", "--lr-max", "0.1"), "lr_min"),
                          (("lr-find", "--optimizer", "adamax"), "optimizer")):
        result = tunenet(*args, cwd=tmp_path, check=2)
        assert result.stderr.startswith("error: ") and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_lr_find_on_digits_then_train_reaches_95_percent_and_reports(tmp_path):
    """The 'must show' through the CLI: lr-find's suggestion, a default training run, then its report."""
    result = tunenet("lr-find", "--data", "digits", "--plot", tmp_path / "lr.png", cwd=tmp_path, check=0)
    match = re.search(r"suggested learning rate: ([0-9.e+-]+)", result.stdout)
    assert match, result.stdout
    lr = float(match.group(1))
    low, high = map(float, re.search(r"search range for the tuner: \[([^,]+), ([^\]]+)\]", result.stdout).groups())
    assert low < lr < high
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"
    run = tmp_path / "run"
    tunenet("train", "--data", "digits", "--lr", lr, "--run-dir", run, "--quiet", "--threads", "1", check=0)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95, (lr, metrics)
    # a report from a real run: the confusion matrix comes from the model and the run's own dev split
    tunenet("report", run, check=0)
    page = (run / "report.html").read_text()
    assert "dev set," in page and 'alt="confusion matrix on the dev set"' in page


# -- what `tunenet train` prints ----------------------------------------------------------
def test_train_prints_the_doctors_errors_with_advice_that_fits_the_run(tmp_path):
    run = tmp_path / "large"
    result = tunenet("train", "--data", "digits", "--init", "large", "--hidden", "32,32,32,32", "--epochs", "2",
                     "--run-dir", run, "--quiet", "--threads", "1", check=0)
    out = result.stdout
    assert "the doctor found 1 error" in out and "[error] exploding gradients" in out
    assert "--init he" in out
    # high bias is a symptom of the broken network here, not a warning of its own
    assert "[warning] high bias" not in out
    doc = json.loads((run / "diagnosis.json").read_text())
    top = doc["findings"][0]
    assert top["kind"] == "exploding gradients" and top["change"] == {"init": "he"}


def test_a_diverged_train_prints_an_lr_the_range_test_supports(tmp_path):
    result = tunenet("train", "--data", "digits", "--optimizer", "sgd", "--lr", "10", "--epochs", "2",
                     "--run-dir", tmp_path / "run", "--quiet", "--threads", "1", check=2)
    assert "[error] learning rate too high" in result.stdout
    match = re.search(r"lower the learning rate to ([0-9.e-]+), where the lr range test", result.stdout)
    assert match and float(match.group(1)) < 1, result.stdout
    assert result.stderr.startswith("error: training diverged") and len(result.stderr.strip().splitlines()) == 1


def test_human_error_flag_replaces_the_reference_and_is_validated(tmp_path):
    run = tmp_path / "run"
    tunenet("train", "--data", "digits", "--hidden", "4", "--epochs", "2", "--human-error", "0.5",
            "--run-dir", run, "--quiet", "--threads", "1", check=0)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["human_error"] == 0.5 and "reference" not in metrics
    assert metrics["bias_variance"]["reference"] == "human-level"
    result = tunenet("train", "--data", "digits", "--human-error", "2", cwd=tmp_path, check=2)
    assert result.stderr.startswith("error: ") and "human_error" in result.stderr
