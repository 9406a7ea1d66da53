"""The learning-rate range test: its schedule, its stopping rule, and a suggestion that trains digits well."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from tunenet.diagnose import lr_range_test
from tunenet.diagnose.lr_range import suggest
from tunenet.errors import ConfigError, DataError
from tunenet.nn import mlp
from tunenet.optim import SGD, ewa, make_optimizer
from tunenet.train import Trainer, evaluate


@pytest.fixture(scope="module")
def digits_split():
    """60/20/20 stratified split of digits, standardised on train only."""
    d = load_digits()
    X_rest, X_test, y_rest, y_test = train_test_split(d.data, d.target, test_size=0.2, random_state=0,
                                                      stratify=d.target)
    X_tr, X_dev, y_tr, y_dev = train_test_split(X_rest, y_rest, test_size=0.25, random_state=0, stratify=y_rest)
    scaler = StandardScaler().fit(X_tr)
    return [(scaler.transform(X).astype(np.float32), y) for X, y in ((X_tr, y_tr), (X_dev, y_dev), (X_test, y_test))]


@pytest.mark.parametrize("optimizer, seed", [("adam", 0), ("adam", 1), ("sgd", 0), ("momentum", 0)])
def test_the_suggestion_trains_digits_to_95_percent(digits_split, optimizer, seed):
    """The 'must show': a default training run (mlp [256, 128], batch 64, 30 epochs) at the suggested lr."""
    (X, y), (X_dev, y_dev), (X_test, y_test) = digits_split
    result = lr_range_test(mlp(64, [256, 128], 10, seed=seed), X, y, optimizer=optimizer, seed=seed, threads=1)
    lo, hi = result.search_range
    assert lo < result.suggested < hi <= result.min_lr
    model = mlp(64, [256, 128], 10, seed=seed)
    Trainer(model, make_optimizer(optimizer, model, result.suggested), epochs=30, batch_size=64, seed=seed,
            threads=1).fit(X, y, X_dev, y_dev)
    assert evaluate(model, X_test, y_test)[1] >= 0.95, result.summary()


def test_schedule_smoothing_and_the_model_left_untouched(digits_split):
    (X, y), _, _ = digits_split
    model = mlp(64, [32], 10, seed=0)
    before = model.flat_values.copy()
    result = lr_range_test(model, X, y, lr_min=1e-5, lr_max=1.0, steps=50, beta=0.8, threads=1)
    assert np.array_equal(model.flat_values, before)
    n = len(result.lrs)
    assert np.allclose(result.lrs, 1e-5 * (1e5) ** (np.arange(n) / 49))
    finite = np.isfinite(result.smoothed)
    assert np.allclose(result.smoothed[finite], ewa(result.losses[: finite.sum()], 0.8))  # bias-corrected EWA
    assert result.smoothed[0] == pytest.approx(result.losses[0])
    lrs, losses, suggested, search = result  # unpacks as a tuple
    assert lrs is result.lrs and suggested == result.suggested and search == result.search_range
    d = result.to_dict()
    assert d["settings"]["optimizer"] == "adam" and len(d["losses"]) == n


def test_stops_when_the_loss_explodes(digits_split):
    (X, y), _, _ = digits_split
    result = lr_range_test(mlp(64, [64], 10, seed=0), X, y, lr_min=1e-4, lr_max=1e4, steps=80, optimizer="sgd",
                           threads=1)
    assert result.stopped_early and len(result.lrs) < 80
    last = result.smoothed[-1]
    assert not np.isfinite(last) or last > 4 * np.nanmin(result.smoothed)
    assert result.min_lr < result.lrs[-1]


def test_a_factory_builds_the_optimiser(digits_split):
    (X, y), _, _ = digits_split
    seen = []

    def factory(net, lr):
        seen.append(lr)
        return SGD(net, lr)

    result = lr_range_test(mlp(64, [16], 10, seed=0), X, y, steps=20, optimizer=factory, threads=1)
    assert seen == [1e-6] and result.settings["optimizer"] == "sgd"


def test_suggest_on_a_synthetic_curve():
    lrs = np.logspace(-5, 0, 51)
    curve = 2.0 - np.tanh((np.log10(lrs) + 3) * 1.5)  # falls around 1e-3 ...
    curve[40:] += np.linspace(0, 5, 11) ** 2  # ... and explodes after 1e-1
    suggested, min_lr, steepest, (lo, hi) = suggest(lrs, curve)
    assert min_lr == pytest.approx(lrs[np.argmin(curve)])
    assert suggested == pytest.approx(min_lr / 10)
    assert steepest == pytest.approx(1e-3, rel=0.3)
    assert lo == pytest.approx(suggested / 10) and hi == pytest.approx(min(suggested * 3, min_lr))
    with pytest.raises(DataError, match="at least 3 finite losses"):
        suggest(lrs[:2], curve[:2])


@pytest.mark.parametrize("kwargs, match", [
    ({"lr_min": 1.0, "lr_max": 0.1}, "lr_min"),
    ({"lr_min": 0.0}, "lr_min"),
    ({"lr_max": float("inf")}, "lr_max"),
    ({"steps": 2}, "steps"),
    ({"steps": 10.5}, "steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"optimizer": "adamax"}, "unknown optimizer"),
])
def test_bad_arguments_are_config_errors(kwargs, match):
    X = np.zeros((8, 4), np.float32)
    with pytest.raises(ConfigError, match=match):
        lr_range_test(mlp(4, [3], 2, seed=0), X, np.zeros(8, int), **kwargs)


def test_bad_data_is_a_data_error():
    model = mlp(4, [3], 2, seed=0)
    with pytest.raises(DataError, match="features"):
        lr_range_test(model, np.zeros((8, 5), np.float32), np.zeros(8, int))
    with pytest.raises(DataError, match="same"):
        lr_range_test(model, np.zeros((8, 4), np.float32), np.zeros(7, int))
