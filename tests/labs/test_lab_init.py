"""Lab init: zeros stays at chance, large learns badly, He learns the circles."""

import math


def test_zeros_stays_at_chance_and_he_learns(lab_run, rows_by):
    result, _ = lab_run("init")
    rows = rows_by(result, "init")
    zeros, large, he = rows["zeros"], rows["large"], rows["he"]
    # zeros: no gradient reaches the hidden weights; only the output bias moves
    assert zeros["train_accuracy"] <= 0.55 and zeros["test_accuracy"] <= 0.6
    assert math.isclose(zeros["final_cost"], math.log(2), abs_tol=0.01)
    # He: high train accuracy and it generalises
    assert he["train_accuracy"] >= 0.95 and he["test_accuracy"] >= 0.9
    # large: a huge but finite first cost (computed from the logits), worse than He at the end
    assert 10 < large["initial_cost"] < math.inf
    assert large["train_accuracy"] < he["train_accuracy"] and large["final_cost"] > he["final_cost"]


def test_init_writes_its_figures(lab_run, rows_by):
    result, out = lab_run("init")
    assert result.figures == ["init_cost.png", "init_boundaries.png"]
    assert all((out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in result.figures)
    assert result.settings["iterations"] == 15_000
