"""Run directories built by hand (the pipeline's files, written directly) for the report tests."""

import json

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from tunenet.diagnose import HealthMonitor, diagnose_run
from tunenet.nn import Dense, mlp, save
from tunenet.optim import make_optimizer
from tunenet.report import confusion_matrix
from tunenet.train import Trainer, evaluate


def write_run(run_dir, hidden=(32, 32), bias=None, epochs=4, lr=1e-3, every=5):
    """Train on digits with the health monitor and write a run directory like ``tunenet train`` does."""
    d = load_digits()
    X_tr, X_dev, y_tr, y_dev = train_test_split(d.data, d.target, test_size=0.3, random_state=0, stratify=d.target)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_dev = (scaler.transform(X).astype(np.float32) for X in (X_tr, X_dev))
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {"data": "digits", "hidden": list(hidden), "activation": "relu", "init": "he", "optimizer": "adam",
              "lr": lr, "epochs": epochs, "batch_size": 64, "seed": 0}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    model = mlp(64, list(hidden), 10, seed=0)
    if bias is not None:
        for layer in model.layers[:-1]:
            if isinstance(layer, Dense):
                layer.b.value[...] = bias
    monitor = HealthMonitor(every)
    trainer = Trainer(model, make_optimizer("adam", model, lr), epochs=epochs, batch_size=64, callbacks=[monitor],
                      seed=0, threads=1)
    trainer.fit(X_tr, y_tr, X_dev, y_dev)
    trainer.history.save(run_dir)
    monitor.save(run_dir)
    save(model, run_dir / "model.safetensors")
    metrics = {"epochs": trainer.epoch, "steps": trainer.step}
    for split, X, y in (("train", X_tr, y_tr), ("dev", X_dev, y_dev)):
        metrics[f"{split}_loss"], metrics[f"{split}_accuracy"] = evaluate(model, X, y)
    metrics["confusion_matrix"] = {"split": "dev", "classes": [str(c) for c in range(10)],
                                   "matrix": confusion_matrix(y_dev, model.predict(X_dev), 10).tolist()}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return run_dir


@pytest.fixture(scope="session")
def dead_run(tmp_path_factory):
    """A ReLU network with a large negative bias: dead units, high bias; diagnosed."""
    run_dir = write_run(tmp_path_factory.mktemp("runs") / "dead", bias=-5.0)
    diagnose_run(run_dir)
    return run_dir


@pytest.fixture(scope="session")
def healthy_run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("runs") / "healthy")


@pytest.fixture(scope="session")
def regression_run(tmp_path_factory):
    """A regression run written by the pipeline (``train_run``) on a CSV with a target in the hundreds."""
    import csv

    from sklearn.datasets import make_regression

    from tunenet.config import RunConfig
    from tunenet.run import train_run

    root = tmp_path_factory.mktemp("regression")
    X, y = make_regression(n_samples=240, n_features=5, noise=10.0, random_state=0)
    with open(root / "reg.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"x{i}" for i in range(5)] + ["target"])
        writer.writerows([*row, 200 + 3 * t] for row, t in zip(X.tolist(), y.tolist()))
    config = RunConfig(data=str(root / "reg.csv"), hidden=(16,), epochs=8, threads=1, early_stopping=0)
    train_run(config, root / "run", progress=False)
    return root / "run"


@pytest.fixture(scope="session")
def small_study(tmp_path_factory):
    """A finished two-round study on digits (tunenet tune through the CLI, a few short trials)."""
    from cli_helpers import tunenet

    root = tmp_path_factory.mktemp("studies")
    tunenet("tune", "--trials", "6", "--rounds", "2", "--workers", "1", "--epochs", "3", "--hidden", "32",
            "--quiet", "--root", root, "--study", "small", check=0)
    return root / "small"
