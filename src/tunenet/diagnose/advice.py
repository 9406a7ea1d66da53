"""The fix of a finding, fitted to the run's own configuration.

:func:`advise` turns a finding's kind, the run's configuration (the mapping
of ``config.yaml``; None when unknown) and a few facts measured by the
doctor into

* the fix as text: only options the run did not already use (no "use Adam"
  while on Adam, no "try early stopping" with it on, no "--normalize
  standard" when standardised, no "He init" when He was used), the first
  alternative being the one applied by ``--repair``;
* the concrete configuration change of that first alternative
  (``{"init": "he"}``, ``{"lr": 0.001}``, ...), or None with the reason it
  cannot be applied automatically (``"more data"``).

Without a configuration (a bare :func:`~tunenet.diagnose.findings.diagnose`
call) the doctor keeps its generic fixes, listing every alternative.

Facts (keyword arguments) the rules use: ``lr`` (the lr the run used),
``lr_suggested`` (the lr range test's suggestion), ``still_improving`` (the
best epoch was the last), ``best_epoch``, ``restored`` (early stopping
restored the best epoch), ``input_scale`` (how far the inputs are from unit
scale), ``stalled`` ("schedule" when the lr decayed to nothing), ``overfit`` (the overfitting finding is
there too: early stopping comes first for high variance), ``image_shape`` (the inputs are images of this
shape: augmentation is a change).

:func:`alternatives` returns every alternative's change in order; the repair
(:mod:`tunenet.repair`) moves to the next one of another kind when a change
did not move the finding.
"""

from __future__ import annotations

from .kinds import (
    BIAS,
    DEAD,
    EXPLODING,
    FROZEN,
    HEALTHY,
    INPUT_SCALE,
    LR_HIGH,
    LR_LOW,
    MISMATCH,
    OVERFITTING,
    SATURATION,
    STILL_IMPROVING,
    VANISHING,
    VARIANCE,
)

_LOW_INITS = {"he", "xavier", "glorot"}
TINY_LAYER = 16


def _fmt(v: float) -> str:
    return f"{v:.2g}"


class _Fix:
    """Alternatives in order: (text, change or None)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict | None]] = []

    def add(self, text: str, change: dict | None = None) -> None:
        self.items.append((text, change))

    def result(self, why_manual: str | None = None) -> tuple[str, list[dict], str | None]:
        text = ", or ".join(t for t, _ in self.items) if self.items else ""
        changes = [c for _, c in self.items if c]
        reason = None if changes else (why_manual or "no configuration change applies")
        return text, changes, reason


def _bigger(hidden: list[int]) -> list[int]:
    """Twice the units per layer, at least 64: a network of 2 units gains little from 4."""
    return [max(2 * h, 64) for h in hidden] if hidden else [64]


def advise(kind: str, cfg: dict, **facts) -> tuple[str, dict | None, str | None]:
    """``(fix text, config change or None, why no change can be applied or None)`` for one finding kind."""
    text, changes, reason = alternatives(kind, cfg, **facts)
    return text, changes[0] if changes else None, reason


def alternatives(kind: str, cfg: dict, **facts) -> tuple[str, list[dict], str | None]:
    """``(fix text, every alternative's config change in order, why none can be applied or None)``.

    The repair applies the first change and, when it did not move the finding, the next one of another kind.
    """
    c = dict(cfg)
    act, init = c.get("activation", "relu"), str(c.get("init", "he"))
    bn, opt = bool(c.get("batchnorm")), c.get("optimizer", "adam")
    lr = facts.get("lr") or c.get("lr")
    hidden = list(c.get("hidden") or [])
    f = _Fix()
    good_init = "xavier" if act in ("tanh", "sigmoid") else "he"
    if kind == VANISHING:
        if act in ("sigmoid", "tanh"):
            f.add("use ReLU with He initialisation (--activation relu --init he)", {"activation": "relu", "init": "he"})
        elif init != good_init:
            f.add(f"use {good_init.capitalize()} initialisation (--init {good_init})", {"init": good_init})
        if not bn:
            f.add("add batch normalisation (--batchnorm)", {"batchnorm": True})
        if len(hidden) > 1:
            f.add("use fewer layers", {"hidden": hidden[:-1]})
        return f.result()
    if kind in (EXPLODING, FROZEN):
        if init not in _LOW_INITS:
            f.add(f"use {good_init.capitalize()} initialisation instead of {init} weights (--init {good_init})",
                  {"init": good_init})
        if kind == EXPLODING:
            if not c.get("clip"):
                f.add("clip gradients (--clip norm:1)", {"clip": "norm:1"})
            if not bn:
                f.add("add batch normalisation (--batchnorm)", {"batchnorm": True})
            if lr:
                f.add(f"lower the learning rate (--lr {_fmt(lr / 10)})", {"lr": lr / 10})
        return f.result()
    if kind == DEAD:
        if init != "he" and act in ("relu", "leaky_relu"):
            f.add("use He initialisation (--init he) and zero biases", {"init": "he"})
        if act == "relu":
            f.add("try leaky ReLU (--activation leaky_relu)", {"activation": "leaky_relu"})
        if lr:
            f.add(f"lower the learning rate (--lr {_fmt(lr / 10)}; big steps push biases negative)", {"lr": lr / 10})
        if not bn:
            f.add("add batch normalisation (--batchnorm)", {"batchnorm": True})
        return f.result()
    if kind == SATURATION:
        if init not in _LOW_INITS:
            f.add(f"use Xavier initialisation (--init xavier) instead of {init} weights", {"init": "xavier"})
        if c.get("normalize", "standard") != "standard":
            f.add("standardise the inputs (--normalize standard)", {"normalize": "standard"})
        if not bn:
            f.add("add batch normalisation (--batchnorm)", {"batchnorm": True})
        if act in ("tanh", "sigmoid"):
            f.add("use ReLU with He initialisation (--activation relu --init he)", {"activation": "relu", "init": "he"})
        if lr:
            f.add(f"lower the learning rate (--lr {_fmt(lr / 10)})", {"lr": lr / 10})
        return f.result()
    if kind == INPUT_SCALE:
        if c.get("normalize", "standard") != "standard":
            f.add("standardise the inputs (--normalize standard)", {"normalize": "standard"})
        elif not bn:
            f.add("the inputs are standardised but the activations are not: add batch normalisation (--batchnorm)",
                  {"batchnorm": True})
        return f.result()
    if kind == LR_HIGH:
        suggested = facts.get("lr_suggested")
        if suggested and (not lr or suggested < lr):
            f.add(f"lower the learning rate to {_fmt(suggested)}, where the lr range test's loss fell fastest "
                  f"(--lr {_fmt(suggested)})", {"lr": float(f"{suggested:.2g}")})
        elif lr:
            f.add(f"lower the learning rate 10x (--lr {_fmt(lr / 10)}; `tunenet lr-find` suggests one)",
                  {"lr": lr / 10})
        if not c.get("clip"):
            f.add("clip gradients (--clip norm:1)", {"clip": "norm:1"})
        if not c.get("schedule"):
            f.add("add a decay schedule (--schedule exponential:0.95)", {"schedule": "exponential:0.95"})
        return f.result()
    if kind == LR_LOW:
        if facts.get("stalled") == "schedule" and c.get("schedule"):
            f.add(f"the schedule {c['schedule']} decays the lr to almost nothing: drop it (--schedule none) or "
                  "decay more slowly", {"schedule": None})
        suggested = facts.get("lr_suggested")
        if suggested and lr and suggested > lr:
            f.add(f"raise the learning rate to {_fmt(suggested)} (the lr range test's suggestion; --lr "
                  f"{_fmt(suggested)})", {"lr": float(f"{suggested:.2g}")})
        elif lr:
            f.add(f"raise the learning rate 10x (--lr {_fmt(lr * 10)}; `tunenet lr-find` suggests one)",
                  {"lr": lr * 10})
        if opt in ("sgd", "momentum"):
            f.add("use Adam (--optimizer adam --lr 1e-3)", {"optimizer": "adam", "lr": 1e-3})
        return f.result()
    if kind == STILL_IMPROVING:
        epochs = int(c.get("epochs") or 0)
        f.add(f"train longer (--epochs {max(3 * epochs, 20)}): the dev loss was still falling at the last epoch",
              {"epochs": max(3 * epochs, 20)})
        return f.result()
    if kind == BIAS:
        epochs = int(c.get("epochs") or 0)
        longer = max(3 * epochs, 20)
        if act == "linear" and hidden:
            f.add("use a non-linear activation (--activation relu --init he): a network of linear layers is one "
                  "linear map, however big", {"activation": "relu", "init": "he"})
        if float(c.get("l2") or 0) >= 0.1 or float(c.get("keep_prob", 1.0)) <= 0.5:
            f.add("reduce the strong regularisation (--l2 0 --keep-prob 1)", {"l2": 0.0, "keep_prob": 1.0})
        if hidden and min(hidden) < TINY_LAYER:
            f.add(f"use a bigger network (--hidden {','.join(map(str, _bigger(hidden)))}): a layer of "
                  f"{min(hidden)} units is a bottleneck", {"hidden": _bigger(hidden)})
        if facts.get("still_improving") and opt in ("sgd", "momentum", "nesterov"):
            f.add("use Adam, which still learns where plain SGD crawls (--optimizer adam --lr 1e-3)",
                  {"optimizer": "adam", "lr": 1e-3})
        if facts.get("still_improving"):
            f.add(f"train longer (--epochs {longer}; the best epoch was the last)", {"epochs": longer})
        f.add(f"try a bigger network (--hidden {','.join(map(str, _bigger(hidden)))})", {"hidden": _bigger(hidden)})
        if 0 < float(c.get("l2") or 0) < 0.1 or 0.5 < float(c.get("keep_prob", 1.0)) < 1:
            f.add("reduce regularisation (--l2 0 --keep-prob 1)", {"l2": 0.0, "keep_prob": 1.0})
        if opt in ("sgd", "momentum", "nesterov") and not facts.get("still_improving"):
            f.add("use a better optimiser (--optimizer adam --lr 1e-3)", {"optimizer": "adam", "lr": 1e-3})
        return f.result()
    if kind in (VARIANCE, OVERFITTING):
        l2 = float(c.get("l2") or 0)
        stop = not c.get("early_stopping") and (kind == OVERFITTING or facts.get("overfit"))
        if stop:  # the dev loss rose while the train loss fell: stopping at the best epoch is the measured fix
            best = facts.get("best_epoch")
            f.add("stop early (--early-stopping 5 restores the best epoch" + (f", {best})" if best else ")"),
                  {"early_stopping": 5})
        new_l2 = 1e-3 if l2 == 0 else min(l2 * 10, 1.0)
        f.add(f"{'add' if l2 == 0 else 'raise'} L2 (--l2 {_fmt(new_l2)}; try 1e-4..1e-1 on a log scale)",
              {"l2": new_l2})
        if float(c.get("keep_prob", 1.0)) >= 1:
            f.add("add dropout (--keep-prob 0.8)", {"keep_prob": 0.8})
        if not c.get("early_stopping") and not stop:
            f.add("try early stopping (--early-stopping 5)", {"early_stopping": 5})
        if hidden and max(hidden) >= 2 * TINY_LAYER:
            smaller = [max(h // 4, TINY_LAYER) for h in hidden]
            f.add(f"use a smaller network (--hidden {','.join(map(str, smaller))})", {"hidden": smaller})
        shape = facts.get("image_shape")
        if shape and not c.get("augment"):
            spec = f"shift:{max(1, min(shape) // 10)},rotate:10"
            f.add(f"augment the images (--augment {spec})", {"augment": spec})
        f.add("get more data" + ("" if shape else " or augment it"))
        return f.result("more data is what fixes it")
    if kind == MISMATCH:
        f.add("make the training data more like the dev data (collect or synthesise similar examples)")
        return f.result("the training data cannot be changed by a configuration option")
    if kind == HEALTHY:
        return "bias and variance are both low; tune for the last points or test on the test set", [], \
            "nothing to repair"
    return "", [], "no rule for this finding"
