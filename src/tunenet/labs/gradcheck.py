"""Lab ``gradcheck``: gradient checking names the layer whose backward pass is wrong.

For every checked coordinate ``theta_i`` the analytic gradient from the
backward pass is compared with the two-sided difference

    g_approx_i = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)      (error O(eps^2))

and, per parameter, ``diff = ||g - g_approx|| / (||g|| + ||g_approx||)``:
below 1e-7 correct, up to 1e-3 look closer, above that a bug
(:func:`tunenet.diagnose.gradient_check`, in float64, including the L2 term).

The network ``[5, 8, 6, 3]`` (tanh, softmax output, L2 0.1) is checked on 32
random samples three times:

1. as built: every parameter is correct;
2. with a planted bug in the second Dense layer, ``dense1``: its backward
   pass doubles ``dW`` (a stray factor of 2). Only ``dense1.W`` fails:
   ``dense1.b`` and the ``dX`` it passes down are still right, so the other
   layers pass and the verdict names the faulty parameter;
3. with a bug in a parameter-free layer: the first tanh forgets its
   derivative (``dx = dout`` instead of ``dout * (1 - y^2)``). Everything
   above it is correct and everything below it (``dense0``) fails: the bug
   sits between the last failing and the first passing layer, counting from
   the input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..diagnose import gradient_check
from ..nn import Dense, Sequential, Tanh, mlp
from .common import LabResult, child_seeds, lab
from .figures import plt, save_figure

L2 = 0.1


class DoubledWeightGradDense(Dense):
    """A Dense layer with a planted bug: its backward pass doubles ``dW``."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.W.grad *= 2
        return dx


class NoDerivativeTanh(Tanh):
    """A tanh with a planted bug: backward passes ``dout`` through without ``1 - y^2``."""

    def backward(self, dout):
        return dout.copy()


def planted(model: Sequential, index: int, layer) -> Sequential:
    """A copy of ``model`` with layer ``index`` replaced by ``layer``, which takes over its weights."""
    layers = model.copy().layers
    for new, old in zip(layer.parameters(), layers[index].parameters(), strict=True):
        new.value[...] = old.value
    layers[index] = layer
    return Sequential(layers, output=model.output)


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Gradient-check a correct network and two with planted backward bugs; tabulate and plot."""
    data_seed, init_seed, check_seed = child_seeds(seed, 3)
    rng = np.random.default_rng(data_seed)
    X = rng.standard_normal((32, 5)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    model = mlp(5, [8, 6], 3, activation="tanh", init="xavier", output="softmax", seed=init_seed)
    names = [layer.name for layer in model.layers]
    cases = {
        "correct": model,
        "dense1 doubles dW": planted(model, names.index("dense1"), DoubledWeightGradDense(8, 6, init="zeros")),
        "tanh0 drops its derivative": planted(model, names.index("tanh0"), NoDerivativeTanh()),
    }
    rows, summary = [], {}
    for case, net in cases.items():
        result = gradient_check(net, X, y, l2=L2, max_per_parameter=0, seed=check_seed)
        summary[case] = result
        for p in result.parameters:
            rows.append({"case": case, "parameter": p.name, "shape": "x".join(map(str, p.shape)),
                         "checked": p.checked, "relative_difference": p.diff, "verdict": p.verdict})

    plot(rows, list(cases), out_dir / "gradcheck_diffs.png")
    failing = {case: [p.name for p in r.parameters if p.verdict == "bug"] for case, r in summary.items()}
    ok, w, d = (summary[c] for c in cases)
    tanh_failing = failing["tanh0 drops its derivative"]
    passing_layers = sorted({p.name.split(".")[0] for p in d.parameters if p.verdict != "bug"})
    below = sorted({name.split(".")[0] for name in tanh_failing})
    reading = (
        f"The network as built passes: overall difference {ok.diff:.1e}, every parameter below 1e-7 "
        f"(verdict: {ok.verdict}). With dW doubled in dense1 the verdict is {w.verdict} and only "
        f"{', '.join(failing['dense1 doubles dW'])} fails, with a difference of {_diff(w, 'dense1.W'):.4f}: about "
        f"1/3, the value for g = 2 g_approx (the L2 term, added after the layer's backward pass, is not doubled); "
        f"the worst parameter named is {w.worst}. With the first tanh's derivative missing, "
        f"{' and '.join(tanh_failing)} fail while {' and '.join(passing_layers)} pass: the gradient reaching "
        f"{' and '.join(below)} from above is wrong although the parameters above are right, so the bug is in "
        f"between, in a layer without parameters."
    )
    return LabResult(
        name="gradcheck", title="Gradient checking a correct network and two planted backward bugs",
        columns=["case", "parameter", "shape", "checked", "relative_difference", "verdict"],
        rows=rows, reading=reading, figures=["gradcheck_diffs.png"],
        settings={"network": [5, 8, 6, 3], "activation": "tanh", "output": "softmax", "l2": L2, "samples": 32,
                  "eps": 1e-6, "dtype": "float64",
                  "verdicts": {case: {"verdict": r.verdict, "overall_difference": r.diff, "worst": r.worst}
                               for case, r in summary.items()}},
    )


def _diff(result, name: str) -> float:
    return next(p.diff for p in result.parameters if p.name == name)


def plot(rows: list[dict], cases: list[str], path: Path) -> None:
    """Relative difference per parameter (log scale), one group of bars per case, verdict thresholds drawn."""
    names = list(dict.fromkeys(r["parameter"] for r in rows))
    fig, ax = plt.subplots(figsize=(10, 4.2))
    width = 0.8 / len(cases)
    for k, case in enumerate(cases):
        diffs = {r["parameter"]: r["relative_difference"] for r in rows if r["case"] == case}
        values = [max(diffs[n], 1e-16) for n in names]
        ax.bar(np.arange(len(names)) + (k - (len(cases) - 1) / 2) * width, values, width, label=case)
    ax.axhline(1e-7, color="green", linestyle="--", linewidth=1)
    ax.axhline(1e-3, color="red", linestyle="--", linewidth=1)
    ax.text(len(names) - 0.5, 1.5e-7, "correct below 1e-7", color="green", ha="right", fontsize=8)
    ax.text(len(names) - 0.5, 1.5e-3, "bug above 1e-3", color="red", ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("||g - g_approx|| / (||g|| + ||g_approx||)")
    ax.set_title("gradient check per parameter")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    save_figure(fig, path)
