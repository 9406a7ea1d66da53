"""Findings: what is wrong with a training run, with the evidence and the fix.

:func:`diagnose` reads the per-epoch history, the per-step losses, the health
record (:mod:`tunenet.diagnose.health`) and the final metrics, and returns a
list of :class:`Finding` ordered by severity. The criteria and thresholds:

=======================  ====================================================
vanishing gradients      ``||dJ/dW_l|| / ||dJ/dW_last|| < 1e-2`` (median over
                         the sampled steps) for the first layer: every layer
                         below the ratio is named; error below 1e-4
exploding gradients      the run diverged while the gradients were already
                         huge (> 1e3) on the first sampled steps (the init's
                         fault, not the learning rate's), or the first layer's
                         gradient norm is
                         over 100x the last's (growing through depth towards
                         the input), or a median gradient norm above 1e3, or
                         activations growing more than 10x per layer
dead units               a ReLU layer where >= 50% of the units output 0 on
                         every sample of the batch (median over the last third
                         of the samples); error from 90%
saturation               >= 25% of a tanh/sigmoid layer's outputs where the
                         derivative is below 5% of its peak; error from 50%
learning rate too high   the run diverged from sane gradients, the smoothed
                         loss (bias-corrected EWA, beta 0.9) rose above 2x
                         its start, an update larger than the weights
                         themselves (ratio > 1), the epoch loss oscillating
                         (at least 2 rises, of > 5% and > 1% of the first
                         epoch's loss, in >= 20% of the epochs), or a median
                         update/weight ratio > 0.1 (100x the healthy ~1e-3)
learning rate too low    every layer with a gradient moves by a median update
                         ratio < 3e-4 and the smoothed loss fell by < 50%
overfitting              the smoothed dev loss (EWA beta 0.5) rose > 10% above
                         its minimum (and the raw dev loss too) while the
                         train loss kept falling: "since epoch e"
high bias / variance     :func:`~tunenet.diagnose.bias_variance.bias_variance`
                         on the final train and dev error: a gap > 2 points is
                         reported, as a warning from 5 points
=======================  ====================================================

:func:`diagnose_run` does the same from a run directory and writes
``diagnosis.json``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_write_text, check_run_dir, read_json_object
from ..optim.ewa import ewa
from ..train.history import History
from .advice import alternatives
from .bias_variance import FINE, HIGH_BIAS, HIGH_VARIANCE, MISMATCH, run_bias_variance
from .health import HEALTH_FILE, HealthLog
from .kinds import (
    BIAS,
    DEAD,
    ERROR,
    EXPLODING,
    HEALTHY,
    INFO,
    INPUT_SCALE,
    KINDS,
    LR_HIGH,
    LR_LOW,
    OVERFITTING,
    SATURATION,
    SEVERITIES,
    STILL_IMPROVING,
    VANISHING,
    VARIANCE,
    WARNING,
    Finding,
)
from .symptoms import frozen_network, input_scale, log_magnitude

VANISHING_RATIO, VANISHING_SEVERE = 1e-2, 1e-4
EXPLODING_RATIO, EXPLODING_NORM, ACTIVATION_GROWTH = 1e2, 1e3, 10.0
DEAD_FRACTION, DEAD_SEVERE = 0.5, 0.9
SATURATED_FRACTION, SATURATED_SEVERE = 0.25, 0.5
HEALTHY_RATIO, HIGH_RATIO, LOW_RATIO = 1e-3, 1e-1, 3e-4
LOSS_BLOWUP, LOW_PROGRESS = 2.0, 0.5
OVERFIT_RISE = 0.10
SPIKE_STEPS = 3  # the smoothed loss above 2x its start for fewer steps (and not at the end) is a spike
LR_DECAYED, LAYER_LAG = 1e-3, 10.0
STILL_FALLING = 0.01
#: findings about the outcome (errors, curves): at equal severity they follow the training dynamics that cause them
OUTCOMES = (BIAS, VARIANCE, MISMATCH, OVERFITTING, STILL_IMPROVING, HEALTHY)
GAP_WARNING = 0.05
DIAGNOSIS_FILE = "diagnosis.json"


# -- helpers -------------------------------------------------------------------
def _median(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan


def _join(names) -> str:
    return ", ".join(names)


def _epoch_of_step(health: HealthLog | None, step: int, steps_per_epoch: float | None) -> int | None:
    if health is not None and health.steps:
        idx = int(np.searchsorted(health.steps, step, side="right")) - 1
        return health.epochs[max(idx, 0)]
    if steps_per_epoch:
        return int(math.ceil(step / steps_per_epoch))
    return None


def _recent(values: np.ndarray) -> np.ndarray:
    """The last third of a series (at least one value): the state training ended in."""
    return values[-max(1, len(values) // 3):]


# -- gradient flow ---------------------------------------------------------------
def exploding_at_start(health: HealthLog) -> bool:
    """Whether the gradients were already huge on the first sampled steps (the init's fault, not the lr's)."""
    return len(health) > 0 and _median(health.column("grad_norm")[:3]) > EXPLODING_NORM


def _cause(event: dict) -> str:
    """What the trainer said about a divergence, without its advice ("the loss exploded from 3.2 to 2.7e+06")."""
    message = event.get("message") or ""
    return message.split(": ", 1)[1].split(";")[0] if ": " in message else ""


def _gradient_flow(health: HealthLog) -> list[Finding]:
    names = health.layer_names
    if len(names) < 2 or not len(health):
        return []
    grads = {n: health.series(n, "grad_norm") for n in names}
    last = grads[names[-1]]
    ratios = {}
    for n in names[:-1]:
        ok = np.isfinite(grads[n]) & np.isfinite(last) & (grads[n] > 0) & (last > 0)
        ratios[n] = _median(grads[n][ok] / last[ok]) if ok.any() else math.nan
    per_layer = ", ".join(f"{n} {_median(grads[n]):.1e}" for n in names)
    findings = []
    first = names[0]
    if ratios[first] < VANISHING_RATIO:
        low = [n for n in names[:-1] if ratios[n] < VANISHING_RATIO]
        ok = (grads[first] > 0) & (last > 0)
        below = np.flatnonzero(ok & (grads[first] < VANISHING_RATIO * last))
        epoch = health.epochs[below[0]] if below.size else health.epochs[0]
        findings.append(Finding(
            VANISHING, ERROR if ratios[first] < VANISHING_SEVERE else WARNING, _join(low), epoch,
            magnitude=log_magnitude(ratios[first], VANISHING_RATIO, VANISHING_SEVERE), evidence=
            f"the gradient norm of {first} is {ratios[first]:.1e} times that of the output layer {names[-1]} "
            f"(median over {len(health)} sampled steps); per layer: {per_layer}. The early layers barely learn.",
            fix="use ReLU with He initialisation (--activation relu --init he; Xavier for tanh) instead of small "
            "random weights or sigmoid, add batch normalisation (--batchnorm), or use fewer layers"))
    reasons, layer, epoch = [], None, None
    diverged = [e for e in health.events if e.get("kind") == "diverged"]
    if diverged and exploding_at_start(health):
        e = diverged[0]
        norms = {k: v if v is not None else math.inf for k, v in e["grad_norms"].items()}
        bad = e.get("non_finite") or [max(norms, key=norms.get)]
        layer, epoch = bad[0].split(".")[0], e["epoch"]
        reasons.append(f"training diverged at step {e['step']}" + (f" ({_cause(e)})" if _cause(e) else "")
                       + f", largest gradient in {_join(bad[:3])}")
    if ratios[first] > EXPLODING_RATIO:
        layer, epoch = layer or first, epoch or health.epochs[0]
        reasons.append(f"the gradient norm grows through depth towards the input: {first}'s is "
                       f"{ratios[first]:.0f}x that of {names[-1]} ({per_layer})")
    medians = {n: _median(grads[n]) for n in names}
    worst = max(medians, key=lambda n: medians[n] if math.isfinite(medians[n]) else -1)
    if medians[worst] > EXPLODING_NORM:
        huge = [n for n in names if medians[n] > EXPLODING_NORM]
        layer, epoch = layer or _join(huge), epoch or health.epochs[0]
        reasons.append(f"gradient norms are huge in {len(huge)} of {len(names)} layers: median {medians[worst]:.1e} "
                       f"at {worst} (healthy: about 0.1-10)")
    stds = [(n, _median(health.series(n, "act_std"))) for n in names[:-1]]
    stds = [(n, s) for n, s in stds if math.isfinite(s) and s > 0]
    if len(stds) >= 2:
        growth = (stds[-1][1] / stds[0][1]) ** (1 / (len(stds) - 1))
        if growth > ACTIVATION_GROWTH:
            layer, epoch = layer or stds[-1][0], epoch or health.epochs[0]
            reasons.append(f"activations grow {growth:.0f}x per layer (std {stds[0][1]:.2g} at {stds[0][0]}, "
                           f"{stds[-1][1]:.2g} at {stds[-1][0]})")
    if reasons:
        findings.append(Finding(
            EXPLODING, ERROR, layer, epoch, "; ".join(reasons) + ".", magnitude=1.0 + len(reasons), fix=
            "use He or Xavier initialisation instead of large weights (--init he), clip gradients "
            "(--clip norm:1), add batch normalisation (--batchnorm), or lower the learning rate"))
    return findings


# -- units ---------------------------------------------------------------------
def _units(health: HealthLog) -> list[Finding]:
    findings = []
    for metric, kind, threshold, severe, adjective, definition, fix in (
            ("dead", DEAD, DEAD_FRACTION, DEAD_SEVERE, "dead",
             "a dead ReLU outputs 0 on every sample of the batch, so no gradient flows through it",
             "use He initialisation (--init he) and zero biases, lower the learning rate (big steps push biases "
             "negative), try leaky ReLU (--activation leaky_relu) or batch normalisation (--batchnorm)"),
            ("saturated", SATURATION, SATURATED_FRACTION, SATURATED_SEVERE, "saturated",
             "a saturated output sits where the activation's slope is below 5% of its peak, so its gradient "
             "all but vanishes",
             "use Xavier initialisation (--init xavier) instead of large weights, normalise the inputs "
             "(--normalize standard), add batch normalisation (--batchnorm), lower the learning rate, or use "
             "ReLU")):
        hits = []
        for layer in health.layers:
            values = health.series(layer["name"], metric)
            if not np.isfinite(values).any():
                continue
            now = _median(_recent(values))
            if now >= threshold:
                above = np.flatnonzero(values >= threshold)
                hits.append((layer, now, float(values[np.isfinite(values)][0]), health.epochs[above[0]]))
        if hits:
            worst = max(h[1] for h in hits)
            what = "units" if metric == "dead" else "outputs"
            parts = [f"{layer['name']}: {now:.0%} of its {layer['n_out']} {layer['activation']} {what} {adjective} "
                     f"({start:.0%} at step {health.steps[0]})" for layer, now, start, _ in hits]
            text = (f"{'; '.join(parts)} (median over the last {len(_recent(health.steps))} of "
                    f"{len(health)} samples); {definition}.")
            findings.append(Finding(kind, ERROR if worst >= severe else WARNING, _join(h[0]["name"] for h in hits),
                                    min(h[3] for h in hits), text, fix,
                                    magnitude=(worst - threshold) / (severe - threshold)))
    return findings


# -- learning rate ---------------------------------------------------------------
def _ratios(health: HealthLog) -> dict[str, np.ndarray]:
    return {n: health.series(n, "update_ratio") for n in health.layer_names}


def _learning_rate(history: History | None, health: HealthLog | None, steps: list[float],
                   use_ratios: bool = True) -> list[Finding]:
    """Too high / too low; ``use_ratios=False`` when exploding gradients make update ratios meaningless."""
    epochs = history.epochs if history is not None else []
    per_epoch = len(steps) / len(epochs) if steps and epochs else None
    lr = next((v for v in (health.lr if health else []) if v), None) or (epochs[0]["lr"] if epochs else None)
    high, epoch_high, severity = [], None, WARNING

    def mark(epoch, error=False):
        nonlocal epoch_high, severity
        epoch_high = epoch if epoch_high is None else min(epoch_high, epoch or epoch_high)
        severity = ERROR if error else severity

    diverged = [e for e in (health.events if health else []) if e.get("kind") == "diverged"]
    if diverged and not exploding_at_start(health):
        e = diverged[0]
        high.append(f"training diverged at step {e['step']}" + (f": {_cause(e)}" if _cause(e) else ""))
        mark(e["epoch"], error=True)
    clean = np.asarray([v for v in steps if math.isfinite(v)] if steps else [], dtype=np.float64)
    smooth = ewa(clean, 0.9) if clean.size else clean
    above = smooth > LOSS_BLOWUP * smooth[0] if smooth.size >= 5 else np.zeros(0, bool)
    if above.sum() >= max(SPIKE_STEPS, 0.05 * len(above)) or (above.any() and above[-1]):
        at = int(np.argmax(above)) + 1  # a blow-up that lasts (or that training ended in), not a one-step spike
        high.append(f"the smoothed loss rose from {smooth[0]:.3g} to {smooth.max():.3g} "
                    f"(above {LOSS_BLOWUP:g}x its start from step {at}, for {int(above.sum())} steps)")
        mark(_epoch_of_step(health, at, per_epoch), error=True)
    ratios = _ratios(health) if use_ratios and health is not None and len(health) else {}
    if ratios:
        peak_layer = max(ratios, key=lambda n: np.nanmax(ratios[n]) if np.isfinite(ratios[n]).any() else -1)
        peak = ratios[peak_layer]
        if np.isfinite(peak).any() and np.nanmax(peak) > 1:
            i = int(np.nanargmax(peak))
            high.append(f"one update moved {peak_layer}'s weights by {np.nanmax(peak):.2g}x their own norm "
                        f"(step {health.steps[i]}; healthy updates are about {HEALTHY_RATIO:g}x)")
            mark(health.epochs[i])
        typical = _median([_median(r) for r in ratios.values()])
        if typical > HIGH_RATIO and not (np.isfinite(peak).any() and np.nanmax(peak) > 1):
            high.append(f"the median update/weight ratio is {typical:.2g}, {typical / HEALTHY_RATIO:.0f}x the "
                        f"healthy {HEALTHY_RATIO:g}")
            mark(health.epochs[0])
    losses = [r["train_loss"] for r in epochs if math.isfinite(r["train_loss"])]
    if len(losses) >= 4:
        rises = [i + 1 for i in range(len(losses) - 1) if losses[i + 1] > losses[i] * 1.05
                 and losses[i + 1] - losses[i] > 0.01 * losses[0]]
        if len(rises) >= 2 and len(rises) >= 0.2 * (len(losses) - 1):
            shown = ", ".join(f"{losses[i - 1]:.3g}->{losses[i]:.3g} (epoch {i + 1})" for i in rises[:3])
            high.append(f"the training loss oscillates: it rose in {len(rises)} of {len(losses) - 1} epochs ({shown})")
            mark(rises[0] + 1)
    findings = []
    if high:
        suggestion = f"; try lr {lr / 10:.2g}" if lr else ""
        findings.append(Finding(LR_HIGH, severity, None, epoch_high, "; ".join(high) + ".", magnitude=len(high), fix=
                                "lower the learning rate 3-10x" + suggestion + " (or run `tunenet lr-find`), "
                                "clip gradients (--clip norm:1) or add a decay schedule"))
        return findings
    if ratios and smooth.size >= 5:
        grads = {n: health.series(n, "grad_norm") for n in ratios}
        late = _stalls(health, ratios, grads, late_only=True)
        if late:  # the lr decayed to nothing: that, not the lr it started at, is what stopped learning
            return late
        moving = {n: _median(r) for n, r in ratios.items() if _median(grads[n]) > 0}
        progress = (smooth[0] - smooth[-1]) / smooth[0] if smooth[0] > 0 else 1.0
        if moving and max(moving.values()) < LOW_RATIO and progress < LOW_PROGRESS:
            top = max(moving, key=moving.get)
            suggestion = f"; try lr {lr * 10:.2g}" if lr else ""
            findings.append(Finding(
                LR_LOW, WARNING, None, health.epochs[0],
                f"the largest median update/weight ratio is {moving[top]:.1e} (at {top}), "
                f"{HEALTHY_RATIO / moving[top]:.0f}x below the healthy {HEALTHY_RATIO:g}, and the smoothed loss "
                f"fell only {progress:.0%} ({smooth[0]:.3g} -> {smooth[-1]:.3g}) over {len(clean)} steps.",
                "raise the learning rate 3-10x" + suggestion + " (or run `tunenet lr-find`), or use Adam",
                magnitude=log_magnitude(max(moving.values()), LOW_RATIO, LOW_RATIO / 10)))
            return findings
        findings += _stalls(health, ratios, grads)
    return findings


def _stalls(health: HealthLog, ratios: dict[str, np.ndarray], grads: dict[str, np.ndarray],
            late_only: bool = False) -> list[Finding]:
    """Learning that stops late in training (the lr decayed to nothing) or in one layer while the others move."""
    lrs = health.column("lr")
    lrs = lrs[np.isfinite(lrs) & (lrs > 0)]
    tail = max(1, len(health) // 3)
    late = {n: _median(r[-tail:]) for n, r in ratios.items()}
    if lrs.size >= 3 and lrs[-1] < lrs[0] * LR_DECAYED and max(late.values(), default=math.nan) < LOW_RATIO / 10:
        at = int(np.argmax(health.column("lr") < lrs[0] * LR_DECAYED))
        f = Finding(LR_LOW, WARNING, None, health.epochs[at],
                    f"learning stalled late in training: the learning rate fell from {lrs[0]:.2g} to {lrs[-1]:.2g} "
                    f"(below {LR_DECAYED:g}x its start from step {health.steps[at]}, epoch {health.epochs[at]}), and "
                    f"over the last {tail} samples the largest median update/weight ratio is "
                    f"{max(late.values()):.1e}, far below the healthy {HEALTHY_RATIO:g}.",
                    "decay the learning rate more slowly (or not at all: --schedule none), or raise it",
                    magnitude=log_magnitude(max(late.values()), LOW_RATIO / 10, LOW_RATIO / 1000))
        f.stalled = "schedule"
        return [f]
    if late_only:
        return []
    names = list(ratios)[:-1]
    medians = {n: _median(ratios[n]) for n in ratios if _median(grads[n]) > 0}
    if len(medians) < 2:
        return []
    fastest = max(medians.values())
    slow = [n for n in names if n in medians and medians[n] < LOW_RATIO and medians[n] * LAYER_LAG < fastest]
    if not slow:
        return []
    worst = min(slow, key=medians.get)
    f = Finding(LR_LOW, WARNING, _join(slow), health.epochs[0],
                f"{_join(slow)} barely learn{'s' * (len(slow) == 1)}: median update/weight ratio "
                + ", ".join(f"{n} {medians[n]:.1e}" for n in slow)
                + f", {fastest / medians[worst]:.0f}x below the fastest layer's {fastest:.1e} (healthy: about "
                f"{HEALTHY_RATIO:g}).",
                "use per-parameter step sizes (Adam), add batch normalisation (--batchnorm) or standardise the inputs",
                magnitude=log_magnitude(medians[worst], LOW_RATIO, LOW_RATIO / 10))
    f.stalled = "layer"
    return [f]


# -- generalisation ---------------------------------------------------------------
def _dev_rows(history: History | None) -> list[dict]:
    return [r for r in (history.epochs if history is not None else [])
            if math.isfinite(r.get("dev_loss", math.nan)) and math.isfinite(r.get("train_loss", math.nan))]


def _overfitting(history: History | None, metrics: dict | None = None) -> list[Finding]:
    rows = _dev_rows(history)
    if len(rows) < 5:
        return []
    dev = np.array([r["dev_loss"] for r in rows])
    train = np.array([r["train_loss"] for r in rows])
    smooth = ewa(dev, 0.5)
    best = int(np.argmin(smooth))
    raw_best = int(np.argmin(dev))
    if (smooth[-1] > smooth[best] * (1 + OVERFIT_RISE) and dev[-1] > dev[raw_best] * (1 + OVERFIT_RISE)
            and train[-1] < train[raw_best]):
        e_best, e_last = rows[raw_best]["epoch"], rows[-1]["epoch"]
        restored = (metrics or {}).get("best_epoch")
        text = (f"the dev loss was lowest at epoch {e_best} ({dev[raw_best]:.3g}) and has risen since, to "
                f"{dev[-1]:.3g} at epoch {e_last} (+{dev[-1] / dev[raw_best] - 1:.0%}), while the train loss fell "
                f"from {train[raw_best]:.3g} to {train[-1]:.3g}")
        if restored:  # early stopping already kept the best epoch: the model in the run is not the overfitted one
            return [Finding(OVERFITTING, INFO, None, e_best, text + f"; early stopping restored epoch {restored}.",
                            "early stopping already restored the best epoch; to gain more, add L2 (--l2, try "
                            "1e-4..1e-1 on a log scale) or dropout (--keep-prob 0.8), or get more data")]
        return [Finding(
            OVERFITTING, WARNING, None, e_best, text + ".",
            f"stop early (the best epoch was {e_best}; --early-stopping 5 restores it), add L2 "
            "(--l2, try 1e-4..1e-1 on a log scale) or dropout (--keep-prob 0.8), or get more data / augment it")]
    return []


def _still_improving(history: History | None, diverged: bool) -> list[Finding]:
    """The best dev loss at the last epoch, having fallen over the last epochs: more epochs would help."""
    rows = _dev_rows(history)
    if diverged or not rows:
        return []
    if len(rows) == 1:
        return [Finding(STILL_IMPROVING, INFO, None, rows[0]["epoch"], "the run trained for a single epoch: too "
                        "short to tell whether it had stopped improving.", "train longer (more --epochs)")]
    dev = np.array([r["dev_loss"] for r in rows])
    if int(np.argmin(dev)) != len(dev) - 1:
        return []
    back = max(1, len(dev) // 5)
    fall = (dev[-1 - back] - dev[-1]) / dev[-1 - back] if dev[-1 - back] > 0 else 0.0
    if fall <= STILL_FALLING:
        return []
    e_last = rows[-1]["epoch"]
    return [Finding(STILL_IMPROVING, INFO, None, e_last,
                    f"the dev loss is lowest at the last epoch ({e_last}, {dev[-1]:.3g}) and fell {fall:.1%} over "
                    f"the last {back} epoch{'s' * (back > 1)} ({dev[-1 - back]:.3g} -> {dev[-1]:.3g}).",
                    "train longer (more --epochs): the dev loss was still falling at the last epoch")]


def _errors(history: History | None, metrics: dict | None) -> tuple[float, float, int | None] | None:
    """Final (train error, dev error, epoch) from the metrics, else from the last history row."""
    m = metrics or {}
    if m.get("train_accuracy") is not None and m.get("dev_accuracy") is not None:
        epoch = m.get("best_epoch") or m.get("epochs")
        return 1 - float(m["train_accuracy"]), 1 - float(m["dev_accuracy"]), epoch
    if history is not None and len(history):
        last = history.last
        if math.isfinite(last.get("train_accuracy", math.nan)) and math.isfinite(last.get("dev_accuracy", math.nan)):
            return 1 - last["train_accuracy"], 1 - last["dev_accuracy"], last["epoch"]
    return None


def _generalisation(history: History | None, metrics: dict | None) -> list[Finding]:
    errors = _errors(history, metrics)
    if errors is None:
        return []
    train_error, dev_error, epoch = errors
    m = metrics or {}
    bv = run_bias_variance(train_error, dev_error, m)
    ref = m.get("reference") if isinstance(m.get("reference"), dict) else None
    se = f" ± {bv.se_dev:.1%} (1 standard error over {bv.n_dev} dev rows)" if bv.se_dev is not None else ""
    if bv.reference == "human-level" and m.get("human_error") is None:
        against = "human-level 0% (none given and no reference model: measured against a perfect model)"
    elif bv.reference == "human-level":
        against = f"human-level {bv.human_error:.1%}"
    else:
        if ref.get("knn_dev_error") is not None and bv.human_error == ref["knn_dev_error"] \
                and bv.human_error < ref.get("dev_error", math.inf):
            against = (f"reference error {bv.human_error:.1%} (5-nearest neighbours on the same split, a proxy for "
                       f"the achievable error; logistic regression: {ref.get('dev_error', math.nan):.1%})")
        else:
            which = "dev" if bv.human_error == ref.get("dev_error") else "train"
            other = "train" if which == "dev" else "dev"
            against = (f"reference error {bv.human_error:.1%} ({ref.get('label', 'a reference model')}: its "
                       f"{which} error; its {other} error is {ref.get(other + '_error', math.nan):.1%})")
    numbers = (f"train error {bv.train_error:.1%}, dev error {bv.dev_error:.1%}{se}, {against}: "
               f"avoidable bias {bv.avoidable_bias:.1%}, variance {bv.variance:.1%}")
    if bv.reducible_variance < bv.variance - 1e-9:
        numbers += f" ({bv.reducible_variance:.1%} of it above the reference)"
    if bv.data_mismatch is not None:
        numbers += f", data mismatch {bv.data_mismatch:.1%}"
    if ref is not None and m.get("human_error") is not None:
        numbers += f"; {ref.get('model', 'the reference')} reaches dev error {ref.get('dev_error', math.nan):.1%}"
    leads = {HIGH_BIAS: "the network underfits its training data",
             MISMATCH: "the dev data differs from the training data",
             HIGH_VARIANCE: "the network does better on the data it has seen than on new data"}
    kinds = {HIGH_BIAS: BIAS, HIGH_VARIANCE: VARIANCE, MISMATCH: MISMATCH}
    gaps = {HIGH_BIAS: bv.avoidable_bias, HIGH_VARIANCE: bv.reducible_variance, MISMATCH: bv.data_mismatch or 0.0}
    mild = {HIGH_BIAS: "some avoidable bias", HIGH_VARIANCE: "a small generalisation gap",
            MISMATCH: "a small data mismatch"}
    findings = []
    for problem, steps in bv.recipe.items():
        serious = gaps[problem] > GAP_WARNING
        findings.append(Finding(kinds[problem], WARNING if serious else INFO, None, epoch,
                                f"{leads[problem] if serious else mild[problem]}: {numbers}.", steps,
                                magnitude=log_magnitude(gaps[problem], 0.02, GAP_WARNING)))
    if bv.verdict == FINE and not findings:
        findings.append(Finding(HEALTHY, INFO, None, epoch, f"{numbers}.", bv.advice[0]))
    return findings


# -- entry points ---------------------------------------------------------------
def _facts(history: History | None, health: HealthLog | None, metrics: dict | None,
           findings: list[Finding]) -> dict:
    """What the advice needs to know about the run beyond its configuration."""
    m = metrics or {}
    lr = next((v for v in (health.lr if health else []) if v), None)
    if lr is None and history is not None and len(history):
        lr = history.epochs[0].get("lr")
    lr_range = m.get("lr_range") if isinstance(m.get("lr_range"), dict) else {}
    kinds_found = {f.kind for f in findings}
    return {"lr": lr, "lr_suggested": lr_range.get("suggested"), "still_improving": STILL_IMPROVING in kinds_found,
            "best_epoch": next((f.epoch for f in findings if f.kind == OVERFITTING), None),
            "restored": m.get("best_epoch"),
            "stalled": next((getattr(f, "stalled", None) for f in findings if f.kind == LR_LOW), None),
            "overfit": any(f.kind == OVERFITTING and f.severity != INFO for f in findings),
            "image_shape": m.get("image_shape") if isinstance(m.get("image_shape"), list) else None}


def fit_to_config(findings: list[Finding], config: dict, facts: dict) -> list[Finding]:
    """Replace each finding's generic fix by one fitted to ``config`` (:func:`~tunenet.diagnose.advice.alternatives`).

    ``Finding.changes`` gets every alternative, ``Finding.change`` the first.
    """
    for f in findings:
        text, changes, manual = alternatives(f.kind, config, **facts)
        change = changes[0] if changes else None
        if f.kind == OVERFITTING and f.severity == INFO:
            text = "early stopping already restored the best epoch; to gain more, " + \
                   ", or ".join(t for t in text.split(", or ") if "early-stopping" not in t)
        if text:
            f.fix = text
        f.change, f.manual, f.changes = change, manual, changes
    return findings


def diagnose(history: History | dict | None, health: HealthLog | dict | None = None,
             metrics: dict | None = None, steps: list[float] | None = None,
             config: dict | None = None, weights: dict | None = None) -> list[Finding]:
    """All findings for one run, errors first.

    Parameters
    ----------
    history : History (or its ``to_dict()``) or None
        Per-epoch rows; ``history.steps`` (per-step losses) are used unless ``steps`` is given.
    health : HealthLog (or its dict) or None
        From :class:`~tunenet.diagnose.health.HealthMonitor`; without it only
        the loss-, accuracy- and divergence-based findings are possible.
    metrics : dict or None
        ``metrics.json``: final ``train_accuracy``/``dev_accuracy`` (and
        optionally ``human_error``, ``reference``, ``n_dev``,
        ``train_dev_error``, ``lr_range``) for bias/variance and the advice.
    config : dict or None
        The run's configuration (``config.yaml``): the fixes then name only
        options the run did not already use, and each carries the
        configuration change that applies it (``Finding.change``).
    weights : dict or None
        ``layer name -> W`` of the trained model, to see symmetric (identical) units.
    """
    if isinstance(history, dict):
        history = History.from_dict(history)
    if isinstance(health, dict):
        health = HealthLog.from_dict(health)
    steps = list(steps) if steps is not None else list(history.steps) if history is not None else []
    if not steps and health is not None:
        steps = [v for v in health.loss if v is not None]
    findings: list[Finding] = frozen_network(health, weights)
    frozen = bool(findings)
    if health is not None:
        findings += [f for f in _gradient_flow(health) + _units(health) if not (frozen and f.kind == VANISHING)]
    findings += input_scale(metrics, health)
    exploding = any(f.kind == EXPLODING for f in findings)
    # slow learning under vanishing, saturated, dead or frozen units is their consequence: no "raise the lr" beside
    slowed = frozen or exploding or any(f.kind in (VANISHING, SATURATION, DEAD) for f in findings)
    findings += [f for f in _learning_rate(history, health, steps, use_ratios=not exploding)
                 if not (slowed and f.kind == LR_LOW)]
    diverged = bool(health is not None and any(e.get("kind") == "diverged" for e in health.events))
    findings += _overfitting(history, metrics)
    findings += _still_improving(history, diverged or any(f.severity == ERROR for f in findings))
    broken = [f.kind for f in findings if f.severity == ERROR or f.kind == INPUT_SCALE]
    for f in _generalisation(history, metrics):
        if broken and f.kind in (BIAS, VARIANCE):  # a symptom of the broken training, not a second problem
            f.severity = INFO
            f.evidence += f" Most likely a consequence of the {broken[0]} above: fix that first."
        findings.append(f)
    if config is not None:
        fit_to_config(findings, config, _facts(history, health, metrics, findings))
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.kind in OUTCOMES, -f.magnitude,
                                           KINDS.index(f.kind)))


def read_steps(path: str | os.PathLike) -> list[float]:
    """The per-step losses of ``steps.csv`` (``step,loss``)."""
    with open(path, newline="") as f:
        try:
            return [float(row["loss"]) for row in csv.DictReader(f)]
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"{path}: malformed steps file ({exc})") from None


def diagnose_run(run_dir: str | os.PathLike, write: bool = True, extra_metrics: dict | None = None) -> list[Finding]:
    """Diagnose a run directory from ``history.csv``, ``steps.csv``, ``health.json`` and ``metrics.json``.

    Writes ``diagnosis.json`` (``{"format", "version", "findings": [...]}``)
    atomically unless ``write`` is False. ``extra_metrics`` adds to (or stands
    in for) ``metrics.json``: a diverged run has none, but its lr range test.
    The fixes are fitted to the run's ``config.yaml`` when present.
    """
    run_dir = check_run_dir(run_dir)
    files = {name: run_dir / name for name in ("history.csv", "steps.csv", HEALTH_FILE, "metrics.json")}
    if not any(p.is_file() for p in files.values()):
        raise DataError(f"{run_dir}: not a run directory (no history.csv, health.json or metrics.json)")
    history = None
    if files["history.csv"].is_file():
        try:
            history = History.read_csv(files["history.csv"])
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"{files['history.csv']}: malformed history ({exc})") from None
    steps = read_steps(files["steps.csv"]) if files["steps.csv"].is_file() else None
    health = HealthLog.load(files[HEALTH_FILE]) if files[HEALTH_FILE].is_file() else None
    metrics = read_metrics(run_dir)
    if extra_metrics:
        metrics = {**(metrics or {}), **extra_metrics}
    config = _read_config(run_dir)
    findings = diagnose(history, health, metrics, steps, config, _weights(run_dir))
    if write:
        write_diagnosis(run_dir, findings)
    return findings


def _weights(run_dir: Path) -> dict | None:
    """``dense name -> W`` of the run's ``model.safetensors`` (None when absent)."""
    from ..errors import TunenetError
    from ..nn.io import load
    from ..nn.layers import Dense

    path = run_dir / "model.safetensors"
    if not path.is_file():
        return None
    try:
        model = load(path)
    except TunenetError:
        return None  # the doctor reads the records it has; a model file it cannot read is not its finding
    return {layer.name: layer.W.value for layer in model.layers if isinstance(layer, Dense)}


def _read_config(run_dir: Path) -> dict | None:
    """The run's ``config.yaml`` as a mapping (None when absent or not a mapping)."""
    from ..config import read_config_file

    path = run_dir / "config.yaml"
    if not path.is_file():
        return None
    data = read_config_file(path)
    return data if isinstance(data, dict) else None


def read_metrics(run_dir: str | os.PathLike) -> dict | None:
    """``metrics.json`` of a run directory, or None when absent."""
    return read_json_object(Path(run_dir) / "metrics.json")


def write_diagnosis(run_dir: str | os.PathLike, findings: list[Finding]) -> Path:
    path = Path(run_dir) / DIAGNOSIS_FILE
    doc = {"format": "tunenet-diagnosis", "version": 1, "findings": [f.to_dict() for f in findings]}
    atomic_write_text(path, json.dumps(doc, indent=2))
    return path


def read_diagnosis(run_dir: str | os.PathLike) -> list[Finding]:
    path = Path(run_dir) / DIAGNOSIS_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [Finding.from_dict(d) for d in doc["findings"]]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: malformed diagnosis ({exc})") from None
