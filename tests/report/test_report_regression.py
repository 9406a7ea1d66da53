"""The train report of a regression run: R2/RMSE/MAE, an R2 curve, no accuracy or logits wording."""

import json
import re

from tunenet.report import render_report


def test_regression_report_shows_its_own_metrics(regression_run):
    page = render_report(regression_run)
    metrics = json.loads((regression_run / "metrics.json").read_text())
    table = re.search(r'<section id="metrics">(.*?)</section>', page, re.S).group(1)
    assert "<th>R²</th><th>RMSE</th><th>MAE</th>" in table and "accuracy" not in table
    assert f"{metrics['test_rmse']:.4g}" in table and "standardised target" in table
    assert "(linear output)" in page and "(logits)" not in page
    assert 'id="confusion"' not in page
    assert "loss and R² per epoch" in page
    assert page.count("<img ") == 4  # curves, step loss, gradient health, activation health


def test_classification_report_keeps_accuracy_and_the_confusion_matrix(dead_run):
    page = render_report(dead_run)
    assert "<th>accuracy</th>" in page and 'id="confusion"' in page and "(logits)" in page


def test_the_report_embeds_the_curves_train_drew_unless_the_history_is_newer(regression_run, tmp_path):
    import base64
    import os
    import shutil

    run = tmp_path / "run"
    shutil.copytree(regression_run, run)
    saved = base64.b64encode((run / "curves.png").read_bytes()).decode()
    assert saved in render_report(run)  # drawn once by tunenet train, reused
    stamp = (run / "curves.png").stat().st_mtime_ns
    os.utime(run / "history.csv", ns=(stamp + 10**9, stamp + 10**9))  # the history changed after the plot
    page = render_report(run)
    assert saved not in page and "loss and R² per epoch" in page
