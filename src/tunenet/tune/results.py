"""What a finished study shows: the best configuration (its trial's model, or retrained) tested once,
``best.yaml``, importance, plots on each hyperparameter's own scale, and an
HTML report.
"""

from __future__ import annotations

import base64
import html
import json
import math
import shutil
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from ..config import RunConfig, from_dict
from ..fileio import atomic_write_text
from ..report.plots import plt, save_figure
from .importance import describe_basis, display_name, importance, importance_basis
from .noise import completed, near_best
from .search import study_objective, trial_dir, trial_note
from .space import Beta, IntRange, LogUniform, SearchSpace
from .study import settings_of


def best_trial(study: optuna.Study):
    """The trial whose model the study reports.

    For a loss objective, the lowest dev loss. For dev accuracy, a difference
    smaller than the dev set's sampling noise says little (on 360 dev rows one
    row is 0.28 points), so among the trials within one standard error
    ``sqrt(p (1 - p) / n)`` of the best accuracy ``p`` on ``n`` dev rows
    (:func:`~tunenet.tune.noise.near_best`), the one with the lowest dev loss
    wins: the loss ranks those near-ties by how confident each model is on
    every dev row, not by a handful of rows.
    """
    complete = completed(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if not complete:
        return None
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        return min(complete, key=lambda t: t.value)
    near, se = near_best(complete, maximize=True)
    top = near[0] if se is None else max(near, key=lambda t: t.value)
    near = [t for t in near if "dev_loss" in t.user_attrs]
    return min(near, key=lambda t: (t.user_attrs["dev_loss"], -t.value)) if se is not None and near else top


def why_best(study: optuna.Study, best) -> str | None:
    """Why the rule chose ``best`` over a trial with a higher dev score; None when ``best`` has the highest.

    ``"#22 at 0.9833 chosen over #20 at 0.9861: within one standard error (0.0061), lower dev loss
    (0.0523 against 0.0710)"`` -- the CLI prints it, ``summary.json`` keeps it as ``best.why``.
    """
    complete = completed(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if best is None or study.direction != optuna.study.StudyDirection.MAXIMIZE:
        return None
    near, se = near_best(complete, maximize=True)
    top = max(complete, key=lambda t: t.value)
    if se is None or top.value <= best.value:
        return None
    loss = ""
    if "dev_loss" in best.user_attrs and "dev_loss" in top.user_attrs:
        loss = f" ({best.user_attrs['dev_loss']:.4f} against {top.user_attrs['dev_loss']:.4f})"
    return (f"#{best.number} at {best.value:.4f} chosen over #{top.number} at {top.value:.4f}: within one "
            f"standard error ({se:.4f}), lower dev loss{loss}")


def best_config(trial) -> RunConfig:
    """The trial's full configuration, with the thread limit of its worker removed."""
    d = dict(trial.user_attrs["config"])
    d["threads"] = None
    return from_dict(d)


def best_epochs(trial, maximize: bool) -> int:
    """How many epochs the trial's best model trained: 1 + the epoch of the best dev metric in its curve."""
    curve = [(v, i) for i, v in enumerate(trial.user_attrs.get("curve") or []) if v is not None and math.isfinite(v)]
    if not curve:
        return int(trial.user_attrs.get("epochs") or 1)
    best = max(curve, key=lambda vi: (vi[0] if maximize else -vi[0], -vi[1]))
    return best[1] + 1


def refit_config(config: RunConfig, epochs: int) -> RunConfig:
    """The best configuration trained on train + dev (dev 0) for the best trial's number of epochs.

    With no dev set there is nothing to stop early on, so early stopping and
    plateau decay are off and the run trains exactly ``epochs`` epochs: the
    search chose the hyperparameters and the epoch count on the dev set; the
    refit spends the dev rows on training, as scikit-learn's ``refit=True``
    does after a search.
    """
    return config.replace(dev=0.0, epochs=epochs, early_stopping=0, plateau=0, monitor="train_loss")


def finalize(study: optuna.Study, study_dir: Path, progress: bool = False) -> dict:
    """Keep (or retrain) the best configuration's model in ``best-model/``, test it once, write every output.

    With the study setting ``refit``, the best configuration is trained again on
    train + dev for its best epoch count (:func:`refit_config`) and that model
    is the one tested. Returns the summary (also written to ``summary.json``).
    """
    from ..run import train_run

    study_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_of(study)
    best = best_trial(study)
    summary: dict = {"study": study.study_name, "trials": _counts(study), "rounds": _round_bounds(settings)}
    if best is None:
        summary["best"] = None
        atomic_write_text(study_dir / "summary.json", json.dumps(summary, indent=2))
        return summary
    config = best_config(best)
    kept = trial_dir(study_dir, best.number)
    best_dir = study_dir / "best-model"
    refit = None
    if settings.get("refit"):
        refit = {"epochs": best_epochs(best, study.direction == optuna.study.StudyDirection.MAXIMIZE)}
        config = refit_config(config, refit["epochs"])
    # the new best-model/ is built beside the old one and replaces it only once complete
    fresh = study_dir / "best-model.partial"
    if fresh.exists():
        shutil.rmtree(fresh)
    if refit is None and (kept / "model.safetensors").is_file() and (kept / "metrics.json").is_file():
        shutil.copytree(kept, fresh)
        metrics, retrained = json.loads((fresh / "metrics.json").read_text()), False
    else:  # a refit, or the best trial ran on another machine: train it here (same seed, same result)
        metrics, retrained = train_run(config, fresh, progress=progress).metrics, True
    if best_dir.exists():
        shutil.rmtree(best_dir)
    fresh.rename(best_dir)
    config.save(study_dir / "best.yaml")
    summary["best"] = {"trial": best.number, "dev_" + _metric_name(settings): best.value,
                       "values": best.user_attrs.get("values", {}), "config": config.to_dict(),
                       "retrained": retrained, "refit": refit, "why": why_best(study, best),
                       "metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float))}}
    summary["importance"] = importance(study, seed=settings["seed"])
    summary["importance_basis"] = importance_basis(study)
    _annotate_best_yaml(study_dir / "best.yaml", summary)
    plot_parameters(study, settings, study_dir / "parameters.png")
    plot_history(study, study_dir / "history.png")
    atomic_write_text(study_dir / "summary.json", json.dumps(_clean(summary), indent=2))
    write_html(study, summary, study_dir)
    return summary


def _annotate_best_yaml(path: Path, summary: dict) -> None:
    """Comments at the end of ``best.yaml`` (ignored when it is read back): why this trial, and importance."""
    best = summary["best"]
    lines = [f"# best trial #{best['trial']} of study {summary['study']}"]
    if best.get("why"):
        lines.append(f"# {best['why']}")
    if summary.get("importance"):
        lines.append(f"# importance ({describe_basis(summary['importance_basis'])}): "
                     + ", ".join(f"{k} {v:.2f}" for k, v in summary["importance"].items()))
    atomic_write_text(path, path.read_text() + "\n".join(lines) + "\n")


def model_origin(best: dict) -> str:
    """Where the tested model came from, in words (the report's and the CLI's summary)."""
    if best.get("refit"):
        return f"refit on train + dev for {best['refit']['epochs']} epochs (the best trial's best epoch)"
    return "retrained here" if best["retrained"] else "kept from the trial"


def _metric_name(settings: dict) -> str:
    return study_objective(settings).removeprefix("dev_")


def _counts(study) -> dict:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    return counts


def _round_bounds(settings: dict) -> list[dict]:
    return [{"round": i + 1, "trials": r["trials"], "space": r.get("space")} for i, r in enumerate(settings["rounds"])]


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def plot_parameters(study, settings: dict, path: Path) -> None:
    """Dev metric against each hyperparameter, on the scale it was sampled on (log for log-scaled)."""
    space = SearchSpace.from_dict(settings["rounds"][0]["space"])
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if "values" in t.user_attrs]
    names = list(space.distributions)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        dist = space.distributions[name]
        xs = [t.user_attrs["values"].get(name) for t in trials]
        ys = [t.value for t in trials]
        rounds = [t.user_attrs.get("round", 0) for t in trials]
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
        ax.scatter(xs, ys, c=rounds, cmap="viridis", s=18, alpha=0.8)
        ax.set_ylabel(f"dev {_metric_name(settings)}")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("dev metric against each hyperparameter (colour: round)")
    fig.tight_layout()
    save_figure(fig, path)


def plot_history(study, path: Path) -> None:
    """Each trial's dev metric in order, and the best so far."""
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    trials.sort(key=lambda t: t.number)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if trials:
        xs = [t.number for t in trials]
        ys = [t.value for t in trials]
        best = np.maximum.accumulate(ys) if study.direction == optuna.study.StudyDirection.MAXIMIZE \
            else np.minimum.accumulate(ys)
        ax.scatter(xs, ys, c=[t.user_attrs.get("round", 0) for t in trials], cmap="viridis", s=16, label="trial")
        ax.step(xs, best, where="post", color="tab:red", label="best so far")
        ax.legend()
    ax.set_xlabel("trial")
    ax.set_ylabel("dev metric")
    ax.grid(alpha=0.3)
    ax.set_title("optimisation history")
    save_figure(fig, path)


def _img(path: Path, alt: str) -> str:
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>' \
           f'{html.escape(alt)}</figcaption></figure>'


def write_html(study, summary: dict, study_dir: Path) -> Path:
    """One self-contained ``report.html`` (images embedded, no network access)."""
    best = summary["best"]
    e = html.escape
    rows = "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in best["config"].items())
    metrics = "".join(f"<tr><td>{e(k)}</td><td>{v:.4f}</td></tr>" if isinstance(v, float) else
                      f"<tr><td>{e(k)}</td><td>{v}</td></tr>" for k, v in best["metrics"].items())
    imp = "".join(f"<tr><td>{e(k)}</td><td>{v:.3f}</td></tr>" for k, v in summary.get("importance", {}).items())
    rounds = "".join(f"<tr><td>{r['round']}</td><td>{r['trials']}</td><td>"
                     + "<br>".join(f"{e(k)}: {e(str(v))}" for k, v in (r["space"] or {}).items()) + "</td></tr>"
                     for r in summary["rounds"])
    why = f" {e(best['why'])}." if best.get("why") else ""
    trials = sorted([t for t in study.get_trials(deepcopy=False)], key=lambda t: t.number)
    trow = "".join(
        f"<tr><td>{t.number}</td><td>{t.user_attrs.get('round', 0) + 1}</td><td>{t.state.name.lower()}</td>"
        f"<td>{'' if t.value is None else f'{t.value:.4f}'}</td><td>"
        + e(", ".join(f"{display_name(k)}={_fmt(v if not k.startswith('1-') else 1 - v)}"
                      for k, v in t.params.items()))
        + f"</td><td>{e(trial_note(t))}</td></tr>" for t in trials)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tunenet study {e(study.study_name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}table{{border-collapse:collapse;
margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;font-size:14px;text-align:left}}img{{max-width:100%}}
</style></head><body>
<h1>Study {e(study.study_name)}</h1>
<p>Trials: {e(json.dumps(summary['trials']))}. Best trial #{best['trial']} with dev metric
<b>{next(v for k, v in best.items() if k.startswith('dev_')):.4f}</b>; its model
{model_origin(best)}, evaluated once on the test set.{why}</p>
<table><tr><th>metric</th><th>value</th></tr>{metrics}</table>
<h2>Best configuration (best.yaml)</h2><table>{rows}</table>
<h2>Hyperparameter importance</h2>{_basis_html(summary)}<table><tr><th>hyperparameter</th><th>importance</th></tr>
{imp}</table>
<h2>Rounds (coarse to fine)</h2><table><tr><th>round</th><th>trials</th><th>space</th></tr>{rounds}</table>
{_img(study_dir / 'parameters.png', 'dev metric against each hyperparameter')}
{_img(study_dir / 'history.png', 'optimisation history')}
{_img(study_dir / 'best-model' / 'curves.png', 'learning curves of the best configuration')}
<h2>All trials</h2><table><tr><th>#</th><th>round</th><th>state</th><th>value</th><th>hyperparameters</th>
<th>reason</th></tr>{trow}</table></body></html>"""
    path = study_dir / "report.html"
    atomic_write_text(path, page)
    return path


def _basis_html(summary: dict) -> str:
    basis = summary.get("importance_basis")
    return f"<p>{html.escape(describe_basis(basis))}.</p>" if basis else ""


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
