"""Run configuration: one frozen dataclass, validated from one table.

Every option of ``tunenet train`` is a field of :class:`RunConfig`, spelled
the same in Python, in YAML/TOML config files and as a CLI flag (``lr``,
``beta1``, ``keep_prob`` -> ``--keep-prob``, ``l2``, ``batch_size``). The tuner
searches over the same names. :data:`CONSTRAINTS` declares what each field
accepts; :func:`validate` checks a whole config against it and names the
field (and the file) at fault.
"""

from __future__ import annotations

import dataclasses
import math
import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ConfigError
from .fileio import atomic_write_text


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run (data -> model -> training)."""

    # data
    data: str = "digits"
    target: str | None = None
    task: str | None = None
    categorical: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    delimiter: str | None = None
    dev: float | None = None
    test: float | None = None
    stratify: bool = True
    normalize: str = "standard"
    standardize_target: bool = True
    augment: str | None = None
    max_categories: int = 1000
    # model
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    init: str = "he"
    batchnorm: bool | str = False
    keep_prob: float = 1.0
    # optimisation
    optimizer: str = "adam"
    lr: float = 1e-3
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.01
    schedule: str | None = None
    batch_size: int = 64
    epochs: int = 30
    l2: float = 0.0
    l1: float = 0.0
    clip: str | None = None
    early_stopping: int = 10
    monitor: str = "dev_loss"
    plateau: int = 0
    # diagnosis
    human_error: float | None = None
    reference: str = "auto"
    # reproducibility and resources
    seed: int = 0
    split_seed: int | None = None
    threads: int | None = None
    checkpoint_every: int = 1
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def replace(self, **changes) -> RunConfig:
        """A copy with ``changes`` applied and validated."""
        unknown = sorted(set(changes) - FIELD_NAMES)
        if unknown:
            raise ConfigError(f"unknown option {unknown[0]!r}; known options: {', '.join(sorted(FIELD_NAMES))}")
        return validate(dataclasses.replace(self, **{k: coerce(k, v) for k, v in changes.items()}))

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for name in ("hidden", *LIST_FIELDS):
            d[name] = list(d[name])
        return d

    def save(self, path: str | os.PathLike) -> None:
        """Write the resolved config as YAML (atomically)."""
        import yaml  # here, not at the top: `tunenet --help` reads the fields only

        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))


FIELD_NAMES = {f.name for f in fields(RunConfig)} - {"extra"}
#: options that are lists of column names (``categorical: [island, sex]`` or ``--categorical island,sex``)
LIST_FIELDS = ("categorical", "drop")
#: ``--delimiter`` words for characters that are awkward to type
DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|", "space": " "}

#: the optimiser hyperparameters each optimiser reads (``run.build_optimizer`` passes exactly these)
OPTIMIZER_HYPERPARAMETERS = {
    "sgd": (), "momentum": ("beta",), "nesterov": ("beta",), "rmsprop": ("beta", "eps"),
    "adam": ("beta1", "beta2", "eps"), "adamw": ("beta1", "beta2", "eps", "weight_decay"),
    "lbfgs": (),
}
_ALL_OPTIMIZER_HYPERPARAMETERS = {name for names in OPTIMIZER_HYPERPARAMETERS.values() for name in names}


def unused_hyperparameters(optimizer: str | None) -> set[str]:
    """The optimiser hyperparameters ``optimizer`` ignores (``weight_decay`` and ``beta`` for Adam), to hide."""
    if optimizer not in OPTIMIZER_HYPERPARAMETERS:
        return set()
    return _ALL_OPTIMIZER_HYPERPARAMETERS - set(OPTIMIZER_HYPERPARAMETERS[optimizer])


def _choice(*options):
    return lambda v: v in options, "one of " + ", ".join(map(repr, options))


def _interval(low=None, high=None, low_open=False, high_open=False, allow_none=False):
    def ok(v):
        if v is None:
            return allow_none
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        if low is not None and (v <= low if low_open else v < low):
            return False
        return not (high is not None and (v >= high if high_open else v > high))

    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    text = f"a number in {lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    return ok, text + (" or null" if allow_none else "")


def _optional_str():
    return lambda v: v is None or isinstance(v, str), "a string or null"


#: field -> (predicate, what is accepted)
CONSTRAINTS = {
    "data": (lambda v: isinstance(v, str) and v != "", "a dataset name or a file path"),
    "target": _optional_str(),
    "task": _choice(None, "classification", "regression"),
    "categorical": (lambda v: isinstance(v, tuple) and all(isinstance(c, str) and c for c in v),
                    "a list of column names such as [island, sex]"),
    "drop": (lambda v: isinstance(v, tuple) and all(isinstance(c, str) and c for c in v),
             "a list of column names such as [id]"),
    "delimiter": (lambda v: v is None or (isinstance(v, str) and len(v) == 1 and v not in "\"\r\n"),
                  "one character such as ';' (or tab, semicolon, comma, pipe, space), or null to detect it"),
    "dev": _interval(0, 1, False, True, allow_none=True),
    "test": _interval(0, 1, False, True, allow_none=True),
    "stratify": (lambda v: isinstance(v, bool), "true or false"),
    "normalize": _choice("standard", "minmax", "none"),
    "standardize_target": (lambda v: isinstance(v, bool), "true or false"),
    "augment": _optional_str(),
    "max_categories": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                       "a positive integer (the most categories one text column may one-hot encode into)"),
    "hidden": (lambda v: isinstance(v, tuple) and all(isinstance(h, int) and h > 0 for h in v),
               "a list of positive integers such as [256, 128]"),
    "activation": _choice("relu", "leaky_relu", "tanh", "sigmoid", "linear"),
    "init": (lambda v: isinstance(v, str), "zeros, random, large, xavier, glorot, he or normal:SCALE"),
    "batchnorm": _choice(False, True, "before", "after"),
    "keep_prob": _interval(0, 1, low_open=True),
    "optimizer": _choice("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "lbfgs"),
    "lr": _interval(0, None, low_open=True),
    "beta": _interval(0, 1, high_open=True),
    "beta1": _interval(0, 1, high_open=True),
    "beta2": _interval(0, 1, high_open=True),
    "eps": _interval(0, None, low_open=True),
    "weight_decay": _interval(0),
    "schedule": _optional_str(),
    "batch_size": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a positive integer"),
    "epochs": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a positive integer"),
    "l2": _interval(0),
    "l1": _interval(0),
    "clip": _optional_str(),
    "early_stopping": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                       "a patience in epochs (0 = off)"),
    "monitor": _choice("dev_loss", "dev_accuracy", "dev_r2", "train_loss", "train_accuracy"),
    "plateau": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a patience in epochs (0 = off)"),
    "human_error": _interval(0, 1, allow_none=True),
    "reference": _choice("auto", "on", "off"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a non-negative integer"),
    "split_seed": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
                   "a non-negative integer or null (null: use seed)"),
    "threads": (lambda v: v is None or (isinstance(v, int) and v >= 1), "a positive integer or null"),
    "checkpoint_every": (lambda v: isinstance(v, int) and v >= 1, "a positive integer (epochs)"),
}


def coerce(name: str, value):
    """Bring YAML/CLI values to the field's type where the meaning is unambiguous."""
    if name == "hidden":
        if isinstance(value, str):
            parts = [t.strip() for t in value.split(",")]
            try:  # "" is no hidden layer; "10,,5" stays a string and is refused
                return () if parts == [""] else tuple(int(t) for t in parts)
            except ValueError:
                return value
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, (list, tuple)):
            return tuple(value)
    if name in LIST_FIELDS:
        if isinstance(value, str):
            return tuple(t.strip() for t in value.split(",") if t.strip())
        if isinstance(value, list):
            return tuple(str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value)
    if name == "delimiter" and isinstance(value, str):
        return DELIMITER_WORDS.get(value.lower(), value)
    if name == "batchnorm" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, str) and name in FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, int) and not isinstance(value, bool) and name in FLOAT_FIELDS:
        return float(value)
    return value


FLOAT_FIELDS = {"dev", "test", "keep_prob", "lr", "beta", "beta1", "beta2", "eps", "weight_decay", "l2", "l1",
                "human_error"}


def validate(config: RunConfig, source: str | None = None) -> RunConfig:
    """Check every field against :data:`CONSTRAINTS`; the error names field and source."""
    where = f"{source}: " if source else ""
    lists = {n: tuple(getattr(config, n)) for n in LIST_FIELDS if isinstance(getattr(config, n), list)}
    if lists:  # RunConfig(**config.to_dict()) gives lists; the config holds tuples
        config = dataclasses.replace(config, **lists)
    for name, (ok, accepted) in CONSTRAINTS.items():
        value = getattr(config, name)
        if not ok(value):
            raise ConfigError(f"{where}option {name!r} is {value!r}; expected {accepted}")
    if config.dev is not None and config.test is not None and config.dev + config.test >= 1:
        raise ConfigError(f"{where}dev + test must leave some training data, got {config.dev} + {config.test}")
    if config.dev == 0 and config.monitor.startswith("dev_") and (config.early_stopping or config.plateau):
        raise ConfigError(f"{where}option 'monitor' is {config.monitor!r} but dev is 0 (no dev set); monitor "
                          "train_loss or train_accuracy, or turn off early_stopping and plateau")
    return config


def from_dict(d: dict, source: str | None = None, base: RunConfig | None = None) -> RunConfig:
    """A validated config from a mapping; unknown keys are an error naming the key."""
    if not isinstance(d, dict):
        raise ConfigError(f"{source or 'config'}: expected a mapping of option: value, got {type(d).__name__}")
    unknown = sorted(set(d) - FIELD_NAMES)
    if unknown:
        raise ConfigError(f"{source + ': ' if source else ''}unknown option {unknown[0]!r}; "
                          f"known options: {', '.join(sorted(FIELD_NAMES))}")
    config = dataclasses.replace(base or RunConfig(), **{k: coerce(k, v) for k, v in d.items()})
    return validate(config, source)


def read_config_file(path: str | os.PathLike) -> dict:
    """The mapping in a YAML (``yaml.safe_load``) or TOML file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    kind = "TOML" if path.suffix.lower() == ".toml" else "YAML"
    raw = path.read_bytes()
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {len(raw)} bytes is too large for a {kind} config file "
                          f"(at most {MAX_CONFIG_BYTES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                          f"save the {kind} file as UTF-8") from None
    try:
        data = tomllib.loads(text) if kind == "TOML" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {kind}: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid {kind}: nested too deeply") from None
    return data if data is not None else {}


MAX_CONFIG_BYTES = 10 * 2**20


def load_config(path: str | os.PathLike, overrides: dict | None = None) -> RunConfig:
    """A config file with ``overrides`` (e.g. CLI flags) applied on top."""
    data = read_config_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of option: value")
    data.update(overrides or {})
    return from_dict(data, source=str(path))
