"""Plots as PNG (matplotlib with the Agg backend, no display needed).

Every ``plot_*`` function returns the PNG bytes and, when ``path`` is given,
also writes them there atomically. Inputs are plain data: a
:class:`~tunenet.train.History` (or anything with ``column(name)``), the
health record as its JSON dict (``health.json``; an object with
``to_dict()`` works too), the range test's result (anything with ``lrs``,
``losses``, ``smoothed``, ``suggested``, ``search_range``).

Curves are smoothed with the bias-corrected exponentially weighted average
``v_t / (1 - beta^t)`` (:func:`tunenet.optim.ewa`), drawn over the faint raw
values.
"""

from __future__ import annotations

import io
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from ..fileio import atomic_write_bytes  # noqa: E402
from ..optim.ewa import ewa  # noqa: E402

HEALTHY_UPDATE_RATIO = 1e-3
DPI = 100


def figure_png(fig) -> bytes:
    """Render ``fig`` to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def save_figure(fig, path: str | os.PathLike) -> None:
    """Render ``fig`` to PNG and write it atomically; closes the figure."""
    atomic_write_bytes(path, figure_png(fig))


def _finish(fig, path) -> bytes:
    data = figure_png(fig)
    if path is not None:
        atomic_write_bytes(path, data)
    return data


def _floats(values) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _smooth(values: np.ndarray, beta: float) -> np.ndarray:
    """Bias-corrected EWA over the finite values (NaN positions stay NaN)."""
    out = np.full(values.shape, math.nan)
    ok = np.isfinite(values)
    if ok.any():
        out[ok] = ewa(values[ok], beta)
    return out


def _decade(value: float, _pos=None) -> str:
    """Tick label for a log axis: "1e-08" at powers of ten (plain text: mathtext is slow to lay out)."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    return f"1e{int(round(exponent))}" if abs(exponent - round(exponent)) < 1e-6 else ""


def _short(value: float, _pos=None) -> str:
    return f"{value:.2g}"


def _log_y(ax) -> None:
    """A log y axis labelled in plain text (mathtext is slow to lay out), called once every artist is drawn.

    Data spanning two decades or more get "1e-08" labels at powers of ten; one
    to two decades, ticks at 1, 2 and 5 times a power of ten; less than a
    factor of 10 stays on a linear axis, where a log scale would show no tick.
    """
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if not (low > 0 and high / low >= 10):
        ax.set_yscale("linear")
        return
    if high / low >= 100:
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_decade))
    else:
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_short))
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def _integer_x(ax) -> None:
    """Integer ticks on an x axis of steps or epochs (a single point gets its own tick)."""
    lines = [line for line in ax.lines if len(line.get_xdata())]
    xs = np.concatenate([np.asarray(line.get_xdata(), dtype=float) for line in lines]) if lines else np.array([])
    if xs.size and np.nanmin(xs) == np.nanmax(xs):
        ax.set_xticks([xs[0]])
        ax.set_xlim(xs[0] - 1, xs[0] + 1)
    else:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def _positive(values: np.ndarray) -> np.ndarray:
    """``values`` with non-positive and non-finite entries as NaN (for log axes)."""
    values = values.copy()
    values[~(np.isfinite(values) & (values > 0))] = math.nan
    return values


def plot_learning_curves(history, path: str | os.PathLike | None = None, title: str = "learning curves",
                         smooth_beta: float = 0.0) -> bytes:
    """Loss and accuracy (R² for regression) against epoch, train vs dev, side by side.

    ``smooth_beta`` > 0 draws the raw curves faintly and overlays their
    bias-corrected exponentially weighted average. Regression draws the dev
    R² (``dev_r2``) beside the loss; a run with neither accuracy nor R² gets
    the loss panel alone.
    """
    epochs = history.column("epoch")
    column = lambda name: _floats([row.get(name) for row in history.epochs])  # noqa: E731
    if any(np.isfinite(column(f"{s}_accuracy")).any() for s in ("train", "dev")):
        metrics = ("loss", "accuracy")
    elif np.isfinite(column("dev_r2")).any():
        metrics = ("loss", "r2")
    else:
        metrics = ("loss",)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False)
    axes = axes[0]
    fig.subplots_adjust(wspace=0.25)
    for ax, metric in zip(axes, metrics, strict=True):
        for split, colour in (("train", "tab:blue"), ("dev", "tab:orange")):
            values = column(f"{split}_{metric}")
            if not values.size or not np.isfinite(values).any():
                continue
            ax.plot(epochs, values, color=colour, alpha=0.35 if smooth_beta else 1.0,
                    label=f"{split} (raw)" if smooth_beta else split)
            if smooth_beta:
                ax.plot(epochs, _smooth(values, smooth_beta), color=colour, label=f"{split} (EWA {smooth_beta:g})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("R²" if metric == "r2" else metric)
        ax.grid(alpha=0.3)
        if metric == "r2" and ax.lines:  # a first epoch far below 0 would flatten the useful band
            finite = np.concatenate([line.get_ydata() for line in ax.lines]).astype(float)
            finite = finite[np.isfinite(finite)]
            if finite.size and finite.min() < -1 < finite.max():
                ax.set_ylim(-1, min(1.02, finite.max() + 0.05))
        if metric == "loss" and ax.lines:
            finite = np.concatenate([line.get_ydata() for line in ax.lines]).astype(float)
            finite = finite[np.isfinite(finite)]
            if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
                _log_y(ax)
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, f"no {metric} recorded", ha="center", va="center", transform=ax.transAxes)
        _integer_x(ax)
    fig.suptitle(title, y=1.02)
    return _finish(fig, path)


def plot_step_loss(steps, path: str | os.PathLike | None = None, beta: float = 0.98,
                   title: str = "mini-batch loss") -> bytes:
    """The loss of every optimisation step with its bias-corrected EWA (log scale when it spans decades)."""
    values = _floats(steps)
    x = np.arange(1, values.size + 1)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.plot(x, values, color="tab:blue", alpha=0.3, lw=0.8, label="step loss", marker="o" if values.size <= 5 else None)
    ax.plot(x, _smooth(values, beta), color="tab:blue", label=f"EWA {beta:g} (bias-corrected)")
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        _log_y(ax)
    ax.set_xlabel("step")
    _integer_x(ax)
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _finish(fig, path)


def _health_dict(health) -> dict:
    return health.to_dict() if hasattr(health, "to_dict") else health


def _layer_lines(ax, health: dict, metric: str) -> None:
    """One line per layer of ``layer_stats[*][metric]`` against step (non-positive values dropped: log axes)."""
    steps = np.asarray(health["steps"], dtype=np.float64)
    names = [layer["name"] for layer in health["layers"]]
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(names), 1)))
    for name, colour in zip(names, colours, strict=False):
        values = _positive(_floats(health["layer_stats"][name][metric]))
        if np.isfinite(values).any():
            ax.plot(steps, values, color=colour, label=name, lw=1.2, marker="o" if len(steps) <= 5 else None)
    ax.set_xlabel("step")
    _integer_x(ax)
    ax.grid(alpha=0.3)


def plot_gradient_health(health, path: str | os.PathLike | None = None,
                         title: str = "gradients per layer") -> bytes:
    """Three panels from the health record: per-layer gradient norm over steps, the median gradient
    norm against depth (vanishing/exploding gradients show as a slope over orders of magnitude), and
    the update/weight ratio over steps against the healthy ~1e-3."""
    h = _health_dict(health)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9))
    fig.subplots_adjust(wspace=0.32)
    _layer_lines(axes[0], h, "grad_norm")
    if axes[0].lines:
        _log_y(axes[0])
    axes[0].set_ylabel("||dJ/dW||")
    axes[0].set_title("gradient norm")
    names = [layer["name"] for layer in h["layers"]]
    medians = []
    for name in names:
        values = _positive(_floats(h["layer_stats"][name]["grad_norm"]))
        medians.append(float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan)
    x = np.arange(len(names))
    heights = np.array(medians)
    axes[1].bar(x, np.where(np.isfinite(heights), heights, 0), color="tab:purple")
    if np.isfinite(heights).any():
        _log_y(axes[1])
    axes[1].set_xticks(x, names, rotation=30 if len(names) > 4 else 0)
    axes[1].set_ylabel("median ||dJ/dW||")
    axes[1].set_title("gradient norm by depth (input -> output)")
    axes[1].grid(alpha=0.3, axis="y")
    _layer_lines(axes[2], h, "update_ratio")
    axes[2].axhline(HEALTHY_UPDATE_RATIO, color="grey", ls="--", lw=1)
    axes[2].text(0.01, HEALTHY_UPDATE_RATIO, " healthy ~1e-3", color="grey", fontsize=8, va="bottom",
                 transform=axes[2].get_yaxis_transform())
    axes[2].set_ylabel("||lr * update|| / ||W||")
    axes[2].set_title("update / weight ratio")
    _log_y(axes[2])
    for ax in (axes[0], axes[2]):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=2)
    fig.suptitle(title, y=1.03)
    return _finish(fig, path)


def plot_activation_health(health, path: str | os.PathLike | None = None,
                           title: str = "activations per layer") -> bytes:
    """Two panels: the activations' standard deviation per layer over steps (collapse or blow-up), and
    the fraction of dead ReLUs / saturated tanh-sigmoid outputs per layer over steps."""
    h = _health_dict(health)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.9))
    fig.subplots_adjust(wspace=0.25)
    _layer_lines(axes[0], h, "act_std")
    if axes[0].lines:
        _log_y(axes[0])
    axes[0].set_ylabel("std of activations")
    axes[0].set_title("activation spread")
    steps = np.asarray(h["steps"], dtype=np.float64)
    hidden = h["layers"][:-1] if len(h["layers"]) > 1 else h["layers"]
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(hidden), 1)))
    for layer, colour in zip(hidden, colours, strict=False):
        stats = h["layer_stats"][layer["name"]]
        for metric, style in (("dead", "-"), ("saturated", ":")):
            values = _floats(stats[metric])
            if np.isfinite(values).any():
                axes[1].plot(steps, values, style, color=colour, label=f"{layer['name']} {metric}")
    axes[1].set_ylim(-0.03, 1.03)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("fraction")
    axes[1].set_title("dead (ReLU) / saturated (tanh, sigmoid)")
    axes[1].grid(alpha=0.3)
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=2)
        else:
            ax.text(0.5, 0.5, "nothing to show for these activations", ha="center", va="center",
                    transform=ax.transAxes)
    _integer_x(axes[1])
    fig.suptitle(title, y=1.03)
    return _finish(fig, path)


def plot_lr_range(result, path: str | os.PathLike | None = None, title: str = "learning-rate range test") -> bytes:
    """Loss against learning rate (log scale): raw and smoothed, the suggestion and the search range."""
    lrs = np.asarray(result.lrs, dtype=np.float64)
    losses, smoothed = _floats(result.losses), _floats(result.smoothed)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(lrs, losses, color="tab:blue", alpha=0.3, lw=0.8, label="mini-batch loss")
    ax.plot(lrs, smoothed, color="tab:blue", label="smoothed (bias-corrected EWA)")
    lo, hi = result.search_range
    ax.axvspan(lo, hi, color="tab:green", alpha=0.12, label=f"search range [{lo:.2g}, {hi:.2g}]")
    ax.axvline(result.suggested, color="tab:green", ls="--", label=f"suggested lr {result.suggested:.2g}")
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        top = max(finite[0], np.percentile(finite, 95)) * 1.3
        ax.set_ylim(max(0.0, finite.min() * 0.8) if finite.min() > 0 else None, top)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _finish(fig, path)


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as ``j`` (integer class indices)."""
    y_true = np.asarray(y_true).astype(np.int64).reshape(-1)
    y_pred = np.asarray(y_pred).astype(np.int64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels and y_pred {y_pred.size}")
    k = n_classes or int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    out = np.zeros((k, k), dtype=np.int64)
    np.add.at(out, (y_true, y_pred), 1)
    return out


def plot_confusion_matrix(matrix, classes=None, path: str | os.PathLike | None = None,
                          title: str = "confusion matrix") -> bytes:
    """Counts with rows = true class, columns = predicted class; the colour is the row-normalised rate."""
    counts = np.asarray(matrix, dtype=np.int64)
    k = counts.shape[0]
    classes = [str(c) for c in (classes if classes is not None else range(k))]
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(2.0 + 0.45 * k, 12.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8 if k > 12 else 9,
                        color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), classes, rotation=45 if max(map(len, classes)) > 3 else 0, ha="right"
                  if max(map(len, classes)) > 3 else "center")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ax.set_title(title)
    return _finish(fig, path)
