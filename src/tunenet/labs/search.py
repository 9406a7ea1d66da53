"""Lab ``search``: random search explores the important hyperparameter better than a grid.

Two hyperparameters of Adam are tuned with the same budget of 25 trainings:
the learning rate ``lr`` (log-uniform on [1e-4, 0.1]), which matters a great
deal, and ``eps`` (log-uniform on [1e-8, 1e-4]), which barely matters: it
only guards ``v_hat / (sqrt(s_hat) + eps)`` against division by zero and is
far below the gradient's RMS. (The course's own example: ``lr`` versus
``eps``.)

* grid search: 5 x 5 points, ``lr`` and ``eps`` each on 5 log-spaced values;
* random search: 25 points drawn independently, log-uniform in each.

A 5 x 5 grid tries only 5 distinct learning rates: the 5 trials in a column
differ only in ``eps`` and give (nearly) the same result, so 20 of the 25
trainings are spent learning next to nothing. Random search tries 25
distinct learning rates (with probability 1), so along the axis that
matters it samples 5 times more densely. With ``k`` hyperparameters of which
one matters, a grid of ``n^k`` trials explores ``n`` values of it; random
search explores ``n^k``.

Each trial trains ``[2, 16, 16, 1]`` (ReLU, He, sigmoid output; the same
initial weights in every trial) for 30 epochs with mini-batches of 32 on
``make_moons`` (300 training points, noise 0.25) and is scored by its loss on
a dev set of 300 points from the same distribution.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

from ..nn import mlp
from ..optim import Adam
from ..train import evaluate
from .common import LabResult, child_seeds, lab, train
from .figures import plt, save_figure

LR_RANGE, EPS_RANGE = (1e-4, 0.1), (1e-8, 1e-4)
PER_AXIS = 5  # budget = PER_AXIS ** 2


def grid_points(n: int) -> list[tuple[float, float]]:
    """``n x n`` log-spaced ``(lr, eps)`` pairs covering both ranges, ends included."""
    lrs = np.geomspace(*LR_RANGE, n)
    epss = np.geomspace(*EPS_RANGE, n)
    return [(float(lr), float(eps)) for lr in lrs for eps in epss]


def random_points(n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """``n`` pairs, each coordinate log-uniform on its range: ``10 ** U(log10 lo, log10 hi)``."""
    log_lr = rng.uniform(np.log10(LR_RANGE[0]), np.log10(LR_RANGE[1]), n)
    log_eps = rng.uniform(np.log10(EPS_RANGE[0]), np.log10(EPS_RANGE[1]), n)
    return [(float(10 ** a), float(10 ** b)) for a, b in zip(log_lr, log_eps)]


def trial(lr: float, eps: float, data: tuple, epochs: int, init_seed: int, shuffle_seed: int) -> dict:
    """Train one configuration; its dev loss and accuracy (None if it diverged)."""
    X, y, X_dev, y_dev = data
    model = mlp(2, [16, 16], 1, activation="relu", init="he", output="sigmoid", seed=init_seed)
    _, diverged = train(model, Adam(model, lr=lr, eps=eps), X, y, epochs=epochs, batch_size=32, seed=shuffle_seed)
    if diverged:
        return {"lr": lr, "eps": eps, "dev_loss": None, "dev_accuracy": None}
    loss, acc = evaluate(model, X_dev, y_dev)
    return {"lr": lr, "eps": eps, "dev_loss": loss if math.isfinite(loss) else None, "dev_accuracy": acc}


def _score(t: dict) -> float:
    return math.inf if t["dev_loss"] is None else t["dev_loss"]


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Grid vs random search over (lr, eps) with the same budget; tabulate and plot."""
    per_axis, epochs = (3, 3) if quick else (PER_AXIS, 30)
    train_seed, dev_seed, init_seed, shuffle_seed, search_seed = child_seeds(seed, 5)
    X, y = make_moons(n_samples=300, noise=0.25, random_state=train_seed)
    X_dev, y_dev = make_moons(n_samples=300, noise=0.25, random_state=dev_seed)
    data = (X.astype(np.float32), y, X_dev.astype(np.float32), y_dev)
    designs = {"grid": grid_points(per_axis),
               "random": random_points(per_axis ** 2, np.random.default_rng(search_seed))}
    trials = {name: [trial(lr, eps, data, epochs, init_seed, shuffle_seed) for lr, eps in points]
              for name, points in designs.items()}

    rows = []
    for name, ts in trials.items():
        best = min(ts, key=_score)
        rows.append({"search": name, "trials": len(ts), "distinct_lr": len({t["lr"] for t in ts}),
                     "distinct_eps": len({t["eps"] for t in ts}),
                     "diverged": sum(t["dev_loss"] is None for t in ts), "best_lr": best["lr"], "best_eps": best["eps"],
                     "best_dev_loss": best["dev_loss"], "best_dev_accuracy": best["dev_accuracy"]})

    # how much each hyperparameter moves the result, measured on the grid (rows: lr, columns: eps)
    grid = np.array([[_score(t) for t in trials["grid"][i * per_axis:(i + 1) * per_axis]] for i in range(per_axis)])
    eps_spread = grid.max(axis=1) - grid.min(axis=1)  # per lr: the range over eps
    lr_spread = grid.max(axis=0) - grid.min(axis=0)  # per eps: the range over lr
    eps_effect, lr_effect = float(np.median(eps_spread)), float(np.median(lr_spread))
    erratic = float(designs["grid"][int(np.argmax(eps_spread)) * per_axis][0])
    plot(trials, out_dir / "search_trials.png")

    g, r = rows
    better = "better than" if r["best_dev_loss"] < g["best_dev_loss"] else "no better than"
    reading = (
        f"With the same budget of {per_axis ** 2} trainings the grid tries {g['distinct_lr']} learning rates and "
        f"random search {r['distinct_lr']}. On the grid, changing eps at a fixed learning rate moves the dev loss "
        f"by {eps_effect:.3g} (median over the learning rates; at most {eps_spread.max():.3g}, at lr {erratic:.3g}), "
        f"while changing the learning rate at a fixed eps moves it by {lr_effect:.3g} (median over eps): eps "
        f"hardly matters, so {per_axis ** 2 - per_axis} of the grid's trials "
        f"({per_axis - 1} per learning rate) add almost nothing"
        + (f"; {g['diverged']} of its trials diverge" if g["diverged"] else "")
        + f". Random search's best (lr {r['best_lr']:.3g}, dev loss {r['best_dev_loss']:.4f}, "
        f"accuracy {r['best_dev_accuracy']:.1%}) is {better} the grid's best (lr {g['best_lr']:.3g}, dev loss "
        f"{g['best_dev_loss']:.4f}, accuracy {g['best_dev_accuracy']:.1%})."
    )
    return LabResult(
        name="search", title=f"Grid vs random search, {per_axis ** 2} trials each, over Adam's lr and eps",
        columns=["search", "trials", "distinct_lr", "distinct_eps", "diverged", "best_lr", "best_eps", "best_dev_loss",
                 "best_dev_accuracy"],
        rows=rows, reading=reading, figures=["search_trials.png"],
        settings={"lr_range": LR_RANGE, "eps_range": EPS_RANGE, "scale": "log-uniform", "budget": per_axis ** 2,
                  "network": [2, 16, 16, 1], "optimizer": "adam", "epochs": epochs, "batch_size": 32,
                  "data": "make_moons", "n_train": 300, "n_dev": 300, "noise": 0.25,
                  "eps_effect": eps_effect, "lr_effect": lr_effect,
                  "effects": "median over the grid's rows (columns) of the range of dev loss over eps (lr)",
                  "trials": trials},
    )


def plot(trials: dict, path: Path) -> None:
    """Where each design samples, and the dev loss projected onto the learning-rate axis."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 1.2]})
    scores = [t["dev_loss"] for ts in trials.values() for t in ts if t["dev_loss"] is not None]
    vmin, vmax = min(scores), max(scores)
    for ax, (name, ts) in zip(axes[:2], trials.items()):
        ok = [t for t in ts if t["dev_loss"] is not None]
        bad = [t for t in ts if t["dev_loss"] is None]
        sc = ax.scatter([t["lr"] for t in ok], [t["eps"] for t in ok], c=[t["dev_loss"] for t in ok], s=45,
                        cmap="viridis_r", vmin=vmin, vmax=vmax, edgecolors="k", linewidths=0.4)
        if bad:
            ax.scatter([t["lr"] for t in bad], [t["eps"] for t in bad], marker="x", c="tab:red", s=45)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("lr (matters)")
        ax.set_title(f"{name}: {len({t['lr'] for t in ts})} distinct lr values" + (" (x: diverged)" if bad else ""))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("eps (barely matters)")
    fig.colorbar(sc, ax=axes[1], label="dev loss")
    for name, marker in (("grid", "s"), ("random", "o")):
        ts = sorted((t for t in trials[name] if t["dev_loss"] is not None), key=lambda t: t["lr"])
        axes[2].plot([t["lr"] for t in ts], [t["dev_loss"] for t in ts], marker, alpha=0.75, label=name,
                     markersize=6 if marker == "o" else 8, fillstyle="none" if marker == "s" else "full")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("lr")
    axes[2].set_ylabel("dev loss")
    axes[2].set_title("all trials projected onto the lr axis")
    axes[2].grid(alpha=0.3, which="both")
    axes[2].legend()
    save_figure(fig, path)
