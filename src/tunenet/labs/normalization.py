"""Lab ``normalization``: standardised inputs make the cost round and gradient descent fast.

For a linear model the cost ``J(w) = 1/(2m) ||X w - y||^2`` has the Hessian
``H = X^T X / m``: a feature measured on a scale ``s`` times larger makes the
cost ``s^2`` times steeper along its weight, so the contours are ellipses
with axis ratio ``sqrt(kappa)``, ``kappa = lambda_max / lambda_min`` the
condition number of ``H``. Gradient descent must keep ``lr < 2/lambda_max``
to be stable and then needs about ``kappa/2 * ln(1/tol)`` steps along the
flat direction; even the best fixed rate ``lr = 2/(lambda_max + lambda_min)``
only shrinks the error by ``(kappa - 1)/(kappa + 1)`` per step. Standardising
each feature, ``x' = (x - mean_train) / std_train`` (statistics from the
training set only, then applied to every set), brings ``kappa`` near 1: round
contours, a path straight to the minimum.

Two experiments:

1. the 2-parameter least-squares problem ``y = w1 x1 + w2 x2`` (no bias;
   ``x2`` on a scale 5 times larger), gradient descent from ``w = 0`` with
   the best fixed rate ``2/(lambda_max + lambda_min)``: steps until
   ``J - J* < 0.001 (J(0) - J*)``, and the paths on the cost contours;
2. the network ``[2, 10, 5, 1]`` (ReLU, He, sigmoid output) on
   ``make_moons`` (300 points, noise 0.2) whose second feature is multiplied
   by 20, trained with mini-batch gradient descent (batch 64) at learning
   rates 3 ... 0.01: epochs until the epoch's mean training loss falls below
   0.25 (at most 1,000), raw against standardised inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

from ..nn import Dense, Sequential, mlp
from ..optim import SGD
from ..train import Callback
from .common import LabResult, StopAtTarget, child_seeds, lab, train
from .figures import plt, save_figure

SCALE_QUADRATIC, SCALE_NETWORK = 5.0, 20.0
TARGET_LOSS, LRS = 0.25, (3.0, 1.0, 0.3, 0.1, 0.03, 0.01)


def standardize(X: np.ndarray, X_train: np.ndarray) -> np.ndarray:
    """``(X - mean) / std`` with the statistics of ``X_train``."""
    return ((X - X_train.mean(axis=0)) / X_train.std(axis=0)).astype(np.float32)


def condition_number(X: np.ndarray) -> float:
    """``kappa`` of ``X^T X / m``, the Hessian of a least-squares cost on ``X``."""
    eig = np.linalg.eigvalsh(X.T.astype(np.float64) @ X / len(X))
    return float(eig[-1] / eig[0])


class RecordWeights(Callback):
    """Keep a copy of the model's weights after every step (the gradient-descent path)."""

    def __init__(self, model) -> None:
        self.path = [model.flat_values.copy()]

    def on_step_end(self, trainer, loss):
        self.path.append(trainer.model.flat_values.copy())


def quadratic(X: np.ndarray, y: np.ndarray, max_steps: int) -> dict:
    """Gradient descent on ``J(w) = 1/(2m)||Xw - y||^2`` from ``w = 0`` with ``lr = 2/(l_max + l_min)``."""
    eig = np.linalg.eigvalsh(X.T.astype(np.float64) @ X / len(X))
    lr = 2.0 / (eig[0] + eig[-1])
    w_star = np.linalg.lstsq(X.astype(np.float64), y, rcond=None)[0]
    j_star = 0.5 * np.mean((X @ w_star - y) ** 2)
    j_zero = 0.5 * np.mean(y ** 2)
    model = Sequential([Dense(2, 1, init="zeros", bias=False, dtype=np.float64)], output="linear")
    stop, record = StopAtTarget(j_star + 1e-3 * (j_zero - j_star)), RecordWeights(model)
    train(model, SGD(model, lr=lr), X.astype(np.float64), y, epochs=max_steps, batch_size=len(X), seed=0,
          callbacks=[stop, record])
    return {"lr": float(lr), "epochs": stop.reached, "kappa": float(eig[-1] / eig[0]),
            "path": np.array(record.path), "w_star": w_star}


def network_epochs(X: np.ndarray, y: np.ndarray, lr: float, cap: int, init_seed: int, shuffle_seed: int):
    """Epochs for ``[2, 10, 5, 1]`` to reach the target loss at ``lr`` (None if not within ``cap``)."""
    model = mlp(2, [10, 5], 1, activation="relu", init="he", output="sigmoid", seed=init_seed)
    stop = StopAtTarget(TARGET_LOSS)
    history, diverged = train(model, SGD(model, lr=lr), X, y, epochs=cap, batch_size=64, seed=shuffle_seed,
                              callbacks=[stop])
    return stop.reached, diverged, history.last.get("train_loss", float("nan"))


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Raw vs standardised inputs: a 2-parameter quadratic and a network on rescaled moons."""
    cap = 30 if quick else 1000
    quad_seed, moons_seed, init_seed, shuffle_seed = child_seeds(seed, 4)

    rng = np.random.default_rng(quad_seed)
    U = rng.standard_normal((200, 2))
    y_quad = U @ np.array([1.0, 1.0]) + 0.1 * rng.standard_normal(200)
    X_quad = U * np.array([1.0, SCALE_QUADRATIC])
    quads = {"raw": quadratic(X_quad, y_quad, 5000), "standardised": quadratic(standardize(X_quad, X_quad).astype(
        np.float64), y_quad - y_quad.mean(), 5000)}

    X, y = make_moons(n_samples=300, noise=0.2, random_state=moons_seed)
    X_raw = (X * np.array([1.0, SCALE_NETWORK])).astype(np.float32)
    inputs = {"raw": X_raw, "standardised": standardize(X_raw, X_raw)}
    sweep = {name: [network_epochs(Xs, y, lr, cap, init_seed, shuffle_seed) for lr in LRS]
             for name, Xs in inputs.items()}

    rows = []
    for name, q in quads.items():
        Xq = X_quad if name == "raw" else standardize(X_quad, X_quad)
        rows.append({"problem": "2-parameter least squares", "inputs": name,
                     "feature_std": f"{Xq[:, 0].std():.2f} / {Xq[:, 1].std():.2f}", "condition_number": q["kappa"],
                     "lr": q["lr"], "epochs_to_target": q["epochs"]})
    for name, Xs in inputs.items():
        reached = [(e, lr) for (e, _, _), lr in zip(sweep[name], LRS) if e is not None]
        best = min(reached) if reached else (None, None)
        rows.append({"problem": "network on moons", "inputs": name,
                     "feature_std": f"{Xs[:, 0].std():.2f} / {Xs[:, 1].std():.2f}",
                     "condition_number": condition_number(Xs), "lr": best[1], "epochs_to_target": best[0]})

    plot_contours(quads, X_quad, y_quad, out_dir / "normalization_contours.png")
    plot_sweep(sweep, cap, out_dir / "normalization_lr.png")

    qr, qs, nr, ns = rows
    net_raw = (f"needs {nr['epochs_to_target']} epochs at best (lr {nr['lr']:g})" if nr["epochs_to_target"]
               else f"does not reach it within {cap} epochs at any learning rate")
    reading = (
        f"Measuring x2 on a {SCALE_QUADRATIC:g} times larger scale makes the least-squares cost's condition number "
        f"{qr['condition_number']:.0f} instead of {qs['condition_number']:.2f}: elongated contours on which even "
        f"the best fixed rate zig-zags for {qr['epochs_to_target']} steps to reach the target, against "
        f"{qs['epochs_to_target']} on the round contours of the standardised problem. The network on moons whose "
        f"second feature is {SCALE_NETWORK:g} times larger {net_raw}; with standardised inputs it reaches a "
        f"training loss of {TARGET_LOSS} in {ns['epochs_to_target']} epochs (lr {ns['lr']:g}) and reaches it at "
        f"{sum(e is not None for e, _, _ in sweep['standardised'])} of the {len(LRS)} learning rates tried, the raw "
        f"inputs at {sum(e is not None for e, _, _ in sweep['raw'])}."
    )
    return LabResult(
        name="normalization", title="Input normalisation: raw vs standardised inputs",
        columns=["problem", "inputs", "feature_std", "condition_number", "lr", "epochs_to_target"],
        rows=rows, reading=reading, figures=["normalization_contours.png", "normalization_lr.png"],
        settings={"quadratic": {"m": 200, "scale_x2": SCALE_QUADRATIC, "start": [0, 0],
                                "target": "J - J* < 0.001 (J(0) - J*)", "lr": "2 / (lambda_max + lambda_min)"},
                  "network": {"layers": [2, 10, 5, 1], "data": "make_moons", "n": 300, "noise": 0.2,
                              "scale_x2": SCALE_NETWORK, "optimizer": "sgd", "batch_size": 64, "lrs": list(LRS),
                              "target_loss": TARGET_LOSS, "max_epochs": cap},
                  "sweep": {name: [{"lr": lr, "epochs_to_target": e, "diverged": d, "final_loss": loss}
                                   for (e, d, loss), lr in zip(runs, LRS)] for name, runs in sweep.items()}},
    )


def plot_contours(quads: dict, X_quad: np.ndarray, y_quad: np.ndarray, path: Path) -> None:
    """Cost contours and gradient-descent paths, raw vs standardised, equal axis scales."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, (name, q) in zip(axes, quads.items()):
        X = X_quad if name == "raw" else standardize(X_quad, X_quad).astype(np.float64)
        y = y_quad if name == "raw" else y_quad - y_quad.mean()
        w_star, path_w = q["w_star"], q["path"]
        half = 1.25 * np.abs(w_star - path_w[0]).max()
        w1, w2 = np.meshgrid(np.linspace(w_star[0] - half, w_star[0] + half, 300),
                             np.linspace(w_star[1] - half * 0.6, w_star[1] + half * 0.6, 300))
        W = np.stack([w1.ravel(), w2.ravel()])
        J = (0.5 * np.mean((X @ W - y[:, None]) ** 2, axis=0)).reshape(w1.shape)
        j_star = 0.5 * np.mean((X @ w_star - y) ** 2)
        ax.contour(w1, w2, J, levels=j_star + np.geomspace(1e-3, 1, 9) * (J.max() - j_star), cmap="viridis")
        ax.plot(path_w[:, 0], path_w[:, 1], "o-", color="tab:red", markersize=2.5, linewidth=0.8)
        ax.plot(*w_star, "k*", markersize=10)
        ax.set_aspect("equal")
        ax.set_xlabel("w1")
        ax.set_ylabel("w2")
        ax.set_title(f"{name}: kappa = {q['kappa']:.3g}, {q['epochs']} steps at lr {q['lr']:.3g}", fontsize=10)
    fig.suptitle("gradient descent on J(w) = 1/(2m) ||Xw - y||^2 from w = 0 (equal axis scales)")
    fig.tight_layout()
    save_figure(fig, path)


def plot_sweep(sweep: dict, cap: int, path: Path) -> None:
    """Epochs to the target loss against the learning rate; runs that never reach it drawn at the cap."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, runs in sweep.items():
        epochs = [e if e is not None else cap for e, _, _ in runs]
        line, = ax.plot(LRS, epochs, "-", label=name)
        ax.plot([lr for lr, (e, _, _) in zip(LRS, runs) if e is not None],
                [e for e, _, _ in runs if e is not None], "o", color=line.get_color())
        ax.plot([lr for lr, (e, _, _) in zip(LRS, runs) if e is None],
                [cap for e, _, _ in runs if e is None], "x", color=line.get_color(), markersize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"epochs to training loss < {TARGET_LOSS} (x: not within {cap})")
    ax.set_title(f"[2, 10, 5, 1] on moons with x2 scaled by {SCALE_NETWORK:g}")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
