"""The study's pictures and its one self-contained page: ``parameters.png``, ``history.png``, ``report.html``.

What the page says, in order: a sentence on the trials (how many completed,
were pruned or failed), the best trial with the study's objective by name
(``dev accuracy``, ``dev R²``) and why it won when the rule passed over a
higher score, its test metrics, its configuration (only the optimiser
hyperparameters its optimiser reads), the importance with what it rests on,
each round's space, the plots, and every trial with the best one marked.
Numbers are shown to 4 significant digits.

Plots are zoomed on the useful band of the objective: from the best value
to the 25th percentile on the other side (trials beyond it are drawn on the
band's edge as triangles and counted in the title), so one diverged trial at
accuracy 0.1 does not squash the trials that matter; each round has its own
colour and a legend entry, and the best trial is a star.
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from ..config import unused_hyperparameters
from ..fileio import atomic_write_text
from ..metrics import metric_label
from ..report.plots import plt, save_figure
from .doctor_pruner import doctor_sentence
from .importance import describe_basis, display_name
from .search import study_objective, trial_note
from .space import Beta, IntRange, LogUniform, SearchSpace

ROUND_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
#: the band's far edge: this quantile of the values on the worse side of the best
BAND_QUANTILE = 0.25
STATE_WORDS = {"complete": "completed", "pruned": "pruned", "fail": "failed", "running": "running",
               "waiting": "waiting"}

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 1.2em 2em 3em; color: #222; line-height: 1.45; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.93em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f4f6f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.6em 0; }
figcaption { color: #555; font-size: 0.9em; }
tr.best td { background: #e6f4ea; font-weight: 600; }
.badge { display: inline-block; color: white; background: #2e7d32; border-radius: 3px; padding: 0 0.4em;
         font-size: 0.8em; margin-left: 0.4em; }
.note { color: #666; font-style: italic; }
"""


def fmt(value) -> str:
    """4 significant digits for floats, as is otherwise."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def fmt_text(text: str) -> str:
    """Every decimal number inside ``text`` (a space such as ``loguniform(0.0001, 3.16228)``) to 4 digits."""
    return re.sub(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+", lambda m: f"{float(m.group(0)):.4g}", text)


def trials_sentence(counts: dict) -> str:
    """``{"complete": 28, "pruned": 2}`` -> ``"30 trials: 28 completed, 2 pruned."``"""
    total = sum(counts.values())
    parts = [f"{n} {STATE_WORDS.get(state, state)}" for state, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    text = f"{total} trial{'s' * (total != 1)}: " + ", ".join(parts) + "."
    if counts.get("fail"):
        text += " The table at the end gives each failure's reason."
    return text


def trial_parameters(t) -> dict:
    """A trial's sampled hyperparameters by their user names, without those its optimiser ignores."""
    values = {display_name(k): (1 - v if k.startswith("1-") else v) for k, v in t.params.items()}
    optimizer = values.get("optimizer") or (t.user_attrs.get("config") or {}).get("optimizer")
    hidden = unused_hyperparameters(optimizer)
    return {k: v for k, v in values.items() if k not in hidden}


def config_rows(config: dict) -> dict:
    """The configuration without the optimiser hyperparameters its optimiser ignores."""
    hidden = unused_hyperparameters(config.get("optimizer"))
    return {k: v for k, v in config.items() if k not in hidden}


def useful_band(values, maximize: bool) -> tuple[float, float] | None:
    """(low, high) of the plot's y axis: the best value to the :data:`BAND_QUANTILE` on the other side, padded."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return None
    best = v.max() if maximize else v.min()
    edge = np.quantile(v, BAND_QUANTILE if maximize else 1 - BAND_QUANTILE)
    lo, hi = (edge, best) if maximize else (best, edge)
    if hi - lo < 1e-9 * max(1.0, abs(best)):
        lo, hi = v.min(), v.max()
        if hi - lo < 1e-12:
            return float(best - 0.5), float(best + 0.5)
    pad = 0.08 * (hi - lo)
    return float(lo - pad), float(hi + pad)


def _complete(study) -> list:
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if t.value is not None and math.isfinite(t.value)]
    return sorted(trials, key=lambda t: t.number)


def _scatter(ax, xs, ys, rounds, band, best_index: int | None, labels: set) -> int:
    """Points coloured by round; values outside the band on its edge as triangles; returns how many were."""
    outside = 0
    ys = np.asarray(ys, dtype=np.float64)
    for r in sorted(set(rounds)):
        idx = [i for i, rr in enumerate(rounds) if rr == r]
        colour = ROUND_COLOURS[r % len(ROUND_COLOURS)]
        label = f"round {r + 1}" if r not in labels else None
        labels.add(r)
        inside = [i for i in idx if band is None or band[0] <= ys[i] <= band[1]]
        ax.scatter([xs[i] for i in inside], ys[inside], color=colour, s=22, alpha=0.85, label=label)
        if band is not None:
            below = [i for i in idx if ys[i] < band[0]]
            above = [i for i in idx if ys[i] > band[1]]
            outside += len(below) + len(above)
            ax.scatter([xs[i] for i in below], [band[0]] * len(below), color=colour, marker="v", s=30, alpha=0.7)
            ax.scatter([xs[i] for i in above], [band[1]] * len(above), color=colour, marker="^", s=30, alpha=0.7)
    if best_index is not None:
        ax.scatter([xs[best_index]], [ys[best_index]], marker="*", s=170, color="#d62728", edgecolor="black",
                   linewidth=0.6, zorder=5, label="best trial" if "best" not in labels else None)
        labels.add("best")
    if band is not None:
        ax.set_ylim(*band)
    return outside


def _band_note(outside: int, maximize: bool) -> str:
    if not outside:
        return ""
    side = "below" if maximize else "above"
    return f"; {outside} point{'s' * (outside != 1)} {side} the band drawn on its edge ({'▼' if maximize else '▲'})"


def plot_parameters(study, settings: dict, path: Path, best_number: int | None = None) -> None:
    """The objective against each hyperparameter, on the scale it was sampled on (log for log-scaled)."""
    space = SearchSpace.from_dict(settings["rounds"][0]["space"])
    trials = [t for t in _complete(study) if "values" in t.user_attrs]
    maximize = settings["direction"] == "maximize"
    objective = metric_label(study_objective(settings))
    names = list(space.distributions)
    cols = min(4, max(len(names), 1))
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    ys = [t.value for t in trials]
    band = useful_band(ys, maximize)
    rounds = [t.user_attrs.get("round", 0) for t in trials]
    best_index = next((i for i, t in enumerate(trials) if t.number == best_number), None)
    labels: set = set()
    outside = 0
    for ax, name in zip(axes.flat, names):
        dist = space.distributions[name]
        xs = [t.user_attrs["values"].get(name) for t in trials]
        if isinstance(dist, Beta):
            xs = [1 - x for x in xs]
            ax.set_xscale("log")
            ax.set_xlabel(f"1 - {name} (log scale)")
        elif isinstance(dist, LogUniform) or (isinstance(dist, IntRange) and dist.log):
            ax.set_xscale("log")
            ax.set_xlabel(f"{name} (log scale)")
        else:
            xs = [str(x) if isinstance(x, (bool, str)) else x for x in xs]
            ax.set_xlabel(name)
        outside = max(outside, _scatter(ax, xs, ys, rounds, band, best_index, labels))
        ax.set_ylabel(objective)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles, texts = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, texts, loc="upper right", fontsize=8, ncol=len(texts))
    fig.suptitle(f"{objective} against each hyperparameter{_band_note(outside, maximize)}", x=0.02, ha="left",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save_figure(fig, path)


def plot_history(study, path: Path, settings: dict | None = None, best_number: int | None = None) -> None:
    """Each trial's objective in order (colour: round), and the best so far."""
    trials = _complete(study)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    objective = metric_label(study_objective(settings)) if settings else "dev metric"
    fig, ax = plt.subplots(figsize=(8, 3.6))
    outside = 0
    if trials:
        xs = [t.number for t in trials]
        ys = [t.value for t in trials]
        band = useful_band(ys, maximize)
        best_index = next((i for i, t in enumerate(trials) if t.number == best_number), None)
        outside = _scatter(ax, xs, ys, [t.user_attrs.get("round", 0) for t in trials], band, best_index, set())
        best = np.maximum.accumulate(ys) if maximize else np.minimum.accumulate(ys)
        ax.step(xs, best, where="post", color="tab:red", alpha=0.6, label="best so far")
        ax.legend(fontsize=8, ncol=4, loc="lower right" if maximize else "upper right")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.grid(alpha=0.3)
    ax.set_title(f"optimisation history{_band_note(outside, maximize)}", fontsize=10)
    save_figure(fig, path)


def _img(path: Path, alt: str) -> str:
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>' \
           f'{html.escape(alt)}</figcaption></figure>'


def _metrics_table(metrics: dict) -> str:
    """Split rows (train, dev, test) by score columns, then the counts (epochs, steps) as a line."""
    e = html.escape
    splits = [s for s in ("train", "dev", "test") if any(k.startswith(s + "_") for k in metrics)]
    scores = [k for k in ("loss", "accuracy", "r2", "rmse", "mae") if any(f"{s}_{k}" in metrics for s in splits)]
    out = ["<table><tr><th>split</th>" + "".join(f"<th>{e(metric_label(k))}</th>" for k in scores) + "</tr>"]
    for s in splits:
        out.append(f"<tr><td>{s}</td>" + "".join(f'<td class="num">{e(fmt(metrics.get(f"{s}_{k}", "-")))}</td>'
                                                 for k in scores) + "</tr>")
    out.append("</table>")
    rest = {k: v for k, v in metrics.items() if not k.startswith(("train_", "dev_", "test_"))}
    if rest:
        out.append("<p>" + ", ".join(f"{e(k)}: <b>{e(fmt(v))}</b>" for k, v in rest.items()) + "</p>")
    return "\n".join(out)


def write_html(study, summary: dict, study_dir: Path) -> Path:
    """One self-contained ``report.html`` (images embedded, no network access)."""
    e = html.escape
    best = summary["best"]
    objective_key = next(k for k in best if k.startswith("dev_"))
    objective = metric_label(objective_key)
    config = config_rows(best["config"])
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(fmt(v))}</td></tr>" for k, v in config.items())
    imp = "".join(f'<tr><td>{e(k)}</td><td class="num">{v:.3f}</td></tr>'
                  for k, v in summary.get("importance", {}).items())
    basis = summary.get("importance_basis")
    basis_text = f"<p>{e(describe_basis(basis))}.</p>" if basis else ""
    importance = (f"{basis_text}<table><tr><th>hyperparameter</th><th>importance</th></tr>{imp}</table>" if imp else
                  '<p class="note">Not computed: fewer than 4 completed trials in round 1.</p>')
    rounds = "".join(f"<tr><td>{r['round']}</td><td>{r['trials']}</td><td>"
                     + "<br>".join(f"{e(k)}: {e(fmt_text(str(v)))}" for k, v in (r["space"] or {}).items())
                     + "</td></tr>" for r in summary["rounds"])
    why = f" {e(best['why'])}." if best.get("why") else ""
    trows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        is_best = t.number == best["trial"]
        params = ", ".join(f"{k}={fmt(v)}" for k, v in trial_parameters(t).items())
        row_class = ' class="best"' if is_best else ""
        trows.append(f"<tr{row_class}><td>{t.number}"
                     + ('<span class="badge">best</span>' if is_best else "")
                     + f"</td><td>{t.user_attrs.get('round', 0) + 1}</td><td>{t.state.name.lower()}</td>"
                     f'<td class="num">{"" if t.value is None else fmt(float(t.value))}</td><td>{e(params)}</td>'
                     f"<td>{e(trial_note(t))}</td></tr>")
    stopped = doctor_sentence(summary.get("doctor") or {})
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tunenet study {e(study.study_name)}</title><style>{CSS}</style></head><body>
<header><h1>Study {e(study.study_name)}</h1></header>
<section id="summary"><h2>Summary</h2>
<p>{e(trials_sentence(summary['trials']))} {e(stopped)} Trials are ranked by their <b>{e(objective)}</b>.
The best is trial #{best['trial']} with {e(objective)} <b>{fmt(float(best[objective_key]))}</b>; its model
{e(model_origin(best))},
evaluated once on the test set.{why}</p></section>
<section id="test"><h2>The best model on train, dev and test</h2>{_metrics_table(best['metrics'])}</section>
<section id="config"><h2>Best configuration (best.yaml)</h2>
<p class="note">Optimiser hyperparameters that {e(str(best['config'].get('optimizer')))} does not use are left
out.</p><table>{rows}</table></section>
<section id="importance"><h2>Hyperparameter importance</h2>{importance}</section>
<section id="rounds"><h2>Rounds (coarse to fine)</h2>
<table><tr><th>round</th><th>trials</th><th>space</th></tr>{rounds}</table></section>
<section id="plots"><h2>Plots</h2>
{_img(study_dir / 'parameters.png', f'{objective} against each hyperparameter (colour: round; star: best trial)')}
{_img(study_dir / 'history.png', f'optimisation history: {objective} per trial and the best so far')}
{_img(study_dir / 'best-model' / 'curves.png', 'learning curves of the best configuration')}
</section>
<section id="trials"><h2>All trials</h2>
<table><tr><th>#</th><th>round</th><th>state</th><th>{e(objective)}</th><th>hyperparameters</th><th>note</th></tr>
{"".join(trows)}</table></section></body></html>"""
    path = study_dir / "report.html"
    atomic_write_text(path, page)
    return path


def model_origin(best: dict) -> str:
    """Where the tested model came from, in words (the report's and the CLI's summary)."""
    if best.get("refit"):
        return f"refit on train + dev for {best['refit']['epochs']} epochs (the best trial's best epoch)"
    return "retrained here" if best["retrained"] else "kept from the trial"


__all__ = ["config_rows", "fmt", "fmt_text", "model_origin", "plot_history", "plot_parameters", "trial_parameters",
           "trials_sentence", "useful_band", "write_html"]
