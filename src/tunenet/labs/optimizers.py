"""Lab ``optimizers``: gradient descent, momentum, RMSprop and Adam on the moons.

Network ``[2, 5, 2, 1]`` (ReLU, sigmoid output, He initialisation) on
``make_moons`` (300 training and 300 test points, noise 0.2), mini-batches of
64 reshuffled every epoch. With ``g`` the mini-batch gradient:

* gradient descent: ``w -= lr*g``
* momentum: ``v = beta*v + (1-beta)*g ; w -= lr*v`` (beta 0.9)
* RMSprop: ``s = beta*s + (1-beta)*g^2 ; w -= lr*g/(sqrt(s) + eps)`` (beta 0.9)
* Adam: both averages, bias-corrected:
  ``w -= lr*v_hat/(sqrt(s_hat) + eps)`` (beta1 0.9, beta2 0.999)

Part 1, as in the course, trains all four at the same small learning rate
(0.0007) without decay: gradient descent and momentum take steps
proportional to ``|g|`` and crawl, while RMSprop and Adam divide by the
running RMS of the gradient, so every coordinate moves about ``lr`` per
step whatever its gradient's scale, and they fit the moons in the same
number of epochs.

Part 2 starts from a large learning rate (0.1 for gradient descent and
momentum, 0.01 for RMSprop and Adam) and decays it in stages, the course's
``lr = lr0 / (1 + decay_rate * floor(epoch / interval))`` with
``decay_rate = 1`` and five stages (a piecewise-constant schedule): large
early steps make fast progress, smaller late steps settle, and plain
gradient descent catches up with Adam.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

from ..nn import mlp
from ..optim import SGD, Adam, Momentum, RMSprop, piecewise
from ..train import evaluate
from .common import LabResult, child_seeds, lab, train
from .figures import boundary_panels, plt, save_figure

# name -> (class, hyperparameters, lr0 with decay)
OPTIMIZERS = {
    "gradient descent": (SGD, {}, 0.1),
    "momentum": (Momentum, {"beta": 0.9}, 0.1),
    "rmsprop": (RMSprop, {"beta": 0.9}, 0.01),
    "adam": (Adam, {"beta1": 0.9, "beta2": 0.999}, 0.01),
}
LR_CONSTANT = 0.0007
STAGES = 5


def stage_decay(lr0: float, epochs: int):
    """``lr0 / (1 + floor(epoch / interval))`` with ``interval = epochs / STAGES``, as a piecewise schedule."""
    interval = max(1, epochs // STAGES)
    return piecewise([interval * k for k in range(1, STAGES)], [lr0 / k for k in range(1, STAGES + 1)])


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Train with four optimisers, with and without learning-rate decay; tabulate and plot."""
    epochs = 100 if quick else 2000
    train_seed, test_seed, init_seed, shuffle_seed = child_seeds(seed, 4)
    X, y = make_moons(n_samples=300, noise=0.2, random_state=train_seed)
    X_test, y_test = make_moons(n_samples=300, noise=0.2, random_state=test_seed)
    X, X_test = X.astype(np.float32), X_test.astype(np.float32)

    rows, costs, panels = [], {False: [], True: []}, []
    for decay in (False, True):
        for name, (cls, hyper, lr_decay) in OPTIMIZERS.items():
            model = mlp(2, [5, 2], 1, activation="relu", init="he", output="sigmoid", seed=init_seed)
            lr0 = lr_decay if decay else LR_CONSTANT
            history, _ = train(model, cls(model, lr=lr0, **hyper), X, y, epochs=epochs, batch_size=64,
                               seed=shuffle_seed, schedule=stage_decay(lr0, epochs) if decay else None)
            cost, acc = evaluate(model, X, y)
            rows.append({"optimizer": name, "lr0": lr0, "decay": decay, "final_lr": history.last["lr"],
                         "final_cost": cost, "train_accuracy": acc,
                         "test_accuracy": evaluate(model, X_test, y_test)[1]})
            costs[decay].append((name, history.column("train_loss")))
            panels.append((f"{name}{' + decay' if decay else ''}: {acc:.0%}", model))

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, decay in zip(axes, (False, True)):
        for name, cost in costs[decay]:
            ax.plot(np.arange(1, epochs + 1), cost, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        ax.set_title(f"lr decayed in {STAGES} stages from 0.1 (GD, momentum) / 0.01 (RMSprop, Adam)"
                     if decay else f"constant lr {LR_CONSTANT}", fontsize=9)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("training cost (epoch mean, log scale)")
    fig.tight_layout()
    save_figure(fig, out_dir / "optimizers_cost.png")
    boundary_panels(panels, X, y, out_dir / "optimizers_boundaries.png", columns=4,
                    suptitle="decision boundaries (top: constant lr 0.0007; bottom: with decay); train accuracy")

    by = {(r["optimizer"], r["decay"]): r for r in rows}
    gd, adam = by[("gradient descent", False)], by[("adam", False)]
    decayed = [by[(name, True)]["train_accuracy"] for name in OPTIMIZERS]
    reading = (
        f"At the same constant learning rate {LR_CONSTANT} for {epochs:,} epochs, gradient descent ends at cost "
        f"{gd['final_cost']:.3f} and {gd['train_accuracy']:.0%} train accuracy, momentum at "
        f"{by[('momentum', False)]['final_cost']:.3f} ({by[('momentum', False)]['train_accuracy']:.0%}), while "
        f"RMSprop reaches {by[('rmsprop', False)]['final_cost']:.3f} ({by[('rmsprop', False)]['train_accuracy']:.0%}) "
        f"and Adam {adam['final_cost']:.3f} ({adam['train_accuracy']:.0%}; test {adam['test_accuracy']:.0%}): "
        f"dividing by the gradient's running RMS, they move every weight by about lr per step however small its "
        f"gradient. Starting large and decaying in {STAGES} stages, all four land between {min(decayed):.1%} and "
        f"{max(decayed):.1%} train accuracy: "
        f"with decay, plain gradient descent ({by[('gradient descent', True)]['final_cost']:.3f}) catches up with "
        f"Adam ({by[('adam', True)]['final_cost']:.3f})."
    )
    return LabResult(
        name="optimizers", title="Optimisers on the moons: GD, momentum, RMSprop, Adam, with and without decay",
        columns=["optimizer", "lr0", "decay", "final_lr", "final_cost", "train_accuracy", "test_accuracy"],
        rows=rows, reading=reading, figures=["optimizers_cost.png", "optimizers_boundaries.png"],
        settings={"network": [2, 5, 2, 1], "activation": "relu", "init": "he", "output": "sigmoid",
                  "data": "make_moons", "n_train": len(X), "n_test": len(X_test), "noise": 0.2, "batch_size": 64,
                  "epochs": epochs, "decay": f"lr0 / (1 + floor(epoch / {max(1, epochs // STAGES)}))",
                  "hyperparameters": {name: hyper for name, (_, hyper, _) in OPTIMIZERS.items()}},
    )
