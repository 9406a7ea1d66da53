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


def test_a_gap_the_estimate_takes_in_is_named_not_called_low():
    # Fashion-MNIST, 1,273 x 1,273, no regularisation but dropout: a logistic-regression estimate of 14.3%
    bv = bias_variance(0.003, 0.088, n_dev=6000, reference_error=0.143, reference="reference")
    assert bv.verdict == FINE and bv.reducible_variance == 0.0
    assert bv.advice == ["dev error 8.8% vs train 0.3%, a gap of 8.5%; the dev error is below the reference error "
                         "14.3%, so the reference cannot show how much of it regularisation would win back: give "
                         "the achievable error (--human-error) to judge it"]
    bv = bias_variance(0.0, 0.10, human_error=0.09)  # a human-level error: the rest cannot be won back
    assert bv.advice[0].startswith("dev error 10.0% vs train 0.0%, a gap of 10.0%, but the dev error is within "
                                   "1.0% of the human-level 9.0%")
    # a gap within the 2-point threshold is still "both low"
    assert "both low" in bias_variance(0.02, 0.035, reference_error=0.05, reference="reference").advice[0]


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


# -- against a reference and against noise ------------------------------------------------
def test_standard_error_of_the_dev_error_is_the_laplace_binomial():
    from tunenet.diagnose.bias_variance import dev_standard_error

    p = (7 + 1) / (114 + 2)
    assert dev_standard_error(7 / 114, 114) == pytest.approx((p * (1 - p) / 114) ** 0.5)
    assert dev_standard_error(0.0, 100) > 0  # a perfect dev score is still uncertain


def test_a_gap_within_two_standard_errors_is_not_called():
    # 5 points of variance on 60 dev rows: 2 SE is about 7 points, so the gap is not called
    bv = bias_variance(0.0, 0.05, n_dev=60)
    assert bv.verdict == FINE and bv.within_noise == [HIGH_VARIANCE]
    assert "within the noise of 60 dev rows" in bv.advice[0]
    assert "±" in bv.summary()
    # the same gap on 5,000 rows stands clear of the noise
    assert bias_variance(0.0, 0.05, n_dev=5000).verdict == HIGH_VARIANCE


def test_the_issue_example_a_gap_the_reference_also_makes_is_not_variance():
    # 0.9% train / 6.1% dev error on 114 dev rows (7 errors); logistic regression makes 6 errors on the same rows
    bv = bias_variance(1 / 114 * 0.1, 7 / 114, n_dev=114, reference_error=6 / 114, reference="reference")
    assert bv.variance > 0.05
    assert bv.reducible_variance == pytest.approx(1 / 114)
    assert bv.verdict == FINE
    assert bv.reference == "reference" and bv.human_error == pytest.approx(6 / 114)


def test_a_run_at_the_achievable_error_is_not_high_bias():
    # overlapping classes: a 10% error that the reference model also makes is not avoidable bias
    assert bias_variance(0.10, 0.11).verdict == HIGH_BIAS  # against a human-level 0
    bv = bias_variance(0.10, 0.11, n_dev=400, reference_error=0.105, reference="reference")
    assert bv.verdict == FINE and bv.avoidable_bias == 0.0
    # a reference far below the train error is: avoidable bias clear of the dev noise
    bv = bias_variance(0.30, 0.31, n_dev=400, reference_error=0.03, reference="reference")
    assert bv.verdict == HIGH_BIAS and bv.avoidable_bias == pytest.approx(0.27)
    assert "vs reference 3.0%" in bv.advice[0]


def test_human_error_takes_precedence_over_the_reference():
    bv = bias_variance(0.10, 0.11, 0.0, reference_error=0.10, reference="reference")
    assert bv.reference == "human-level" and bv.verdict == HIGH_BIAS


def test_run_bias_variance_reads_the_metrics():
    from tunenet.diagnose.bias_variance import n_dev_of, run_bias_variance

    cm = {"split": "dev", "classes": ["a", "b"], "matrix": [[40, 5], [5, 50]]}
    assert n_dev_of({"confusion_matrix": cm}) == 100 and n_dev_of({"n_dev": 7}) == 7 and n_dev_of({}) is None
    m = {"n_dev": 100, "reference": {"dev_error": 0.1, "label": "logistic regression"}}
    assert run_bias_variance(0.1, 0.12, m).verdict == FINE
    assert run_bias_variance(0.1, 0.12, {**m, "human_error": 0.0}).verdict == HIGH_BIAS


def test_bad_n_dev_and_reference_name_the_parameter():
    with pytest.raises(ConfigError, match="n_dev"):
        bias_variance(0.1, 0.1, n_dev=0)
    with pytest.raises(ConfigError, match="reference_error"):
        bias_variance(0.1, 0.1, reference_error=1.5)


def test_a_reference_that_overfits_too_gives_its_train_error_as_the_estimate():
    from tunenet.diagnose.bias_variance import reference_proxy, run_bias_variance

    assert reference_proxy({"train_error": 0.16, "dev_error": 0.17}, 500) == 0.17   # generalises: its dev error
    assert reference_proxy({"train_error": 0.0, "dev_error": 0.09}, 540) == 0.0     # overfits: its train error
    assert reference_proxy({"dev_error": 0.09}, 540) == 0.09
    # 200 training rows of digits: the network and the reference both overfit; that is variance
    m = {"n_dev": 540, "reference": {"train_error": 0.0, "dev_error": 0.09}}
    assert run_bias_variance(0.0, 0.087, m).verdict == HIGH_VARIANCE
