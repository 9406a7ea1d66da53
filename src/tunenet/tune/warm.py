"""Warm start: a new study's first trials are another study's best (``--warm-start STUDY``).

A longer search then builds on a shorter one instead of rediscovering its
region. The earlier study's best trials -- every completed trial within one
standard error of its best dev score (:func:`~tunenet.tune.noise.near_best`),
best first, at most a third of the new study's first round -- are queued with
Optuna's ``study.enqueue_trial``: each queued trial fixes the searched values
the new space shares with the old one (clipped into the new ranges; a choice
the new space lacks is left to the sampler) and samples the rest. They count
towards the first round's budget and train with the new study's seeds, so
their dev scores are measured again, not copied.
"""

from __future__ import annotations

from pathlib import Path

import optuna

from ..errors import ConfigError
from .noise import near_best
from .space import Beta, Choice, IntRange, SearchSpace
from .study import load_study, make_storage, study_dir_for


def open_warm_study(spec: str, storage: str | None, root) -> optuna.Study:
    """The study named (or whose directory is) ``spec``, in ``storage`` or its own journal."""
    warm_dir = Path(spec) if Path(spec).is_dir() else study_dir_for(Path(spec).name, root)
    if storage is None and not (warm_dir / "journal.log").is_file():
        raise ConfigError(f"--warm-start {spec}: no study there (no {warm_dir / 'journal.log'})")
    try:
        return load_study(warm_dir.name, make_storage(storage, warm_dir))
    except ConfigError as exc:
        raise ConfigError(f"--warm-start {spec}: {exc}") from None


def warm_trials(warm: optuna.Study, limit: int) -> list:
    """The warm study's best trials (within one SE of its best), best first, at most ``limit``."""
    maximize = warm.direction == optuna.study.StudyDirection.MAXIMIZE
    near, _ = near_best(warm.get_trials(deepcopy=False), maximize)
    near = [t for t in near if "values" in t.user_attrs]
    near.sort(key=lambda t: t.value, reverse=maximize)
    return near[:max(limit, 0)]


def fixed_params(values: dict, space: SearchSpace) -> dict:
    """Optuna parameters of the new space's first round for the searched ``values`` it shares.

    Numbers are clipped into the new range; a choice it does not offer is left out (sampled).
    """
    params = {}
    for name, dist in space.distributions.items():
        if name not in values:
            continue
        value = values[name]
        if isinstance(dist, Choice):
            if value in dist.options:
                params[name] = value
        elif isinstance(dist, Beta):
            params[f"1-{name}"] = 1.0 - min(max(float(value), dist.low), dist.high)
        elif isinstance(dist, IntRange):
            params[name] = int(min(max(int(round(value)), dist.low), dist.high))
        else:
            params[name] = float(min(max(float(value), dist.low), dist.high))
    return params


def enqueue_warm_start(study: optuna.Study, warm: optuna.Study, space: SearchSpace, round_trials: int) -> list[int]:
    """Queue ``warm``'s best trials as ``study``'s first; returns the warm study's trial numbers used."""
    chosen = warm_trials(warm, max(1, round_trials // 3))
    for t in chosen:
        study.enqueue_trial(fixed_params(t.user_attrs["values"], space),
                            user_attrs={"round": 0, "warm_start": f"{warm.study_name} #{t.number}"})
    return [t.number for t in chosen]
