"""Reports: PNG plots (matplotlib, Agg) and the self-contained HTML report of a run."""

from .html import render_report, write_report
from .plots import (
    confusion_matrix,
    plot_activation_health,
    plot_confusion_matrix,
    plot_gradient_health,
    plot_learning_curves,
    plot_lr_range,
    plot_step_loss,
)

__all__ = ["confusion_matrix", "plot_activation_health", "plot_confusion_matrix", "plot_gradient_health",
           "plot_learning_curves", "plot_lr_range", "plot_step_loss", "render_report", "write_report"]
