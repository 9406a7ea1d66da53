"""Optimisation algorithms: optimisers, learning-rate schedules, gradient clipping, EWAs.

::

    from tunenet.optim import make_optimizer, make_schedule, parse_clip

    opt = make_optimizer("adam", model, lr=1e-3)      # or Adam(model, lr=1e-3)
    schedule = make_schedule("exponential:0.95", opt.lr)
    clip = parse_clip("norm:5")
    for epoch in range(epochs):
        opt.lr = schedule(epoch)
        for X, y in batches:
            opt.zero_grad()
            model.loss_and_grads(X, y)
            clip.apply(opt.flat.grads)
            opt.step()
"""

from .clipping import CLIP_KINDS, Clip, clip_by_global_norm, clip_by_value, global_norm, parse_clip
from .ewa import ExponentialAverage, ewa
from .optimizers import OPTIMIZERS, SGD, Adam, AdamW, Momentum, Optimizer, RMSprop, make_optimizer
from .schedules import (
    SCHEDULES,
    Schedule,
    constant,
    cosine,
    exponential,
    inverse_sqrt,
    inverse_sqrt_step,
    inverse_time,
    linear,
    make_schedule,
    piecewise,
    staircase,
)

__all__ = [
    "CLIP_KINDS", "OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "AdamW", "Clip", "ExponentialAverage", "Momentum",
    "Optimizer", "RMSprop", "Schedule", "clip_by_global_norm", "clip_by_value", "constant", "cosine", "ewa",
    "exponential", "global_norm", "inverse_sqrt", "inverse_sqrt_step", "inverse_time", "linear", "make_optimizer",
    "make_schedule", "parse_clip", "piecewise", "staircase",
]
