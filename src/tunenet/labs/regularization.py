"""Lab ``regularization``: L2 and dropout narrow the gap between train and test accuracy.

A network with far more freedom than 100 noisy points need, ``[2, 64, 32, 1]``
(ReLU, He initialisation, sigmoid output), is trained by batch gradient
descent (learning rate 0.3, 10,000 iterations, as the course's
regularisation assignment) on ``make_moons`` with noise 0.35 (100 training
points, 1,000 test points from the same distribution), three ways:

* no regularisation: it bends its boundary around individual noisy points:
  high train accuracy, a wide train-test gap (high variance);
* L2 (lambda 0.7): ``J += lambda/(2m) * sum_l ||W_l||_F^2`` and
  ``dW += lambda/m * W`` ("weight decay"): smaller weights, a smoother
  boundary;
* inverted dropout (keep_prob 0.5 after each hidden layer): in training each
  hidden unit is kept with probability 0.5 and scaled by 1/0.5
  (``E[a] = a``), so no unit can rely on particular others; at test time the
  full network is used, unscaled.

Both trade a little training accuracy for test accuracy; the table also shows
the total weight norm ``sqrt(sum_l ||W_l||_F^2)`` each ends with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

from ..nn import mlp
from ..optim import SGD
from ..train import evaluate
from .common import LabResult, child_seeds, lab, train
from .figures import boundary_panels

HIDDEN, LR, ITERATIONS = [64, 32], 0.3, 10_000
LAMBDA, KEEP_PROB = 0.7, 0.5
# name -> (l2, keep_prob)
VARIANTS = {"none": (0.0, 1.0), f"L2 (lambda {LAMBDA})": (LAMBDA, 1.0), f"dropout (keep {KEEP_PROB})": (0.0, KEEP_PROB)}


def weight_norm(model) -> float:
    """``sqrt(sum_l ||W_l||_F^2)`` over the regularised parameters (the weights)."""
    return float(np.sqrt(sum(np.vdot(p.value, p.value) for p in model.parameters() if p.regularized)))


def _trade(none: dict, regularised: list[dict]) -> str:
    """One sentence on what the regularised runs gave up and gained, from their accuracies."""
    better = [r["regularization"] for r in regularised if r["test_accuracy"] > none["test_accuracy"]]
    lower_train = all(r["train_accuracy"] <= none["train_accuracy"] for r in regularised)
    return ("Both fit the training set less closely" if lower_train else "The fit to the training set changes") + (
        f"; {' and '.join(better)} {'score' if len(better) > 1 else 'scores'} higher on the test set."
        if better else ", without a higher test score on this draw of the data.")


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Train the same network without regularisation, with L2 and with dropout; tabulate and plot."""
    iterations = 500 if quick else ITERATIONS
    train_seed, test_seed, init_seed, dropout_seed = child_seeds(seed, 4)
    X, y = make_moons(n_samples=100, noise=0.35, random_state=train_seed)
    X_test, y_test = make_moons(n_samples=1000, noise=0.35, random_state=test_seed)
    X, X_test = X.astype(np.float32), X_test.astype(np.float32)

    rows, panels = [], []
    for name, (l2, keep_prob) in VARIANTS.items():
        model = mlp(2, HIDDEN, 1, activation="relu", init="he", output="sigmoid", keep_prob=keep_prob,
                    seed=init_seed)
        train(model, SGD(model, lr=LR), X, y, epochs=iterations, batch_size=len(X), seed=dropout_seed, l2=l2)
        train_acc, test_acc = evaluate(model, X, y)[1], evaluate(model, X_test, y_test)[1]
        rows.append({"regularization": name, "l2": l2, "keep_prob": keep_prob, "train_accuracy": train_acc,
                     "test_accuracy": test_acc, "gap": train_acc - test_acc, "weight_norm": weight_norm(model)})
        panels.append((f"{name}: train {train_acc:.0%}, test {test_acc:.1%}", model))

    boundary_panels(panels, X, y, out_dir / "regularization_boundaries.png",
                    suptitle="decision boundaries on the 100 training points")

    none, l2_row, drop = rows
    reading = (
        f"Without regularisation the network fits {none['train_accuracy']:.0%} of the training points but "
        f"{none['test_accuracy']:.1%} of the test points: a gap of {none['gap']:.1%}. L2 (lambda {LAMBDA}) shrinks "
        f"the weights from a norm of {none['weight_norm']:.1f} to {l2_row['weight_norm']:.1f} and narrows the gap to "
        f"{l2_row['gap']:.1%} (test {l2_row['test_accuracy']:.1%}); dropout (keep_prob {KEEP_PROB}) narrows it to "
        f"{drop['gap']:.1%} (test {drop['test_accuracy']:.1%}) without shrinking the weights (norm "
        f"{drop['weight_norm']:.1f}): it makes the units redundant instead. "
        + _trade(none, [l2_row, drop])
    )
    return LabResult(
        name="regularization", title="Regularisation: none vs L2 vs dropout on 100 noisy moons",
        columns=["regularization", "l2", "keep_prob", "train_accuracy", "test_accuracy", "gap", "weight_norm"],
        rows=rows, reading=reading, figures=["regularization_boundaries.png"],
        settings={"network": [2, *HIDDEN, 1], "activation": "relu", "init": "he", "output": "sigmoid",
                  "optimizer": "sgd", "lr": LR, "batch_size": len(X), "iterations": iterations,
                  "data": "make_moons", "n_train": len(X), "n_test": len(X_test), "noise": 0.35},
    )
