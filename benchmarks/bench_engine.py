"""Forward + backward of mlp(784, [256, 128], 10) at batch 128: tunenet vs PyTorch.

Run: ``python benchmarks/bench_engine.py`` (PyTorch optional: ``pip install '.[bench]'``).
Prints medians over interleaved repetitions and the ratio; writes
``benchmarks/results/engine.json``.
"""

from __future__ import annotations

import numpy as np
from common import interleaved, machine, median, save_results
from threadpoolctl import threadpool_limits

import tunenet

BATCH, N_IN, HIDDEN, N_OUT = 128, 784, [256, 128], 10
STEPS, REPEATS = 200, 7


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


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, N_IN)).astype(np.float32)
    y = rng.integers(0, N_OUT, BATCH)
    threads = machine()["cores"]
    candidates = {"tunenet": tunenet_candidate(X, y)}
    try:
        candidates["pytorch"] = torch_candidate(X, y, threads)
    except ImportError:
        print("PyTorch not installed: timing tunenet alone")
    with threadpool_limits(limits=threads):
        for fn in candidates.values():
            fn()  # warm-up
        times = interleaved(candidates, REPEATS)
    result = {"machine": machine(), "steps": STEPS, "batch": BATCH,
              "ms_per_step": {k: 1000 * median(v) / STEPS for k, v in times.items()}}
    if "pytorch" in times:
        result["pytorch_over_tunenet"] = median(times["pytorch"]) / median(times["tunenet"])
    print(result)
    save_results("engine", result)


if __name__ == "__main__":
    main()
