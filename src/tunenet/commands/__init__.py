"""CLI subcommands by area; each module exposes ``COMMANDS`` in the shape of :data:`tunenet.cli.COMMANDS`.

Modules here import heavy dependencies inside their ``run`` functions so that
``tunenet --help`` stays fast.
"""

import importlib

AREAS = ("doctor", "labs", "tuning")


def area_commands() -> dict:
    """The merged ``COMMANDS`` of every area module present."""
    merged: dict = {}
    for area in AREAS:
        try:
            module = importlib.import_module(f"{__name__}.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{area}":
                raise
            continue
        merged.update(module.COMMANDS)
    return merged
