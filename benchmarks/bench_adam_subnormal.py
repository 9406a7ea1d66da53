"""Adam's flush of subnormal first moments: its step time against the unflushed update's.

A coordinate whose gradient becomes 0 for good (a blank pixel, a dead ReLU) has its first moment ``v``
decay by ``beta1`` a step into the subnormal range, where the textbook update keeps it for ever (0.9 times
the smallest subnormal rounds back to itself) and pays for subnormal arithmetic at every step.
``tunenet.optim.optimizers.adam_kernel`` flushes ``|v| < tiny`` to 0. This script runs it and the same
kernel without the flush (compiled here from the same loop) side by side on ``mlp(784, [256, 128], 10)``'s
235,146 float32 parameters, 30% of which lose their gradient at a random step in 100-1100, alternating
the order every step, and prints the CPU microseconds per step in windows of 300 steps, the unflushed
update's subnormal share of ``v`` and whether the weights came out bit-identical.

    OMP_NUM_THREADS=1 python benchmarks/bench_adam_subnormal.py [--steps 2400]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from tunenet.optim import optimizers

N, DEAD_SHARE, WINDOW = 235_146, 0.3, 300


@numba.njit(error_model="numpy", nogil=True)
def unflushed_kernel(w, g, v, s, beta1, one_minus_beta1, beta2, one_minus_beta2, eps_c2, step):
    """``adam_kernel``'s loop without the flush (and without AdamW's decay)."""
    for i in range(w.size):
        gi = g[i]
        vi = v[i] * beta1 + gi * one_minus_beta1
        si = s[i] * beta2 + (gi * gi) * one_minus_beta2
        v[i] = vi
        s[i] = si
        w[i] -= (vi / (np.sqrt(si) + eps_c2)) * step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2400)
    args = parser.parse_args()
    f = np.float32
    rng = np.random.default_rng(0)
    grads = (rng.standard_normal((8, N)) * 1e-3).astype(f)
    death = np.where(rng.random(N) < DEAD_SHARE, rng.integers(100, 1100, N), np.iinfo(np.int64).max)
    tiny = f(np.finfo(f).tiny)
    w0 = rng.standard_normal(N).astype(f)
    state = {name: (w0.copy(), np.zeros(N, f), np.zeros(N, f)) for name in ("flushed", "unflushed")}
    flushed = optimizers.adam_kernel.compiled()

    def run(name, g, t):
        w, v, s = state[name]
        c1, c2 = 1 - 0.9 ** t, np.sqrt(1 - 0.999 ** t)
        hyper = (f(0.9), f(0.1), f(0.999), f(0.001), f(1e-8 * c2), f(1e-3 * c2 / c1))
        start = time.process_time()
        if name == "flushed":
            flushed(w, g, v, s, *hyper, w, f(0), tiny)
        else:
            unflushed_kernel(w, g, v, s, *hyper)
        return time.process_time() - start

    g = np.empty(N, f)
    for name in state:  # compile / load both outside the timings
        run(name, np.zeros(N, f), 1)
        state[name] = (w0.copy(), np.zeros(N, f), np.zeros(N, f))
    totals = {name: 0.0 for name in state}
    window = {name: 0.0 for name in state}
    print(f"{'steps':>11} | {'flushed us':>10} | {'unflushed us':>12} | unflushed v subnormal")
    for t in range(1, args.steps + 1):
        g[...] = grads[t % 8]
        g[death <= t] = 0
        for name in (("flushed", "unflushed") if t % 2 else ("unflushed", "flushed")):
            seconds = run(name, g, t)
            totals[name] += seconds
            window[name] += seconds
        if t % WINDOW == 0:
            v = state["unflushed"][1]
            share = np.mean((v != 0) & (np.abs(v) < tiny))
            print(f"{t - WINDOW + 1:>5}-{t:<5} | {window['flushed'] / WINDOW * 1e6:>10.1f} | "
                  f"{window['unflushed'] / WINDOW * 1e6:>12.1f} | {share:.1%}")
            window = {name: 0.0 for name in state}
    same = np.array_equal(state["flushed"][0], state["unflushed"][0])
    print(f"all {args.steps} steps: flushed {totals['flushed'] / args.steps * 1e6:.1f} us, unflushed "
          f"{totals['unflushed'] / args.steps * 1e6:.1f} us per step (flushed / unflushed "
          f"{totals['flushed'] / totals['unflushed']:.2f}); weights bit-identical: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
