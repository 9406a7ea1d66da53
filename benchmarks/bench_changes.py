"""The engine changes one by one: the previous code against the current code, interleaved.

Run: ``python benchmarks/bench_changes.py [--repeats 9]``; writes
``benchmarks/results/changes.json``.

Each "before" below is the method body as it was before the performance work
(commit 9f3d936), kept verbatim in a subclass of the current layer; "after"
is the current class. Both run on the same arrays (``--batch``, 128 by default, and
the widths of ``mlp(784, [256, 128], 10)``) with one BLAS thread; the table reports the
median process CPU time per call and the ratio after / before. Every pair is
also checked to give bit-identical outputs and gradients.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine, median, save_results
from threadpoolctl import threadpool_limits

from tunenet.data import MiniBatches
from tunenet.nn import BatchNorm, Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from tunenet.train.trainer import accuracy


# -- the previous implementations ------------------------------------------------------------------------------
class OldDense(Dense):
    def forward(self, x, *, training):
        self._x = x
        z = x @ self.W.value
        if self.b is not None:
            z += self.b.value
        return z

    def backward(self, dout):
        np.matmul(self._x.T, dout, out=self.W.grad)
        if self.b is not None:
            np.sum(dout, axis=0, out=self.b.grad)
        return dout @ self.W.value.T if self.propagate else None


class OldReLU(ReLU):
    def forward(self, x, *, training):
        self._y = np.maximum(x, 0)
        return self._y

    def backward(self, dout):
        return np.where(self._y > 0, dout, 0).astype(dout.dtype, copy=False)


class OldLeakyReLU(LeakyReLU):
    def forward(self, x, *, training):
        self._positive = x > 0
        return np.where(self._positive, x, x * x.dtype.type(self.slope))


class OldTanh(Tanh):
    def forward(self, x, *, training):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dout):
        return dout * (1 - self._y * self._y)


class OldSigmoid(Sigmoid):
    def forward(self, x, *, training):
        from scipy.special import expit

        self._y = expit(x)
        return self._y

    def backward(self, dout):
        return dout * (self._y * (1 - self._y))


class OldDropout(Dropout):
    def forward(self, x, *, training):
        self._active = training and self.keep_prob < 1.0
        if not self._active:
            return x
        if not (self.frozen and self._mask is not None and self._mask.shape == x.shape):
            keep = self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
            self._mask = (keep < self.keep_prob).astype(x.dtype) * x.dtype.type(1.0 / self.keep_prob)
        return x * self._mask

    def backward(self, dout):
        return dout * self._mask if self._active else dout


class OldBatchNorm(BatchNorm):
    def forward(self, x, *, training):
        mu = x.mean(axis=0)
        xc = x - mu
        var = np.mean(xc * xc, axis=0)
        self._inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self._x_hat = xc * self._inv_std
        m = self.momentum
        self.running_mean *= m
        self.running_mean += (1 - m) * mu
        self.running_var *= m
        self.running_var += (1 - m) * var
        return self._x_hat * self.gamma.value + self.beta.value

    def backward(self, dout):
        m = dout.shape[0]
        np.sum(dout * self._x_hat, axis=0, out=self.gamma.grad)
        np.sum(dout, axis=0, out=self.beta.grad)
        return (self.gamma.value * self._inv_std) * (
            dout - self.beta.grad / m - self._x_hat * (self.gamma.grad / m))


class OldMiniBatches(MiniBatches):
    def __iter__(self):
        order = self.epoch_order()
        for start in range(0, self.m, self.batch_size):
            idx = order[start:start + self.batch_size]
            n = idx.size
            xb, yb = self._xbuf[:n], self._ybuf[:n]
            np.take(self.X, idx, axis=0, out=xb)
            np.take(self.y, idx, axis=0, out=yb)
            yield xb, yb


def old_accuracy(logits, y, output):
    return float(np.mean(logits.argmax(axis=1) == (y if y.ndim == 1 else y.argmax(axis=1))))


# -- the pairs --------------------------------------------------------------------------------------------------
def layer_pair(old, new, x, dout, backward=True):
    """Closures running forward(+backward) of each layer; outputs are compared once."""
    def make(layer):
        def run():
            y = layer.forward(x, training=True)
            dx = layer.backward(dout) if backward else None
            return y, dx
        return run
    return make(old), make(new)


def pairs(m: int) -> dict:
    rng = np.random.default_rng(0)
    x784 = rng.random((m, 784), dtype=np.float32)
    z256 = rng.standard_normal((m, 256), dtype=np.float32)
    d256 = rng.standard_normal((m, 256), dtype=np.float32)
    d128 = rng.standard_normal((m, 128), dtype=np.float32)
    out = {}

    def dense(n_in, n_out, propagate):
        layers = []
        for cls in (OldDense, Dense):
            layer = cls(n_in, n_out, rng=np.random.default_rng(1))
            layer.propagate = propagate
            layers.append(layer)
        return layers

    old, new = dense(784, 256, False)
    out["Dense 784->256 forward (Z = X W + b)"] = layer_pair(old, new, x784, None, backward=False)
    old, new = dense(784, 256, False)
    out["Dense 784->256 forward + backward (first layer, no dX)"] = layer_pair(old, new, x784, d256)
    old, new = dense(256, 128, True)
    out["Dense 256->128 forward + backward (with dX)"] = layer_pair(old, new, z256, d128)
    out["ReLU forward"] = layer_pair(OldReLU(), ReLU(), z256, None, backward=False)
    out["ReLU forward + backward"] = layer_pair(OldReLU(), ReLU(), z256, d256)
    out["LeakyReLU forward"] = layer_pair(OldLeakyReLU(0.01), LeakyReLU(0.01), z256, None, backward=False)
    out["Tanh forward + backward"] = layer_pair(OldTanh(), Tanh(), z256, d256)
    out["Sigmoid forward + backward"] = layer_pair(OldSigmoid(), Sigmoid(), z256, d256)
    out["Dropout(0.8) forward + backward"] = layer_pair(OldDropout(0.8, rng=np.random.default_rng(2)),
                                                        Dropout(0.8, rng=np.random.default_rng(2)), z256, d256)
    out["BatchNorm(256) forward + backward"] = layer_pair(OldBatchNorm(256), BatchNorm(256), z256, d256)

    X = rng.random((60_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60_000)

    def gather(cls):
        batches = cls(X, y, m, np.random.default_rng(3))
        it = iter(())

        def run():
            nonlocal it
            try:
                xb, yb = next(it)
            except StopIteration:
                it = iter(batches)
                xb, yb = next(it)
            return xb, yb
        return run

    out[f"mini-batch gather, {m} of 60,000 x 784 rows"] = (gather(OldMiniBatches), gather(MiniBatches))
    logits = rng.standard_normal((m, 10), dtype=np.float32)
    labels = rng.integers(0, 10, m)
    out["train accuracy of a batch"] = (lambda: old_accuracy(logits, labels, "softmax"),
                                        lambda: accuracy(logits, labels, "softmax"))
    return out


def adam_blocked(opt, block: int):
    """The optimiser's own update applied block by block (same operations, so the same result)."""
    flat = opt.flat
    n = flat.values.size
    blocks = [slice(i, min(i + block, n)) for i in range(0, n, block)]

    def run():
        opt.t += 1
        f = opt.dtype.type
        slots, work = opt.slots, opt._work
        for sl in blocks:  # Adam._update on views of each block
            opt.slots = {k: v[sl] for k, v in slots.items()}
            opt._work = [w[sl] for w in work]
            opt._update(flat.values[sl], flat.grads[sl], f)
        opt.slots, opt._work = slots, work
        return flat.values
    return run


def alternatives(m: int) -> dict:
    """Ideas measured and not adopted: (current code, alternative)."""
    from tunenet import mlp
    from tunenet.optim import Adam

    rng = np.random.default_rng(4)
    out = {}
    for block in (8192, 32768):
        models = [mlp(784, [256, 128], 10, seed=0) for _ in range(2)]
        grads = rng.standard_normal(models[0].flat_grads.size, dtype=np.float32)
        for model in models:
            model.flat_grads[...] = grads
        whole, blocked = Adam(models[0]), Adam(models[1])

        def step(opt=whole):
            opt.step()
            return opt.flat.values
        out[f"Adam step on 235,146 parameters in blocks of {block:,} (cache-sized)"] = (step, adam_blocked(blocked,
                                                                                                          block))
    x = rng.random((m, 784), dtype=np.float32)
    w = rng.standard_normal((784, 256), dtype=np.float32)
    z = np.empty((m, 256), np.float32)
    out["Dense 784->256 product as (W^T X^T)^T (other BLAS layout)"] = (
        lambda: np.matmul(x, w, out=z).copy(), lambda: np.matmul(w.T, x.T, out=z.T).T.copy())
    return out


def identical(a, b) -> bool:
    if isinstance(a, tuple):
        return all(identical(p, q) for p, q in zip(a, b))
    if a is None or b is None:
        return a is b
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
                and np.array_equal(np.signbit(a), np.signbit(b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--calls", type=int, default=None, help="calls per timed run (default 200 * 128 / batch)")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    m = args.batch
    calls = args.calls or max(5, 200 * 128 // m)
    results = {}
    with threadpool_limits(limits=1):
        for name, (old, new) in pairs(m).items():
            same = identical(old(), new())  # first calls: also warm-up
            times = {"before": [], "after": []}
            for _ in range(args.repeats):
                for label, fn in (("before", old), ("after", new)):
                    start = time.process_time()
                    for _ in range(calls):
                        fn()
                    times[label].append((time.process_time() - start) / calls)
            before, after = median(times["before"]), median(times["after"])
            results[name] = {"before_us": 1e6 * before, "after_us": 1e6 * after, "ratio": after / before,
                             "identical": same, "before_runs_us": [1e6 * t for t in times["before"]],
                             "after_runs_us": [1e6 * t for t in times["after"]]}
            print(f"{name:58s} {1e6 * before:8.1f} -> {1e6 * after:8.1f} us  x{after / before:.2f}  "
                  f"{'identical' if same else 'DIFFERENT'}", flush=True)
    data = {"machine": machine(), "batch": m, "repeats": args.repeats, "calls": calls, "pairs": results}
    rejected = {}
    with threadpool_limits(limits=1):
        for name, (current, alternative) in alternatives(m).items():
            same = identical(current(), alternative())
            times = {"current": [], "alternative": []}
            for _ in range(args.repeats):
                for label, fn in (("current", current), ("alternative", alternative)):
                    start = time.process_time()
                    for _ in range(max(5, calls // 10)):
                        fn()
                    times[label].append((time.process_time() - start) / max(5, calls // 10))
            cur, alt = median(times["current"]), median(times["alternative"])
            rejected[name] = {"current_us": 1e6 * cur, "alternative_us": 1e6 * alt, "ratio": alt / cur,
                              "identical": same}
            print(f"rejected: {name:58s} {1e6 * cur:8.1f} vs {1e6 * alt:8.1f} us  x{alt / cur:.2f}", flush=True)
    data["rejected"] = rejected
    print(f"wrote {save_results('changes' if m == 128 else f'changes_batch{m}', data)}")


if __name__ == "__main__":
    main()
