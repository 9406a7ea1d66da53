"""A finding, its kinds and severities (one word per problem, shared by the doctor, its advice and the repair)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from .bias_variance import HIGH_BIAS, HIGH_VARIANCE, MISMATCH

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
VANISHING, EXPLODING, DEAD, SATURATION = "vanishing gradients", "exploding gradients", "dead units", "saturation"
FROZEN, INPUT_SCALE = "frozen network", "unscaled inputs"
LR_HIGH, LR_LOW, OVERFITTING = "learning rate too high", "learning rate too low", "overfitting"
STILL_IMPROVING = "still improving"
BIAS, VARIANCE, HEALTHY = HIGH_BIAS, HIGH_VARIANCE, "bias and variance fine"
#: the order of findings of equal severity and equal magnitude: causes before their symptoms
KINDS = (FROZEN, EXPLODING, LR_HIGH, VANISHING, DEAD, SATURATION, INPUT_SCALE, LR_LOW, BIAS, VARIANCE, MISMATCH,
         OVERFITTING, STILL_IMPROVING, HEALTHY)

@dataclass
class Finding:
    """One problem (or all-clear) found in a run.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS` ("vanishing gradients", "overfitting", ...).
    severity : {"error", "warning", "info"}
    layer : str or None
        The layer(s) concerned ("dense0" or "dense0, dense1"); None for the whole network.
    epoch : int or None
        When it started (1-based).
    evidence : str
        The measurements behind it, with numbers.
    fix : str
        What to change (fitted to the run's configuration when it is known).
    change : dict or None
        The fix's first alternative as a configuration change (``{"init": "he"}``),
        which ``tunenet diagnose --repair`` applies.
    manual : str or None
        Why no change can be applied automatically, when ``change`` is None.
    changes : list of dict
        Every alternative of the fix as a configuration change, in order (``change`` is the first); the
        repair tries the next when one did not move the finding.
    """

    kind: str
    severity: str
    layer: str | None
    epoch: int | None
    evidence: str
    fix: str
    change: dict | None = None
    manual: str | None = None
    #: how far past its warning threshold the finding is (log scale, 1 at its error threshold): orders
    #: findings of equal severity
    magnitude: float = 0.0
    changes: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["magnitude"] = d["magnitude"] if math.isfinite(d["magnitude"]) else 0.0
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        change = d.get("change")
        magnitude = d.get("magnitude")
        changes = d.get("changes")
        changes = [dict(c) for c in changes if isinstance(c, dict)] if isinstance(changes, list) else []
        return cls(d["kind"], d["severity"], d.get("layer"), d.get("epoch"), d["evidence"], d["fix"],
                   dict(change) if isinstance(change, dict) else None, d.get("manual"),
                   float(magnitude) if isinstance(magnitude, (int, float)) else 0.0,
                   changes or ([dict(change)] if isinstance(change, dict) else []))

    def summary(self) -> str:
        where = ", ".join(x for x in (self.layer, f"epoch {self.epoch}" if self.epoch else None) if x)
        head = f"[{self.severity}] {self.kind}" + (f" ({where})" if where else "")
        return f"{head}: {self.evidence} Fix: {self.fix}"



__all__ = ["BIAS", "DEAD", "ERROR", "EXPLODING", "FROZEN", "HEALTHY", "INFO", "INPUT_SCALE", "KINDS", "LR_HIGH",
           "Finding", "LR_LOW", "MISMATCH", "OVERFITTING", "SATURATION", "SEVERITIES", "STILL_IMPROVING", "VANISHING",
           "VARIANCE", "WARNING"]
