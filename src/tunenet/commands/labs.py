"""CLI: ``tunenet lab NAME [--out DIR] [--seed N]`` and ``tunenet lab --list``.

Runs one of the course's experiments (:mod:`tunenet.labs`) end to end,
prints its results table and reading, and leaves ``table.md``,
``table.json`` and the PNG figures in the output directory (default
``runs/lab-NAME``).
"""

from __future__ import annotations

import argparse


def add_lab_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="the lab to run (see --list)")
    p.add_argument("--list", action="store_true", help="list the labs and exit")
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/lab-NAME)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default: 0)")


def run_lab(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from ..errors import ConfigError
    from ..labs import LABS

    if args.list:
        width = max(map(len, LABS))
        for name, (_, description) in LABS.items():
            print(f"{name:<{width}}  {description}")
        return 0
    names = ", ".join(LABS)
    if args.name is None:
        raise ConfigError(f"name a lab to run, e.g. `tunenet lab init`; the labs are {names} (`tunenet lab --list`)")
    if args.name not in LABS:
        raise ConfigError(f"unknown lab {args.name!r}; expected one of {names}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be a non-negative integer, got {args.seed}")
    out = Path(args.out or f"runs/lab-{args.name}")
    run, _ = LABS[args.name]
    start = time.perf_counter()
    result = run(out, seed=args.seed)
    print_result(result, out, time.perf_counter() - start)
    return 0


def print_result(result, out, seconds: float) -> None:
    """The table (rich), the reading and the files written."""
    from rich.console import Console
    from rich.table import Table

    from ..labs.common import format_value

    table = Table(title=result.title)
    for column in result.columns:
        numeric = all(isinstance(row.get(column), (int, float)) and not isinstance(row.get(column), bool)
                      for row in result.rows if row.get(column) is not None)
        # fold, never "…": a narrow terminal wraps a number or a heading instead of cutting it
        table.add_column(column.replace("_", " "), justify="right" if numeric else "left", overflow="fold")
    for row in result.rows:
        table.add_row(*(format_value(row.get(column)) for column in result.columns))
    console = Console()
    if not console.is_terminal:  # a log or a pipe: the table at its natural width (up to 200 columns)
        console = Console(width=max(console.width, 200))
    console.print(table)
    console.print(result.reading, highlight=False, markup=False)
    files = ["table.md", "table.json", *result.figures]
    console.print(f"\nwrote {', '.join(str(out / f) for f in files)}  ({seconds:.1f} s)", highlight=False,
                  soft_wrap=True)  # paths are never wrapped


COMMANDS = {
    "lab": (add_lab_arguments, run_lab, "run one of the course's experiments: table, figures, reading"),
}
