"""Lab normalization: standardised inputs are better conditioned and reach the target loss sooner."""


def test_standardised_inputs_reach_the_target_in_fewer_epochs(lab_run, rows_by):
    result, _ = lab_run("normalization")
    rows = rows_by(result, "problem", "inputs")
    for problem in ("2-parameter least squares", "network on moons"):
        raw, std = rows[(problem, "raw")], rows[(problem, "standardised")]
        assert raw["condition_number"] > 10 * std["condition_number"]
        assert std["epochs_to_target"] is not None
        assert raw["epochs_to_target"] is None or raw["epochs_to_target"] > 5 * std["epochs_to_target"]


def test_standardised_inputs_work_at_more_learning_rates(lab_run, rows_by):
    result, _ = lab_run("normalization")
    sweep = result.settings["sweep"]
    reached = {name: sum(r["epochs_to_target"] is not None for r in runs) for name, runs in sweep.items()}
    assert reached["standardised"] > reached["raw"]
