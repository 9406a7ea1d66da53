"""Lab regularization: L2 and dropout narrow the train-test gap of an overfitting network."""


def test_l2_and_dropout_narrow_the_gap(lab_run, rows_by):
    result, _ = lab_run("regularization")
    none, l2, dropout = (rows_by(result, "regularization")[name] for name in
                         ("none", "L2 (lambda 0.7)", "dropout (keep 0.5)"))
    assert none["train_accuracy"] >= 0.95 and none["gap"] > 0.1  # it overfits
    assert l2["gap"] < none["gap"] and dropout["gap"] < none["gap"]
    assert l2["test_accuracy"] > none["test_accuracy"]
    assert l2["weight_norm"] < none["weight_norm"] / 2  # weight decay shrinks the weights
