"""Lab gradcheck: the per-parameter verdict names the layer with the planted bug."""


def test_correct_network_passes(lab_run, rows_by):
    result, _ = lab_run("gradcheck")
    assert all(r["verdict"] == "correct" for r in result.rows if r["case"] == "correct")
    assert result.settings["verdicts"]["correct"]["verdict"] == "correct"


def test_planted_dense_bug_is_named(lab_run, rows_by):
    result, _ = lab_run("gradcheck")
    rows = rows_by(result, "case", "parameter")
    case = "dense1 doubles dW"
    assert [p for (c, p), r in rows.items() if c == case and r["verdict"] == "bug"] == ["dense1.W"]
    assert rows[(case, "dense1.W")]["relative_difference"] > 0.3
    assert result.settings["verdicts"][case] == {**result.settings["verdicts"][case], "verdict": "bug",
                                                 "worst": "dense1.W"}


def test_activation_bug_fails_the_layers_below_it(lab_run, rows_by):
    result, _ = lab_run("gradcheck")
    failing = {r["parameter"] for r in result.rows if r["case"] == "tanh0 drops its derivative"
               and r["verdict"] == "bug"}
    assert failing == {"dense0.W", "dense0.b"}
