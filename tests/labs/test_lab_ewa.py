"""Lab ewa: bias correction fixes the early average; a larger beta is smoother and lags more."""

import pytest

from tunenet.labs.ewa import BETAS


def test_bias_correction_fixes_the_early_estimates(lab_run, rows_by):
    result, _ = lab_run("ewa")
    rows = rows_by(result, "beta", "bias_correction")
    for beta in BETAS:
        raw, corrected = rows[(beta, False)], rows[(beta, True)]
        assert corrected["error_days_1_10"] < raw["error_days_1_10"]
        # v_1 = (1 - beta) x_1 raw; the corrected first estimate is x_1 itself
        assert raw["first_estimate"] == pytest.approx((1 - beta) * corrected["first_estimate"])
        assert corrected["error_after_day_200"] == pytest.approx(raw["error_after_day_200"], abs=0.2)
    assert rows[(0.98, False)]["error_days_1_10"] > 5 * rows[(0.98, True)]["error_days_1_10"]


def test_larger_beta_is_smoother_and_lags_more(lab_run, rows_by):
    result, _ = lab_run("ewa")
    rows = [r for r in result.rows if r["bias_correction"]]
    by_beta = sorted(rows, key=lambda r: r["beta"])
    assert [r["roughness"] for r in by_beta] == sorted((r["roughness"] for r in by_beta), reverse=True)
    assert [r["lag_days"] for r in by_beta] == sorted(r["lag_days"] for r in by_beta)
    for r in by_beta:
        assert r["lag_days"] == pytest.approx(r["expected_lag"], abs=1)
