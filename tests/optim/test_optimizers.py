"""Optimisers: hand-computed steps, an independent transcription, convergence, state, dtypes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tunenet.errors import ConfigError
from tunenet.nn import Parameter, mlp
from tunenet.optim import OPTIMIZERS, SGD, Adam, AdamW, Momentum, RMSprop, make_optimizer

# non-default hyperparameters, so that a hyperparameter that is ignored shows up
HYPER = {
    "sgd": {"lr": 0.05},
    "momentum": {"lr": 0.05, "beta": 0.8},
    "nesterov": {"lr": 0.05, "beta": 0.8},
    "rmsprop": {"lr": 0.01, "beta": 0.95, "eps": 1e-6},
    "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7},
    "adamw": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7, "weight_decay": 0.1},
}
SHAPES = {"dense0.W": ((3, 2), True), "dense0.b": ((2,), False), "bn0.gamma": ((4,), False)}


def make_params(dtype=np.float64, seed=0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter.create(name, rng.standard_normal(shape).astype(dtype), regularized=reg)
            for name, (shape, reg) in SHAPES.items()]


def random_grads(steps: int, seed=1) -> list[dict[str, np.ndarray]]:
    """Gradients of varied scale (1e-3 .. 10) per step and parameter."""
    rng = np.random.default_rng(seed)
    return [{name: rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 1) for name, (shape, _) in SHAPES.items()}
            for _ in range(steps)]


def lr_at(step: int, lr0: float) -> float:
    """A varying learning rate, as a schedule would set it."""
    return lr0 * (1.0 + 0.5 * math.sin(step))


def run(opt, params, grads, lr0, start=0) -> None:
    """Steps from the given gradients, with the learning rate set before each step as the trainer does."""
    for i, step_grads in enumerate(grads, start=start):
        for p in params:
            p.grad[...] = step_grads[p.name]
        opt.lr = lr_at(i, lr0)
        opt.step()


# -- an independent transcription of DESIGN.md's formulas, one parameter at a time -------------------
def reference_step(name, h, w, g, st, t, lr, regularized):
    if name == "sgd":
        return w - lr * g
    if name in ("momentum", "nesterov"):
        st["v"] = h["beta"] * st["v"] + (1 - h["beta"]) * g
        if name == "momentum":
            return w - lr * st["v"]
        return w - lr * (h["beta"] * st["v"] + (1 - h["beta"]) * g)
    if name == "rmsprop":
        st["s"] = h["beta"] * st["s"] + (1 - h["beta"]) * g ** 2
        return w - lr * g / (np.sqrt(st["s"]) + h["eps"])
    if name == "adamw" and regularized:
        w = w - lr * h["weight_decay"] * w
    st["v"] = h["beta1"] * st["v"] + (1 - h["beta1"]) * g
    st["s"] = h["beta2"] * st["s"] + (1 - h["beta2"]) * g ** 2
    v_hat = st["v"] / (1 - h["beta1"] ** t)
    s_hat = st["s"] / (1 - h["beta2"] ** t)
    return w - lr * v_hat / (np.sqrt(s_hat) + h["eps"])


def reference_run(name, start: dict, grads):
    h = HYPER[name]
    w = {k: v.copy() for k, v in start.items()}
    state = {k: {"v": np.zeros_like(v), "s": np.zeros_like(v)} for k, v in start.items()}
    for t, step_grads in enumerate(grads, start=1):
        for k in w:
            w[k] = reference_step(name, h, w[k], step_grads[k], state[k], t, lr_at(t - 1, h["lr"]), SHAPES[k][1])
    return w


# -- hand-computed first steps ------------------------------------------------------------------------
def one_param(values, grads, dtype=np.float64):
    p = Parameter.create("w", np.array(values, dtype))
    p.grad[...] = grads
    return p


def test_sgd_first_step_by_hand():
    p = one_param([1.0, -2.0, 0.5], [0.5, -1.0, 0.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.value, [0.95, -1.9, 0.5], rtol=0, atol=1e-15)   # w - 0.1 g


def test_momentum_two_steps_by_hand():
    p = one_param([1.0, -2.0, 0.5], [0.5, -1.0, 0.0])
    opt = Momentum([p], lr=0.1, beta=0.9)
    opt.step()      # v = 0.1 g = [0.05, -0.1, 0]; w -= 0.1 v
    np.testing.assert_allclose(p.value, [0.995, -1.99, 0.5], rtol=0, atol=1e-15)
    opt.step()      # v = 0.9 [0.05, -0.1, 0] + 0.1 g = [0.095, -0.19, 0]; w -= 0.1 v
    np.testing.assert_allclose(p.value, [0.9855, -1.971, 0.5], rtol=0, atol=1e-15)


def test_nesterov_first_step_by_hand():
    p = one_param([1.0, -2.0, 0.5], [0.5, -1.0, 0.0])
    Momentum([p], lr=0.1, beta=0.9, nesterov=True).step()
    # v = [0.05, -0.1, 0]; step = 0.1 (0.9 v + 0.1 g) = 0.1 [0.095, -0.19, 0]
    np.testing.assert_allclose(p.value, [0.9905, -1.981, 0.5], rtol=0, atol=1e-15)


def test_rmsprop_first_step_by_hand():
    p = one_param([1.0, -2.0, 0.5], [0.5, -1.0, 0.0])
    RMSprop([p], lr=0.01, beta=0.9, eps=1e-8).step()
    # s = 0.1 g^2, so g/sqrt(s) = sign(g) sqrt(10): the first step is lr sqrt(10) (eps shifts it by < 3e-9)
    root10 = 3.1622776601683795
    np.testing.assert_allclose(p.value, [1 - 0.01 * root10, -2 + 0.01 * root10, 0.5], rtol=0, atol=3e-9)
    assert p.value[2] == 0.5


def test_adam_first_step_by_hand():
    p = one_param([1.0, -2.0, 0.5], [0.5, -1.0, 0.0])
    Adam([p], lr=0.1).step()
    # bias correction: v_hat = g, s_hat = g^2, so the first step is lr sign(g) (eps shifts it by < 3e-9)
    np.testing.assert_allclose(p.value, [0.9, -1.9, 0.5], rtol=0, atol=3e-9)
    assert p.value[2] == 0.5


def test_adamw_first_step_by_hand():
    W = Parameter.create("W", np.array([1.0, -2.0]), regularized=True)
    b = Parameter.create("b", np.array([0.5]), regularized=False)
    W.grad[...] = [0.5, -1.0]
    AdamW([W, b], lr=0.1, weight_decay=0.01).step()
    # W: decay 0.1*0.01*W = [0.001, -0.002], then the Adam step 0.1 sign(g); b: zero gradient, no decay
    np.testing.assert_allclose(W.value, [1 - 0.001 - 0.1, -2 + 0.002 + 0.1], rtol=0, atol=3e-9)
    assert b.value[0] == 0.5


# -- 100 steps against the transcription ----------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_100_steps_match_reference(name):
    params = make_params()
    start = {p.name: p.value.copy() for p in params}
    grads = random_grads(100)
    opt = make_optimizer(name, params, **HYPER[name])
    run(opt, params, grads, HYPER[name]["lr"])
    expected = reference_run(name, start, grads)
    assert opt.t == 100
    for p in params:
        assert not np.array_equal(p.value, start[p.name])
        np.testing.assert_allclose(p.value, expected[p.name], rtol=0, atol=1e-12, err_msg=p.name)


# -- convergence ------------------------------------------------------------------------------------------
A, C = np.array([1.0, 10.0]), np.array([1.0, -2.0])   # f(w) = 1/2 sum a (w - c)^2, condition number 10


def quadratic_grad(w):
    return A * (w - C)


def rosenbrock_grad(w):   # f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1)
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def descend(name, grad, start, steps, **hyper):
    p = Parameter.create("w", np.array(start, dtype=np.float64))
    opt = make_optimizer(name, [p], **hyper)
    for _ in range(steps):
        p.grad[...] = grad(p.value)
        opt.step()
    return p.value


CONVERGENCE = {  # name: (quadratic hyper, steps, tolerance), (Rosenbrock hyper, steps, tolerance)
    "sgd": (({"lr": 0.1}, 300, 1e-6), ({"lr": 1.5e-3}, 20000, 1e-4)),
    "momentum": (({"lr": 0.1}, 300, 1e-5), ({"lr": 0.01}, 5000, 1e-6)),
    "nesterov": (({"lr": 0.1}, 300, 1e-5), ({"lr": 0.01}, 5000, 1e-6)),
    "rmsprop": (({"lr": 0.01}, 1000, 1e-6), ({"lr": 1e-3}, 10000, 2e-3)),
    "adam": (({"lr": 0.05}, 1000, 1e-6), ({"lr": 0.02}, 5000, 1e-6)),
    "adamw": (({"lr": 0.05, "weight_decay": 1e-4}, 1000, 1e-3), ({"lr": 0.02, "weight_decay": 1e-4}, 5000, 1e-3)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_converges_on_quadratic(name):
    hyper, steps, tol = CONVERGENCE[name][0]
    w = descend(name, quadratic_grad, [-3.0, 3.0], steps, **hyper)
    assert np.abs(w - C).max() < tol, w


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_converges_on_rosenbrock(name):
    hyper, steps, tol = CONVERGENCE[name][1]
    w = descend(name, rosenbrock_grad, [-1.5, 2.0], steps, **hyper)
    assert np.abs(w - 1.0).max() < tol, w


# -- saved and restored state -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_restored_state_continues_bit_identically(name):
    grads = random_grads(40, seed=5)
    params = make_params(seed=3)
    opt = make_optimizer(name, params, **HYPER[name])
    run(opt, params, grads, HYPER[name]["lr"])

    first = make_params(seed=3)
    opt1 = make_optimizer(name, first, **HYPER[name])
    run(opt1, first, grads[:20], HYPER[name]["lr"])
    state = opt1.state_dict()
    saved_values = {p.name: p.value.copy() for p in first}
    run(opt1, first, grads[20:22], HYPER[name]["lr"], start=20)  # must not leak into the saved state
    # as a checkpoint stores it: slots as tensors, everything else as JSON
    meta = json.loads(json.dumps({k: v for k, v in state.items() if k != "slots"}))
    slots = {slot: {k: np.array(v) for k, v in arrays.items()} for slot, arrays in state["slots"].items()}

    second = [Parameter.create(p.name, saved_values[p.name].copy(), p.regularized) for p in make_params()]
    opt2 = make_optimizer(name, second, **HYPER[name])
    opt2.load_state_dict({**meta, "slots": slots})
    assert opt2.t == 20
    run(opt2, second, grads[20:], HYPER[name]["lr"], start=20)
    for p, q in zip(params, second, strict=True):
        assert np.array_equal(p.value, q.value), p.name
    assert all(np.array_equal(opt.slots[k], opt2.slots[k]) for k in opt.slots)


def test_state_dict_layout():
    params = make_params()
    opt = Adam(params, lr=0.01)
    params[0].grad[...] = 1.0
    opt.step()
    state = opt.state_dict()
    assert state["type"] == "Adam" and state["t"] == 1
    assert state["hyper"] == {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert set(state["slots"]) == {"v", "s"}
    for slot in ("v", "s"):
        assert {k: a.shape for k, a in state["slots"][slot].items()} == {k: s for k, (s, _) in SHAPES.items()}
    np.testing.assert_allclose(state["slots"]["v"]["dense0.W"], np.full((3, 2), 0.1))
    assert not state["slots"]["v"]["dense0.b"].any()
    assert SGD(make_params()).state_dict()["slots"] == {}


def test_load_state_dict_restores_hyperparameters():
    source = Momentum(make_params(), lr=0.3, beta=0.5, nesterov=True)
    target = Momentum(make_params())
    target.load_state_dict(source.state_dict())
    assert (target.lr, target.beta, target.nesterov) == (0.3, 0.5, True)


def _state_with(**changes):
    state = Adam(make_params()).state_dict()
    state.update(changes)
    return state


@pytest.mark.parametrize("state, match", [
    (SGD(make_params()).state_dict(), "for 'SGD', not 'Adam'"),
    (_state_with(t=-1), "t must be an integer"),
    (_state_with(t=1.5), "t must be an integer"),
    (_state_with(hyper={"lr": 0.1, "beta": 0.9}), "unknown Adam hyperparameters"),
    (_state_with(hyper={"lr": -0.1}), "lr must be a finite number > 0"),
    (_state_with(slots={"v": {}}), "needs slots"),
    (_state_with(slots={slot: {"dense0.W": np.zeros((3, 2))} for slot in "vs"}), "missing"),
    (_state_with(slots={slot: {k: np.zeros((7,)) for k in SHAPES} for slot in "vs"}), "has shape"),
])
def test_load_state_dict_rejects_mismatches(state, match):
    opt = Adam(make_params(), lr=0.02)
    before = opt.state_dict()
    with pytest.raises(ConfigError, match=match):
        opt.load_state_dict(state)
    assert opt.lr == 0.02 and opt.t == before["t"]   # nothing half-loaded


# -- zero gradients, dtypes, models ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_gradient_step_changes_nothing(name):
    params = make_params()
    before = {p.name: p.value.copy() for p in params}
    opt = make_optimizer(name, params, **HYPER[name])
    for _ in range(3):
        opt.zero_grad()
        opt.step()
    for p in params:
        if name == "adamw" and p.regularized:   # decoupled decay only: w_t = (1 - lr*wd)^t w_0
            np.testing.assert_allclose(p.value, before[p.name] * (1 - 0.01 * 0.1) ** 3, rtol=1e-14)
        else:
            assert np.array_equal(p.value, before[p.name]), p.name


def test_zero_grad_clears_gradients():
    params = make_params()
    opt = SGD(params)
    for p in params:
        p.grad[...] = 1.0
    opt.zero_grad()
    assert not any(p.grad.any() for p in params)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_stays_float32(name):
    params = make_params(np.float32)
    start = {p.name: p.value.astype(np.float64) for p in params}
    grads = random_grads(20)
    opt = make_optimizer(name, params, **HYPER[name])
    run(opt, params, grads, HYPER[name]["lr"])
    assert opt.flat.values.dtype == np.float32 and opt.flat.grads.dtype == np.float32
    assert all(p.value.dtype == np.float32 for p in params)
    assert all(buf.dtype == np.float32 for buf in opt.slots.values())
    expected = reference_run(name, start, grads[:20])
    for p in params:
        np.testing.assert_allclose(p.value, expected[p.name], rtol=1e-4, atol=1e-4)


def test_updates_a_sequential_model_in_place():
    model = mlp(4, [3], 2, seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)).astype(np.float32), rng.integers(0, 2, 8)
    opt = Adam(model, lr=0.01)
    assert opt.flat is model.flat
    before = model.flat.values.copy()
    model.loss_and_grads(X, y)
    opt.step()
    W = model.named_parameters()["dense0.W"]
    assert np.shares_memory(W.value, opt.flat.values)
    changed = model.flat.values != before
    assert changed[model.flat.grads != 0].all() and model.flat.values.dtype == np.float32


def test_parameter_list_is_rebound_to_the_flat_buffer():
    params = make_params()
    opt = SGD(params, lr=1.0)
    opt.flat.grads[...] = 1.0
    before = params[1].value.copy()
    opt.step()
    assert np.array_equal(params[1].value, before - 1.0)


# -- construction and validation -----------------------------------------------------------------------------
def test_make_optimizer_names():
    params = make_params()
    kinds = {name: type(make_optimizer(name, params, lr=0.1)).__name__ for name in OPTIMIZERS}
    assert kinds == {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Momentum", "rmsprop": "RMSprop",
                     "adam": "Adam", "adamw": "AdamW"}
    assert make_optimizer("nesterov", params, 0.1).nesterov is True
    assert make_optimizer("momentum", params, 0.1).nesterov is False
    assert make_optimizer("Adam", params, None).lr == 0.001    # default lr, case-insensitive name


def test_make_optimizer_rejects_unknown_name_and_arguments():
    with pytest.raises(ConfigError, match="sgd, momentum, nesterov, rmsprop, adam, adamw"):
        make_optimizer("adagrad", make_params(), 0.1)
    with pytest.raises(ConfigError, match="'sgd' does not take beta1"):
        make_optimizer("sgd", make_params(), 0.1, beta1=0.9)


@pytest.mark.parametrize("cls, kwargs, match", [
    (SGD, {"lr": 0.0}, r"lr must be a finite number > 0, got 0\.0"),
    (SGD, {"lr": -1}, "lr must be"),
    (SGD, {"lr": float("nan")}, "lr must be"),
    (SGD, {"lr": "fast"}, "lr must be"),
    (Momentum, {"beta": 1.0}, r"beta must be a number in \[0, 1\)"),
    (Momentum, {"beta": -0.1}, "beta must be"),
    (Momentum, {"nesterov": "yes"}, "nesterov must be true or false"),
    (RMSprop, {"eps": 0.0}, "eps must be a finite number > 0"),
    (Adam, {"beta1": 1.5}, "beta1 must be"),
    (Adam, {"beta2": float("nan")}, "beta2 must be"),
    (AdamW, {"weight_decay": -0.01}, "weight_decay must be a finite number >= 0"),
])
def test_bad_hyperparameters_raise(cls, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        cls(make_params(), **kwargs)


def test_lr_setter_validates():
    opt = SGD(make_params(), lr=0.1)
    opt.lr = np.float32(0.5)
    assert opt.lr == 0.5 and type(opt.lr) is float
    with pytest.raises(ConfigError, match="lr must be"):
        opt.lr = float("inf")


def test_empty_parameter_list_raises():
    with pytest.raises(ConfigError, match="non-empty list of Parameters"):
        SGD([])


# -- first moments (momentum's and Adam's v): subnormal values are flushed to 0, the weights do not change --
def unflushed(cls):
    """``cls`` with the flush left out: the oracle for what the flush changes."""
    return type(f"Unflushed{cls.__name__}", (cls,), {"_flush_subnormal": lambda self, v: None})


@pytest.mark.parametrize("kernel", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "adamw"])
def test_subnormal_first_moments_are_flushed_without_changing_the_weights(name, dtype, kernel):
    from tunenet import jit

    cls = {"momentum": Momentum, "nesterov": Momentum, "adam": Adam, "adamw": AdamW}[name]
    hyper = {"nesterov": True} if name == "nesterov" else {}
    rng = np.random.default_rng(5)
    start = rng.standard_normal(2000).astype(dtype)
    flushed, plain = Parameter.create("w", start.copy()), Parameter.create("w", start.copy())
    opt, oracle = cls([flushed], **hyper), unflushed(cls)([plain], **hyper)
    tiny = np.finfo(dtype).tiny
    # half the coordinates stop receiving gradient after 5 steps (a dead unit): their v decays by beta a
    # step, into the subnormal range (float32: after ~800 steps; float64: after ~6,700), and stays there
    steps = 1000 if dtype == np.float32 else 7000
    dead = np.arange(2000) % 2 == 0
    subnormal_seen = 0
    old = jit.set_enabled(kernel)
    try:
        for t in range(steps):
            g = (rng.standard_normal(2000) * 1e-2).astype(dtype)
            if t >= 5:
                g[dead] = 0
            flushed.grad[...] = g
            plain.grad[...] = g
            opt.step()
            oracle.t += 1
            oracle._update_numpy(plain.value, plain.grad, plain.value.dtype.type)  # NumPy, no flush
            v, v_plain = opt.slots["v"], oracle.slots["v"]
            sub = (v_plain != 0) & (np.abs(v_plain) < tiny)
            subnormal_seen += int(sub.sum())
            assert not np.any((v != 0) & (np.abs(v) < tiny)), f"step {t}: a subnormal v was kept"
            assert np.all(v[sub] == 0)
            np.testing.assert_array_equal(v[~sub], v_plain[~sub])
    finally:
        jit.set_enabled(old)
    assert subnormal_seen > 0, "the unflushed oracle never produced a subnormal v: the test tests nothing"
    np.testing.assert_array_equal(flushed.value, plain.value)  # the flush changed no weight
    assert not np.array_equal(flushed.value, start)
