"""Figures the labs share: decision boundaries of 2-D classifiers, curve panels.

Everything is drawn with matplotlib's Agg backend and written as PNG through
:func:`tunenet.report.plots.save_figure` (atomic write).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..report.plots import save_figure  # noqa: E402

CLASS_COLOURS = ("tab:red", "tab:blue")


def decision_grid(X: np.ndarray, steps: int = 200, margin: float = 0.25):
    """A ``steps x steps`` mesh covering ``X``'s two features plus a margin: ``(xx, yy, points)``."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin
    xx, yy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)


def boundary_panels(panels: Sequence[tuple[str, object]], X: np.ndarray, y: np.ndarray, path: Path,
                    suptitle: str = "", X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                    columns: int | None = None) -> None:
    """One panel per ``(title, model)``: P(y=1) shaded, the 0.5 contour, the points.

    Training points are filled circles; test points (if given) hollow squares.
    """
    xx, yy, grid = decision_grid(X if X_test is None else np.vstack([X, X_test]))
    n = len(panels)
    columns = columns or n
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.5 * rows), squeeze=False)
    for ax, (title, model) in zip(axes.ravel(), panels):
        p = model.predict_proba(grid)[:, 1].reshape(xx.shape)
        ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.45, vmin=0, vmax=1)
        if p.min() < 0.5 < p.max():
            ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.2)
        for k, colour in enumerate(CLASS_COLOURS):
            ax.scatter(*X[y == k].T, s=9, c=colour, edgecolors="none")
            if X_test is not None:
                ax.scatter(*X_test[y_test == k].T, s=12, facecolors="none", edgecolors=colour, marker="s",
                           linewidths=0.6)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    save_figure(fig, path)


def curves(series: Sequence[tuple[str, Sequence[float]]], path: Path, *, title: str, xlabel: str,
           ylabel: str, logy: bool = False, x: Sequence[float] | None = None, styles: dict | None = None,
           size=(6.4, 4.0)) -> None:
    """Several named curves on one axis (e.g. the training cost of each variant)."""
    fig, ax = plt.subplots(figsize=size)
    for label, values in series:
        xs = np.arange(1, len(values) + 1) if x is None else x
        ax.plot(xs, values, label=label, **(styles or {}).get(label, {}))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both" if logy else "major")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


__all__ = ["boundary_panels", "curves", "decision_grid", "plt", "save_figure"]
