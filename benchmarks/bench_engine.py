"""Forward + backward of mlp(784, [256, 128], 10) at batch 128: tunenet vs PyTorch (issue 2).

Run: ``python benchmarks/bench_engine.py [--threads 1] [--repeats 7]`` (PyTorch
optional: ``pip install '.[bench]'``). Times ``STEPS`` forward + backward passes
(loss gradient included, no optimiser step) per run, interleaved; prints the
medians (wall and CPU) and the ratio; writes ``benchmarks/results/engine.json``.

It also times the matrix products alone, the same float32 products through
NumPy (OpenBLAS) and through ``torch.mm`` (MKL), ``STEPS`` times the three
products of the first layer's step (``X W``, ``X^T dZ``) and of the second's
(``H W``, ``H^T dZ``, ``dZ W^T``): the part of a training step that no engine
can avoid, to compare the libraries' BLAS.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import interleaved_both, machine, save_results, summarize, train_step_flops
from threadpoolctl import threadpool_limits

import tunenet

BATCH, N_IN, HIDDEN, N_OUT = 128, 784, [256, 128], 10
STEPS = 200


def tunenet_candidate(X, y):
    model = tunenet.mlp(N_IN, HIDDEN, N_OUT)

    def run():
        for _ in range(STEPS):
            model.loss_and_grads(X, y)

    return run


def torch_candidate(X, y, threads):
    import torch

    torch.set_num_threads(threads)
    net = torch.nn.Sequential(torch.nn.Linear(N_IN, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                              torch.nn.ReLU(), torch.nn.Linear(128, N_OUT))
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run():
        for _ in range(STEPS):
            net.zero_grad(set_to_none=False)
            loss_fn(net(Xt), yt).backward()

    return run


def product_candidates(threads):
    """The first two layers' products of one step, ``STEPS`` times, in NumPy and in PyTorch."""
    rng = np.random.default_rng(1)
    x = rng.random((BATCH, N_IN), dtype=np.float32)
    w1 = rng.standard_normal((N_IN, 256), dtype=np.float32)
    h = rng.random((BATCH, 256), dtype=np.float32)
    w2 = rng.standard_normal((256, 128), dtype=np.float32)
    dz1 = rng.standard_normal((BATCH, 256), dtype=np.float32)
    dz2 = rng.standard_normal((BATCH, 128), dtype=np.float32)
    outs = [np.empty((BATCH, 256), np.float32), np.empty((N_IN, 256), np.float32),
            np.empty((BATCH, 128), np.float32), np.empty((256, 128), np.float32), np.empty((BATCH, 256), np.float32)]
    products = [(x, w1), (x.T, dz1), (h, w2), (h.T, dz2), (dz2, w2.T)]

    def numpy_run():
        for _ in range(STEPS):
            for (a, b), out in zip(products, outs):
                np.matmul(a, b, out=out)

    candidates = {"numpy (OpenBLAS)": numpy_run}
    try:
        import torch
    except ImportError:
        return candidates
    torch.set_num_threads(threads)
    t_products = [(torch.from_numpy(np.ascontiguousarray(a)) if a.flags.c_contiguous else torch.from_numpy(a.T).T,
                   torch.from_numpy(b) if b.flags.c_contiguous else torch.from_numpy(b.T).T) for a, b in products]
    t_outs = [torch.from_numpy(o) for o in outs]

    def torch_run():
        for _ in range(STEPS):
            for (a, b), out in zip(t_products, t_outs):
                torch.mm(a, b, out=out)

    candidates["torch.mm (MKL)"] = torch_run
    return candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, N_IN)).astype(np.float32)
    y = rng.integers(0, N_OUT, BATCH)
    candidates = {"tunenet": tunenet_candidate(X, y)}
    try:
        candidates["pytorch"] = torch_candidate(X, y, args.threads)
    except ImportError:
        print("PyTorch not installed: timing tunenet alone")
    with threadpool_limits(limits=args.threads):
        for fn in candidates.values():
            fn()  # warm-up
        runs = interleaved_both(candidates, args.repeats)
        products = product_candidates(args.threads)
        for fn in products.values():
            fn()
        product_runs = interleaved_both(products, args.repeats)
    per_step = {k: summarize(v, 1.0 / STEPS) for k, v in runs.items()}
    product_flops = 2 * BATCH * (2 * N_IN * 256 + 3 * 256 * 128)
    product_step = {k: summarize(v, 1.0 / STEPS) for k, v in product_runs.items()}
    flops = train_step_flops(N_IN, HIDDEN, N_OUT, BATCH)
    result = {"machine": machine(), "steps": STEPS, "batch": BATCH, "threads": args.threads,
              "repeats": args.repeats, "seconds_per_step": per_step,
              "ms_per_step": {k: {c: 1000 * v[c] for c in ("wall", "cpu")} for k, v in per_step.items()},
              "gflops": {k: {c: flops / v[c] / 1e9 for c in ("wall", "cpu")} for k, v in per_step.items()},
              "products": {"flops_per_step": product_flops, "seconds_per_step": product_step,
                           "gflops": {k: {c: product_flops / v[c] / 1e9 for c in ("wall", "cpu")}
                                      for k, v in product_step.items()}}}
    for name, v in result["products"]["gflops"].items():
        print(f"products only, {name:>16}: {v['wall']:.1f} GFLOP/s wall, {v['cpu']:.1f} CPU")
    for name, v in result["ms_per_step"].items():
        print(f"{name:>8}: {v['wall']:.3f} ms/step wall, {v['cpu']:.3f} ms/step CPU")
    if "pytorch" in per_step:
        result["pytorch_over_tunenet"] = {c: per_step["pytorch"][c] / per_step["tunenet"][c] for c in ("wall", "cpu")}
        print(f"PyTorch / tunenet time: {result['pytorch_over_tunenet']['wall']:.2f} (wall), "
              f"{result['pytorch_over_tunenet']['cpu']:.2f} (CPU)")
    print(f"wrote {save_results('engine', result)}")


if __name__ == "__main__":
    main()
