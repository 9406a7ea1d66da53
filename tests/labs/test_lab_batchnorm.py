"""Lab batchnorm: a batch-normalised deep network tolerates a higher learning rate."""

from tunenet.labs.batchnorm import highest_stable_lr


def test_batch_norm_tolerates_a_higher_learning_rate(lab_run):
    result, _ = lab_run("batchnorm")
    without, with_bn = highest_stable_lr(result.rows, False), highest_stable_lr(result.rows, True)
    assert without is not None and with_bn is not None
    assert with_bn > without
    # beyond its highest stable rate the plain network diverges or stops learning
    assert all(r["status"] != "trains" for r in result.rows if not r["batch_norm"] and r["lr"] > without)
    # and at that rate the batch-normalised network still reaches the target loss
    at = next(r for r in result.rows if r["batch_norm"] and r["lr"] == with_bn)
    assert at["epochs_to_target"] is not None
