"""Lab exploding: c*I grows or shrinks as c^L; fan-in scaled random weights stay level."""

import pytest

from tunenet.labs.exploding import DEPTH


def test_identity_multiples_explode_and_vanish_geometrically(lab_run, rows_by):
    result, _ = lab_run("exploding")
    rows = rows_by(result, "network")
    for name, c in (("1.3*I, linear", 1.3), ("0.7*I, linear", 0.7)):
        assert rows[name]["activation_ratio"] == pytest.approx(c ** DEPTH, rel=1e-9)
        assert rows[name]["gradient_ratio"] == pytest.approx(c ** DEPTH, rel=1e-9)
        assert rows[name]["measured_factor"] == pytest.approx(c, rel=1e-9)


def test_xavier_and_he_stay_level(lab_run, rows_by):
    result, _ = lab_run("exploding")
    rows = rows_by(result, "network")
    for name in ("xavier, linear", "he, relu"):
        assert rows[name]["measured_factor"] == pytest.approx(1.0, abs=0.02)
        assert 0.5 < rows[name]["activation_ratio"] < 2.0
        assert 0.5 < rows[name]["gradient_ratio"] < 2.0
    # Xavier under ReLU loses half the variance per layer: the reason for He's factor 2
    assert rows["xavier, relu"]["measured_factor"] == pytest.approx(2 ** -0.5, abs=0.02)
