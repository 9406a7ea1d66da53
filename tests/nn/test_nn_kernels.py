"""The layer and loss kernels against the NumPy formulas they replace, and the model's fused training plan.

Bias + ReLU and the ReLU mask + db keep NumPy's operation order: bit-identical.
The softmax cross-entropy kernel uses numba's exp/log and a sequential sum
where NumPy has SIMD functions and a pairwise sum, so it is compared within
a stated tolerance: dJ/dz within 8 ulp of 1 divided by m (the probabilities
are at most 1, the gradient is divided by m), the loss within 8 ulp of
itself, logits and the accuracy count exact.
"""

import numpy as np
import pytest

from tunenet import jit, mlp
from tunenet.errors import DataError
from tunenet.nn import Dense, ReLU, Sequential
from tunenet.nn.layers import bias_relu_kernel, relu_mask_db_inplace_kernel, relu_mask_db_kernel
from tunenet.nn.losses import (
    SoftmaxCrossEntropy,
    add_penalty_grad,
    l2_grad_kernel,
    regularized_segments,
    softmax_cross_entropy_kernel,
)

DTYPES = [np.float32, np.float64]


def special(rng, shape, dtype):
    """Random values with exact zeros, -0.0, +-inf and NaN sprinkled in."""
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    picks = rng.choice(flat.size, 8, replace=False)
    flat[picks] = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-30], dtype)
    return a


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_relu_kernel_is_bit_identical(dtype):
    rng = np.random.default_rng(0)
    z = special(rng, (33, 17), dtype)
    b = rng.standard_normal(17).astype(dtype)
    b[:2] = (0.0, -0.0)
    want = z + b
    want = np.maximum(want, np.zeros_like(want))              # Dense's z += b, then ReLU.forward
    got = z.copy()
    bias_relu_kernel(got, b, dtype(0))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # -0.0 where NumPy keeps it


def relu_backward_case(dtype, seed):
    """ReLU outputs ``y``, an upstream gradient ``dout`` (both with special values) and ReLU.backward's ``dz``."""
    rng = np.random.default_rng(seed)
    y = np.maximum(special(rng, (29, 13), dtype), 0)
    dout = special(rng, (29, 13), dtype)
    relu = ReLU()
    relu._y = y
    return y, dout, relu.backward(dout)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_mask_db_kernel_is_bit_identical(dtype):
    y, dout, want_dz = relu_backward_case(dtype, 1)
    want_db = np.add.reduce(want_dz, axis=0)                  # Dense.backward's db
    dz, db = np.empty_like(dout), np.full(13, 99, dtype)
    relu_mask_db_kernel(dout, y, dz, db, dtype(1), dtype(0))
    np.testing.assert_array_equal(dz, want_dz)
    np.testing.assert_array_equal(np.signbit(dz), np.signbit(want_dz))
    np.testing.assert_array_equal(db, want_db)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_mask_db_inplace_kernel_is_bit_identical(dtype):
    """The in-place variant (the bound step's) against ReLU.backward and the out-of-place kernel."""
    y, dout, want_dz = relu_backward_case(dtype, 11)
    dz, db = np.empty_like(dout), np.full(13, 99, dtype)
    relu_mask_db_kernel(dout, y, dz, db, dtype(1), dtype(0))
    d, db_inplace = dout.copy(), np.full(13, 99, dtype)
    relu_mask_db_inplace_kernel(d, y, db_inplace, dtype(1), dtype(0))
    np.testing.assert_array_equal(d, want_dz)
    np.testing.assert_array_equal(np.signbit(d), np.signbit(want_dz))
    assert np.array_equal(d.view(np.uint8), dz.view(np.uint8))
    assert np.array_equal(db_inplace.view(np.uint8), db.view(np.uint8))


def softmax_case(dtype, m=67, k=10, seed=2):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((m, k)) * 4).astype(dtype)
    z[3] = z[3, 0]  # a row of ties: argmax is the first
    b = rng.standard_normal(k).astype(dtype)
    y = rng.integers(0, k, m)
    return z, b, y


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_kernel_matches_data_loss(dtype):
    z, b, y = softmax_case(dtype)
    m, k = z.shape
    logits = z + b
    want_value, want_dz = SoftmaxCrossEntropy().data_loss(logits, y)
    got_z, dz, db = z.copy(), np.empty_like(z), np.empty(k, dtype)
    value, correct, bad = softmax_cross_entropy_kernel(got_z, b, y, dz, db, dtype(m))
    assert bad == -1
    np.testing.assert_array_equal(got_z, logits)               # z += b in place
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(dz, want_dz, rtol=0, atol=8 * eps / m)
    np.testing.assert_allclose(db, np.add.reduce(want_dz, axis=0), rtol=0, atol=8 * eps)
    assert value == pytest.approx(want_value, rel=8 * float(eps))
    assert correct == int(np.count_nonzero(logits.argmax(axis=1) == y))
    assert dz.dtype == dtype


def test_fused_loss_reports_a_bad_label_like_data_loss():
    z, b, y = softmax_case(np.float32)
    y[5] = 10
    loss = SoftmaxCrossEntropy()
    with pytest.raises(DataError) as numpy_error:
        loss.data_loss(z + b, y)
    with pytest.raises(DataError) as fused_error:
        loss.fused_data_loss(z.copy(), b, y, np.empty_like(z), np.empty(10, np.float32))
    assert str(fused_error.value) == str(numpy_error.value)
    assert "index 5" in str(fused_error.value)


def test_softmax_kernel_nan_logit_gives_nan_loss():
    z, b, y = softmax_case(np.float32, m=8)
    z[4, 7] = np.nan
    value, _, _ = softmax_cross_entropy_kernel(z, b, y, np.empty_like(z), np.empty(10, np.float32), np.float32(8))
    assert np.isnan(value)  # the trainer's divergence check sees it


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_grad_kernel_is_bit_identical_to_add_penalty_grad(dtype):
    """The same two roundings per element (product, then sum) over the regularised segments only."""
    model = mlp(7, [5, 3], 2, batchnorm="after", seed=2, dtype=dtype)  # weights, biases, gamma/beta interleaved
    rng = np.random.default_rng(3)
    model.flat_values[...] = special(rng, model.flat_values.shape, dtype)
    grads = special(rng, model.flat_grads.shape, dtype)
    segments = regularized_segments(model.flat)
    assert segments.shape == (3, 2) and model.flat.regularized.sum() == (segments[:, 1] - segments[:, 0]).sum()
    model.flat_grads[...] = grads
    add_penalty_grad(model.flat.params, 0.3, 0.0, 7)
    want = model.flat_grads.copy()
    got = grads.copy()
    l2_grad_kernel(model.flat_values, got, segments, dtype(0.3 / 7))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert not np.array_equal(got, grads)  # it did add the penalty
    untouched = ~model.flat.regularized
    np.testing.assert_array_equal(got[untouched], grads[untouched])


@pytest.mark.parametrize("dtype", DTYPES)
def test_model_l2_gradient_takes_the_kernel_and_matches_numpy(dtype):
    fused, plain = models(lambda: mlp(9, [6], 3, output="linear", seed=8, dtype=dtype))
    assert fused._fused_penalty and not plain._fused_penalty
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((11, 9)).astype(dtype), rng.standard_normal((11, 3))
    got, want = fused.loss_and_grads(X, y, l2=0.5)[0], plain.loss_and_grads(X, y, l2=0.5)[0]
    assert got == want
    np.testing.assert_array_equal(fused.flat_grads, plain.flat_grads)


def models(make):
    """The same model built with the kernels on and off."""
    old = jit.set_enabled(True)
    try:
        fused = make()
        jit.set_enabled(False)
        plain = make()
    finally:
        jit.set_enabled(old)
    return fused, plain


def test_fused_pairs_are_bit_identical_to_layer_by_layer():
    """A linear output leaves only Dense -> ReLU pairs fused: forward and gradients equal NumPy's bit for bit."""
    fused, plain = models(lambda: mlp(12, [16, 9], 3, output="linear", keep_prob=[1.0, 0.7], seed=4))
    assert len(fused._train_forward) < len(plain._train_forward)
    rng = np.random.default_rng(5)
    for rows in (40, 40, 13):
        X, y = rng.standard_normal((rows, 12)).astype(np.float32), rng.standard_normal((rows, 3))
        got, want = fused.loss_and_grads(X, y), plain.loss_and_grads(X, y)
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(fused.flat_grads, plain.flat_grads)
        relu = fused.layers[1]
        np.testing.assert_array_equal(relu._y, plain.layers[1]._y)  # the health monitor's cache


@pytest.mark.parametrize("kwargs", [{}, {"batchnorm": "after"}, {"keep_prob": 0.8}])
def test_fused_softmax_model_matches_numpy_passes(kwargs):
    fused, plain = models(lambda: mlp(12, [16, 9], 4, seed=6, **kwargs))
    assert fused._fused_head and not plain._fused_head
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((50, 12)).astype(np.float32), rng.integers(0, 4, 50)
    value, logits = fused.loss_and_grads(X, y, l2=1e-2)
    want, want_logits = plain.loss_and_grads(X, y, l2=1e-2)
    assert value == pytest.approx(want, rel=1e-6)
    np.testing.assert_array_equal(logits, want_logits)
    np.testing.assert_allclose(fused.flat_grads, plain.flat_grads, rtol=1e-5, atol=1e-7)
    assert fused.last_correct == int(np.count_nonzero(want_logits.argmax(1) == y))
    assert plain.last_correct is None


def test_float64_models_and_one_hot_labels_take_the_numpy_passes():
    model = mlp(5, [4], 3, seed=0)
    assert model._fused_head
    assert not model.astype(np.float64)._fused_head  # gradient checking reads the NumPy maths
    X = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    model.loss_and_grads(X, np.eye(3)[[0, 1, 2, 0, 1, 2]])
    assert model.last_correct is None


def test_a_copied_model_keeps_its_own_plan():
    import copy

    model = Sequential([Dense(4, 6), ReLU(), Dense(6, 2)])
    clone = copy.deepcopy(model)
    X, y = np.ones((3, 4), np.float32), np.array([0, 1, 1])
    clone.loss_and_grads(X, y)
    assert clone.layers[1]._y is clone.layers[0]._buffers[("z", (3, 6), np.dtype(np.float32))]
    assert getattr(model.layers[1], "_y", None) is None  # the original's layers were not touched
