"""The doctor inside the tuner: stop a trial the doctor finds broken, with its finding as the reason.

ASHA and the median pruner stop a trial whose dev metric trails the others;
they cannot tell a slow starter from a broken one, and they need other
trials to compare with. The doctor judges a trial on its own evidence: at
the end of every epoch from epoch ``after`` on (default ``max(2, epochs //
8)``), :func:`~tunenet.diagnose.findings.diagnose` reads the trial's
history and the live record of its :class:`~tunenet.diagnose.health.HealthMonitor`
(the same findings and thresholds as ``tunenet diagnose``, nothing
re-implemented), and the trial is stopped when one finding of a *broken*
kind has error severity:

==========================  ====================================================
frozen network              weight gradients exactly 0, weights never moved
exploding gradients         huge gradient norms, or growing towards the input
learning rate too high      the smoothed loss above 2x its start (diverging)
vanishing gradients         first layer's gradient < 1e-4 x the output layer's
dead units                  >= 90% of a ReLU layer's units never active
saturation                  >= 50% of tanh/sigmoid outputs in the flat region
==========================  ====================================================

A *warning* of vanishing gradients, dead units or saturation stops a trial
only when the previous epoch's check found the same kind too (two epochs in
a row: a deep sigmoid network whose first layer gets 1e-3 of the output
layer's gradient); other warnings (an oscillating loss, one large update, a
slow start) never stop a trial: one that might still learn runs on. The stop is an
:class:`optuna.TrialPruned` (:class:`DoctorStopped`), so the trial is
recorded as pruned, with ``user_attrs["doctor"]`` = the finding's kind and
``user_attrs["pruned"]`` = "doctor: <kind> at epoch e: <evidence>".
``--prune doctor`` uses it alone; ``--prune asha+doctor`` (or
``median+doctor``, ``hyperband+doctor``) with Optuna's pruner beside it: the
doctor speaks first at an epoch end, then the dev metric is reported.
"""

from __future__ import annotations

from collections import Counter

import optuna

from ..diagnose.findings import diagnose
from ..diagnose.health import HealthMonitor
from ..diagnose.kinds import DEAD, ERROR, EXPLODING, FROZEN, LR_HIGH, SATURATION, VANISHING
from ..errors import ConfigError
from ..train.callbacks import Callback

#: the finding kinds that make a trial broken (at error severity)
BROKEN = (FROZEN, EXPLODING, LR_HIGH, VANISHING, DEAD, SATURATION)
DOCTOR = "doctor"
#: kinds that stop a trial at warning severity when found at two checks in a row
PERSISTENT = (VANISHING, DEAD, SATURATION)
#: Optuna's pruners the doctor combines with (``asha+doctor``)
COMBINABLE = ("none", "median", "asha", "hyperband")


def split_prune(name: str) -> tuple[str, bool]:
    """(Optuna pruner, doctor on?): ``"asha+doctor"`` -> ``("asha", True)``, ``"doctor"`` -> ``("none", True)``.

    Raises :class:`~tunenet.errors.ConfigError` for anything else.
    """
    parts = name.split("+") if isinstance(name, str) else [name]
    doctor = DOCTOR in parts
    rest = [p for p in parts if p != DOCTOR]
    if len(rest) > 1 or (doctor and parts.count(DOCTOR) > 1) or (rest and rest[0] not in COMBINABLE) \
            or (not rest and not doctor):
        accepted = ", ".join(COMBINABLE) + ", doctor, or one of them with +doctor (asha+doctor)"
        raise ConfigError(f"--prune must be one of {accepted}, got {name!r}")
    return (rest[0] if rest else "none"), doctor


def default_after(epochs: int) -> int:
    """The first epoch the doctor judges: a few epochs in (an eighth of the run, at least 2)."""
    return max(2, int(epochs) // 8)


class DoctorStopped(optuna.TrialPruned):
    """A trial stopped by the doctor; ``finding`` is the :class:`~tunenet.diagnose.kinds.Finding` that stopped it."""

    def __init__(self, finding, epoch: int) -> None:
        self.finding, self.epoch = finding, epoch
        super().__init__(f"doctor: {finding.kind} at epoch {epoch}: {finding.evidence}")


class DoctorPruner(Callback):
    """Diagnose the trial at each epoch end from epoch ``after`` on; raise :class:`DoctorStopped` when broken.

    Parameters
    ----------
    after : int
        The first epoch (1-based) judged; earlier epochs rest on too few health samples.
    kinds : tuple of str
        The finding kinds that stop a trial at error severity (default :data:`BROKEN`).
    persistent : tuple of str
        The kinds that stop it at warning severity when the previous check saw them too (:data:`PERSISTENT`).
    """

    def __init__(self, after: int = 2, kinds: tuple[str, ...] = BROKEN,
                 persistent: tuple[str, ...] = PERSISTENT) -> None:
        if isinstance(after, bool) or not isinstance(after, int) or after < 1:
            raise ConfigError(f"the doctor pruner's 'after' must be a positive number of epochs, got {after!r}")
        self.after, self.kinds, self.persistent = after, tuple(kinds), tuple(persistent)
        self._warned: set[str] = set()

    def broken(self, trainer):
        """The finding that makes the trial broken on the trainer's record so far, or None (see the module doc)."""
        health = next((cb.log for cb in trainer.callbacks if isinstance(cb, HealthMonitor)), None)
        findings = diagnose(trainer.history, health)
        stop = next((f for f in findings if f.severity == ERROR and f.kind in self.kinds), None)
        warned = {f.kind for f in findings if f.kind in self.persistent}
        again = next((f for f in findings if f.kind in warned & self._warned), None)
        self._warned = warned
        return stop or again

    def on_epoch_end(self, trainer, logs: dict) -> None:
        epoch = int(logs["epoch"])
        if epoch < self.after:
            return
        finding = self.broken(trainer)
        if finding is not None:
            raise DoctorStopped(finding, epoch)


def doctor_counts(trials) -> dict[str, int]:
    """``{finding kind: trials the doctor stopped with it}``, most frequent first."""
    counts = Counter(t.user_attrs["doctor"] for t in trials if t.user_attrs.get("doctor"))
    return dict(counts.most_common())


def doctor_sentence(counts: dict[str, int]) -> str:
    """``{"dead units": 3, "vanishing gradients": 1}`` -> ``"The doctor stopped 4 trials: 3 dead units, 1 ..."``."""
    if not counts:
        return ""
    total = sum(counts.values())
    return (f"The doctor stopped {total} trial{'s' * (total != 1)}: "
            + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".")


__all__ = ["BROKEN", "DoctorPruner", "DoctorStopped", "default_after", "doctor_counts", "doctor_sentence",
           "split_prune"]
