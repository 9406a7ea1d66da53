"""Regression through the command line: R2/RMSE/MAE everywhere, the target standardised by default."""

import csv
import json

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, make_regression

from cli_helpers import tunenet
from tunenet.metrics import regression_scores


def write_csv(path, X, y, names):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*names, "target"])
        writer.writerows([*map(float, row), float(t)] for row, t in zip(X, y))
    return path


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    d = load_diabetes(scaled=False)  # the raw target, 25..346
    return write_csv(tmp_path_factory.mktemp("diabetes") / "diabetes.csv", d.data, d.target, d.feature_names)


@pytest.fixture(scope="module")
def diabetes_run(diabetes_csv):
    run_dir = diabetes_csv.parent / "run"
    result = tunenet("train", "--data", diabetes_csv, "--run-dir", run_dir, "--quiet", "--threads", "1",
                     env={"COLUMNS": "80"}, check=0)
    return run_dir, result


def test_train_prints_r2_rmse_mae_and_writes_them_in_target_units(diabetes_run, diabetes_csv, tmp_path):
    run_dir, result = diabetes_run
    header = next(line for line in result.stdout.splitlines() if "split" in line)
    assert all(word in header for word in ("loss", "R²", "RMSE", "MAE")) and "accuracy" not in header
    final = next(line for line in result.stdout.splitlines() if line.startswith("test: R²"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert f"R² {metrics['test_r2']:.4f}" in final and "standardised target" in final  # one line at 80 columns
    assert metrics["target_standardized"] is True
    assert not any(key.endswith("accuracy") for key in metrics)
    for split in ("train", "dev", "test"):
        assert {f"{split}_{k}" for k in ("loss", "r2", "rmse", "mae")} <= set(metrics)
    assert 0.2 < metrics["test_r2"] < 0.8
    # predictions for every row come back in the target's units: their RMSE lies among the splits' RMSEs
    d = load_diabetes(scaled=False)
    features = tmp_path / "features.csv"
    with open(features, "w", newline="") as f:
        csv.writer(f).writerows([d.feature_names, *d.data.tolist()])
    out = tunenet("predict", run_dir, features, check=0).stdout.split()
    assert out[0] == "prediction"
    pred = np.array(out[1:], dtype=float)
    assert 25 < pred.mean() < 346
    rmse = regression_scores(d.target, pred)["rmse"]
    splits = [metrics[f"{s}_rmse"] for s in ("train", "dev", "test")]
    assert min(splits) - 1e-3 <= rmse <= max(splits) + 1e-3


def test_the_standardised_target_removes_the_false_exploding_gradients(diabetes_run, diabetes_csv):
    run_dir, _ = diabetes_run
    raw_dir = diabetes_csv.parent / "raw"
    result = tunenet("train", "--data", diabetes_csv, "--run-dir", raw_dir, "--quiet", "--threads", "1",
                     "--no-standardize-target", check=0)
    assert "1/2 MSE in the target's units" in result.stdout
    raw = json.loads((raw_dir / "metrics.json").read_text())
    assert raw["target_standardized"] is False and raw["train_loss"] > 100  # 1/2 MSE in squared target units
    kinds = lambda d: [f["kind"] for f in json.loads((d / "diagnosis.json").read_text())["findings"]]  # noqa: E731
    assert "exploding gradients" in kinds(raw_dir)
    assert "exploding gradients" not in kinds(run_dir)
    assert json.loads((run_dir / "metrics.json").read_text())["train_loss"] < 1


def test_tune_ranks_regression_trials_by_dev_r2_and_prints_test_scores(tmp_path):
    X, y = make_regression(n_samples=300, n_features=6, noise=5.0, random_state=0)
    data = write_csv(tmp_path / "reg.csv", X, 100 + 50 * y, [f"x{i}" for i in range(6)])
    result = tunenet("tune", "--data", data, "--trials", "2", "--rounds", "1", "--workers", "1", "--epochs", "4",
                     "--quiet", "--root", tmp_path / "studies", "--study", "reg", check=0)
    line = next(line for line in result.stdout.splitlines() if line.startswith("best model"))
    assert "test R²" in line and "RMSE" in line and "MAE" in line and "loss" not in line
    trials = [line for line in result.stdout.splitlines() if line.startswith("trial ")]
    assert len(trials) == 2 and all(" complete dev_r2 " in t for t in trials)  # each value named by its metric
    summary = json.loads((tmp_path / "studies" / "reg" / "summary.json").read_text())
    assert "dev_r2" in summary["best"] and "test_rmse" in summary["best"]["metrics"]
    bad = tunenet("tune", "--data", data, "--trials", "1", "--rounds", "1", "--objective", "dev_accuracy",
                  "--root", tmp_path / "studies", check=2)
    assert bad.stderr.strip().startswith("error: --objective for regression must be one of dev_r2, dev_loss")
    assert len(bad.stderr.strip().splitlines()) == 1
