"""Training-epoch contenders beside tunenet and PyTorch eager (issue 19): each returns ``run()``, one epoch.

- :func:`torch_variant_epoch`: PyTorch with ``Adam(fused=True)`` and,
  optionally, the network through ``torch.compile`` (inductor, on the CPU it
  needs a C++ compiler; a failure is returned as the reason).
- :func:`jax_scan_epoch`: JAX on the CPU, the whole epoch one ``jax.jit``
  function: a permutation, a gather, and ``lax.scan`` over the mini-batches
  of forward, backward (``jax.grad``) and Adam (written out: optax is not a
  dependency). The last partial batch is dropped (a scan needs one shape):
  callers time whole batches only.
- :func:`floor_epoch`: the matrix products of a step alone, through tunenet's BLAS (MKL) or NumPy / OpenBLAS
  as tunenet calls them (``X W`` per layer, ``X.T dZ`` per layer, ``dZ W.T``
  for all but the first), on consecutive row blocks of the data, into
  preallocated arrays: what no NumPy engine can avoid.

One thread each: ``torch.set_num_threads``, threadpoolctl for NumPy, and for
JAX ``XLA_FLAGS`` set by :func:`jax_single_thread` before jax is imported.
"""

from __future__ import annotations

import os

import numpy as np

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def jax_single_thread() -> None:
    """Ask XLA's CPU backend for one thread (must run before ``import jax``)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()


def torch_training_epoch(model, opt, X, y, batch: int):
    """``run()`` for one PyTorch epoch: a fresh permutation, then zero_grad / forward / CE loss / backward / step
    per mini-batch; returns (mean loss, accuracy). Shared by PyTorch eager and its fused / compiled variants."""
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y, np.int64))
    gen = torch.Generator().manual_seed(0)
    m = Xt.shape[0]

    def run():
        order = torch.randperm(m, generator=gen)
        loss_sum, correct = 0.0, 0
        for start in range(0, m, batch):
            idx = order[start:start + batch]
            xb, yb = Xt[idx], yt[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(dim=1) == yb).sum())
        return loss_sum / m, correct / m

    return run


def _torch_net(hidden, n_in, n_out):
    import torch

    layers, width = [], n_in
    for units in hidden:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    layers.append(torch.nn.Linear(width, n_out))
    return torch.nn.Sequential(*layers)


def torch_variant_epoch(hidden, X, y, batch: int, threads: int, compile_net: bool, n_in=784, n_out=10):
    """PyTorch with ``Adam(fused=True)``, the network compiled with ``torch.compile`` if ``compile_net``.

    Returns ``(run, None)`` or ``(None, reason)`` when the variant does not run here.
    """
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = _torch_net(hidden, n_in, n_out)
    try:
        opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS, fused=True)
    except (RuntimeError, TypeError) as exc:
        return None, f"Adam(fused=True) unavailable: {exc}"
    model = net
    if compile_net:
        try:
            model = torch.compile(net)
            xb, yb = torch.from_numpy(X[:batch]), torch.from_numpy(np.asarray(y[:batch], np.int64))
            torch.nn.functional.cross_entropy(model(xb), yb).backward()  # compiles forward and backward
            opt.zero_grad()
        except Exception as exc:  # noqa: BLE001 - any compiler failure is the recorded reason
            return None, f"torch.compile failed on this CPU: {type(exc).__name__}: {str(exc)[:300]}"
    return torch_training_epoch(model, opt, X, y, batch), None


def jax_scan_epoch(hidden, X, y, batch: int, n_in=784, n_out=10):
    """One epoch of JAX: ``jit`` of permutation + gather + ``lax.scan`` of (grad, Adam) over the batches."""
    import jax
    import jax.numpy as jnp

    widths = [n_in, *hidden, n_out]
    key = jax.random.PRNGKey(0)
    params = []
    for a, b in zip(widths[:-1], widths[1:]):
        key, sub = jax.random.split(key)
        params.append((jax.random.normal(sub, (a, b), jnp.float32) * np.float32(np.sqrt(2.0 / a)),
                       jnp.zeros(b, jnp.float32)))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = (params, zeros, zeros, jnp.zeros((), jnp.float32))
    steps = X.shape[0] // batch
    Xj, yj = jnp.asarray(X), jnp.asarray(np.asarray(y, np.int32))

    def loss_fn(p, xb, yb):
        h = xb
        for W, b in p[:-1]:
            h = jax.nn.relu(h @ W + b)
        W, b = p[-1]
        logits = h @ W + b
        logp = jax.nn.log_softmax(logits)
        loss = -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))
        return loss, jnp.sum(jnp.argmax(logits, axis=1) == yb)

    def adam(carry, batch_xy):
        p, v, s, t = carry
        (loss, hits), g = jax.value_and_grad(loss_fn, has_aux=True)(p, *batch_xy)
        t = t + 1
        v = jax.tree_util.tree_map(lambda v, g: BETA1 * v + (1 - BETA1) * g, v, g)
        s = jax.tree_util.tree_map(lambda s, g: BETA2 * s + (1 - BETA2) * g * g, s, g)
        c1, c2 = 1 - BETA1 ** t, 1 - BETA2 ** t
        p = jax.tree_util.tree_map(lambda w, v, s: w - LR * (v / c1) / (jnp.sqrt(s / c2) + EPS), p, v, s)
        return (p, v, s, t), (loss, hits)

    @jax.jit
    def epoch(state, key):
        order = jax.random.permutation(key, Xj.shape[0])[:steps * batch]
        xs = Xj[order].reshape(steps, batch, -1)
        ys = yj[order].reshape(steps, batch)
        state, (losses, hits) = jax.lax.scan(adam, state, (xs, ys))
        return state, jnp.mean(losses), jnp.sum(hits)

    holder = {"state": state, "key": jax.random.PRNGKey(1)}
    holder["state"], *_ = jax.block_until_ready(epoch(holder["state"], holder["key"]))  # compile outside timings

    def run():
        holder["key"], sub = jax.random.split(holder["key"])
        holder["state"], loss, hits = jax.block_until_ready(epoch(holder["state"], sub))
        return float(loss), int(hits)

    return run


def floor_epoch(hidden, X, batch: int, n_in=784, n_out=10, engine_blas: bool = False):
    """The matrix products of an epoch of training steps, and nothing else (one BLAS call each).

    ``engine_blas``: through :func:`tunenet.blas.matmul` inside ``blas.single_thread()``, the calls (MKL
    where installed) tunenet's one-thread training makes; else ``np.matmul`` (NumPy's OpenBLAS).
    """
    import contextlib

    from tunenet import blas

    matmul = blas.matmul if engine_blas else (lambda a, b, out: np.matmul(a, b, out=out))
    context = blas.single_thread if engine_blas else contextlib.nullcontext
    widths = [n_in, *hidden, n_out]
    rng = np.random.default_rng(0)
    Ws = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32) for a, b in zip(widths[:-1], widths[1:])]
    dWs = [np.empty_like(W) for W in Ws]

    def buffers(m):
        acts = [np.empty((m, b), np.float32) for b in widths[1:]]
        dzs = [(rng.standard_normal((m, b)) * 1e-3).astype(np.float32) for b in widths[1:]]
        dxs = [np.empty((m, a), np.float32) for a in widths[:-1]]
        return acts, dzs, dxs

    shapes = {}
    m_total = X.shape[0]

    def run():
        with context():
            for start in range(0, m_total, batch):
                x = X[start:start + batch]
                m = x.shape[0]
                if m not in shapes:
                    shapes[m] = buffers(m)
                acts, dzs, dxs = shapes[m]
                h = x
                for W, z in zip(Ws, acts):
                    matmul(h, W, z)                                  # Z = X W
                    h = z
                inputs = [x, *acts[:-1]]
                for i in range(len(Ws) - 1, -1, -1):
                    matmul(inputs[i].T, dzs[i], dWs[i])              # dW = X.T dZ
                    if i:
                        matmul(dzs[i], Ws[i].T, dxs[i])              # dX = dZ W.T

    return run
