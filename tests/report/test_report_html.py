"""report.html: one self-contained file with every section, escaped text and embedded PNGs."""

import base64
import io
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from tunenet.diagnose import Finding
from tunenet.errors import DataError
from tunenet.report import render_report, write_report
from tunenet.train import History


def images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)">', page)]


def test_a_self_contained_report_with_every_section(dead_run, tmp_path):
    path = write_report(dead_run, path=tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    for section in ("findings", "metrics", "curves", "health", "confusion", "config"):
        assert f'<section id="{section}">' in page
    # nothing outside the file: no URL, no external script, style sheet or font
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "url(" not in page
    srcs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    pngs = images(page)
    assert len(pngs) == len(srcs) == 5  # curves, step loss, gradients, activations, confusion
    for png in pngs:
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 150
    # the findings of diagnosis.json, the metrics and the configuration
    assert "dead units" in page and "high bias" in page and "Fix:" in page
    assert "dense0, dense1" in page
    metrics = json.loads((dead_run / "metrics.json").read_text())
    assert f"{1 - metrics['dev_accuracy']:.2%}" in page
    assert "<th>activation</th><td>relu</td>" in page
    assert "100%" in page  # the dead fraction in the per-layer table


def test_findings_passed_in_are_escaped(healthy_run, tmp_path):
    evil = Finding("overfitting", "warning", "<b>dense0</b>", 3, "<script>alert(1)</script> & more", "a \"fix\"")
    page = render_report(healthy_run, findings=[evil])
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "&lt;b&gt;dense0&lt;/b&gt;" in page and "a &quot;fix&quot;" in page


def test_missing_inputs_are_explained_not_fatal(tmp_path):
    rows = [{"epoch": i + 1, "train_loss": 1.0 / (i + 1), "train_accuracy": 0.5, "dev_loss": float("nan"),
             "dev_accuracy": float("nan"), "lr": 0.01, "time": 0.1} for i in range(3)]
    History(rows, [1.0, 0.8, 0.5]).save(tmp_path)
    page = render_report(tmp_path)
    assert "Not diagnosed yet" in page
    assert "No health record" in page and "No metrics.json" in page and "No config.yaml" in page
    assert "No confusion matrix" in page
    assert len(images(page)) == 2
    assert render_report(tmp_path, findings=[]).count("No problems found") == 1


def test_a_confusion_matrix_can_be_passed_in(healthy_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(healthy_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["confusion_matrix"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert "No confusion matrix" in render_report(run)
    page = render_report(run, confusion=np.eye(3, dtype=int) * 5)
    assert "15 samples, accuracy 100.00%" in page


def test_a_diverged_run_without_epochs(tmp_path):
    History([], [3.2, 2.9e6]).save(tmp_path)
    (tmp_path / "diagnosis.json").write_text(json.dumps({"format": "tunenet-diagnosis", "version": 1, "findings": [
        Finding("learning rate too high", "error", None, 1, "training diverged at step 2", "lower it").to_dict()]}))
    page = render_report(tmp_path)
    assert "No completed epoch" in page and "learning rate too high" in page
    assert len(images(page)) == 1  # the step loss


def test_errors_name_the_run_directory(tmp_path):
    with pytest.raises(DataError, match="no such run directory"):
        write_report(tmp_path / "missing")
    with pytest.raises(DataError, match="not a run directory"):
        write_report(tmp_path)
    (tmp_path / "health.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataError, match="health.json: not a tunenet health record"):
        write_report(tmp_path)
    (tmp_path / "health.json").unlink()
    (tmp_path / "config.yaml").write_text("a: [1, 2")
    with pytest.raises(DataError, match="config.yaml: not valid YAML"):
        write_report(tmp_path)
