"""Plots as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..fileio import atomic_write_bytes  # noqa: E402


def save_figure(fig, path: str | os.PathLike) -> None:
    """Render ``fig`` to PNG and write it atomically; closes the figure."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def plot_learning_curves(history, path: str | os.PathLike, title: str = "learning curves",
                         smooth_beta: float = 0.0) -> None:
    """Loss and accuracy against epoch, train vs dev, side by side.

    ``smooth_beta`` > 0 overlays the bias-corrected exponentially weighted
    average of each curve.
    """
    epochs = history.column("epoch")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for split, colour in (("train", "tab:blue"), ("dev", "tab:orange")):
            values = history.column(f"{split}_{metric}")
            if not values or all(math.isnan(v) for v in values):
                continue
            ax.plot(epochs, values, color=colour, alpha=0.45 if smooth_beta else 1.0, label=split)
            if smooth_beta:
                from ..optim.ewa import ewa

                ax.plot(epochs, ewa(values, smooth_beta), color=colour, label=f"{split} (EWA {smooth_beta:g})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.suptitle(title)
    save_figure(fig, path)
