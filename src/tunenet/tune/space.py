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

Any :class:`~tunenet.config.RunConfig` field can be searched. Three derived
names build the composite options: ``units`` and ``layers`` give
``hidden = [units] * layers``; ``decay`` gives ``schedule = inverse_time:decay``.
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

from ..config import FIELD_NAMES, RunConfig
from ..errors import ConfigError

DERIVED = {"units", "layers", "decay"}


@dataclass(frozen=True)
class LogUniform:
    low: float
    high: float

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high, log=True)

    def shrink(self, values: list, margin: float) -> LogUniform:
        return LogUniform(*_log_span(values, self.low, self.high, margin))

    def spec(self) -> str:
        return f"loguniform({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high)

    def shrink(self, values: list, margin: float) -> Uniform:
        return Uniform(*_span(values, self.low, self.high, margin))

    def spec(self) -> str:
        return f"uniform({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False

    def suggest(self, trial, name: str):
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def shrink(self, values: list, margin: float) -> IntRange:
        if self.log:
            lo, hi = _log_span(values, self.low, self.high, margin)
        else:
            lo, hi = _span(values, self.low, self.high, margin)
        lo, hi = max(self.low, math.floor(lo + 1e-9)), min(self.high, math.ceil(hi - 1e-9))
        return IntRange(int(min(lo, min(values))), int(max(hi, max(values))), self.log)

    def spec(self) -> str:
        return f"int({self.low}, {self.high}{', log=true' if self.log else ''})"


@dataclass(frozen=True)
class Choice:
    options: tuple

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.options))

    def shrink(self, values: list, margin: float) -> Choice:
        return Choice(tuple(o for o in self.options if o in values))

    def spec(self) -> str:
        return f"choice({list(self.options)})"


@dataclass(frozen=True)
class Beta:
    """``beta`` in [low, high] with ``1 - beta`` log-uniform (recorded as ``1-NAME``)."""

    low: float
    high: float

    def suggest(self, trial, name: str):
        return 1.0 - trial.suggest_float(f"1-{name}", 1.0 - self.high, 1.0 - self.low, log=True)

    def shrink(self, values: list, margin: float) -> Beta:
        lo, hi = _log_span([1 - v for v in values], 1 - self.high, 1 - self.low, margin)  # on 1 - beta
        return Beta(1 - hi, 1 - lo)

    def spec(self) -> str:
        return f"beta({self.low:g}, {self.high:g})"


Distribution = LogUniform | Uniform | IntRange | Choice | Beta


def _span(values, low, high, margin):
    """[min, max] of ``values`` widened by ``margin`` of its width, clipped to [low, high]."""
    lo, hi = min(values), max(values)
    pad = margin * max(hi - lo, (high - low) * 0.05)
    return max(low, lo - pad), min(high, hi + pad)


def _log_span(values, low, high, margin):
    """:func:`_span` on the log scale: the zoom for log-sampled parameters."""
    lo, hi = _span([math.log(v) for v in values], math.log(low), math.log(high), margin)
    return math.exp(lo), math.exp(hi)


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
                              f"({', '.join(sorted(FIELD_NAMES))}) or units, layers, decay")
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
        if "beta" in values and "beta1" not in values:
            values["beta1"] = values["beta"]  # Adam's beta1 is momentum's beta: one average, one knob
        return base.replace(**values)

    def shrink(self, best_values: list[dict], margin: float = 0.25) -> SearchSpace:
        """The coarse-to-fine zoom: the region spanned by the best trials' values.

        Numeric bounds become [min, max] of the best values on the sampling
        scale (log for log-scaled parameters), widened by ``margin`` of that
        width and never beyond the old bounds; choices keep only the options
        the best trials used.
        """
        if not best_values:
            return self
        new = {}
        for name, dist in self.distributions.items():
            values = [v[name] for v in best_values if name in v]
            new[name] = dist.shrink(values, margin) if values else dist
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
