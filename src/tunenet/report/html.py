"""One self-contained HTML report per run: ``RUN_DIR/report.html``.

The page holds, in order: the findings (from ``diagnosis.json``, or passed
in), the final metrics (``metrics.json``), the learning curves (loss and
accuracy, train vs dev, smoothed with the bias-corrected EWA; the per-step
loss from ``steps.csv``), the training health per layer (``health.json``:
a table, gradient-norm and activation plots), the confusion matrix on the dev
set (``metrics.json["confusion_matrix"]`` or passed in; none for regression, whose metrics are
R², RMSE and MAE) and the configuration
(``config.yaml``). Every plot is a PNG embedded as a base64 ``data:`` URI and
the style sheet is inline, so the file opens from disk with no network access
and can be mailed or archived on its own. Sections whose inputs are missing
say so instead of failing; all text is HTML-escaped.

The report reads files only (it does not diagnose): run
:func:`tunenet.diagnose.diagnose_run` first to have the findings written.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import yaml

from ..errors import DataError
from ..fileio import atomic_write_text, read_json_object
from ..train.history import History
from . import plots

REPORT_FILE = "report.html"
#: the EWA beta of the report's learning curves; ``tunenet train`` draws ``curves.png`` with it
CURVES_SMOOTHING = 0.6
SEVERITY_COLOURS = {"error": "#c0392b", "warning": "#d68910", "info": "#2471a3"}

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 1.2em 2em 3em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.1em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.93em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f4f6f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.6em 0; }
.finding { border-left: 6px solid #999; background: #fafafa; padding: 0.5em 0.9em; margin: 0.7em 0; }
.finding .head { font-size: 1.05em; } .finding .where { color: #555; margin-left: 0.5em; }
.finding p { margin: 0.35em 0; }
.badge { display: inline-block; color: white; border-radius: 3px; padding: 0 0.45em; font-size: 0.85em;
         text-transform: uppercase; letter-spacing: 0.03em; margin-right: 0.4em; }
.note { color: #666; font-style: italic; }
code { background: #f2f2f2; padding: 0 0.25em; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _read_inputs(run_dir: Path) -> dict:
    inputs: dict = {"config": None, "metrics": read_json_object(run_dir / "metrics.json"), "history": None,
                    "steps": None, "health": read_json_object(run_dir / "health.json"),
                    "diagnosis": read_json_object(run_dir / "diagnosis.json"),
                    "repair": read_json_object(run_dir / "repair.json")}
    config_path = run_dir / "config.yaml"
    if config_path.is_file():
        try:
            inputs["config"] = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DataError(f"{config_path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if (run_dir / "history.csv").is_file():
        try:
            inputs["history"] = History.read_csv(run_dir / "history.csv")
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"{run_dir / 'history.csv'}: malformed history ({exc})") from None
    if (run_dir / "steps.csv").is_file():
        with open(run_dir / "steps.csv", newline="") as f:
            try:
                inputs["steps"] = [float(row["loss"]) for row in csv.DictReader(f)]
            except (KeyError, ValueError, TypeError) as exc:
                raise DataError(f"{run_dir / 'steps.csv'}: malformed steps file ({exc})") from None
    health = inputs["health"]
    if health is not None and health.get("format") != "tunenet-health":
        raise DataError(f"{run_dir / 'health.json'}: not a tunenet health record")
    return inputs


# -- sections -------------------------------------------------------------------
def _findings_section(findings: list[dict] | None) -> str:
    out = ['<section id="findings"><h2>Findings</h2>']
    if findings is None:
        out.append('<p class="note">Not diagnosed yet: run <code>tunenet diagnose RUN_DIR</code>.</p>')
    elif not findings:
        out.append('<p class="finding-none">No problems found.</p>')
    for f in findings or []:
        colour = SEVERITY_COLOURS.get(f.get("severity"), "#777")
        where = " · ".join(x for x in (f.get("layer"), f"epoch {f['epoch']}" if f.get("epoch") else None) if x)
        out.append(
            f'<div class="finding" style="border-left-color:{colour}">'
            f'<div class="head"><span class="badge" style="background:{colour}">{_e(f.get("severity", ""))}</span>'
            f'<b class="kind">{_e(f.get("kind", ""))}</b>'
            + (f'<span class="where">{_e(where)}</span>' if where else "") + "</div>"
            f'<p class="evidence">{_e(f.get("evidence", ""))}</p>'
            f'<p class="fix"><b>Fix:</b> {_e(f.get("fix", ""))}</p></div>')
    out.append("</section>")
    return "\n".join(out)


def _repair_section(repair: dict | None) -> str:
    """``tunenet diagnose --repair``'s changes with the train/dev accuracy and loss before and after."""
    if not repair or not isinstance(repair.get("steps"), list):
        return ""
    out = ['<section id="repair"><h2>Repair</h2>', "<table><tr><th>step</th><th>finding</th><th>change</th>"
           "<th>train accuracy</th><th>dev accuracy</th><th>dev loss</th><th>still found</th></tr>"]
    for s in repair["steps"]:
        b, a = s.get("before") or {}, s.get("after") or {}

        def pair(key, b=b, a=a):
            return f"{_fmt(b.get(key))} &rarr; {_fmt(a.get(key))}"

        change = ", ".join(f"{k}={v}" for k, v in (s.get("change") or {}).items())
        out.append(f"<tr><td>{_e(s.get('step'))}</td><td>{_e(s.get('finding'))}</td><td><code>{_e(change)}</code>"
                   f"</td><td>{pair('train_accuracy')}</td><td>{pair('dev_accuracy')}</td><td>{pair('dev_loss')}"
                   f"</td><td>{_e(', '.join(s.get('remaining') or []) or 'nothing')}"
                   + (f" ({_e(s['note'])})" if s.get("note") else "") + "</td></tr>")
    out.append(f"</table><p>Outcome: {_e(repair.get('outcome'))}; last run <code>{_e(repair.get('final_run_dir'))}"
               "</code>.</p></section>")
    return "\n".join(out)


def _metrics_section(metrics: dict | None) -> str:
    out = ['<section id="metrics"><h2>Final metrics</h2>']
    if not metrics:
        out.append('<p class="note">No metrics.json in this run.</p></section>')
        return "\n".join(out)
    splits = [split for split in ("train", "dev", "test") if f"{split}_loss" in metrics]
    regression = any(f"{split}_r2" in metrics for split in splits)
    rows = [(split, metrics.get(f"{split}_loss"), metrics.get(f"{split}_accuracy")) for split in splits]
    if regression:
        out.append("<table><tr><th>split</th><th>loss</th><th>R²</th><th>RMSE</th><th>MAE</th></tr>")
        for split in splits:
            out.append(f"<tr><td>{split}</td>" + "".join(
                f'<td class="num">{_fmt(metrics.get(f"{split}_{k}"))}</td>' for k in ("loss", "r2", "rmse", "mae"))
                + "</tr>")
        out.append("</table>")
        units = ("1/2 MSE of the standardised target" if metrics.get("target_standardized")
                 else "1/2 MSE in the target's units")
        out.append(f"<p>R² as scikit-learn's <code>score</code>; RMSE and MAE in the target's units; loss: "
                   f"{units}.</p>")
    elif rows:
        out.append("<table><tr><th>split</th><th>loss</th><th>accuracy</th><th>error</th></tr>")
        for split, loss, acc in rows:
            err = "-" if not isinstance(acc, (int, float)) or math.isnan(acc) else f"{1 - acc:.2%}"
            out.append(f'<tr><td>{split}</td><td class="num">{_fmt(loss)}</td>'
                       f'<td class="num">{_fmt(acc) if acc is not None else "-"}</td><td class="num">{err}</td></tr>')
        out.append("</table>")
    extra = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))
             and not k.startswith(("train_", "dev_", "test_"))}
    if extra:
        out.append("<p>" + ", ".join(f"{_e(k)}: <b>{_e(_fmt(v))}</b>" for k, v in extra.items()) + "</p>")
    out.append("</section>")
    return "\n".join(out)


def _saved_curves(run_dir: Path, smooth_beta: float) -> bytes | None:
    """``curves.png`` as ``tunenet train`` drew it, when it shows the current history.

    It is reused when it is at least as new as ``history.csv`` and the report
    asks for the smoothing it was drawn with (:data:`CURVES_SMOOTHING`): a
    small run then draws its learning curves once, not twice.
    """
    png, history = run_dir / "curves.png", run_dir / "history.csv"
    if smooth_beta != CURVES_SMOOTHING or not (png.is_file() and history.is_file()):
        return None
    if png.stat().st_mtime_ns < history.stat().st_mtime_ns:
        return None
    data = png.read_bytes()
    return data if data.startswith(b"\x89PNG\r\n\x1a\n") else None


def _curves_section(history: History | None, steps: list[float] | None, smooth_beta: float,
                    regression: bool = False, saved: bytes | None = None) -> str:
    out = ['<section id="curves"><h2>Learning curves</h2>']
    score = "R²" if regression else "accuracy"
    if history is not None and len(history):
        png = saved or plots.plot_learning_curves(history, None, title=f"loss and {score} per epoch",
                                                  smooth_beta=smooth_beta)
        out.append(_img(png, f"learning curves: loss and {score} per epoch, train vs dev"))
    else:
        out.append('<p class="note">No completed epoch (history.csv missing or empty).</p>')
    if steps:
        out.append(_img(plots.plot_step_loss(steps), "mini-batch loss per step"))
    out.append("</section>")
    return "\n".join(out)


def _median(values) -> float:
    a = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan


def _health_section(health: dict | None, regression: bool = False) -> str:
    out = ['<section id="health"><h2>Training health per layer</h2>']
    if health is None or not health.get("steps"):
        out.append('<p class="note">No health record (health.json): train with '
                   "<code>HealthMonitor</code> to see gradient and activation statistics per layer.</p></section>")
        return "\n".join(out)
    n = len(health["steps"])
    out.append(f'<p>Sampled every {health["every"]} steps ({n} samples, steps {health["steps"][0]} to '
               f'{health["steps"][-1]}); medians over the samples.</p>')
    out.append("<table><tr><th>layer</th><th>shape</th><th>activation</th><th>gradient norm</th>"
               "<th>update/weight</th><th>activation std</th><th>dead</th><th>saturated</th></tr>")
    for layer in health["layers"]:
        stats = health["layer_stats"][layer["name"]]
        cells = [_median(stats[m]) for m in ("grad_norm", "update_ratio", "act_std", "dead", "saturated")]
        text = [f"{v:.2e}" if i < 3 else f"{v:.0%}" for i, v in enumerate(cells)]
        text = ["-" if math.isnan(v) else t for v, t in zip(cells, text, strict=True)]
        out.append(f'<tr><td>{_e(layer["name"])}</td><td>{layer["n_in"]} x {layer["n_out"]}</td>'
                   f'<td>{_e(layer["activation"] or ("(linear output)" if regression else "(logits)"))}</td>'
                   + "".join(f'<td class="num">{t}</td>' for t in text) + "</tr>")
    out.append("</table>")
    for event in health.get("events", []):
        out.append(f'<p><b>Training stopped at step {event.get("step")}</b> (epoch {event.get("epoch")}): '
                   f'non-finite gradient in {_e(", ".join(event.get("non_finite") or []) or "the global norm")}.</p>')
    out.append(_img(plots.plot_gradient_health(health), "gradient norm and update/weight ratio per layer"))
    out.append(_img(plots.plot_activation_health(health), "activation spread, dead and saturated units per layer"))
    out.append("</section>")
    return "\n".join(out)


def _confusion_section(confusion: dict | None) -> str:
    out = ['<section id="confusion"><h2>Confusion matrix</h2>']
    if not confusion:
        out.append('<p class="note">No confusion matrix (a regression run, or metrics.json has no '
                   "confusion_matrix).</p></section>")
        return "\n".join(out)
    matrix = np.asarray(confusion["matrix"], dtype=np.int64)
    split = confusion.get("split", "dev")
    total = int(matrix.sum())
    acc = float(np.trace(matrix) / total) if total else math.nan
    out.append(f"<p>{_e(split)} set, {total} samples, accuracy {acc:.2%}; rows are the true classes.</p>")
    out.append(_img(plots.plot_confusion_matrix(matrix, confusion.get("classes"),
                                                title=f"confusion matrix ({split})"),
                    f"confusion matrix on the {split} set"))
    out.append("</section>")
    return "\n".join(out)


def _config_section(config) -> str:
    out = ['<section id="config"><h2>Configuration</h2>']
    if not isinstance(config, dict):
        out.append('<p class="note">No config.yaml in this run.</p></section>')
        return "\n".join(out)
    out.append("<table>")
    for key, value in config.items():
        shown = json.dumps(value) if isinstance(value, (list, dict)) else _fmt(value)
        out.append(f"<tr><th>{_e(key)}</th><td>{_e(shown)}</td></tr>")
    out.append("</table></section>")
    return "\n".join(out)


def _as_confusion(confusion) -> dict | None:
    if confusion is None:
        return None
    if isinstance(confusion, dict):
        return confusion
    return {"split": "dev", "classes": None, "matrix": np.asarray(confusion).tolist()}


# -- entry points -----------------------------------------------------------------
def render_report(run_dir: str | os.PathLike, *, findings: list | None = None, confusion=None,
                  title: str | None = None, smooth_beta: float = CURVES_SMOOTHING) -> str:
    """The report of ``run_dir`` as one HTML string (see the module docstring).

    Parameters
    ----------
    findings : list of Finding (or their dicts), optional
        Default: ``diagnosis.json`` when present.
    confusion : dict ``{"split", "classes", "matrix"}`` or a square array, optional
        Default: ``metrics.json["confusion_matrix"]``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: no such run directory")
    inputs = _read_inputs(run_dir)
    if not any(inputs[k] is not None for k in ("config", "metrics", "history", "health")):
        raise DataError(f"{run_dir}: not a run directory (no config.yaml, metrics.json, history.csv or health.json)")
    if findings is None and inputs["diagnosis"] is not None:
        findings = inputs["diagnosis"].get("findings", [])
    if findings is not None:
        findings = [f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in findings]
    metrics = inputs["metrics"] or {}
    confusion = _as_confusion(confusion) or metrics.get("confusion_matrix")
    config = inputs["config"]
    regression = any(k.endswith("_r2") for k in metrics)
    dataset = config.get("data") if isinstance(config, dict) else None
    title = title or f"tunenet report: {run_dir.name}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p class=\"sub\">run directory <code>{_e(run_dir)}</code>"
        + (f" · data <b>{_e(dataset)}</b>" if dataset else "")
        + f" · generated {_e(time.strftime('%Y-%m-%d %H:%M'))}</p></header>",
        _findings_section(findings),
        _repair_section(inputs["repair"]),
        _metrics_section({k: v for k, v in metrics.items() if k != "confusion_matrix"} if metrics else None),
        _curves_section(inputs["history"], inputs["steps"], smooth_beta, regression,
                        _saved_curves(run_dir, smooth_beta)),
        _health_section(inputs["health"], regression=regression),
        "" if regression else _confusion_section(confusion),
        _config_section(config),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(run_dir: str | os.PathLike, *, findings: list | None = None, confusion=None,
                 title: str | None = None, path: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` (or ``path``) for ``run_dir`` atomically and return its path."""
    out = Path(path) if path is not None else Path(run_dir) / REPORT_FILE
    atomic_write_text(out, render_report(run_dir, findings=findings, confusion=confusion, title=title))
    return out
