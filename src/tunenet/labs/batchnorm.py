"""Lab ``batchnorm``: batch normalisation lets a deep network train at higher learning rates.

Batch norm standardises each unit's pre-activation over the mini-batch and
rescales it with learnable ``gamma``, ``beta``::

    z_hat = (z - mean_batch(z)) / sqrt(var_batch(z) + eps),  z~ = gamma * z_hat + beta

The output of a batch-normalised layer does not change when its incoming
weights are multiplied by a constant, so a too-large step cannot blow the
activations up layer after layer: it only grows ``||W||``, which in turn
shrinks the effective step (``dJ/dW`` scales as ``1/||W||``). Without it,
the largest stable learning rate of a deep network is set by its sharpest
direction, and a step beyond it compounds through the layers until the loss
turns NaN or the ReLUs die.

The lab trains the same 8-hidden-layer network (32 ReLU units each, He
initialisation, sigmoid output) with and without batch norm (before the
activation; the Dense layer before it has no bias) on ``make_moons`` (1,000
training and 1,000 test points, noise 0.2, standardised), by mini-batch
gradient descent (batch 64, 40 epochs), at learning rates 0.01 ... 10. A run
*trains* when its loss stays finite and ends below that of a constant guess
(ln 2 = 0.693); the table gives the epochs until the epoch's mean training
loss falls below 0.12 and the test accuracy (inference mode, running
statistics for batch norm).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

from ..nn import mlp
from ..optim import SGD
from ..train import evaluate
from .common import LabResult, StopAtTarget, child_seeds, lab, train
from .figures import plt, save_figure

DEPTH, WIDTH = 8, 32
LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
TARGET_LOSS = 0.12


def status(diverged: bool, final_loss: float) -> str:
    """``diverged`` (non-finite loss), ``no progress`` (not better than a constant guess) or ``trains``."""
    if diverged or not math.isfinite(final_loss):
        return "diverged"
    return "trains" if final_loss < math.log(2) else "no progress"


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Train with and without batch norm over a range of learning rates; tabulate and plot."""
    epochs = 3 if quick else 40
    train_seed, test_seed, init_seed, shuffle_seed = child_seeds(seed, 4)
    X, y = make_moons(n_samples=1000, noise=0.2, random_state=train_seed)
    X_test, y_test = make_moons(n_samples=1000, noise=0.2, random_state=test_seed)
    mean, std = X.mean(axis=0), X.std(axis=0)
    X, X_test = ((X - mean) / std).astype(np.float32), ((X_test - mean) / std).astype(np.float32)

    rows = []
    for batchnorm in (False, True):
        for lr in LRS:
            model = mlp(2, [WIDTH] * DEPTH, 1, activation="relu", init="he", batchnorm=batchnorm, output="sigmoid",
                        seed=init_seed)
            stop = StopAtTarget(TARGET_LOSS)
            history, diverged = train(model, SGD(model, lr=lr), X, y, epochs=epochs, batch_size=64,
                                      seed=shuffle_seed, callbacks=[stop])
            final = history.last["train_loss"] if len(history) and not diverged else None
            state = status(diverged, math.nan if final is None else final)
            rows.append({"batch_norm": batchnorm, "lr": lr, "status": state, "epochs_run": len(history),
                         "final_train_loss": final, "epochs_to_target": stop.reached,
                         "test_accuracy": evaluate(model, X_test, y_test)[1] if state != "diverged" else None})

    plot(rows, epochs, out_dir / "batchnorm_lr.png")
    best = {bn: highest_stable_lr(rows, bn) for bn in (False, True)}
    fastest = {bn: min(((r["epochs_to_target"], r["lr"]) for r in rows
                        if r["batch_norm"] == bn and r["epochs_to_target"] is not None), default=(None, None))
               for bn in (False, True)}
    reached = {bn: [r["lr"] for r in rows if r["batch_norm"] == bn and r["epochs_to_target"] is not None]
               for bn in (False, True)}
    first_bad = next((r for r in rows if not r["batch_norm"] and r["lr"] > (best[False] or 0)), None)
    speed = ("and it also reaches the target sooner" if _sooner(fastest[True], fastest[False])
             else "though its fastest run is not faster")
    reading = (
        f"Without batch norm the {DEPTH}-layer network trains up to lr {_lr(best[False])}"
        + (f"; at lr {first_bad['lr']:g} it {'diverges' if first_bad['status'] == 'diverged' else 'stops learning'}"
           if first_bad else "")
        + f". With batch norm it trains up to lr {_lr(best[True])}"
        + (f", a {best[True] / best[False]:g}x higher learning rate" if best[True] and best[False] else "")
        + f". The target loss {TARGET_LOSS} is reached at lr {_span(reached[False])} without batch norm "
        f"(fastest: {_fast(fastest[False])}) and at lr {_span(reached[True])} with it "
        f"(fastest: {_fast(fastest[True])}): "
        f"batch norm widens the range of learning rates that work, {speed}."
    )
    return LabResult(
        name="batchnorm", title=f"Batch norm: {DEPTH} hidden layers across learning rates",
        columns=["batch_norm", "lr", "status", "epochs_run", "final_train_loss", "epochs_to_target",
                 "test_accuracy"],
        rows=rows, reading=reading, figures=["batchnorm_lr.png"],
        settings={"network": [2, *[WIDTH] * DEPTH, 1], "activation": "relu", "init": "he", "output": "sigmoid",
                  "batchnorm_position": "before the activation", "data": "make_moons", "n_train": len(X),
                  "n_test": len(X_test), "noise": 0.2, "optimizer": "sgd", "batch_size": 64, "epochs": epochs,
                  "target_loss": TARGET_LOSS, "highest_stable_lr": {"without": best[False], "with": best[True]}},
    )


def highest_stable_lr(rows: list[dict], batchnorm: bool) -> float | None:
    """The largest learning rate whose run ``trains`` (None if none does)."""
    return max((r["lr"] for r in rows if r["batch_norm"] == batchnorm and r["status"] == "trains"), default=None)


def _lr(lr: float | None) -> str:
    return "none of the rates" if lr is None else f"{lr:g}"


def _fast(best: tuple) -> str:
    return "never" if best[0] is None else f"{best[0]} epochs at lr {best[1]:g}"


def _sooner(a: tuple, b: tuple) -> bool:
    return a[0] is not None and (b[0] is None or a[0] < b[0])


def _span(lrs: list[float]) -> str:
    if not lrs:
        return "none of the rates"
    return f"{min(lrs):g} to {max(lrs):g}" if len(lrs) > 1 else f"{lrs[0]:g} only"


def plot(rows: list[dict], epochs: int, path: Path) -> None:
    """Final training loss and epochs to target against the learning rate, with and without batch norm."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for bn, label in ((False, "without batch norm"), (True, "with batch norm")):
        mine = [r for r in rows if r["batch_norm"] == bn]
        lrs = [r["lr"] for r in mine]
        loss = [np.nan if r["final_train_loss"] is None else r["final_train_loss"] for r in mine]
        line, = axes[0].plot(lrs, loss, "o-", label=label)
        bad = [r["lr"] for r in mine if r["status"] == "diverged"]
        axes[0].plot(bad, [10.0] * len(bad), "x", color=line.get_color(), markersize=9)
        hit = [(r["lr"], r["epochs_to_target"] or epochs) for r in mine]
        axes[1].plot([h[0] for h in hit], [h[1] for h in hit], "-", color=line.get_color(), label=label)
        axes[1].plot([r["lr"] for r in mine if r["epochs_to_target"]],
                     [r["epochs_to_target"] for r in mine if r["epochs_to_target"]], "o", color=line.get_color())
        axes[1].plot([r["lr"] for r in mine if not r["epochs_to_target"]],
                     [epochs] * sum(not r["epochs_to_target"] for r in mine), "x", color=line.get_color(),
                     markersize=9)
    axes[0].axhline(math.log(2), color="grey", linestyle=":", linewidth=1)
    axes[0].text(0.011, math.log(2) * 1.08, "ln 2: constant guess", fontsize=8, color="grey")
    axes[0].set_ylabel("final training loss (x at top: diverged)")
    axes[1].set_ylabel(f"epochs to training loss < {TARGET_LOSS} (x: not within {epochs})")
    axes[0].set_yscale("log")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(f"{DEPTH} hidden layers of {WIDTH} ReLU units on moons, mini-batch gradient descent")
    fig.tight_layout()
    save_figure(fig, path)
