"""Search spaces: each hyperparameter on the scale where its effect is even.

=====================  ===============================================  =====================
declaration            samples                                          use for
=====================  ===============================================  =====================
``loguniform(a, b)``   ``10**U(log10 a, log10 b)``: each decade alike    lr, l2, l1, eps
``uniform(a, b)``      ``U(a, b)``                                      keep_prob
``int(a, b)``          integers in [a, b] (``log=true``: log scale)     units, layers, epochs
``choice([...])``      one option, equally likely                       optimizer, activation
``beta(a, b)``         ``1 - 10**U(log10(1-b), log10(1-a))``             beta, beta1, beta2
=====================  ===============================================  =====================

``beta(0.9, 0.999)`` samples ``1 - beta`` on a log scale, so 0.9..0.99 and
0.99..0.999 get equal share (the average over ``1/(1-beta)`` samples changes
as fast near 0.999 as near 0.9).

Any :class:`~tunenet.config.RunConfig` field can be searched. Derived names
build the composite options: ``units`` and ``layers`` give
``hidden = [units] * layers``; ``decay`` gives ``schedule = inverse_time:decay``;
``shift`` (pixels, a random crop of the padded image) and ``rotate`` (degrees)
add ``shift:N`` / ``rotate:D`` to the ``augment`` spec (0: none), e.g.
``shift: int(0, 3)`` on top of a fixed ``--augment flip``.
A searched ``beta`` also sets ``beta1`` (unless that is searched itself): the
momentum average and Adam's first moment are the same knob.

A space is declared in YAML/TOML as ``name: "loguniform(1e-4, 1e-1)"`` or
``name: {loguniform: [1e-4, 1e-1]}``, or in Python with the classes below.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import yaml

from ..config import CONSTRAINTS, FIELD_NAMES, FLOAT_FIELDS, RunConfig, coerce
from ..errors import ConfigError

DERIVED = {"units", "layers", "decay", "shift", "rotate"}


@dataclass(frozen=True)
class LogUniform:
    low: float
    high: float

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high, log=True)

    def refine(self, top: list, beaten: list, n_tried: int, ok, margin: float = 0.25) -> LogUniform:
        lo, hi = _refine([math.log(v) for v in top], [math.log(v) for v in beaten], math.log(self.low),
                         math.log(self.high), n_tried, margin)
        lo, hi = _exp_or(lo, self.low), _exp_or(hi, self.high)
        return LogUniform(*_valid_bounds(lo, hi, self.low, self.high, ok))

    def spec(self) -> str:
        return f"loguniform({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high)

    def refine(self, top: list, beaten: list, n_tried: int, ok, margin: float = 0.25) -> Uniform:
        lo, hi = _refine(top, beaten, self.low, self.high, n_tried, margin)
        return Uniform(*_valid_bounds(lo, hi, self.low, self.high, ok))

    def spec(self) -> str:
        return f"uniform({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False

    def suggest(self, trial, name: str):
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def refine(self, top: list, beaten: list, n_tried: int, ok, margin: float = 0.25) -> IntRange:
        """As for floats (on the log scale with ``log=true``), then rounded; a widened bound moves by one at least."""
        f, inv = (math.log, math.exp) if self.log else (float, float)
        lo, hi = _refine([f(v) for v in top], [f(v) for v in beaten], f(self.low), f(self.high), n_tried, margin)
        low, high = math.floor(inv(lo) + 0.5), math.floor(inv(hi) + 0.5)
        low = min(low, self.low - 1) if lo < f(self.low) - 1e-12 else max(low, self.low)
        high = max(high, self.high + 1) if hi > f(self.high) + 1e-12 else min(high, self.high)
        low, high = min(low, min(top)), max(high, max(top))
        low, high = _valid_bounds(max(low, 1 if self.log else 0), high, self.low, self.high, ok, integer=True)
        return IntRange(int(low), int(high), self.log)

    def spec(self) -> str:
        return f"int({self.low}, {self.high}{', log=true' if self.log else ''})"


@dataclass(frozen=True)
class Choice:
    options: tuple

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.options))

    def refine(self, top: list, beaten: list, n_tried: int, ok, margin: float = 0.25,
               evidence: int = 2) -> Choice:
        """Drop only options that are clearly beaten.

        An option is clearly beaten when no top trial used it and at least
        ``evidence`` completed trials did, all beaten (more than one SE below
        the best): one bad trial may owe its score to its other values; an
        option not yet tried, or tried once, stays.
        """
        keep = tuple(o for o in self.options if o in top or sum(b == o for b in beaten) < evidence)
        return Choice(keep or self.options)

    def spec(self) -> str:
        return f"choice({list(self.options)})"


@dataclass(frozen=True)
class Beta:
    """``beta`` in [low, high] with ``1 - beta`` log-uniform (recorded as ``1-NAME``)."""

    low: float
    high: float

    def suggest(self, trial, name: str):
        return 1.0 - trial.suggest_float(f"1-{name}", 1.0 - self.high, 1.0 - self.low, log=True)

    def refine(self, top: list, beaten: list, n_tried: int, ok, margin: float = 0.25) -> Beta:
        lo, hi = _refine([math.log(1 - v) for v in top], [math.log(1 - v) for v in beaten],
                         math.log(1 - self.high), math.log(1 - self.low), n_tried, margin)  # on log(1 - beta)
        low, high = 1 - min(_exp_or(hi, 1 - self.low), 1.0), 1 - _exp_or(lo, 1 - self.high)
        return Beta(*_valid_bounds(low, high, self.low, self.high, ok))

    def spec(self) -> str:
        return f"beta({self.low:g}, {self.high:g})"


Distribution = LogUniform | Uniform | IntRange | Choice | Beta


def _refine(top, beaten, low, high, n_tried, margin):
    """The next round's interval on the sampling scale ``u`` (log u for log-scaled parameters).

    ``[a, b]`` is the span of the top trials' values in the old interval
    ``[low, high]`` of width ``W``; ``n_tried`` trials sampled over ``W`` lie
    about ``gap = W / n_tried`` apart, so the data cannot place the optimum
    closer than that, however tightly the top trials cluster. The new
    interval covers the top trials with

        pad = max(margin * (b - a), gap)

    on each side, and narrows no further than the evidence: on each side it
    reaches at least the nearest beaten trial's value beyond the top span
    (between the two nothing was tried). With no trial tried beyond the top
    span on a side and the cover crossing that old bound, the top trials sit
    at its edge and the optimum may lie past it: the bound moves outward by
    ``max(pad, W / 4)`` (a quarter of the range the user thought plausible)
    while the other side may narrow. A cover crossing both bounds means the
    top trials span the range: it stays as it was.
    """
    a, b = min(top), max(top)
    pad = max(margin * (b - a), (high - low) / max(n_tried, 1))
    if a - pad < low and b + pad > high:
        return low, high
    below = [v for v in beaten if v < a]
    above = [v for v in beaten if v > b]
    if below:
        lo = max(low, min(a - pad, max(below)))
    else:
        lo = low - max(pad, (high - low) / 4) if a - pad < low else low
    if above:
        hi = min(high, max(b + pad, min(above)))
    else:
        hi = high + max(pad, (high - low) / 4) if b + pad > high else high
    return lo, hi


def _exp_or(u: float, bound: float) -> float:
    """``exp(u)``, or exactly ``bound`` when ``u`` is its logarithm (an unchanged bound stays bit-identical)."""
    return bound if u == math.log(bound) else math.exp(u)


def _valid_bounds(lo, hi, low, high, ok, integer=False):
    """A widened bound pulled back (by bisection towards the old bound) until ``ok`` accepts it.

    ``ok(value)`` is the option's own constraint (keep_prob in (0, 1], beta
    below 1, units >= 1, ...), so a range never widens past what training accepts.
    """
    def pull(value, inside):
        if ok(value):
            return value
        good, bad = inside, value
        for _ in range(60):
            mid = (good + bad) / 2
            if integer:
                mid = math.floor(mid) if bad > good else math.ceil(mid)
                if mid in (good, bad):
                    break
            good, bad = (mid, bad) if ok(mid) else (good, mid)
        return good

    lo = pull(lo, low) if lo < low else lo
    hi = pull(hi, high) if hi > high else hi
    return lo, hi


def option_constraint(name: str):
    """``ok(value)``: does training accept ``value`` for this searchable name?"""
    if name in ("units", "layers"):
        return lambda v: v >= 1
    if name in ("shift", "rotate"):
        return lambda v: 0 <= v <= (180 if name == "rotate" else 10_000)
    if name == "decay":
        return lambda v: v > 0
    check, _ = CONSTRAINTS.get(name, (lambda v: True, ""))
    return lambda v: bool(check(coerce(name, float(v) if name in FLOAT_FIELDS else v)))


_CALL = re.compile(r"^\s*(loguniform|uniform|int|choice|beta)\s*\((.*)\)\s*$", re.S)


def parse_distribution(name: str, spec, source: str = "search space") -> Distribution:
    """A distribution from ``"loguniform(1e-4, 1)"``, ``{"loguniform": [1e-4, 1]}`` or a list (choice)."""
    if isinstance(spec, (LogUniform, Uniform, IntRange, Choice, Beta)):
        return spec
    if isinstance(spec, list):
        kind, args, kwargs = "choice", [spec], {}
    elif isinstance(spec, dict) and len(spec) == 1:
        kind, raw = next(iter(spec.items()))
        args, kwargs = (list(raw), {}) if isinstance(raw, list) else ([], dict(raw)) if isinstance(raw, dict) \
            else ([raw], {})
        if kind == "choice" and args and not isinstance(args[0], list):
            args = [args]
    elif isinstance(spec, str) and (m := _CALL.match(spec)):
        kind = m.group(1)
        try:  # "int(32, 512, log=true)" -> YAML flow sequence [32, 512, log: true]
            parsed = yaml.safe_load("[" + re.sub(r"(\w+)\s*=\s*", r"\1: ", m.group(2)) + "]")
        except yaml.YAMLError:
            raise ConfigError(f"{source}: cannot read the arguments of {name}: {spec!r}") from None
        args = [a for a in parsed if not isinstance(a, dict)]
        kwargs = {k: v for a in parsed if isinstance(a, dict) for k, v in a.items()}
    else:
        raise ConfigError(f"{source}: {name}: {spec!r} is not a distribution; expected loguniform(low, high), "
                          "uniform(low, high), int(low, high[, log=true]), choice([...]) or beta(low, high)")
    try:
        dist = _build(kind, args, kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {name}: {spec!r}: {exc}") from None
    return dist


def _build(kind: str, args: list, kwargs: dict) -> Distribution:
    if kind == "choice":
        (options,) = args
        if not isinstance(options, list) or not options:
            raise ValueError("choice needs a non-empty list of options")
        return Choice(tuple(options))
    low, high = (args + [kwargs.pop("low", None), kwargs.pop("high", None)])[:2]
    if kind == "int":
        log = bool(kwargs.pop("log", False))
        if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high) or (log and low < 1):
            raise ValueError("int needs integers 0 <= low <= high (low >= 1 with log=true)")
        return IntRange(low, high, log)
    low, high = float(low), float(high)
    if not low < high:
        raise ValueError(f"low must be below high, got {low:g} >= {high:g}")
    if kind == "loguniform":
        if low <= 0:
            raise ValueError("loguniform needs 0 < low")
        return LogUniform(low, high)
    if kind == "beta":
        if not (0 <= low and high < 1):
            raise ValueError("beta needs 0 <= low < high < 1")
        return Beta(low, high)
    return Uniform(low, high)


class SearchSpace:
    """Named distributions over :class:`RunConfig` fields (and ``units``/``layers``/``decay``)."""

    def __init__(self, distributions: dict[str, Distribution]) -> None:
        unknown = sorted(set(distributions) - FIELD_NAMES - DERIVED)
        if unknown:
            raise ConfigError(f"search space: unknown option {unknown[0]!r}; searchable: any train option "
                              f"({', '.join(sorted(FIELD_NAMES))}) or units, layers, decay, shift, rotate")
        if "hidden" in distributions and ({"units", "layers"} & set(distributions)):
            raise ConfigError("search space: search either hidden or units/layers, not both")
        self.distributions = dict(distributions)

    @classmethod
    def from_dict(cls, d: dict, source: str = "search space") -> SearchSpace:
        if not isinstance(d, dict) or not d:
            raise ConfigError(f"{source}: expected a mapping of option: distribution")
        return cls({k: parse_distribution(k, v, source) for k, v in d.items()})

    def to_dict(self) -> dict:
        return {k: d.spec() for k, d in self.distributions.items()}

    def sample(self, trial, round_index: int = 0) -> dict:
        """Draw every hyperparameter through an Optuna trial; returns name -> value.

        Optuna records round ``r >= 1``'s parameters as ``NAME@r+1``: a
        zoomed-in distribution is a new distribution (Optuna refuses a
        categorical whose options change under one name).
        """
        suffix = f"@{round_index + 1}" if round_index else ""
        return {name: dist.suggest(trial, name + suffix) for name, dist in self.distributions.items()}

    def config_for(self, values: dict, base: RunConfig) -> RunConfig:
        """``base`` with the sampled ``values`` applied (derived names expanded)."""
        values = dict(values)
        units, layers = values.pop("units", None), values.pop("layers", None)
        if units is not None or layers is not None:
            n_layers = layers if layers is not None else len(base.hidden)
            width = units if units is not None else (base.hidden[0] if base.hidden else 64)
            values["hidden"] = [int(width)] * int(n_layers)
        decay = values.pop("decay", None)
        if decay is not None:
            values["schedule"] = f"inverse_time:{decay:.6g}"
        shift, rotate = values.pop("shift", None), values.pop("rotate", None)
        if shift is not None or rotate is not None:
            spec = values.get("augment", base.augment) or ""
            parts = [p.strip() for p in spec.split(",")
                     if p.strip() and p.strip().split(":")[0].lower() not in ("shift", "rotate", "none")]
            parts += [f"shift:{int(shift)}"] if shift else []
            parts += [f"rotate:{float(rotate):.4g}"] if rotate else []
            values["augment"] = ",".join(parts) or None
        if "beta" in values and "beta1" not in values:
            values["beta1"] = values["beta"]  # Adam's beta1 is momentum's beta: one average, one knob
        return base.replace(**values)

    def refine(self, top: list[dict], beaten: list[dict], n_tried: int | None = None,
               margin: float = 0.25) -> SearchSpace:
        """Coarse to fine: the next round's space from this round's ``top`` and ``beaten`` trials' values.

        ``top`` are the values of the trials within one standard error of the
        best (:func:`~tunenet.tune.noise.top_and_beaten`), ``beaten`` those of
        the other completed trials, ``n_tried`` how many trials the round
        sampled (default: both counted). Numeric ranges cover the top trials
        with a margin of at least one sampling gap and widen past an edge the
        top trials sit at (:func:`_refine`); choices drop only options that
        are clearly beaten (:meth:`Choice.refine`).
        """
        if not top:
            return self
        n_tried = n_tried if n_tried is not None else len(top) + len(beaten)
        new = {}
        for name, dist in self.distributions.items():
            values = [v[name] for v in top if name in v]
            lost = [v[name] for v in beaten if name in v]
            new[name] = dist.refine(values, lost, n_tried, option_constraint(name), margin) if values else dist
        return SearchSpace(new)

    def __repr__(self) -> str:
        return f"SearchSpace({self.to_dict()})"


def default_space() -> SearchSpace:
    """The course's order of importance: lr first; then beta, batch size, units; then layers, decay.

    Plus the optimiser, dropout keep_prob, L2 strength and batch norm.
    """
    return SearchSpace.from_dict({
        "lr": "loguniform(1e-4, 1e-1)",
        "beta": "beta(0.8, 0.999)",
        "batch_size": "choice([32, 64, 128, 256])",
        "units": "int(32, 512, log=true)",
        "layers": "int(1, 3)",
        "decay": "loguniform(1e-3, 1.0)",
        "optimizer": "choice([adam, momentum, rmsprop])",
        "keep_prob": "uniform(0.6, 1.0)",
        "l2": "loguniform(1e-5, 1e-1)",
        "batchnorm": "choice([false, true])",
    })
