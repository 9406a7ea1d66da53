"""The ``tunenet`` command line.

Each subcommand parses its flags, calls the library and prints the result. A
user mistake (:class:`~tunenet.errors.TunenetError`) prints one line
``error: ...`` and exits with status 2; an internal failure exits with status
1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .errors import ConfigError, TunenetError

#: name -> (add_arguments(parser), run(args) -> exit status, help)
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {}


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2) and no prefix matching (``--epoch`` is not ``--epochs``)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.subcommands: dict[str, ArgumentParser] = {}

    def error(self, message: str):
        """``error: tunenet train: argument --lr: invalid float value: 'abc'`` on one line, not the usage."""
        sys.stderr.write(f"error: {self.prog}: {message} (see {self.prog} --help)\n")
        sys.exit(2)

    def option_strings(self) -> list[str]:
        return [s for action in self._actions for s in action.option_strings if s.startswith("--")]


def unknown_arguments_message(extras: Sequence[str], parser: ArgumentParser) -> str:
    """``unknown option --epochz; did you mean --epochs?`` for the first unrecognised argument."""
    import difflib

    first = extras[0]
    if not first.startswith("-"):
        return f"unexpected argument {first!r}"
    flag = first.split("=", 1)[0]
    close = difflib.get_close_matches(flag, parser.option_strings(), n=1, cutoff=0.6)
    return f"unknown option {flag}" + (f"; did you mean {close[0]}?" if close else "")


def int_list(text: str) -> list[int]:
    """``"256,128"`` -> ``[256, 128]`` (an empty string means no hidden layer; ``"10,,5"`` is refused)."""
    parts = [t.strip() for t in text.split(",")]
    if parts == [""]:
        return []
    try:
        return [int(t) for t in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 256,128, got {text!r}") from None


# -- gradcheck ---------------------------------------------------------------
def add_gradcheck_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="digits", help="built-in dataset name or data file (default: digits)")
    p.add_argument("--model", help="check a saved model (.safetensors) instead of building one")
    p.add_argument("--samples", type=int, default=64, help="batch size of the check (default: 64)")
    p.add_argument("--hidden", type=int_list, default=[32, 16], help="hidden layer sizes (default: 32,16)")
    p.add_argument("--activation", default="relu")
    p.add_argument("--init", default="he")
    p.add_argument("--batchnorm", action="store_true")
    p.add_argument("--keep-prob", type=float, default=1.0, dest="keep_prob")
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--l1", type=float, default=0.0)
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (default: 1e-6)")
    p.add_argument("--max-per-parameter", type=int, default=64, dest="max_per_parameter",
                   help="coordinates sampled per parameter, 0 = all (default: 64)")
    p.add_argument("--seed", type=int, default=0)


def run_gradcheck(args: argparse.Namespace) -> int:
    import numpy as np

    from .data import load as load_data
    from .diagnose import gradient_check
    from .nn import load as load_model
    from .nn import mlp

    if args.samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {args.samples}")
    dataset = load_data(args.data)
    rng = np.random.default_rng(args.seed)
    idx = rng.choice(dataset.X.shape[0], size=min(args.samples, dataset.X.shape[0]), replace=False)
    X, y = dataset.X[idx], dataset.y[idx]
    if args.model:
        model = load_model(args.model)
    else:
        n_out = len(dataset.class_names) if dataset.task == "classification" else (y.shape[1] if y.ndim == 2 else 1)
        output = "softmax" if dataset.task == "classification" else "linear"
        model = mlp(X.shape[1], args.hidden, n_out, activation=args.activation, init=args.init,
                    batchnorm=args.batchnorm, keep_prob=args.keep_prob, output=output, seed=args.seed)
    result = gradient_check(model, X, y, l2=args.l2, l1=args.l1, eps=args.eps,
                            max_per_parameter=args.max_per_parameter, seed=args.seed)
    print_gradcheck(result, title=f"gradient check on {X.shape[0]} samples of {args.data}")
    return 0 if result.passed else 1


def print_gradcheck(result, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    colour = {"correct": "green", "look closer": "yellow", "bug": "red"}
    table = Table(title=title)
    for col, justify in (("parameter", "left"), ("shape", "left"), ("checked", "right"),
                         ("rel. diff", "right"), ("verdict", "left")):
        table.add_column(col, justify=justify)
    for row in result.parameters:
        table.add_row(row.name, str(row.shape), str(row.checked), f"{row.diff:.2e}",
                      f"[{colour[row.verdict]}]{row.verdict}[/]")
    console = Console()
    console.print(table)
    console.print(f"overall relative difference {result.diff:.2e} (eps {result.eps:g}): "
                  f"[bold {colour[result.verdict]}]{result.verdict}[/]"
                  + ("" if result.verdict == "correct" else f"; worst parameter: {result.worst}"))


COMMANDS["gradcheck"] = (add_gradcheck_arguments, run_gradcheck,
                         "check the backward pass against finite differences")


# -- train -------------------------------------------------------------------
FLAG_HELP = {
    "data": "built-in dataset name (digits, moons, fashion-mnist, ...) or a CSV/Parquet/NPZ/IDX file",
    "target": "target column of a CSV/Parquet file (default: the last column)",
    "task": "classification or regression (default: inferred from the target column)",
    "categorical": "columns to one-hot encode even if they hold numbers, e.g. island,sex",
    "drop": "columns to leave out, e.g. id,name",
    "delimiter": "CSV field separator, e.g. ';' or tab (default: detected)",
    "dev": "dev fraction (default: by data size)", "test": "test fraction (default: by data size)",
    "normalize": "standard, minmax or none (fitted on train only)",
    "standardize_target": "regression: train on (y - mean) / std of the training target; predictions and "
                          "R2/RMSE/MAE stay in the target's units (default: on)",
    "augment": "image augmentation spec, e.g. flip,shift:2,rotate:10,noise:0.05",
    "max_categories": "most categories one text column of a table may one-hot encode into (default: 1000)",
    "hidden": "hidden layer sizes, e.g. 256,128", "init": "zeros, random, large, xavier, glorot, he",
    "batchnorm": "batch norm before (default) or after the activation",
    "keep_prob": "dropout keep probability for hidden layers",
    "optimizer": "sgd, momentum, nesterov, rmsprop, adam, adamw, lbfgs (full batch: an epoch is one L-BFGS iteration)",
    "lr": "learning rate alpha",
    "beta": "momentum / RMSprop beta",
    "schedule": "learning-rate decay, e.g. inverse_time:1.0, exponential:0.95, cosine:EPOCHS",
    "l2": "L2 strength lambda", "l1": "L1 strength", "clip": "gradient clipping: norm:5 or value:0.5",
    "early_stopping": "patience in epochs (0 = off)", "plateau": "reduce lr on plateau after N epochs (0 = off)",
    "threads": "BLAS threads (default: all cores)", "checkpoint_every": "checkpoint every N epochs",
    "split_seed": "seed of the train/dev/test split (default: --seed)",
    "human_error": "human-level (Bayes proxy) error rate, e.g. 0.05: avoidable bias is measured against it",
    "reference": "estimate the achievable error with logistic regression on the same split: auto (default: "
                 "when cheap and no --human-error), on or off",
}


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per :class:`~tunenet.config.RunConfig` field, same name with dashes."""
    from dataclasses import fields

    from .config import FLOAT_FIELDS, RunConfig

    for f in fields(RunConfig):
        if f.name == "extra":
            continue
        flag = "--" + f.name.replace("_", "-")
        kw = {"dest": f.name, "default": argparse.SUPPRESS, "help": FLAG_HELP.get(f.name)}
        if f.name in ("stratify", "standardize_target"):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif f.name == "batchnorm":
            p.add_argument(flag, nargs="?", const=True, choices=["before", "after"], **kw)
        elif f.name == "hidden":
            p.add_argument(flag, type=int_list, **kw)
        elif f.name in FLOAT_FIELDS:
            p.add_argument(flag, type=float, **kw)
        elif f.type in ("int", "int | None"):
            p.add_argument(flag, type=int, **kw)
        else:
            p.add_argument(flag, **kw)


def config_overrides(args: argparse.Namespace) -> dict:
    from .config import FIELD_NAMES

    return {k: v for k, v in vars(args).items() if k in FIELD_NAMES}


def config_from_args(args: argparse.Namespace, defaults: dict | None = None):
    """The :class:`~tunenet.config.RunConfig` of ``--config`` (if given) with the flags on top of ``defaults``.

    Table options (``--target``, ``--task``, ...) given for data that has its own target are refused in the CLI's
    words (:func:`check_table_options`).
    """
    from .config import RunConfig, from_dict, load_config

    overrides = {**(defaults or {}), **config_overrides(args)}
    config = load_config(args.config, overrides) if args.config else from_dict(overrides, base=RunConfig())
    check_table_options(config, set(config_overrides(args)), args.config)
    return config


#: the options that only a table (CSV, TSV, Parquet) takes, in the order a message names them
TABLE_OPTIONS = ("target", "task", "categorical", "drop", "delimiter", "max_categories")


def check_table_options(config, flags: set[str], config_file: str | None = None) -> None:
    """Refuse a table option for a built-in dataset, an NPZ or IDX file: they have their own target and columns.

    ``flags``: the option names given on the command line (the rest came from ``config_file``); the message
    spells the option as the user did: ``--target`` or ``option 'target' in cfg.yaml``. Exit status 2.
    """
    from .data.datasets import accepted_options
    from .run import table_options

    given = table_options(config)
    if not given:
        return
    known = accepted_options(config.data)
    if known is None:  # not a dataset name nor a readable file: loading it says so
        return
    what, accepted = known
    bad = [name for name in TABLE_OPTIONS if name in given and name not in accepted]
    if not bad:
        return
    name = bad[0]
    spelled = ("--" + name.replace("_", "-")) if name in flags or not config_file \
        else f"option {name!r} in {config_file}"
    has = "holds its own X and y" if what.startswith("the NPZ") else "has its own target and features"
    raise ConfigError(f"{spelled} applies to table files (CSV, TSV, Parquet); {what} {has}"
                      + (f" (it takes {', '.join('--' + a for a in accepted if a in TABLE_OPTIONS)} only)"
                         if any(a in TABLE_OPTIONS for a in accepted) else ""))


def option_words(name: str, value) -> list[str]:
    """One config option as the command-line words that set it: ``("hidden", [64, 32])`` -> ``--hidden 64,32``."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        if name == "stratify":
            return [flag if value else "--no-stratify"]
        return [flag] if value else []
    if isinstance(value, (list, tuple)):
        return [flag, ",".join(map(str, value))]
    if name == "delimiter" and value in ("\t", " "):
        return [flag, {"\t": "tab", " ": "space"}[value]]
    return [flag, f"{value:g}" if isinstance(value, float) else str(value)]


def suggested_command(command: str, args: argparse.Namespace, changes: dict | None = None) -> str:
    """``tunenet COMMAND`` with every option the user gave (``--config`` and flags), ``changes`` applied.

    The result is quoted for a POSIX shell, so it can be pasted as it is.
    """
    import shlex

    options = {**config_overrides(args), **(changes or {})}
    words = ["tunenet", *command.split()]
    if getattr(args, "config", None):
        words += ["--config", str(args.config)]
    for name, value in options.items():
        words += option_words(name, value)
    return shlex.join(words)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML or TOML file of options (flags override it)")
    p.add_argument("--run-dir", dest="run_dir", help="where to write the run (default: runs/DATA-TIMESTAMP)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue a run from its checkpoint; flags given (--lr, --epochs, ...) change it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_arguments(p)


def run_train(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from .run import prepare_data, read_run_config, train_run

    if args.resume:
        from .run import check_resume_changes
        from .train.checkpoint import checkpoint_path

        run_dir = Path(args.resume)
        config = read_run_config(run_dir, config_overrides(args))
        if checkpoint_path(run_dir).is_file():  # before the data is read: a refused change prints nothing else
            check_resume_changes(read_run_config(run_dir), config, run_dir)
        check_table_options(config, set(config_overrides(args)), str(run_dir / "config.yaml"))
    else:
        config = config_from_args(args)
        name = Path(config.data).stem if "/" in config.data or "." in config.data else config.data
        run_dir = Path(args.run_dir or f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    from rich.console import Console

    from .errors import DivergenceError

    data = prepare_data(config)
    print_data_summary(data)
    try:
        result = train_run(config, run_dir, resume=bool(args.resume), progress=False if args.quiet else None,
                           notify=lambda message: print(message, file=sys.stderr, flush=True), data=data,
                           release_data=True)
    except DivergenceError:
        if not args.resume:  # a diverged resume leaves the run (and its diagnosis) as it was
            print_run_findings(Console(), run_dir, {})  # what the doctor makes of it, then the one-line error
        raise
    print_metrics(result)
    return 0


def print_data_summary(data) -> None:
    """What was read and inferred (target, task, features, encoded columns) to stdout, then any warnings to stderr.

    ``data`` is a :class:`~tunenet.run.PreparedData` (split) or a :class:`~tunenet.data.Dataset`.
    """
    from .data.table_notes import describe_dataset

    if hasattr(data, "X_train"):
        lines = describe_dataset(data.dataset, tuple(X.shape[0] for X in (data.X_train, data.X_dev, data.X_test)))
    else:
        lines = describe_dataset(data)
    for line in lines:
        print(line, file=sys.stderr if line.startswith("warning: ") else sys.stdout, flush=True)


def print_metrics(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from .metrics import SCORE_LABELS

    m = result.metrics
    console = Console()
    if result.run_dir is not None:  # a path on a line of its own, never wrapped
        print(f"run {result.run_dir}", flush=True)
    print(f"{m['epochs']} epochs" + (f", best epoch {m['best_epoch']} restored" if "best_epoch" in m else ""),
          flush=True)  # a line of its own: a table's title is wrapped to the table's width
    table = Table()
    scores = ["accuracy"] if "r2" not in {k.partition("_")[2] for k in m} else ["r2", "rmse", "mae"]
    table.add_column("split")
    table.add_column("loss", justify="right")
    for score in scores:
        table.add_column(SCORE_LABELS[score], justify="right")
    for split in ("train", "dev", "test"):
        if f"{split}_loss" in m:
            table.add_row(split, f"{m[f'{split}_loss']:.4f}", *(_number(m.get(f"{split}_{s}")) for s in scores))
    console.print(table)
    if "r2" in scores:
        final = "test" if "test_r2" in m else "dev"
        units = ("loss: 1/2 MSE of the standardised target" if m.get("target_standardized")
                 else "loss: 1/2 MSE in the target's units")
        console.print(f"{final}: R² {_number(m.get(f'{final}_r2'))}, RMSE {_number(m.get(f'{final}_rmse'))}, "
                      f"MAE {_number(m.get(f'{final}_mae'))} (RMSE and MAE in the target's units; {units})",
                      highlight=False, soft_wrap=True)
    print_run_findings(console, result.run_dir, m)
    if result.run_dir is not None and (result.run_dir / "report.html").is_file():
        print(f"report: {result.run_dir / 'report.html'}", flush=True)


def print_run_findings(console, run_dir, metrics: dict) -> None:
    """The doctor's errors and warnings (and "still improving") after a run; else its bias/variance line."""
    from .diagnose import read_diagnosis
    from .diagnose.kinds import ERROR, STILL_IMPROVING, WARNING
    from .errors import DataError

    try:
        findings = read_diagnosis(run_dir) if run_dir is not None else []
    except DataError:
        findings = []
    shown = [f for f in findings if f.severity in (ERROR, WARNING) or f.kind == STILL_IMPROVING]
    if shown:
        n_err, n_warn = sum(f.severity == ERROR for f in shown), sum(f.severity == WARNING for f in shown)
        console.print(f"the doctor found {n_err} error{'s' * (n_err != 1)} and {n_warn} warning"
                      f"{'s' * (n_warn != 1)} (details: tunenet diagnose {run_dir}):",
                      highlight=False, markup=False, soft_wrap=True)
        for f in shown:
            console.print(f.summary(), highlight=False, markup=False, soft_wrap=True)
    elif "diagnosis" in metrics:
        console.print(fitted_diagnosis(metrics, findings), highlight=False, markup=False, soft_wrap=True)


def fitted_diagnosis(metrics: dict, findings: list) -> str:
    """The bias/variance line with the doctor's fix for the run's configuration in place of the generic recipe.

    The recipe says "or try early stopping" whatever the run did; the doctor's finding of the same kind leaves out
    what the run already has (early stopping on, Adam, ...).
    """
    line = metrics["diagnosis"]
    recipe = (metrics.get("bias_variance") or {}).get("recipe") or {}
    first = next(iter(recipe), None)
    fitted = next((f for f in findings if first is not None and f.kind == first and f.fix), None)
    if fitted is None or "; " not in line:
        return line
    return f"{line.split('; ', 1)[0]}; {fitted.fix}"


def _number(value) -> str:
    """A metric for a table: 4 significant digits past the point, '-' when missing or NaN."""
    if value is None or value != value:
        return "-"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.4g}"


COMMANDS["train"] = (add_train_arguments, run_train, "train a network and write a run directory")


# -- predict -----------------------------------------------------------------
def add_predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("file", metavar="FILE", help="CSV/Parquet/NPZ/IDX file of new inputs")
    p.add_argument("--output", "-o", help="write predictions here (default: stdout)")


def run_predict(args: argparse.Namespace) -> int:
    from .predict import predict_file

    text = predict_file(args.run_dir, args.file)
    if args.output:
        from .fileio import atomic_write_text

        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


COMMANDS["predict"] = (add_predict_arguments, run_predict, "predict new data with a trained run")


# -- evaluate ----------------------------------------------------------------
def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("file", metavar="FILE", help="CSV/Parquet/NPZ file of inputs with their labels")
    p.add_argument("--target", help="label column (default: the column the run was trained on, else the last)")


def run_evaluate(args: argparse.Namespace) -> int:
    from .predict import evaluate_file

    scores = evaluate_file(args.run_dir, args.file, args.target)
    from .metrics import SCORE_LABELS

    text = ", ".join(f"{SCORE_LABELS[k]} {v:.4f}" for k, v in scores.items() if k in SCORE_LABELS)
    print(f"{args.file}: {scores['rows']:,} rows; {text}")
    return 0


COMMANDS["evaluate"] = (add_evaluate_arguments, run_evaluate, "score a trained run on a labelled file")


# -- datasets ----------------------------------------------------------------
def add_datasets_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run_datasets(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .data import format_datasets_table
    from .data.datasets import format_datasets_text

    console = Console()
    if console.width >= 120:
        console.print(format_datasets_table())
    else:  # a narrow terminal would cut paths and commands: plain lines instead
        print(format_datasets_text())
    return 0


COMMANDS["datasets"] = (add_datasets_arguments, run_datasets, "list built-in and installed datasets")


# -- entry point -------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from .commands import area_commands

    COMMANDS.update(area_commands())
    parser = ArgumentParser(prog="tunenet", description="Train, diagnose and tune fully connected networks.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name, (add_arguments, _, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        parser.subcommands[name] = p
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        add_arguments(p)
    return parser


def _version() -> str:
    from . import __version__

    return f"tunenet {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        sub = parser.subcommands.get(args.command, parser)
        sub.error(unknown_arguments_message(extras, sub))
    if args.command is None:
        parser.print_help()
        return 2
    _, run, _ = COMMANDS[args.command]
    try:
        from . import blas

        blas.check_environment()  # a bad TUNENET_BLAS is refused before any file is written
        return run(args)
    except TunenetError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tunenet predict RUN FILE | head`: the reader has gone, nothing left to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 141
    except Exception as exc:  # an internal failure: say so, exit 1
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1


def entry(argv: Sequence[str] | None = None) -> None:
    """The ``tunenet`` command: :func:`main`, then a quick exit with its status.

    Tearing down the ~1,270 modules a training run has imported (NumPy, SciPy, matplotlib, numba's LLVM) and
    the interpreter's last garbage collection took 0.6-0.7 s of a 4.4 s ``tunenet train --data digits``.
    Every file tunenet writes is closed when ``main`` returns (atomic writes), so once standard output and
    error are flushed and the ``atexit`` handlers have run (multiprocessing's among them), the process ends
    with ``os._exit`` instead. ``main`` itself returns normally, for callers in Python.
    """
    import atexit
    import os

    code = main(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone mid-flush: nothing left to say
            pass
    atexit._run_exitfuncs()
    os._exit(int(code or 0))


if __name__ == "__main__":
    entry()
