"""Training history: one row per epoch, one loss per step, saved as CSV."""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field

from ..fileio import atomic_write_text

EPOCH_COLUMNS = ("epoch", "train_loss", "train_accuracy", "dev_loss", "dev_accuracy", "lr", "time")


@dataclass
class History:
    """Per-epoch metrics and per-step losses.

    ``epochs`` holds dicts with keys :data:`EPOCH_COLUMNS` (``epoch`` counts
    from 1; accuracies are NaN for regression, dev values NaN without a dev
    set; ``time`` is the epoch's wall-clock seconds; a linear output adds
    ``dev_r2``). ``steps`` holds the
    mini-batch loss of every optimisation step.
    """

    epochs: list[dict] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)

    def column(self, name: str) -> list[float]:
        return [row[name] for row in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    def columns(self) -> tuple[str, ...]:
        """:data:`EPOCH_COLUMNS`, then any further columns of the rows (``dev_r2`` for regression)."""
        extra = [k for row in self.epochs[:1] for k in row if k not in EPOCH_COLUMNS]
        return EPOCH_COLUMNS + tuple(extra)

    def to_csv(self) -> str:
        out = io.StringIO()
        columns = self.columns()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in self.epochs:
            writer.writerow({k: _fmt(row.get(k, math.nan)) for k in columns})
        return out.getvalue()

    def save(self, run_dir: str | os.PathLike) -> None:
        """Write ``history.csv`` (epochs) and ``steps.csv`` (step losses) atomically."""
        atomic_write_text(os.path.join(run_dir, "history.csv"), self.to_csv())
        atomic_write_text(os.path.join(run_dir, "steps.csv"),
                          "step,loss\n" + "".join(f"{i + 1},{_fmt(v)}\n" for i, v in enumerate(self.steps)))

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "steps": self.steps}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls([dict(r) for r in d.get("epochs", [])], [float(v) for v in d.get("steps", [])])

    @classmethod
    def read_csv(cls, path: str | os.PathLike) -> History:
        with open(path, newline="") as f:
            rows = [{k: (int(v) if k == "epoch" else float(v)) for k, v in r.items()} for r in csv.DictReader(f)]
        return cls(rows, [])


def _fmt(v) -> str:
    if isinstance(v, float):
        return repr(v)
    return str(v)
