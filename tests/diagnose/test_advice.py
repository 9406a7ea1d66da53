"""Advice that fits the run's own configuration, each fix with the configuration change that applies it."""

import math

from tunenet.config import RunConfig
from tunenet.diagnose import diagnose
from tunenet.diagnose.advice import advise
from tunenet.diagnose.kinds import (
    BIAS,
    DEAD,
    EXPLODING,
    LR_HIGH,
    LR_LOW,
    MISMATCH,
    OVERFITTING,
    SATURATION,
    STILL_IMPROVING,
    VANISHING,
    VARIANCE,
)
from tunenet.train import History

DEFAULT = RunConfig().to_dict()  # adam, lr 1e-3, He init, standardised inputs, early stopping on


def cfg(**changes):
    return {**DEFAULT, **changes}


def test_no_adam_while_on_adam_and_no_he_when_he_was_used():
    text, change, _ = advise(BIAS, cfg())
    assert "Adam" not in text and change == {"hidden": [512, 256]}
    assert advise(BIAS, cfg(hidden=[2]))[1] == {"hidden": [64]}
    text, change, _ = advise(BIAS, cfg(optimizer="sgd", lr=0.1))
    assert "--optimizer adam" in text
    text, change, _ = advise(DEAD, cfg())
    assert "He initialisation" not in text and change == {"activation": "leaky_relu"}
    text, change, _ = advise(DEAD, cfg(init="random"))
    assert change == {"init": "he"}
    text, _, _ = advise(VANISHING, cfg())
    assert "--init he" not in text and "--batchnorm" in text


def test_no_early_stopping_advice_with_early_stopping_on():
    text, change, _ = advise(VARIANCE, cfg())
    assert "early" not in text and change == {"l2": 1e-3}
    text, _, _ = advise(VARIANCE, cfg(early_stopping=0))
    assert "--early-stopping 5" in text
    text, change, _ = advise(VARIANCE, cfg(l2=1e-3, keep_prob=0.8))
    assert "raise L2 (--l2 0.01" in text and "dropout" not in text and change == {"l2": 0.01}


def test_no_normalize_standard_when_standardised():
    text, _, _ = advise(SATURATION, cfg(activation="tanh", init="large"))
    assert "--normalize" not in text and "--init xavier" in text
    text, _, _ = advise(SATURATION, cfg(activation="tanh", init="xavier", normalize="none"))
    assert text.startswith("standardise the inputs (--normalize standard)")


def test_a_divergence_suggests_the_lr_range_tests_value():
    text, change, _ = advise(LR_HIGH, cfg(lr=1000.0), lr=1000.0, lr_suggested=0.0123)
    assert "0.012" in text and change == {"lr": 0.012}
    text, change, _ = advise(LR_HIGH, cfg(lr=1000.0), lr=1000.0)  # no range test: a factor of 10
    assert change == {"lr": 100.0}
    _, change, _ = advise(LR_LOW, cfg(lr=1e-6), lr=1e-6, lr_suggested=3e-3)
    assert change == {"lr": 0.003}


def test_train_longer_when_the_best_epoch_is_the_last():
    text, change, _ = advise(BIAS, cfg(epochs=30), still_improving=True)
    assert text.startswith("train longer (--epochs 90") and change == {"epochs": 90}
    assert advise(STILL_IMPROVING, cfg(epochs=10))[1] == {"epochs": 30}
    # on plain SGD that is still improving, Adam first; strong regularisation is lifted before anything else
    assert advise(BIAS, cfg(optimizer="sgd", lr=1e-3), still_improving=True)[1] == {"optimizer": "adam", "lr": 1e-3}
    assert advise(BIAS, cfg(l2=10.0), still_improving=True)[1] == {"l2": 0.0, "keep_prob": 1.0}


def test_what_cannot_be_applied_says_why():
    text, change, why = advise(MISMATCH, cfg())
    assert change is None and "configuration option" in why
    text, change, why = advise(EXPLODING, cfg(init="he", clip="norm:1", batchnorm=True, lr=0.0))
    assert change is None and why


def history(train_loss, dev_loss):
    return History(epochs=[{"epoch": i + 1, "train_loss": t, "train_accuracy": math.nan, "dev_loss": d,
                            "dev_accuracy": math.nan, "lr": 1e-3, "time": 0.0}
                           for i, (t, d) in enumerate(zip(train_loss, dev_loss, strict=True))])


def test_overfitting_after_early_stopping_restored_the_best_epoch_is_not_told_to_stop_early():
    h = history([1.0, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02], [1.0, 0.7, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    plain = [f for f in diagnose(h) if f.kind == OVERFITTING][0]
    assert plain.severity == "warning" and "early-stopping" in plain.fix
    restored = [f for f in diagnose(h, metrics={"best_epoch": 3}, config=cfg()) if f.kind == OVERFITTING][0]
    assert restored.severity == "info" and "restored epoch 3" in restored.evidence
    assert "--early-stopping" not in restored.fix and "already restored" in restored.fix
    assert restored.change == {"l2": 1e-3}


def test_a_run_still_improving_at_its_last_epoch_is_told_to_train_longer():
    h = history([2.0, 1.5, 1.2, 1.0, 0.9], [2.0, 1.6, 1.3, 1.1, 1.0])
    f = [f for f in diagnose(h, config=cfg(epochs=5)) if f.kind == STILL_IMPROVING][0]
    assert "lowest at the last epoch (5" in f.evidence and f.change == {"epochs": 20}
    assert "--epochs 20" in f.fix
    assert not [f for f in diagnose(history([2.0, 1.5, 1.2, 1.0, 0.9], [2.0, 1.0, 1.1, 1.2, 1.3]))
                if f.kind == STILL_IMPROVING]


def test_high_variance_alternatives_follow_the_run():
    """Early stopping first when the dev loss rose (overfitting found too); a smaller network; augmentation
    only for images; "more data" stays text, the last resort."""
    from tunenet.diagnose.advice import alternatives

    _, changes, _ = alternatives(VARIANCE, cfg(early_stopping=0, hidden=[1024]), overfit=True)
    assert changes[0] == {"early_stopping": 5} and changes.count({"early_stopping": 5}) == 1
    assert {"hidden": [256]} in changes and not any("augment" in c for c in changes)
    text, changes, _ = alternatives(VARIANCE, cfg(hidden=[512]), image_shape=[8, 8])
    assert changes[0] == {"l2": 1e-3} and {"augment": "shift:1,rotate:10"} in changes
    assert "--augment shift:1,rotate:10" in text and text.endswith("get more data")
    assert not any("augment" in c for c in alternatives(VARIANCE, cfg(augment="flip"), image_shape=[28, 28])[1])


def test_a_linear_network_is_told_to_bend_before_it_is_told_to_grow():
    _, change, _ = advise(BIAS, cfg(activation="linear", hidden=[64, 64]))
    assert change == {"activation": "relu", "init": "he"}
    assert advise(BIAS, cfg(activation="relu", hidden=[64, 64]))[1] != change
