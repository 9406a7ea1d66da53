"""Training health: per-layer statistics recorded every N steps by a callback.

A *layer* here is a Dense layer together with what follows it up to the next
Dense layer (``Dense -> [BatchNorm] -> activation -> [Dropout]``); it is named
after the Dense layer (``dense0``, ``dense1``, ...; the last one produces the
logits). Every ``every`` optimisation steps (and on the first) the monitor
records, from the arrays the layers cached during that step's forward pass and
from the flat gradient buffer:

==================  =========================================================
``act_mean/std``    mean and standard deviation of the layer's activations
                    ``a = g(z)`` over the batch and units
``dead``            fraction of units that are never active on the batch:
                    ReLU ``a_j = 0`` for every sample (``max_i a_ij <= 0``)
``saturated``       fraction of tanh/sigmoid outputs in the flat region, where
                    the local derivative is below 5% of its peak:
                    tanh ``1 - a^2 < 0.05`` (``|a| > 0.975``), sigmoid
                    ``4 a (1 - a) < 0.05`` (``a < 0.0127`` or ``a > 0.987``)
``grad_norm``       ``||dJ/dW||_2`` of the layer's weights (Frobenius), and of
                    every parameter in ``params``; these are the gradients the
                    optimiser uses (after clipping); the global norm before
                    clipping is recorded as ``grad_norm`` at the top level
``update_ratio``    ``||W_after - W_before|| / ||W_before||``: the size of the
                    step actually taken (``lr * update``) relative to the
                    weights; healthy training sits around 1e-3
==================  =========================================================

plus the step's loss and learning rate. For the update ratio the weights are
copied in ``on_backward_end`` and differenced in ``on_step_end``, on sampled
steps only, so the cost is a few vector operations every ``every`` steps
(per-parameter norms are BLAS dot products on views of the flat buffers).

A run that diverges (the trainer raises :class:`~tunenet.errors.DivergenceError`
before the update, on a non-finite loss or gradient or an exploded loss)
leaves an ``events`` entry with the step, the trainer's message and the
per-parameter gradient norms at that moment (non-finite values become
``null``), so the diagnosis can say what blew up and where.

The record is JSON: :meth:`HealthLog.to_dict`, written as ``health.json`` by
:meth:`HealthLog.save`; NaN and infinities are stored as ``null``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, DivergenceError
from ..fileio import atomic_write_text
from ..nn.layers import Dense, LeakyReLU, ReLU, Sigmoid, Tanh
from ..optim.clipping import global_norm
from ..train.callbacks import Callback

HEALTH_FORMAT = "tunenet-health"
HEALTH_VERSION = 1
HEALTH_FILE = "health.json"
#: a unit is saturated where its local derivative is below this fraction of the peak derivative
SATURATION_DERIVATIVE = 0.05
LAYER_METRICS = ("grad_norm", "weight_norm", "update_ratio", "act_mean", "act_std", "dead", "saturated")
PARAM_METRICS = ("grad_norm", "update_ratio")
#: a gradient norm whose square overflows float32 (the trainer then stops): sqrt(3.4e38) ~ 1.8e19
OVERFLOW_NORM = 1e19
ACTIVATION_KEYS = ("act_mean", "act_std", "dead", "saturated")


def _num(value) -> float | None:
    """A JSON-safe float: NaN and infinities become None."""
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class HealthLog:
    """Columns of health measurements, one entry per sampled step.

    ``layers`` lists ``{"name", "activation", "n_in", "n_out", "weight"}`` per
    Dense layer; ``layer_stats[name][metric]`` and ``param_stats[name][metric]``
    are lists aligned with ``steps`` (``None`` where a value is undefined:
    no activation after the output layer, a zero weight norm...).
    """

    every: int = 20
    layers: list[dict] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    loss: list[float | None] = field(default_factory=list)
    lr: list[float | None] = field(default_factory=list)
    grad_norm: list[float | None] = field(default_factory=list)
    layer_stats: dict[str, dict[str, list]] = field(default_factory=dict)
    param_stats: dict[str, dict[str, list]] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def layer_names(self) -> list[str]:
        return [layer["name"] for layer in self.layers]

    def series(self, layer: str, metric: str) -> np.ndarray:
        """``layer_stats[layer][metric]`` as float64 with NaN for missing values."""
        values = self.layer_stats.get(layer, {}).get(metric, [])
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)

    def column(self, name: str) -> np.ndarray:
        """A top-level column (``steps``, ``epochs``, ``loss``, ``lr``, ``grad_norm``) as float64."""
        return np.array([math.nan if v is None else v for v in getattr(self, name)], dtype=np.float64)

    def to_dict(self) -> dict:
        return {"format": HEALTH_FORMAT, "version": HEALTH_VERSION, "every": self.every, "layers": self.layers,
                "steps": self.steps, "epochs": self.epochs, "loss": self.loss, "lr": self.lr,
                "grad_norm": self.grad_norm, "layer_stats": self.layer_stats, "param_stats": self.param_stats,
                "events": self.events}

    @classmethod
    def from_dict(cls, d: dict, source: str = "health record") -> HealthLog:
        if not isinstance(d, dict) or d.get("format") != HEALTH_FORMAT:
            raise DataError(f"{source}: not a tunenet health record (format {HEALTH_FORMAT!r} expected)")
        if d.get("version") != HEALTH_VERSION:
            raise DataError(f"{source}: health record version {d.get('version')!r} is not supported "
                            f"(this tunenet reads {HEALTH_VERSION})")
        try:
            log = cls(int(d["every"]), list(d["layers"]), list(d["steps"]), list(d["epochs"]), list(d["loss"]),
                      list(d["lr"]), list(d["grad_norm"]), dict(d["layer_stats"]), dict(d["param_stats"]),
                      list(d.get("events", [])))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{source}: malformed health record ({exc})") from None
        n = len(log.steps)
        for group in (log.layer_stats, log.param_stats):
            for name, stats in group.items():
                if any(len(v) != n for v in stats.values()):
                    raise DataError(f"{source}: the statistics of {name!r} do not have one value per step")
        return log

    def save(self, run_dir: str | os.PathLike) -> Path:
        """Write ``run_dir/health.json`` atomically."""
        path = Path(run_dir) / HEALTH_FILE
        atomic_write_text(path, json.dumps(self.to_dict(), separators=(",", ":")))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> HealthLog:
        """Read ``health.json`` (or ``RUN_DIR/health.json``)."""
        path = Path(path)
        if path.is_dir():
            path = path / HEALTH_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: no such health record") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_dict(data, str(path))


def _blocks(model) -> list[tuple[Dense, object, Dense | None]]:
    """(dense, activation layer or None, next dense or None) for each Dense layer of ``model``."""
    dense_idx = [i for i, layer in enumerate(model.layers) if isinstance(layer, Dense)]
    blocks = []
    for k, i in enumerate(dense_idx):
        end = dense_idx[k + 1] if k + 1 < len(dense_idx) else len(model.layers)
        act = next((layer for layer in model.layers[i + 1:end] if isinstance(layer, (ReLU, LeakyReLU, Tanh, Sigmoid))
                    or layer.kind == "identity"), None)
        nxt = model.layers[end] if end < len(model.layers) else None
        blocks.append((model.layers[i], act, nxt))
    return blocks


def activation_stats(act, next_dense: Dense | None) -> dict[str, float | None]:
    """Mean, std, dead and saturated fractions of one layer's cached activations (see the module docstring)."""
    y = getattr(act, "_y", None)
    if y is None and next_dense is not None:
        y = next_dense._x  # leaky ReLU / linear: the next layer's input is this layer's output
    out: dict[str, float | None] = dict.fromkeys(ACTIVATION_KEYS)
    if y is None or y.size == 0:
        return out
    # raw ufunc reductions: np.mean/np.std's Python layers cost more than the arithmetic on small layers;
    # no np.errstate either: the trainer calls the hooks inside its own (overflow is recorded as null)
    n, units = y.size, y.shape[-1]
    flat = y.reshape(-1)
    mean = float(np.add.reduce(flat, dtype=np.float64)) / n
    centred = flat - mean  # centred first: E[a^2] - mean^2 cancels catastrophically for tiny spreads
    var = float(np.dot(centred, centred)) / n
    out["act_mean"] = _num(mean)
    out["act_std"] = None if math.isnan(var) else _num(math.sqrt(var))
    if isinstance(act, ReLU):
        out["dead"] = 1.0 - np.count_nonzero(np.maximum.reduce(y, axis=0) > 0) / units
    elif isinstance(act, LeakyReLU):
        out["dead"] = 1.0 - np.count_nonzero(np.logical_or.reduce(act._positive, axis=0)) / units
    elif isinstance(act, Tanh):
        out["saturated"] = np.count_nonzero(np.square(flat) > 1.0 - SATURATION_DERIVATIVE) / n
    elif isinstance(act, Sigmoid):
        out["saturated"] = np.count_nonzero(4.0 * flat * (1.0 - flat) < SATURATION_DERIVATIVE) / n
    return out


class HealthMonitor(Callback):
    """Record training health every ``every`` steps (see the module docstring for the statistics).

    Parameters
    ----------
    every : int
        Sampling interval in optimisation steps; the first step is always sampled.
        The default, 20, keeps the cost near 2% of training time for the
        default network (``benchmarks/bench_health.py``).

    ``monitor.log`` is the :class:`HealthLog`; ``to_dict()`` and
    ``save(run_dir)`` (writes ``health.json``) delegate to it. The log is part
    of the callback's checkpoint state, so a resumed run keeps its history.
    """

    def __init__(self, every: int = 20) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ConfigError(f"health monitor 'every' must be a positive number of steps, got {every!r}")
        self.every = int(every)
        self.log = HealthLog(every=self.every)
        self._pending: dict | None = None
        self._before: np.ndarray | None = None

    # -- setup --------------------------------------------------------------
    def on_train_begin(self, trainer) -> None:
        model = trainer.model
        self._blocks = _blocks(model)
        self._slices = model.flat.slices()
        layers = [{"name": d.name, "activation": act.kind if act is not None else None, "n_in": d.n_in,
                   "n_out": d.n_out, "weight": d.W.name} for d, act, _ in self._blocks]
        if self.log.layers and self.log.layers != layers:
            self.log = HealthLog(every=self.every)  # another model: start afresh
        self.log.layers = layers
        for d, _, _ in self._blocks:
            self.log.layer_stats.setdefault(d.name, {m: [] for m in LAYER_METRICS})
        for name in self._slices:
            self.log.param_stats.setdefault(name, {m: [] for m in PARAM_METRICS})
        self._names = list(self._slices)
        self._index = {name: i for i, name in enumerate(self._names)}
        self._segments = list(self._slices.values())
        self._before = np.empty_like(model.flat_values)

    def _norms(self, a: np.ndarray) -> np.ndarray:
        """The Euclidean norm of every parameter's segment of the flat array ``a`` (BLAS dot products).

        Overflow to inf is recorded as null; the trainer runs the hooks under
        ``np.errstate(over="ignore")``, so no warning is printed either.
        """
        return np.sqrt(np.array([np.dot(a[sl], a[sl]) for sl in self._segments], dtype=np.float64))

    # -- sampling -----------------------------------------------------------
    def on_backward_end(self, trainer) -> None:
        if trainer.step % self.every:
            self._pending = None
            return
        flat = trainer.model.flat
        acts = {d.name: activation_stats(act, nxt) for d, act, nxt in self._blocks}
        self._pending = {"step": trainer.step + 1, "epoch": trainer.epoch + 1, "grads": self._norms(flat.grads),
                         "weights": self._norms(flat.values), "acts": acts, "lr": float(trainer.optimizer.lr),
                         "grad_norm": trainer.grad_norm}
        np.copyto(self._before, flat.values)

    def on_step_end(self, trainer, loss: float) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        delta = np.subtract(trainer.model.flat.values, self._before, out=self._before)  # the step: lr * update
        log = self.log
        log.steps.append(pending["step"])
        log.epochs.append(pending["epoch"])
        log.loss.append(_num(loss))
        log.lr.append(_num(pending["lr"]))
        log.grad_norm.append(_num(pending["grad_norm"]))
        grads, weights = pending["grads"], pending["weights"]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = self._norms(delta) / weights  # ||lr * update|| / ||W||: NaN (null) where W = 0
        grads, weights, ratios = grads.tolist(), weights.tolist(), ratios.tolist()
        for name, g, r in zip(self._names, grads, ratios, strict=True):
            stats = log.param_stats[name]
            stats["grad_norm"].append(_num(g))
            stats["update_ratio"].append(_num(r))
        for d, _, _ in self._blocks:
            i = self._index[d.W.name]
            stats = log.layer_stats[d.name]
            stats["grad_norm"].append(_num(grads[i]))
            stats["weight_norm"].append(_num(weights[i]))
            stats["update_ratio"].append(_num(ratios[i]))
            for key, value in pending["acts"][d.name].items():
                stats[key].append(value)

    def on_train_end(self, trainer) -> None:
        """Note a divergence: training stopped on a :class:`~tunenet.errors.DivergenceError`.

        The trainer raises it before the update (non-finite loss or gradient,
        or an exploded loss); ``on_train_end`` runs in its ``finally`` while
        the error propagates, so the error is visible here, and the gradients
        of the failing step are still in the flat buffer. Without the error
        (an unusual caller), an overflowing or non-finite gradient or weight
        counts too. Norms are computed without overflow
        (:func:`tunenet.optim.global_norm`).
        """
        if trainer.stop_training or trainer.epoch >= trainer.epochs or not hasattr(self, "_slices"):
            return
        error = sys.exc_info()[1]
        flat = trainer.model.flat
        norms = {name: global_norm(flat.grads[sl]) for name, sl in self._slices.items()}
        total = global_norm(flat.grads)
        finite_weights = bool(np.all(np.isfinite(flat.values)))
        if not isinstance(error, DivergenceError) and finite_weights and math.isfinite(total) \
                and total < OVERFLOW_NORM:
            return  # stopped for another reason (an interrupt): nothing to diagnose
        self.log.events.append({
            "kind": "diverged", "step": trainer.step + 1, "epoch": trainer.epoch + 1,
            "lr": _num(trainer.optimizer.lr), "message": str(error) if isinstance(error, DivergenceError) else None,
            "grad_norm": _num(total), "weights_finite": finite_weights,
            "grad_norms": {name: _num(v) for name, v in norms.items()},
            "non_finite": [name for name, v in norms.items() if not math.isfinite(v)],
        })

    # -- output -------------------------------------------------------------
    def to_dict(self) -> dict:
        return self.log.to_dict()

    def save(self, run_dir: str | os.PathLike) -> Path:
        return self.log.save(run_dir)

    def state_dict(self) -> dict:
        """The log for a checkpoint: columns as float64/int64 arrays (tensors, NaN for missing), the rest JSON."""
        log = self.log
        state: dict = {"meta": {"every": log.every, "layers": log.layers, "events": log.events},
                       "steps": np.asarray(log.steps, dtype=np.int64), "epochs": np.asarray(log.epochs, np.int64)}
        columns = {"loss": log.loss, "lr": log.lr, "grad_norm": log.grad_norm}
        columns.update({f"layer/{n}/{m}": v for n, stats in log.layer_stats.items() for m, v in stats.items()})
        columns.update({f"param/{n}/{m}": v for n, stats in log.param_stats.items() for m, v in stats.items()})
        for key, values in columns.items():
            state[key] = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        return state

    def load_state_dict(self, state: dict) -> None:
        if "meta" not in state:
            return

        def column(key) -> list:
            return [_num(v) for v in np.asarray(state[key]).tolist()]

        meta = state["meta"]
        log = HealthLog(int(meta["every"]), list(meta["layers"]), [int(v) for v in state["steps"]],
                        [int(v) for v in state["epochs"]], column("loss"), column("lr"), column("grad_norm"),
                        events=list(meta["events"]))
        for key in state:
            group, _, rest = key.partition("/")
            if group in ("layer", "param"):
                name, metric = rest.rsplit("/", 1)
                stats = log.layer_stats if group == "layer" else log.param_stats
                stats.setdefault(name, {})[metric] = column(key)
        self.log = HealthLog.from_dict(log.to_dict(), "checkpoint")
