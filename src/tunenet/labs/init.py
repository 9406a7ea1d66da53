"""Lab ``init``: the initialisation decides whether a network learns at all.

The same network, ``[2, 10, 5, 1]`` (ReLU hidden layers, sigmoid output), is
trained on ``make_circles`` (300 training and 100 test points, noise 0.05)
by batch gradient descent (learning rate 0.01, 15,000 iterations), starting
from three initialisations:

* ``zeros``: ``W = 0``. Every hidden unit computes the same function, so
  symmetry is never broken; with ReLU it is worse: ``z = 0`` gives
  ``a = 0`` and ``relu'(0) = 0``, hence ``dW = a_prev^T dZ = 0`` in every
  layer. Only the output bias learns: the network predicts one class and
  stays at chance (50%).
* ``large``: ``W ~ N(0, 1) * 10``. Pre-activations are huge, the sigmoid
  output saturates at 0 or 1 and confident wrong answers cost a lot: the
  course's cost starts at ``inf`` because it takes ``log(sigmoid(z))``
  naively; tunenet computes the cross-entropy from the logits
  (``max(z, 0) - z*y + log(1 + exp(-|z|))``), so the first cost is large
  but finite. Learning is slow and the boundary ragged.
* ``he``: ``W ~ N(0, 2/n_in)`` keeps ``Var(a)`` about constant through ReLU
  layers (half the units are zero, hence the 2): fast, clean learning.

The course reports 50%/50% (zeros), 83%/86% (large) and 99%/96% (He)
train/test accuracy after 15,000 iterations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import make_circles

from ..nn import mlp
from ..optim import SGD
from ..train import evaluate
from .common import LabResult, child_seeds, lab, train
from .figures import boundary_panels, curves

INITS = ("zeros", "large", "he")


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Train [2, 10, 5, 1] from zeros, large and He initialisation; tabulate and plot."""
    iterations = 500 if quick else 15_000
    train_seed, test_seed, init_seed, shuffle_seed = child_seeds(seed, 4)
    X, y = make_circles(n_samples=300, noise=0.05, random_state=train_seed)
    X_test, y_test = make_circles(n_samples=100, noise=0.05, random_state=test_seed)
    X, X_test = X.astype(np.float32), X_test.astype(np.float32)

    rows, costs, models = [], [], []
    for init in INITS:
        model = mlp(2, [10, 5], 1, activation="relu", init=init, output="sigmoid", seed=init_seed)
        history, _ = train(model, SGD(model, lr=0.01), X, y, epochs=iterations, batch_size=len(X),
                           seed=shuffle_seed)
        cost = history.column("train_loss")
        rows.append({"init": init, "initial_cost": cost[0], "final_cost": evaluate(model, X, y)[0],
                     "train_accuracy": evaluate(model, X, y)[1], "test_accuracy": evaluate(model, X_test, y_test)[1]})
        costs.append((init, cost))
        models.append((f"{init}: train {rows[-1]['train_accuracy']:.0%}, test {rows[-1]['test_accuracy']:.0%}",
                       model))

    curves(costs, out_dir / "init_cost.png", title="training cost, batch gradient descent (lr 0.01)",
           xlabel="iteration", ylabel="cross-entropy cost (log scale)", logy=True)
    boundary_panels(models, X, y, out_dir / "init_boundaries.png", X_test=X_test, y_test=y_test,
                    suptitle="decision boundaries (filled: train, hollow: test)")

    by = {r["init"]: r for r in rows}
    reading = (
        f"Zeros initialisation never breaks symmetry: after {iterations:,} iterations it is still at chance "
        f"({by['zeros']['train_accuracy']:.0%} train, {by['zeros']['test_accuracy']:.0%} test) with the cost "
        f"stuck at {by['zeros']['final_cost']:.3f} (ln 2 = 0.693). "
        f"Large (x10) weights start with a cost of {by['large']['initial_cost']:.0f} (the course's naive "
        f"cross-entropy shows inf; tunenet's is computed from the logits and stays finite) and crawl to "
        f"{by['large']['train_accuracy']:.0%} train / {by['large']['test_accuracy']:.0%} test with a ragged "
        f"boundary. He initialisation reaches {by['he']['train_accuracy']:.0%} train / "
        f"{by['he']['test_accuracy']:.0%} test (final cost {by['he']['final_cost']:.3f})."
    )
    return LabResult(
        name="init", title="Initialisation: zeros vs large vs He on make_circles",
        columns=["init", "initial_cost", "final_cost", "train_accuracy", "test_accuracy"], rows=rows,
        reading=reading, figures=["init_cost.png", "init_boundaries.png"],
        settings={"network": [2, 10, 5, 1], "activation": "relu", "output": "sigmoid", "optimizer": "sgd",
                  "lr": 0.01, "batch_size": len(X), "iterations": iterations, "data": "make_circles",
                  "n_train": len(X), "n_test": len(X_test), "noise": 0.05},
    )
