"""Lab ``exploding``: activations and gradients explode or vanish geometrically with depth.

A deep linear network ``a_l = a_{l-1} W_l`` (no bias, identity activation)
with every ``W_l = c * I`` gives, for an input ``x``,

    a_L = c^L x          (forward: ||a_L|| / ||x|| = c^L)
    dJ/da_0 = c^L dJ/da_L  (backward, the same factor toward the input)

so with ``c = 1.3`` the signal grows as ``1.3^L`` (1.3^50 ~ 5e5) and with
``c = 0.7`` it shrinks as ``0.7^L`` (0.7^50 ~ 2e-8). Every weight gradient
``dW_l = a_{l-1}^T dZ_l = c^(l-1) c^(L-l) x^T dJ/da_L`` carries the factor
``c^(L-1)``: all layers explode or vanish together.

Random initialisation scaled to the fan-in keeps the expected squared norm
level: for ``W ~ N(0, s^2)`` of shape ``(n, n)``,
``E||a W||^2 = n s^2 ||a||^2``, so Xavier (``s^2 = 1/n``) keeps a linear
network level; a ReLU zeroes half of the pre-activations,
``E||relu(a W)||^2 = n s^2 ||a||^2 / 2``, which He's ``s^2 = 2/n``
compensates while Xavier then shrinks as ``(1/sqrt(2))^L``.

The lab builds ``L = 50`` Dense layers of width 256 (float64), sets ``W``
directly for the ``c * I`` networks, sends a batch of 256 standard-normal
inputs forward and a standard-normal ``dJ/da_L`` backward, and records the
root-mean-square norm of the activations and of the gradients after every
layer, relative to where each starts. At finite width one draw of random
weights lets the log-norm drift slightly downward (the expected *squared*
norm is preserved, not its logarithm); wider layers drift less.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..nn import Dense, Identity, ReLU
from .common import LabResult, child_seeds, lab
from .figures import plt, save_figure

DEPTH, WIDTH, BATCH = 50, 256, 256

# name -> (activation, init or a multiple of the identity, expected per-layer factor of the norm)
CONFIGS = {
    "1.3*I, linear": (Identity, 1.3, 1.3),
    "0.7*I, linear": (Identity, 0.7, 0.7),
    "xavier, linear": (Identity, "xavier", 1.0),
    "he, relu": (ReLU, "he", 1.0),
    "xavier, relu": (ReLU, "xavier", 2 ** -0.5),
}


def build(activation, init, rng: np.random.Generator, width: int = WIDTH) -> list:
    """``DEPTH`` blocks ``Dense(width, width, bias=False) -> activation``; ``W = init * I`` for a number."""
    layers = []
    for _ in range(DEPTH):
        dense = Dense(width, width, init="zeros" if isinstance(init, float) else init, bias=False, rng=rng,
                      dtype=np.float64)
        if isinstance(init, float):
            dense.W.value[...] = init * np.eye(width)
        layers += [dense, activation()]
    return layers


def rms(a: np.ndarray) -> float:
    """Root-mean-square over the batch of the per-sample Euclidean norm."""
    return float(np.sqrt(np.mean(np.sum(a * a, axis=1))))


def propagate(layers: list, x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Norm ratios after each block: forward ``||a_l||/||x||`` and backward ``||dJ/da_l||/||dJ/da_L||``.

    Both arrays have ``DEPTH + 1`` entries indexed by ``l = 0..DEPTH``.
    """
    forward = [1.0]
    a = x
    for i in range(0, len(layers), 2):
        a = layers[i + 1].forward(layers[i].forward(a, training=True), training=True)
        forward.append(rms(a) / rms(x))
    backward = [1.0]
    g = dout
    for i in range(len(layers) - 2, -1, -2):
        g = layers[i].backward(layers[i + 1].backward(g))
        backward.append(rms(g) / rms(dout))
    return np.array(forward), np.array(backward[::-1])


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Forward and backward norms through 50 layers for 1.3*I, 0.7*I, Xavier and He."""
    data_seed, grad_seed, init_seed = child_seeds(seed, 3)
    width = 64 if quick else WIDTH
    x = np.random.default_rng(data_seed).standard_normal((BATCH, width))
    dout = np.random.default_rng(grad_seed).standard_normal((BATCH, width))
    rows, traces = [], {}
    for name, (activation, init, expected) in CONFIGS.items():
        layers = build(activation, init, np.random.default_rng(init_seed), width)
        fwd, bwd = propagate(layers, x, dout)
        traces[name] = (fwd, bwd)
        rows.append({"network": name, "expected_factor": expected,
                     "measured_factor": float(fwd[-1] ** (1 / DEPTH)),
                     "expected_ratio": expected ** DEPTH, "activation_ratio": float(fwd[-1]),
                     "gradient_ratio": float(bwd[0])})

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    depth = np.arange(DEPTH + 1)
    for name, (fwd, bwd) in traces.items():
        line, = axes[0].plot(depth, fwd, label=name)
        axes[1].plot(depth, bwd, color=line.get_color(), label=name)
    for c in (1.3, 0.7):
        axes[0].plot(depth, c ** depth, "k:", linewidth=1)
        axes[1].plot(depth, c ** (DEPTH - depth), "k:", linewidth=1)
    axes[0].set_title("forward: ||a_l|| / ||x||  (dotted: 1.3^l, 0.7^l)")
    axes[1].set_title(f"backward: ||dJ/da_l|| / ||dJ/da_{DEPTH}||  (dotted: c^({DEPTH}-l))")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("layer l")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("norm ratio (log scale)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{DEPTH}-layer networks of width {width}")
    fig.tight_layout()
    save_figure(fig, out_dir / "exploding_norms.png")

    by = {r["network"]: r for r in rows}
    reading = (
        f"With W = 1.3*I the activation norm after {DEPTH} layers is {by['1.3*I, linear']['activation_ratio']:.3g} "
        f"times the input's (1.3^{DEPTH} = {1.3 ** DEPTH:.3g}); with 0.7*I it is "
        f"{by['0.7*I, linear']['activation_ratio']:.3g} (0.7^{DEPTH} = {0.7 ** DEPTH:.3g}), and the gradient "
        f"reaching the input is scaled by the same factors. Random weights scaled to the fan-in stay level: "
        f"Xavier in the linear network multiplies the norm by {by['xavier, linear']['measured_factor']:.3f} per "
        f"layer and He in the ReLU network by {by['he, relu']['measured_factor']:.3f} "
        f"(end-to-end {by['xavier, linear']['activation_ratio']:.2f} and {by['he, relu']['activation_ratio']:.2f}); "
        f"Xavier in a ReLU network shrinks by {by['xavier, relu']['measured_factor']:.3f} per layer "
        f"(1/sqrt(2) = 0.707), which is why He doubles the variance."
    )
    return LabResult(
        name="exploding", title="Exploding and vanishing signals in a 50-layer network",
        columns=["network", "expected_factor", "measured_factor", "expected_ratio", "activation_ratio",
                 "gradient_ratio"],
        rows=rows, reading=reading, figures=["exploding_norms.png"],
        settings={"depth": DEPTH, "width": width, "batch": BATCH, "dtype": "float64",
                  "columns": {"expected_factor": "per-layer factor of the norm the maths predicts",
                              "measured_factor": "(||a_L|| / ||x||)^(1/L)",
                              "expected_ratio": "expected_factor^L",
                              "activation_ratio": "||a_L|| / ||x||",
                              "gradient_ratio": "||dJ/da_0|| / ||dJ/da_L||"}},
    )
