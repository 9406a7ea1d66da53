"""Search spaces: each distribution samples on its scale; parsing; coarse-to-fine shrinking."""

import math

import numpy as np
import optuna
import pytest

from tunenet import ConfigError
from tunenet.config import RunConfig
from tunenet.tune.search import TrialSeededRandomSampler
from tunenet.tune.space import Beta, Choice, IntRange, LogUniform, SearchSpace, Uniform, default_space


def draw(space: SearchSpace, n: int, seed: int = 0) -> list[dict]:
    study = optuna.create_study(sampler=TrialSeededRandomSampler(seed))
    values = []
    for _ in range(n):
        trial = study.ask()
        values.append(space.sample(trial))
        study.tell(trial, 0.0)
    return values


def test_loguniform_puts_an_equal_share_in_each_decade():
    values = np.array([v["lr"] for v in draw(SearchSpace({"lr": LogUniform(1e-4, 1.0)}), 2000)])
    assert values.min() >= 1e-4 and values.max() <= 1.0
    for low in (1e-4, 1e-3, 1e-2, 1e-1):
        share = np.mean((values >= low) & (values < 10 * low))
        assert 0.20 <= share <= 0.30, (low, share)


def test_beta_samples_one_minus_beta_on_a_log_scale():
    values = np.array([v["beta"] for v in draw(SearchSpace({"beta": Beta(0.9, 0.999)}), 2000)])
    assert values.min() >= 0.9 and values.max() <= 0.999
    assert 0.45 <= np.mean(values < 0.99) <= 0.55


def test_int_log_and_choice():
    values = draw(SearchSpace({"units": IntRange(8, 512, log=True), "optimizer": Choice(("adam", "sgd"))}), 1000)
    units = np.array([v["units"] for v in values])
    assert set(units) <= set(range(8, 513)) and units.dtype.kind == "i"
    assert 0.4 <= np.mean(units < 64) <= 0.6  # 64 is the geometric midpoint of 8..512
    assert 0.4 <= np.mean([v["optimizer"] == "adam" for v in values]) <= 0.6


def test_trial_number_alone_fixes_the_values():
    space = default_space()
    assert draw(space, 5, seed=3) == draw(space, 5, seed=3)
    assert draw(space, 5, seed=3) != draw(space, 5, seed=4)
    first = draw(space, 3, seed=3)
    assert first[0] != first[1] != first[2]


@pytest.mark.parametrize("text,expected", [
    ("loguniform(1e-4, 1e-1)", LogUniform(1e-4, 0.1)),
    ("uniform(0.5, 1)", Uniform(0.5, 1.0)),
    ("int(1, 4)", IntRange(1, 4)),
    ("int(32, 512, log=true)", IntRange(32, 512, True)),
    ("choice([adam, momentum])", Choice(("adam", "momentum"))),
    ("beta(0.9, 0.999)", Beta(0.9, 0.999)),
    ({"loguniform": [1e-5, 1e-2]}, LogUniform(1e-5, 1e-2)),
    (["relu", "tanh"], Choice(("relu", "tanh"))),
])
def test_parsing(text, expected):
    space = SearchSpace.from_dict({"lr": text})
    assert space.distributions["lr"] == expected
    assert SearchSpace.from_dict(space.to_dict()).distributions["lr"] == expected


@pytest.mark.parametrize("spec,message", [
    ({"lr": "loguniform(0, 1)"}, "0 < low"),
    ({"lr": "loguniform(1, 0.1)"}, "low must be below high"),
    ({"lr": "normal(0, 1)"}, "not a distribution"),
    ({"beta": "beta(0.9, 1.0)"}, "beta needs"),
    ({"momentum": "uniform(0, 1)"}, "unknown option 'momentum'"),
    ({"units": "int(0.5, 3)"}, "int needs integers"),
])
def test_bad_spaces_name_the_option(spec, message):
    with pytest.raises(ConfigError, match=message):
        SearchSpace.from_dict(spec)


def test_config_for_expands_derived_names():
    space = default_space()
    config = space.config_for({"units": 64, "layers": 3, "decay": 0.1, "beta": 0.95, "lr": 0.01}, RunConfig())
    assert config.hidden == (64, 64, 64)
    assert config.schedule == "inverse_time:0.1"
    assert config.beta == config.beta1 == 0.95
    assert config.lr == 0.01


def test_shrink_stays_inside_the_old_bounds_and_contains_the_best():
    space = SearchSpace({"lr": LogUniform(1e-5, 1.0), "beta": Beta(0.8, 0.999), "units": IntRange(8, 512, True),
                         "keep_prob": Uniform(0.5, 1.0), "optimizer": Choice(("adam", "sgd", "rmsprop"))})
    best = [{"lr": 1e-3, "beta": 0.95, "units": 100, "keep_prob": 0.8, "optimizer": "adam"},
            {"lr": 3e-3, "beta": 0.99, "units": 200, "keep_prob": 0.9, "optimizer": "rmsprop"}]
    fine = space.shrink(best)
    for name, old in space.distributions.items():
        new = fine.distributions[name]
        if isinstance(new, Choice):
            assert set(new.options) == {"adam", "rmsprop"}
            continue
        assert old.low <= new.low and new.high <= old.high, name
        assert all(new.low <= b[name] <= new.high for b in best), name
        assert (new.high - new.low) < (old.high - old.low), name
    lr = fine.distributions["lr"]
    assert math.log10(lr.high / lr.low) < 2.0  # zoomed in on the log scale, not the linear one
