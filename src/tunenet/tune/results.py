"""What a finished study shows: the best configuration (its trial's model, or retrained) tested once,
``best.yaml``, importance, plots on each hyperparameter's own scale, and an
HTML report.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ..config import RunConfig, from_dict
from ..fileio import atomic_write_text
from .doctor_pruner import doctor_counts
from .importance import describe_basis, importance, importance_basis
from .noise import completed, near_best
from .report import plot_history, plot_parameters, write_html
from .search import study_objective, trial_dir
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
    summary: dict = {"study": study.study_name, "trials": _counts(study), "rounds": _round_bounds(settings),
                     "doctor": doctor_counts(study.get_trials(deepcopy=False))}
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
        if not (fresh / "curves.png").is_file() and (fresh / "history.csv").is_file():  # trials draw none
            from ..run import draw_curves
            from ..train import History

            draw_curves(History.read_csv(fresh / "history.csv"), fresh, Path(str(config.data)).stem)
    else:  # a refit, or the best trial ran on another machine: train it here (same seed, same result)
        # with the study's BLAS thread count, as its trials trained: every core's threads on a shared machine
        # made one MNIST-1D refit several times slower per epoch than its trials (and a retrain differ in last bits)
        threads = settings["base"].get("threads")
        metrics, retrained = train_run(config.replace(threads=threads), fresh, progress=progress).metrics, True
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
    plot_parameters(study, settings, study_dir / "parameters.png", best_number=best.number)
    plot_history(study, study_dir / "history.png", settings, best_number=best.number)
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
