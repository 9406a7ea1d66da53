"""What every lab shares: the result record, its table files, seeds and training.

A lab is a function ``run(out_dir, seed=0, quick=False) -> LabResult`` made
with the :func:`lab` decorator, which

* creates ``out_dir``,
* runs the body with one BLAS thread (small matrices gain nothing from more,
  and the results do not depend on the machine's core count),
* writes ``table.md`` (Markdown table and reading) and ``table.json`` (the
  same rows as numbers, the settings and the figure names) into ``out_dir``.

Every random draw comes from integers derived from the one ``seed`` with
:func:`child_seeds` (``numpy.random.SeedSequence``), so a lab is
deterministic for a given seed. ``quick=True`` shortens the lab (fewer
epochs or trials) for the determinism tests; the documented numbers come
from ``quick=False``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ConfigError, DivergenceError
from ..fileio import atomic_write_text
from ..train import Callback, Trainer


@dataclass
class LabResult:
    """The outcome of one lab.

    Attributes
    ----------
    name, title : str
        The lab's registry name and a one-line title.
    columns : list of str
        Keys of ``rows`` in display order (snake_case; Markdown headers
        replace ``_`` with a space).
    rows : list of dict
        The table: numbers (float/int), strings, booleans or None ("-").
    reading : str
        A short interpretation, written by the lab from the numbers.
    figures : list of str
        PNG file names inside the output directory.
    settings : dict
        The settings that produced the table (seed, epochs, ...).
    """

    name: str
    title: str
    columns: list[str]
    rows: list[dict]
    reading: str
    figures: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def markdown_table(self) -> str:
        header = "| " + " | ".join(c.replace("_", " ") for c in self.columns) + " |"
        rule = "|" + "|".join("---" if _is_text(self.rows, c) else "---:" for c in self.columns) + "|"
        body = ["| " + " | ".join(format_value(row.get(c)) for c in self.columns) + " |" for row in self.rows]
        return "\n".join([header, rule, *body])

    def markdown(self) -> str:
        return f"# {self.title}\n\n{self.markdown_table()}\n\n{self.reading}\n"

    def to_json(self) -> dict:
        return jsonable({"name": self.name, "title": self.title, "settings": self.settings,
                         "columns": self.columns, "rows": self.rows, "reading": self.reading,
                         "figures": self.figures})


def _is_text(rows: list[dict], column: str) -> bool:
    return any(isinstance(row.get(column), (str, bool, np.bool_)) for row in rows)


def format_value(v) -> str:
    """A table cell: 4 significant digits, scientific notation for tiny or huge numbers."""
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) < 1e-4 or abs(v) >= 1e5):
            return f"{v:.2e}"
        return f"{v:.4g}"
    return str(v)


def jsonable(obj):
    """``obj`` with NumPy scalars/arrays as Python values and non-finite floats as None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def write_result(out_dir: Path, result: LabResult) -> None:
    """Write ``table.md`` and ``table.json`` atomically."""
    atomic_write_text(out_dir / "table.md", result.markdown())
    atomic_write_text(out_dir / "table.json",
                      json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n")


def lab(body: Callable[[Path, int, bool], LabResult]) -> Callable[..., LabResult]:
    """Turn ``body(out_dir, seed, quick) -> LabResult`` into a lab's ``run`` function."""

    @functools.wraps(body)
    def run(out_dir, seed: int = 0, quick: bool = False) -> LabResult:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"a lab's seed must be a non-negative integer, got {seed!r}")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with threadpool_limits(limits=1):
            result = body(out, int(seed), bool(quick))
        result.settings = {"seed": int(seed), "quick": bool(quick), **result.settings}
        write_result(out, result)
        return result

    return run


def child_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent integer seeds derived from ``seed`` (data, init, shuffling, ...)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


class StopAtTarget(Callback):
    """Stop training at the end of the first epoch whose mean training loss is below ``target``.

    ``reached`` is that epoch (1-based) or None.
    """

    def __init__(self, target: float) -> None:
        self.target = target
        self.reached: int | None = None

    def on_epoch_end(self, trainer, logs):
        if self.reached is None and logs["train_loss"] < self.target:
            self.reached = logs["epoch"]
            trainer.stop_training = True


def train(model, optimizer, X, y, *, epochs: int, batch_size: int, seed: int, dev=None, l2: float = 0.0,
          schedule=None, callbacks=()):
    """:func:`tunenet.train.fit` on one BLAS thread; returns ``(history, diverged)``.

    A run whose loss or gradient turns non-finite stops with ``diverged = True``
    and the history up to that point.
    """
    trainer = Trainer(model, optimizer, None, epochs=epochs, batch_size=batch_size, l2=l2, schedule=schedule,
                      callbacks=callbacks, seed=seed, threads=1)
    X_dev, y_dev = dev if dev is not None else (None, None)
    try:
        trainer.fit(X, y, X_dev, y_dev)
    except DivergenceError:
        return trainer.history, True
    return trainer.history, False


__all__ = ["LabResult", "StopAtTarget", "child_seeds", "format_value", "jsonable", "lab", "train", "write_result"]
