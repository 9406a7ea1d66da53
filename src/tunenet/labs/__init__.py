"""Labs: the course's classic experiments, reproducible with one command each.

Each lab trains and measures with tunenet's own components, writes its table
(``table.md``, ``table.json``) and figures (PNG) into an output directory and
returns a :class:`~tunenet.labs.common.LabResult`::

    from tunenet.labs import LABS
    run, description = LABS["init"]
    result = run("out/init", seed=0)
    print(result.markdown())

From the shell: ``tunenet lab init --out out/init --seed 0`` and
``tunenet lab --list``. A lab is deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable

from . import batchnorm, ewa, exploding, gradcheck, init, normalization, optimizers, regularization, search
from .common import LabResult

#: name -> (run(out_dir, seed=0, quick=False) -> LabResult, one-line description)
LABS: dict[str, tuple[Callable[..., LabResult], str]] = {
    "init": (init.run, "zeros vs large vs He initialisation of [2, 10, 5, 1] on make_circles"),
    "exploding": (exploding.run, "activation and gradient norms through 50 layers: 1.3*I, 0.7*I, Xavier, He"),
    "optimizers": (optimizers.run, "gradient descent, momentum, RMSprop, Adam on make_moons, with and without decay"),
    "regularization": (regularization.run, "no regularisation vs L2 vs dropout: the train-test gap"),
    "normalization": (normalization.run, "raw vs standardised inputs: cost contours and epochs to a target loss"),
    "batchnorm": (batchnorm.run, "a deep network with and without batch norm across learning rates"),
    "search": (search.run, "grid vs random search with the same budget when one hyperparameter matters"),
    "ewa": (ewa.run, "exponentially weighted averages of a noisy year, with and without bias correction"),
    "gradcheck": (gradcheck.run, "gradient checking a correct network and two planted backward bugs"),
}

__all__ = ["LABS", "LabResult"]
