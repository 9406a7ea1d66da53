"""Learning-rate schedules: pure functions of the epoch (or of the step).

A schedule is a callable ``schedule(epoch) -> lr`` with a 0-based epoch:
epoch 0 is the first pass over the data. A per-mini-batch schedule has
``per_step = True`` and is called with the 0-based global step instead
(step 0 is the first mini-batch of the run). The trainer sets
``optimizer.lr = schedule(epoch)`` before every step, so a schedule holds no
state and resuming a run needs only the epoch and step.

Relation to the course, which counts ``epoch_num`` from 1: the formulas with
a finite value at 0 (inverse-time, exponential, staircase, linear, cosine) are
evaluated at the 0-based epoch, so the first epoch always trains at ``lr0``;
the course's ``1/(1 + decay_rate*epoch_num) * a0`` for ``epoch_num = 1, 2, ...``
is ``inverse_time`` shifted by one epoch. The inverse square root cannot be
evaluated at 0, so it uses the course's ``epoch_num = epoch + 1``:
``k/sqrt(epoch_num) * a0`` (likewise ``t = step + 1`` per mini-batch).

:func:`make_schedule` builds one from a config or CLI spec::

    make_schedule("exponential:0.95", 0.1)(3)    # 0.1 * 0.95**3
    make_schedule({"name": "staircase", "factor": 0.5, "every": 10}, 0.1)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

from ..errors import ConfigError


class Schedule:
    """A learning rate as a pure function of the 0-based epoch (or global step).

    Attributes
    ----------
    name : str
        The builder's name (``"exponential"``); with ``params`` it rebuilds
        the schedule: ``make_schedule(s.spec(), s.lr0)``.
    lr0 : float
        The learning rate at epoch (step) 0.
    per_step : bool
        True when the argument is the global mini-batch step, not the epoch.
    params : dict
        The builder's keyword arguments besides ``lr0``.
    """

    def __init__(self, name: str, lr0: float, fn: Callable[[int], float], per_step: bool = False,
                 **params) -> None:
        self.name, self.lr0, self.per_step, self.params = name, lr0, per_step, params
        self._fn = fn

    def __call__(self, epoch: int) -> float:
        if not epoch >= 0:
            unit = "step" if self.per_step else "epoch"
            raise ConfigError(f"a schedule's {unit} counts from 0, got {epoch!r}")
        return float(self._fn(epoch))

    def spec(self) -> dict:
        """A JSON-able dict that :func:`make_schedule` turns back into this schedule."""
        return {"name": self.name, **self.params}

    def __reduce__(self):
        # picklable (for worker processes) by rebuilding from the spec rather than pickling closures
        return make_schedule, (self.spec(), self.lr0)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"{self.name}(lr0={self.lr0!r}{args})"


def _number(name: str, value, test: Callable[[float], bool], accepted: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"schedule parameter {name} must be {accepted}, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or not test(number):
        raise ConfigError(f"schedule parameter {name} must be {accepted}, got {value!r}")
    return number


def _positive(name: str, value) -> float:
    return _number(name, value, lambda x: x > 0, "a finite number > 0")


def _count(name: str, value) -> int:
    number = _number(name, value, lambda x: x >= 1 and x == int(x), "an integer >= 1")
    return int(number)


def constant(lr0: float) -> Schedule:
    """``lr = lr0`` for every epoch."""
    lr0 = _positive("lr0", lr0)
    return Schedule("constant", lr0, lambda epoch: lr0)


def inverse_time(lr0: float, decay_rate: float = 1.0) -> Schedule:
    """``lr = lr0 / (1 + decay_rate*epoch)``."""
    lr0 = _positive("lr0", lr0)
    d = _number("decay_rate", decay_rate, lambda x: x >= 0, "a finite number >= 0")
    return Schedule("inverse_time", lr0, lambda epoch: lr0 / (1.0 + d * epoch), decay_rate=d)


def exponential(lr0: float, base: float = 0.95) -> Schedule:
    """``lr = lr0 * base**epoch``."""
    lr0 = _positive("lr0", lr0)
    b = _number("base", base, lambda x: 0 < x <= 1, "a number in (0, 1]")
    return Schedule("exponential", lr0, lambda epoch: lr0 * b ** epoch, base=b)


def inverse_sqrt(lr0: float, k: float = 1.0) -> Schedule:
    """``lr = lr0 * k / sqrt(epoch + 1)`` (the course's ``k/sqrt(epoch_num) * a0``)."""
    lr0, k = _positive("lr0", lr0), _positive("k", k)
    return Schedule("inverse_sqrt", lr0, lambda epoch: lr0 * k / math.sqrt(epoch + 1), k=k)


def inverse_sqrt_step(lr0: float, k: float = 1.0) -> Schedule:
    """``lr = lr0 * k / sqrt(t + 1)`` with ``t`` the 0-based global mini-batch step (``per_step``)."""
    lr0, k = _positive("lr0", lr0), _positive("k", k)
    return Schedule("inverse_sqrt_step", lr0, lambda step: lr0 * k / math.sqrt(step + 1), per_step=True, k=k)


def staircase(lr0: float, factor: float = 0.5, every: int = 10) -> Schedule:
    """Discrete step decay: ``lr = lr0 * factor**floor(epoch/every)``."""
    lr0 = _positive("lr0", lr0)
    f = _number("factor", factor, lambda x: 0 < x <= 1, "a number in (0, 1]")
    n = _count("every", every)
    return Schedule("staircase", lr0, lambda epoch: lr0 * f ** (epoch // n), factor=f, every=n)


def linear(lr0: float, lr_end: float, tau: int) -> Schedule:
    """Linear decay to ``lr_end`` at epoch ``tau``, then constant.

    ``lr = (1 - epoch/tau)*lr0 + (epoch/tau)*lr_end`` for ``epoch <= tau``,
    ``lr_end`` after (the course's ``a_tau``, often about 1% of ``a0``).
    """
    lr0, end, tau = _positive("lr0", lr0), _positive("lr_end", lr_end), _count("tau", tau)

    def fn(epoch):
        if epoch >= tau:
            return end
        frac = epoch / tau
        return (1.0 - frac) * lr0 + frac * end

    return Schedule("linear", lr0, fn, lr_end=end, tau=tau)


def cosine(lr0: float, tau: int, lr_end: float | None = None) -> Schedule:
    """Cosine annealing from ``lr0`` to ``lr_end`` over ``tau`` epochs, then constant.

    ``lr = lr_end + (lr0 - lr_end) * (1 + cos(pi * epoch/tau)) / 2`` for ``epoch <= tau``
    (computed as ``lr0*c + lr_end*(1 - c)``, ``c = (1 + cos(pi*epoch/tau))/2``, so epoch 0 is ``lr0`` exactly),
    ``lr_end`` after: PyTorch's ``CosineAnnealingLR(T_max=tau, eta_min=lr_end)``
    and Keras's ``CosineDecay(decay_steps=tau, alpha=lr_end/lr0)`` per epoch.
    ``lr_end`` defaults to ``lr0/1000``: the optimisers take a learning rate > 0,
    so it cannot be 0 (PyTorch's default) for a run longer than ``tau`` epochs.
    With ``tau`` = the run's epochs the last epoch trains at a small rate.
    """
    lr0, tau = _positive("lr0", lr0), _count("tau", tau)
    end = lr0 * 1e-3 if lr_end is None else _number("lr_end", lr_end, lambda x: 0 < x < lr0,
                                                     f"a number in (0, lr0 = {lr0:g})")

    def fn(epoch):
        if epoch >= tau:
            return end
        c = (1.0 + math.cos(math.pi * epoch / tau)) / 2.0  # 1 at epoch 0 (lr0 exactly), 0 at tau
        return lr0 * c + end * (1.0 - c)

    return Schedule("cosine", lr0, fn, tau=tau, lr_end=None if lr_end is None else end)


def piecewise(boundaries: Sequence[int], values: Sequence[float]) -> Schedule:
    """Manual piecewise-constant schedule.

    ``lr = values[i]`` for ``boundaries[i-1] <= epoch < boundaries[i]``:
    ``values[0]`` before the first boundary, ``values[-1]`` from the last one
    on. Boundaries are increasing epochs >= 1; ``len(values) == len(boundaries) + 1``.
    """
    bounds = [_count("boundary", b) for b in boundaries]
    vals = [_positive("value", v) for v in values]
    if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:], strict=False)):
        raise ConfigError(f"piecewise schedule boundaries must increase, got {list(boundaries)!r}")
    if len(vals) != len(bounds) + 1:
        raise ConfigError(f"a piecewise schedule needs one more value than boundaries, "
                          f"got {len(bounds)} boundaries and {len(vals)} values")
    return Schedule("piecewise", vals[0], lambda epoch: vals[bisect.bisect_right(bounds, epoch)],
                    boundaries=bounds, values=vals)


SCHEDULES = {"constant": constant, "inverse_time": inverse_time, "exponential": exponential,
             "inverse_sqrt": inverse_sqrt, "inverse_sqrt_step": inverse_sqrt_step, "staircase": staircase,
             "linear": linear, "cosine": cosine, "piecewise": piecewise}
_ALIASES = {"none": "constant", "sqrt": "inverse_sqrt", "sqrt_step": "inverse_sqrt_step"}
# positional string arguments after the name, e.g. "staircase:0.5:10"
_POSITIONAL = {"constant": (), "inverse_time": ("decay_rate",), "exponential": ("base",), "inverse_sqrt": ("k",),
               "inverse_sqrt_step": ("k",), "staircase": ("factor", "every"), "linear": ("lr_end", "tau"),
               "cosine": ("tau", "lr_end")}
SPEC_FORMS = ('"constant"', '"inverse_time:DECAY_RATE"', '"exponential:BASE"', '"sqrt[:K]"', '"sqrt_step[:K]"',
              '"staircase:FACTOR:EVERY"', '"linear:LR_END:TAU"', '"cosine:TAU[:LR_END]"',
              '"piecewise:EPOCH=LR,EPOCH=LR"')


def _bad(spec, why: str) -> ConfigError:
    return ConfigError(f"bad schedule {spec!r}: {why}; accepted forms: {', '.join(SPEC_FORMS)}, "
                       f"or a dict such as {{\"name\": \"exponential\", \"base\": 0.9}}")


def make_schedule(spec, lr0: float) -> Schedule:
    """A schedule starting at ``lr0`` from a spec string, a dict, ``None`` or a Schedule.

    Strings: ``None``/``"constant"``, ``"inverse_time:1.0"``, ``"exponential:0.95"``,
    ``"sqrt"`` (``inverse_sqrt``, optionally ``"sqrt:K"``), ``"sqrt_step"``,
    ``"staircase:0.5:10"`` (factor, every), ``"linear:1e-4:50"`` (lr_end, tau),
    ``"cosine:100"`` (tau; ``"cosine:100:1e-5"`` with lr_end),
    ``"piecewise:10=0.01,20=0.001"`` (``lr0`` until epoch 10, then 0.01, from
    epoch 20 on 0.001). Parameters may be left off where the builder has a
    default. Dicts name the builder and its keyword arguments:
    ``{"name": "exponential", "base": 0.9}``; for ``piecewise``, ``values``
    may leave out the first value (then ``lr0``). A Schedule is returned as is.
    """
    if isinstance(spec, Schedule):
        return spec
    if spec is None:
        return constant(lr0)
    if isinstance(spec, dict):
        return _from_dict(spec, lr0)
    if not isinstance(spec, str):
        raise _bad(spec, f"expected a string or a dict, got {type(spec).__name__}")
    name, *args = [part.strip() for part in spec.strip().split(":")]
    name = _ALIASES.get(name.lower(), name.lower())
    if name not in SCHEDULES:
        raise _bad(spec, f"unknown schedule {name!r}")
    if name == "piecewise":
        if len(args) != 1 or not args[0]:
            raise _bad(spec, "piecewise needs EPOCH=LR pairs separated by commas")
        try:
            pairs = [item.split("=") for item in args[0].split(",")]
            bounds, values = zip(*[(int(b), float(v)) for b, v in pairs], strict=True)
        except ValueError:
            raise _bad(spec, "piecewise needs EPOCH=LR pairs separated by commas") from None
        return piecewise(bounds, [lr0, *values])
    names = _POSITIONAL[name]
    if len(args) > len(names):
        raise _bad(spec, f"{name} takes at most {len(names)} parameter(s) ({', '.join(names) or 'none'})")
    try:
        return SCHEDULES[name](lr0, **dict(zip(names, args, strict=False)))
    except TypeError:
        raise _bad(spec, f"{name} needs parameters {', '.join(names)}") from None


def _from_dict(spec: dict, lr0: float) -> Schedule:
    params = dict(spec)
    name = params.pop("name", None)
    if not isinstance(name, str):
        raise _bad(spec, "a dict spec needs a 'name'")
    name = _ALIASES.get(name.lower(), name.lower())
    if name not in SCHEDULES:
        raise _bad(spec, f"unknown schedule {name!r}")
    if name == "piecewise":
        bounds, values = params.pop("boundaries", None), params.pop("values", None)
        if params or not isinstance(bounds, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise _bad(spec, "piecewise takes lists 'boundaries' and 'values' only")
        if len(values) == len(bounds):
            values = [lr0, *values]
        return piecewise(bounds, values)
    accepted = _POSITIONAL[name]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise _bad(spec, f"{name} does not take {', '.join(unknown)}; it accepts {', '.join(accepted) or 'nothing'}")
    try:
        return SCHEDULES[name](lr0, **params)
    except TypeError:
        raise _bad(spec, f"{name} needs parameters {', '.join(accepted)}") from None
