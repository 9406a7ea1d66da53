"""Lab optimizers: Adam beats plain gradient descent at the same small lr; decay lets GD catch up."""


def test_adam_beats_gradient_descent_on_the_moons(lab_run, rows_by):
    result, _ = lab_run("optimizers")
    rows = rows_by(result, "optimizer", "decay")
    gd, adam = rows[("gradient descent", False)], rows[("adam", False)]
    assert adam["final_cost"] < gd["final_cost"] / 2
    assert adam["train_accuracy"] > gd["train_accuracy"] and adam["test_accuracy"] > gd["test_accuracy"]
    # RMSprop's per-coordinate scaling does the same; momentum alone does not
    assert rows[("rmsprop", False)]["final_cost"] < gd["final_cost"] / 2


def test_decay_from_a_large_lr_lets_gradient_descent_catch_up(lab_run, rows_by):
    result, _ = lab_run("optimizers")
    rows = rows_by(result, "optimizer", "decay")
    gd = rows[("gradient descent", True)]
    assert gd["final_lr"] == gd["lr0"] / 5
    assert gd["final_cost"] < rows[("gradient descent", False)]["final_cost"]
    assert gd["train_accuracy"] >= rows[("adam", False)]["train_accuracy"] - 0.01
