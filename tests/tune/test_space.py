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


def test_refine_narrows_to_the_top_trials_but_never_below_the_sampling_gap():
    space = SearchSpace({"lr": LogUniform(1e-5, 1.0), "beta": Beta(0.8, 0.999), "units": IntRange(8, 512, True),
                         "keep_prob": Uniform(0.5, 1.0)})
    top = [{"lr": 1e-3, "beta": 0.95, "units": 100, "keep_prob": 0.8},
           {"lr": 1.1e-3, "beta": 0.96, "units": 110, "keep_prob": 0.81}]
    beaten = [{"lr": 9e-4, "beta": 0.94, "units": 90, "keep_prob": 0.79},  # close neighbours, beaten
              {"lr": 1.2e-3, "beta": 0.965, "units": 120, "keep_prob": 0.82}]
    fine = space.refine(top, beaten, n_tried=10)
    for name, old in space.distributions.items():
        new = fine.distributions[name]
        assert old.low <= new.low and new.high <= old.high, name  # no top trial at an edge: inside the old range
        assert all(new.low <= t[name] <= new.high for t in top), name
        assert (new.high - new.low) < (old.high - old.low), name
    lr = fine.distributions["lr"]
    # 10 trials over 5 decades lie half a decade apart: the new range reaches that far either side
    assert math.log10(lr.high / lr.low) >= 2 * 0.5 - 1e-9 and math.log10(lr.high / lr.low) < 1.5
    kp = fine.distributions["keep_prob"]
    assert kp.high - kp.low >= 2 * 0.5 / 10 - 1e-9
    # with more trials the same cluster justifies a narrower range
    finer = space.refine(top, beaten, n_tried=100).distributions["lr"]
    assert math.log10(finer.high / finer.low) < math.log10(lr.high / lr.low)


def test_refine_narrows_no_further_than_the_nearest_beaten_trials():
    space = SearchSpace({"lr": LogUniform(1e-5, 1.0), "keep_prob": Uniform(0.5, 1.0)})
    top = [{"lr": 1e-3, "keep_prob": 0.8}, {"lr": 1.1e-3, "keep_prob": 0.81}]
    beaten = [{"lr": 1e-4, "keep_prob": 0.6}, {"lr": 0.1, "keep_prob": 0.95}, {"lr": 2e-5, "keep_prob": 0.55}]
    fine = space.refine(top, beaten, n_tried=40).distributions
    # nothing was tried between 1e-4 and 1e-3, nor between 1.1e-3 and 0.1: those stay
    assert fine["lr"].low == pytest.approx(1e-4) and fine["lr"].high == pytest.approx(0.1)
    assert fine["keep_prob"].low == pytest.approx(0.6) and fine["keep_prob"].high == pytest.approx(0.95)
    # with no trial tried below the top ones (and the top ones not at the edge) the lower bound stays
    assert space.refine(top, beaten[1:2], n_tried=40).distributions["lr"].low == 1e-5


def test_refine_widens_past_an_edge_the_top_trials_sit_at():
    space = SearchSpace({"lr": LogUniform(1e-4, 1e-2), "keep_prob": Uniform(0.5, 1.0), "layers": IntRange(1, 3),
                         "beta": Beta(0.8, 0.99), "units": IntRange(16, 64, log=True)})
    top = [{"lr": 8e-3, "keep_prob": 0.97, "layers": 3, "beta": 0.985, "units": 16},
           {"lr": 9e-3, "keep_prob": 0.99, "layers": 3, "beta": 0.988, "units": 17},
           {"lr": 1e-2, "keep_prob": 1.0, "layers": 3, "beta": 0.99, "units": 18}]
    beaten = [{"lr": 2e-3, "keep_prob": 0.7, "layers": 1, "beta": 0.9, "units": 40},
              {"lr": 1e-4, "keep_prob": 0.5, "layers": 2, "beta": 0.85, "units": 60}]
    fine = space.refine(top, beaten, n_tried=20).distributions
    # moved up by a quarter of the old two decades, narrowed below
    assert fine["lr"].high == pytest.approx(1e-2 * 10 ** 0.5) and fine["lr"].low > 1e-3
    assert fine["keep_prob"].high == 1.0 and fine["keep_prob"].low > 0.5  # widening stops at keep_prob's limit
    assert fine["layers"].high >= 4 and fine["layers"].low == 2
    assert 0.99 < fine["beta"].high < 1.0 and fine["beta"].low > 0.8
    assert fine["units"].low < 16 and fine["units"].high < 64
    assert RunConfig().replace(keep_prob=fine["keep_prob"].high, beta=fine["beta"].high)  # still valid options


def test_refine_keeps_a_range_the_top_trials_span_and_limits_widening_to_valid_values():
    space = SearchSpace({"lr": LogUniform(1e-4, 1e-1), "keep_prob": Uniform(0.05, 0.2)})
    top = [{"lr": 1.2e-4, "keep_prob": 0.06}, {"lr": 0.09, "keep_prob": 0.05}]
    fine = space.refine(top, [], n_tried=10).distributions
    assert fine["lr"] == LogUniform(1e-4, 1e-1)  # the best trials sit at both ends: nothing is known
    assert 0.0 < fine["keep_prob"].low < 0.05  # widened down, but keep_prob stays above 0


def test_choice_keeps_every_option_that_is_not_clearly_beaten():
    space = SearchSpace({"optimizer": Choice(("adam", "sgd", "rmsprop", "momentum"))})
    top = [{"optimizer": "adam"}, {"optimizer": "adam"}]
    beaten = [{"optimizer": "sgd"}, {"optimizer": "sgd"}, {"optimizer": "rmsprop"}]
    fine = space.refine(top, beaten, n_tried=5).distributions["optimizer"]
    # sgd lost twice; rmsprop only once (one trial may owe its score to its other values); momentum never ran
    assert fine.options == ("adam", "rmsprop", "momentum")


def test_shift_and_rotate_are_searchable_parts_of_the_augment_spec():
    space = SearchSpace.from_dict({"shift": "int(0, 3)", "rotate": "uniform(0, 15)"})
    base = RunConfig(augment="flip,shift:1")
    assert space.config_for({"shift": 2, "rotate": 7.5}, base).augment == "flip,shift:2,rotate:7.5"
    assert space.config_for({"shift": 0, "rotate": 0.0}, base).augment == "flip"
    assert space.config_for({"shift": 0, "rotate": 0.0}, RunConfig()).augment is None
    values = draw(space, 50)
    assert {v["shift"] for v in values} == {0, 1, 2, 3} and all(0 <= v["rotate"] <= 15 for v in values)
