"""Plots render to PNG bytes (and files) from plain data, NaN and all."""

import io
import math

import numpy as np
import pytest
from PIL import Image

from tunenet.diagnose import HealthLog, lr_range_test
from tunenet.nn import mlp
from tunenet.report import (
    confusion_matrix,
    plot_activation_health,
    plot_confusion_matrix,
    plot_gradient_health,
    plot_learning_curves,
    plot_lr_range,
    plot_step_loss,
)
from tunenet.train import History


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as im:
        return im.size


def history(n=8, regression=False):
    rows = [{"epoch": i + 1, "train_loss": 2.0 / (i + 1), "dev_loss": 2.2 / (i + 1) + (0.1 if i > 5 else 0),
             "train_accuracy": math.nan if regression else 0.5 + 0.05 * i,
             "dev_accuracy": math.nan if regression else 0.45 + 0.05 * i, "lr": 1e-3, "time": 0.1}
            for i in range(n)]
    return History(rows, [2.0 / np.sqrt(i + 1) for i in range(50)])


def test_learning_curves_to_bytes_and_file(tmp_path):
    png = plot_learning_curves(history(), tmp_path / "curves.png", smooth_beta=0.6)
    w, h = size(png)
    assert w > 500 and h > 200
    assert (tmp_path / "curves.png").read_bytes() == png
    assert size(plot_learning_curves(history(regression=True)))  # empty accuracy panel, no crash


def test_step_loss_with_nan():
    steps = [3.0, 2.5, float("nan"), 2.0, 1e4]
    assert size(plot_step_loss(steps))[0] > 500


def test_health_plots_from_a_log_and_from_its_dict(digits):
    X, y = digits
    from tunenet.diagnose import HealthMonitor
    from tunenet.optim import make_optimizer
    from tunenet.train import Trainer

    model = mlp(64, [16, 16], 10, activation="tanh", seed=0)
    monitor = HealthMonitor(every=2)
    Trainer(model, make_optimizer("adam", model, 1e-3), epochs=1, batch_size=32, callbacks=[monitor], seed=0,
            threads=1).fit(X[:128], y[:128])
    assert size(plot_gradient_health(monitor.log))[0] > 800
    assert size(plot_activation_health(monitor.to_dict()))[0] > 600


def test_health_plots_survive_missing_values():
    log = HealthLog(every=1, layers=[{"name": "dense0", "activation": "relu", "n_in": 4, "n_out": 3,
                                      "weight": "dense0.W"},
                                     {"name": "dense1", "activation": None, "n_in": 3, "n_out": 2,
                                      "weight": "dense1.W"}],
                    steps=[1, 2], epochs=[1, 1], loss=[1.0, None], lr=[0.1, 0.1], grad_norm=[0.0, None])
    empty = {"grad_norm": [0.0, 0.0], "weight_norm": [1.0, 1.0], "update_ratio": [None, None],
             "act_mean": [None, None], "act_std": [None, None], "dead": [1.0, 1.0], "saturated": [None, None]}
    log.layer_stats = {"dense0": dict(empty), "dense1": dict(empty)}
    assert size(plot_gradient_health(log))
    assert size(plot_activation_health(log))


def test_lr_range_plot(tmp_path, digits):
    X, y = digits
    result = lr_range_test(mlp(64, [16], 10, seed=0), X[:256], y[:256], steps=30, threads=1)
    png = plot_lr_range(result, tmp_path / "lr.png")
    assert size(png)[0] > 500 and (tmp_path / "lr.png").is_file()


def test_confusion_matrix_counts_and_plot():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert confusion_matrix([1, 0], [1, 1]).shape == (2, 2)
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix([0, 1], [0])
    assert size(plot_confusion_matrix(cm, ["cat", "dog", "a long class name"]))[0] > 200
