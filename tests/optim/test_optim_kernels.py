"""Each optimiser's numba kernel against its NumPy formula: bit-identical (same float operations, same order)."""

import numpy as np
import pytest

from tunenet.nn.parameter import Parameter
from tunenet.optim import SGD, Adam, AdamW, Momentum, RMSprop

CASES = {
    "sgd": (SGD, {"lr": 0.1}),
    "momentum": (Momentum, {"lr": 0.05, "beta": 0.8}),
    "nesterov": (Momentum, {"lr": 0.05, "beta": 0.8, "nesterov": True}),
    "rmsprop": (RMSprop, {"lr": 0.01, "beta": 0.9, "eps": 1e-6}),
    "adam": (Adam, {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7}),
    "adamw": (AdamW, {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7, "weight_decay": 0.1}),
}


def make(name, dtype):
    cls, hyper = CASES[name]
    rng = np.random.default_rng(7)
    params = [Parameter.create("dense0.W", rng.standard_normal((37, 5)).astype(dtype)),
              Parameter.create("dense0.b", rng.standard_normal(5).astype(dtype), regularized=False)]
    return cls(params, **hyper)


def step(opt, grad, kernel: bool):
    opt.flat.grads[...] = grad
    opt.t += 1
    update = opt._update_kernel if kernel else opt._update_numpy
    update(opt.flat.values, opt.flat.grads, opt.dtype.type)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns about the inf/NaN gradient
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_is_bit_identical_to_the_numpy_update(name, dtype):
    fused, reference = make(name, dtype), make(name, dtype)
    rng = np.random.default_rng(3)
    for t in range(30):
        grad = rng.standard_normal(fused.flat.grads.size).astype(dtype) * dtype(10.0 ** rng.integers(-6, 3))
        grad[rng.random(grad.size) < 0.2] = 0  # exact zeros, as dead ReLUs give
        if t == 25:
            grad[:3] = (np.inf, -np.inf, np.nan)  # special values follow the same IEEE path
        step(fused, grad, kernel=True)
        step(reference, grad, kernel=False)
        np.testing.assert_array_equal(fused.flat.values, reference.flat.values)
        for slot in fused.slots:
            np.testing.assert_array_equal(fused.slots[slot], reference.slots[slot])
    assert fused.flat.values.dtype == dtype
    assert np.isnan(fused.flat.values[2])  # the NaN gradient reached the weights (nothing masked it)


def test_adamw_kernel_leaves_unregularised_coordinates_undecayed():
    opt = make("adamw", np.float32)
    before = opt.flat.values.copy()
    step(opt, np.zeros_like(opt.flat.grads), kernel=True)  # zero gradient: only the decay moves w
    reg = opt.flat.regularized
    np.testing.assert_array_equal(opt.flat.values[~reg], before[~reg])
    assert np.all(np.abs(opt.flat.values[reg]) < np.abs(before[reg]))


def test_step_uses_the_kernel_only_when_enabled(monkeypatch):
    from tunenet import jit

    opt = make("adam", np.float32)
    calls = []
    monkeypatch.setattr(opt, "_update_kernel", lambda *a: calls.append("kernel"))
    monkeypatch.setattr(opt, "_update_numpy", lambda *a: calls.append("numpy"))
    old = jit.set_enabled(True)
    try:
        opt.step()
        jit.set_enabled(False)
        opt.step()
    finally:
        jit.set_enabled(old)
    assert calls == ["kernel", "numpy"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "adamw"])
def test_kernel_flushes_subnormal_first_moments_as_the_numpy_update_does(name, dtype):
    fused, reference = make(name, dtype), make(name, dtype)
    tiny = np.finfo(dtype).tiny
    n = fused.flat.grads.size
    rng = np.random.default_rng(11)
    v0 = (rng.standard_normal(n) * tiny * 4).astype(dtype)  # around the normal/subnormal boundary
    v0[:4] = (np.nan, np.inf, -np.inf, 0.0)  # kept as they are: only |v| < tiny is flushed
    for opt in (fused, reference):
        opt.slots["v"][...] = v0
    grad = np.zeros(n, dtype)
    grad[1::3] = tiny  # some coordinates get a tiny gradient, the others none
    step(fused, grad, kernel=True)
    step(reference, grad, kernel=False)
    v = fused.slots["v"]
    np.testing.assert_array_equal(v, reference.slots["v"])
    np.testing.assert_array_equal(fused.flat.values[4:], reference.flat.values[4:])
    assert np.isnan(v[0]) and v[1] == np.inf and v[2] == -np.inf
    finite = np.isfinite(v)
    assert np.all((v[finite] == 0) | (np.abs(v[finite]) >= tiny))
    assert np.count_nonzero(v[finite] == 0) > 0 and np.count_nonzero(np.abs(v[finite]) >= tiny) > 0
