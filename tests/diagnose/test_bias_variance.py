"""Bias / variance: the course's examples, the recipe as next steps, bad input."""

import json

import numpy as np
import pytest

from tunenet.diagnose import bias_variance
from tunenet.diagnose.bias_variance import BOTH, FINE, HIGH_BIAS, HIGH_VARIANCE, MISMATCH
from tunenet.errors import ConfigError


@pytest.mark.parametrize("train, dev, human, verdict", [
    (0.01, 0.11, None, HIGH_VARIANCE),   # the course: 1% / 11%
    (0.15, 0.16, None, HIGH_BIAS),       # 15% / 16%
    (0.15, 0.30, None, BOTH),            # 15% / 30%
    (0.005, 0.01, None, FINE),           # 0.5% / 1%
    (0.15, 0.16, 0.14, FINE),            # the same errors are fine against a 14% human level
    (0.08, 0.10, 0.075, FINE),           # gaps of exactly 2 points are not above the threshold
    (0.08, 0.16, 0.075, HIGH_VARIANCE),
])
def test_verdicts_of_the_course_examples(train, dev, human, verdict):
    assert bias_variance(train, dev, human).verdict == verdict


def test_gaps_and_advice_carry_the_numbers():
    bv = bias_variance(0.01, 0.11)
    assert bv.avoidable_bias == pytest.approx(0.01) and bv.variance == pytest.approx(0.10)
    assert bv.data_mismatch is None
    assert bv.advice == ["high variance: dev error 11.0% vs train 1.0%; add L2 (try lambda in [1e-4, 1e-1] on a "
                         "log scale) or dropout (keep_prob 0.8), get more data or augment it, or try early stopping"]
    assert list(bv.recipe) == [HIGH_VARIANCE]
    assert bv.summary().startswith("high variance: train error 1.0%, dev error 11.0% (avoidable bias 1.0%, "
                                   "variance 10.0%); add L2")


def test_both_high_lists_bias_first():
    bv = bias_variance(0.15, 0.30, human_error=0.01)
    assert list(bv.recipe) == [HIGH_BIAS, HIGH_VARIANCE]
    assert bv.advice[0].startswith("high bias: train error 15.0% vs human 1.0%; try a bigger network")
    assert "bigger network" in bv.summary()


def test_train_dev_error_separates_variance_from_data_mismatch():
    bv = bias_variance(0.01, 0.10, train_dev_error=0.015)
    assert bv.variance == pytest.approx(0.005) and bv.data_mismatch == pytest.approx(0.085)
    assert bv.verdict == FINE and list(bv.recipe) == [MISMATCH]
    assert bv.advice == ["data mismatch: dev error 10.0% vs train-dev 1.5%; make the training data more like the "
                         "dev data (collect or synthesise similar examples)"]
    assert "data mismatch 8.5%" in bv.summary()


def test_human_better_than_train_means_no_avoidable_bias():
    bv = bias_variance(0.02, 0.03, human_error=0.05)
    assert bv.avoidable_bias == 0.0 and bv.verdict == FINE
    assert bv.advice == ["bias and variance are both low; tune for the last points or test on the test set"]


def test_threshold_and_numpy_numbers():
    assert bias_variance(np.float32(0.0), np.float64(0.03)).verdict == HIGH_VARIANCE
    assert bias_variance(0.0, 0.03, threshold=0.05).verdict == FINE
    assert bias_variance(0, 1).verdict == HIGH_VARIANCE


def test_to_dict_is_json():
    d = bias_variance(0.15, 0.30, 0.01, 0.2).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["verdict"] == BOTH and set(d["recipe"]) == {HIGH_BIAS, HIGH_VARIANCE, MISMATCH}


@pytest.mark.parametrize("kwargs, name", [
    ({"train_error": -0.1, "dev_error": 0.1}, "train_error"),
    ({"train_error": 0.1, "dev_error": 1.5}, "dev_error"),
    ({"train_error": 0.1, "dev_error": float("nan")}, "dev_error"),
    ({"train_error": "0.1", "dev_error": 0.1}, "train_error"),
    ({"train_error": True, "dev_error": 0.1}, "train_error"),
    ({"train_error": 0.1, "dev_error": 0.1, "human_error": 2}, "human_error"),
    ({"train_error": 0.1, "dev_error": 0.1, "train_dev_error": -1}, "train_dev_error"),
    ({"train_error": None, "dev_error": 0.1}, "train_error"),
    ({"train_error": 0.1, "dev_error": 0.1, "threshold": 0}, "threshold"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        bias_variance(**kwargs)


def test_a_gap_dwarfed_by_the_other_is_not_called_high():
    from tunenet.diagnose.bias_variance import bias_variance as bv

    assert bv(0.03, 0.435).verdict == "high variance"  # 3% bias next to 40% variance
    assert bv(0.30, 0.33).verdict == "high bias"  # 3% variance next to 30% bias
    assert bv(0.15, 0.30).verdict == "high bias and high variance"
