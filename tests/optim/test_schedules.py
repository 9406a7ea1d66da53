"""Learning-rate schedules: values against their formulas, spec parsing, errors."""

from __future__ import annotations

import math
import pickle

import pytest

from tunenet.errors import ConfigError
from tunenet.optim import (
    SCHEDULES,
    constant,
    cosine,
    exponential,
    inverse_sqrt,
    inverse_sqrt_step,
    inverse_time,
    linear,
    make_schedule,
    piecewise,
    staircase,
)

EPOCHS = range(0, 120)
A0 = 0.2


def linear_formula(t, a0, a_tau, tau):
    return (1 - t / tau) * a0 + (t / tau) * a_tau if t <= tau else a_tau


def torch_cosine(t, eta_max, eta_min, t_max):
    """PyTorch's documented closed form of CosineAnnealingLR (its eta_t for T_cur = t), eta_min after T_max."""
    return eta_min + (eta_max - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2 if t <= t_max else eta_min


def piecewise_formula(t):
    return 0.3 if t < 10 else 0.03 if t < 25 else 0.003


FORMULAS = [  # (schedule, formula with the 0-based epoch or step t)
    (constant(A0), lambda t: A0),
    (inverse_time(A0, decay_rate=0.5), lambda t: A0 / (1 + 0.5 * t)),
    (exponential(A0), lambda t: A0 * 0.95 ** t),
    (exponential(A0, base=0.8), lambda t: A0 * 0.8 ** t),
    (inverse_sqrt(A0, k=2.0), lambda t: A0 * 2.0 / math.sqrt(t + 1)),
    (inverse_sqrt_step(A0, k=0.5), lambda t: A0 * 0.5 / math.sqrt(t + 1)),
    (staircase(A0, factor=0.1, every=7), lambda t: A0 * 0.1 ** math.floor(t / 7)),
    (linear(A0, 2e-3, 50), lambda t: linear_formula(t, A0, 2e-3, 50)),
    (cosine(A0, 90), lambda t: torch_cosine(t, A0, A0 / 1000, 90)),
    (cosine(A0, 50, 2e-3), lambda t: torch_cosine(t, A0, 2e-3, 50)),
    (piecewise([10, 25], [0.3, 0.03, 0.003]), piecewise_formula),
]


@pytest.mark.parametrize("schedule, formula", FORMULAS, ids=[s.name for s, _ in FORMULAS])
def test_schedule_equals_formula(schedule, formula):
    values = [schedule(t) for t in EPOCHS]
    assert values == pytest.approx([formula(t) for t in EPOCHS], rel=1e-14, abs=1e-17)
    assert all(type(v) is float for v in values)
    if schedule.name != "constant":
        assert len(set(values)) > 1


def test_first_epoch_uses_lr0_and_course_epoch_num():
    for schedule, _ in FORMULAS[:-1]:
        assert schedule(0) == schedule.lr0 * schedule.params.get("k", 1.0)
    # the course's k/sqrt(epoch_num) * a0 with epoch_num = epoch + 1
    assert inverse_sqrt(1.0)(3) == pytest.approx(1 / math.sqrt(4))
    # the course's 1/(1 + decay_rate*epoch_num) * a0 is ours one epoch later
    assert inverse_time(1.0, 1.0)(1) == 0.5


def test_staircase_steps_exactly_at_multiples():
    s = staircase(1.0, factor=0.5, every=10)
    assert [s(e) for e in (0, 9, 10, 19, 20, 30)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]


def test_linear_reaches_and_holds_lr_end():
    s = linear(0.1, 1e-3, 50)
    assert s(0) == 0.1 and s(50) == 1e-3 and s(500) == 1e-3
    assert s(25) == pytest.approx(0.0505)


def test_cosine_halves_at_mid_run_and_ends_at_lr_end():
    s = cosine(0.1, 100, 1e-6)
    assert s(0) == 0.1 and s(50) == pytest.approx(0.05, rel=1e-4)
    assert 1e-6 < s(99) < 1e-4 and s(100) == 1e-6 and s(1000) == 1e-6   # epoch 99 is the last of 100 epochs
    values = [s(e) for e in range(101)]
    assert all(a > b for a, b in zip(values, values[1:]))                # strictly decreasing over the run
    assert cosine(0.1, 100)(200) == pytest.approx(1e-4)                  # lr_end: lr0 / 1000 by default
    assert make_schedule("cosine:10", 0.5)(10) == pytest.approx(5e-4)     # ... of the lr0 it is built with


def test_a_cosine_run_longer_than_tau_trains_on():
    import numpy as np

    from tunenet import mlp
    from tunenet.optim import Adam
    from tunenet.train import Trainer

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 2, 64)
    model = mlp(4, [8], 2, seed=0)
    history = Trainer(model, Adam(model, lr=0.01), schedule=cosine(0.01, 3), epochs=5, batch_size=32).fit(X, y)
    assert [row["lr"] for row in history.epochs][3:] == pytest.approx([1e-5, 1e-5])


def test_per_step_flag():
    assert inverse_sqrt_step(0.1).per_step
    assert not any(build(0.1).per_step for build in (constant, exponential, inverse_sqrt, inverse_time))


@pytest.mark.parametrize("spec, expected", [
    (None, constant(0.1)),
    ("constant", constant(0.1)),
    ("none", constant(0.1)),
    ("inverse_time:1.0", inverse_time(0.1, 1.0)),
    ("inverse_time:0.25", inverse_time(0.1, 0.25)),
    ("inverse_time", inverse_time(0.1, 1.0)),
    ("exponential:0.9", exponential(0.1, 0.9)),
    ("exponential", exponential(0.1, 0.95)),
    ("sqrt", inverse_sqrt(0.1)),
    ("sqrt:2", inverse_sqrt(0.1, 2.0)),
    ("inverse_sqrt:2", inverse_sqrt(0.1, 2.0)),
    ("sqrt_step", inverse_sqrt_step(0.1)),
    ("sqrt_step:3", inverse_sqrt_step(0.1, 3.0)),
    ("staircase:0.5:10", staircase(0.1, 0.5, 10)),
    ("staircase:0.1", staircase(0.1, 0.1, 10)),
    (" Staircase : 0.5 : 4 ", staircase(0.1, 0.5, 4)),
    ("linear:1e-4:50", linear(0.1, 1e-4, 50)),
    ("cosine:100", cosine(0.1, 100)),
    ("cosine:100:1e-5", cosine(0.1, 100, 1e-5)),
    ({"name": "cosine", "tau": 30, "lr_end": 1e-4}, cosine(0.1, 30, 1e-4)),
    ("piecewise:10=0.01,20=0.001", piecewise([10, 20], [0.1, 0.01, 0.001])),
    ("piecewise:5=0.05", piecewise([5], [0.1, 0.05])),
    ({"name": "exponential", "base": 0.9}, exponential(0.1, 0.9)),
    ({"name": "staircase", "factor": 0.5, "every": 3}, staircase(0.1, 0.5, 3)),
    ({"name": "linear", "lr_end": 1e-3, "tau": 20}, linear(0.1, 1e-3, 20)),
    ({"name": "sqrt_step"}, inverse_sqrt_step(0.1)),
    ({"name": "piecewise", "boundaries": [10, 20], "values": [0.01, 0.001]}, piecewise([10, 20], [0.1, 0.01, 0.001])),
    ({"name": "piecewise", "boundaries": [10], "values": [0.5, 0.05]}, piecewise([10], [0.5, 0.05])),
])
def test_make_schedule_parses(spec, expected):
    schedule = make_schedule(spec, 0.1)
    assert (schedule.name, schedule.per_step, schedule.params) == (expected.name, expected.per_step, expected.params)
    assert [schedule(t) for t in EPOCHS] == [expected(t) for t in EPOCHS]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_spec_round_trip_and_pickle(name):
    args = {"linear": (1e-3, 30), "cosine": (40, 1e-3), "piecewise": None}.get(name, ())
    schedule = piecewise([3, 8], [0.1, 0.05, 0.01]) if name == "piecewise" else SCHEDULES[name](0.1, *args)
    for clone in (make_schedule(schedule.spec(), schedule.lr0), pickle.loads(pickle.dumps(schedule))):
        assert [clone(t) for t in EPOCHS] == [schedule(t) for t in EPOCHS]
        assert clone.per_step == schedule.per_step
    assert make_schedule(schedule, 0.5) is schedule


@pytest.mark.parametrize("spec, match", [
    ("bogus", "unknown schedule 'bogus'"),
    ("exponential:fast", "base must be"),
    ("exponential:1.5", r"base must be a number in \(0, 1\]"),
    ("exponential:0", "base must be"),
    ("inverse_time:-1", "decay_rate must be"),
    ("sqrt:0", "k must be"),
    ("staircase:0.5:0", "every must be an integer >= 1"),
    ("staircase:0.5:2.5", "every must be an integer"),
    ("staircase:0.5:10:3", "at most 2 parameter"),
    ("constant:0.1", "at most 0 parameter"),
    ("linear:1e-4", "needs parameters lr_end, tau"),
    ("linear:0:50", "lr_end must be"),
    ("cosine", "needs parameters tau"),
    ("cosine:0", "tau must be an integer >= 1"),
    ("cosine:10:0.5", r"lr_end must be a number in \(0, lr0 = 0.1\)"),
    ("cosine:10:0", r"lr_end must be a number in \(0, lr0 = 0.1\)"),
    ("cosine:10:1e-4:3", "at most 2 parameter"),
    ("piecewise", "EPOCH=LR pairs"),
    ("piecewise:10", "EPOCH=LR pairs"),
    ("piecewise:ten=0.1", "EPOCH=LR pairs"),
    ("piecewise:20=0.01,10=0.001", "boundaries must increase"),
    ("piecewise:10=-0.01", "value must be"),
    (42, "expected a string or a dict"),
    ({"base": 0.9}, "needs a 'name'"),
    ({"name": "exponential", "rate": 0.9}, "does not take rate"),
    ({"name": "piecewise", "boundaries": [10]}, "lists 'boundaries' and 'values'"),
    ({"name": "piecewise", "boundaries": [10], "values": [1, 2, 3]}, "one more value than boundaries"),
])
def test_bad_specs_raise(spec, match):
    with pytest.raises(ConfigError, match=match):
        make_schedule(spec, 0.1)


def test_bad_lr0_and_epoch_raise():
    with pytest.raises(ConfigError, match="lr0 must be"):
        make_schedule("exponential", 0.0)
    with pytest.raises(ConfigError, match="counts from 0"):
        exponential(0.1)(-1)
    with pytest.raises(ConfigError, match="step counts from 0"):
        inverse_sqrt_step(0.1)(-1)
