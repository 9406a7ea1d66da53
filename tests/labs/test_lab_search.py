"""Lab search: with the same budget, random search explores more values of the important hyperparameter."""


def test_random_search_explores_more_learning_rates_than_grid(lab_run, rows_by):
    result, _ = lab_run("search")
    rows = rows_by(result, "search")
    grid, random = rows["grid"], rows["random"]
    assert grid["trials"] == random["trials"] == 25
    assert grid["distinct_lr"] == 5 and random["distinct_lr"] == 25
    # the premise: eps barely matters while lr does
    assert result.settings["eps_effect"] < result.settings["lr_effect"] / 10
    # exploring lr more densely finds a result at least about as good
    assert random["best_dev_loss"] <= grid["best_dev_loss"] * 1.05
