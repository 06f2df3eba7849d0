"""pydl.ops neural-network ops (pydl/_nn.pyx): activations, softmax, losses,
bias, dropout, batch normalisation and optimizer updates, against float64
numpy references, central finite differences, PyTorch's formulas (and
torch itself when it is importable), plus thread determinism and errors."""
import math

import numpy as np
import pytest

import pydl
from helpers import DTYPE_IDS, DTYPES, finite_diff_grad, isa, needs_openmp, rand

ops = pydl.ops
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)

SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 3, 4), (4097,), (2, 0, 3)]


def tol(dtype):
    """(rtol, atol) for element-wise results against a float64 reference."""
    return (2e-6, 2e-7) if dtype == np.float32 else (1e-13, 1e-15)


def assert_close(got, ref, dtype, scale=1.0):
    rtol, atol = tol(dtype)
    assert got.dtype == np.dtype(dtype)
    assert got.shape == np.shape(ref)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol * scale)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


# --------------------------------------------------------------------------
# float64 references
# --------------------------------------------------------------------------
def f64(a):
    return np.asarray(a, dtype=np.float64)


def relu_ref(x):
    return np.maximum(f64(x), 0.0)


def leaky_ref(x, s):
    x = f64(x)
    return np.where(x > 0, x, s * x)


def sigmoid_ref(x):
    x = f64(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def softmax_ref(x):
    x = f64(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax_ref(x):
    x = f64(x)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def ce_ref(logits, labels):
    ls = log_softmax_ref(logits)
    n = ls.shape[0]
    loss = -ls[np.arange(n), labels].mean()
    grad = np.exp(ls)
    grad[np.arange(n), labels] -= 1.0
    return loss, grad / n


def bce_ref(x, t):
    x, t = f64(x), f64(t)
    loss = np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))
    return loss, (sigmoid_ref(x) - t) / x.size


def bn_ref(x, gamma, beta, mean=None, var=None, eps=1e-5):
    x = f64(x)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if mean is None:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
    invstd = 1.0 / np.sqrt(f64(var) + eps)
    y = (x - f64(mean).reshape(shape)) * (invstd * f64(gamma)).reshape(shape) + \
        f64(beta).reshape(shape)
    return y, f64(mean), invstd


# --------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------
ACTS = {
    "relu": (ops.relu, ops.relu_backward, relu_ref, lambda g, x, y: g * (y > 0), "y"),
    "sigmoid": (ops.sigmoid, ops.sigmoid_backward, sigmoid_ref,
                lambda g, x, y: g * y * (1 - y), "y"),
    "tanh": (ops.tanh, ops.tanh_backward, lambda x: np.tanh(f64(x)),
             lambda g, x, y: g * (1 - y * y), "y"),
}


@dtypes
@pytest.mark.parametrize("name", sorted(ACTS))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_activation_reference(name, shape, dtype, rng):
    fwd, bwd, ref, bwd_ref, _ = ACTS[name]
    x = (3 * rand(shape, np.float64, rng)).astype(dtype)
    y = fwd(x)
    assert_close(y, ref(x), dtype)
    g = rand(shape, dtype, rng)
    gx = bwd(g, y)
    assert_close(gx, bwd_ref(f64(g), f64(x), f64(y)), dtype, scale=4)


@dtypes
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_leaky_relu_reference(shape, dtype, rng):
    x = rand(shape, dtype, rng)
    for slope in (0.01, 0.2, -0.5):
        assert_close(ops.leaky_relu(x, slope), leaky_ref(x, slope), dtype)
        g = rand(shape, dtype, rng)
        ref = np.where(f64(x) > 0, f64(g), slope * f64(g))
        assert_close(ops.leaky_relu_backward(g, x, slope), ref, dtype)
    assert_close(ops.leaky_relu(x), leaky_ref(x, 0.01), dtype)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_activation_finite_difference(name, rng):
    x = rand((3, 4), np.float64, rng) * 2
    x[np.abs(x) < 0.05] = 0.3  # keep away from the ReLU kink
    w = rand((3, 4), np.float64, rng)
    if name == "leaky_relu":
        f = lambda v: float(np.sum(w * ops.leaky_relu(v, 0.1)))
        grad = ops.leaky_relu_backward(w, x, 0.1)
    else:
        fwd, bwd = ACTS[name][:2]
        f = lambda v: float(np.sum(w * fwd(v)))
        grad = bwd(w, fwd(x))
    np.testing.assert_allclose(grad, finite_diff_grad(f, x), rtol=1e-7, atol=1e-9)


@dtypes
def test_sigmoid_stable_tails(dtype):
    x = np.array([-1e4, -800.0, -100.0, -30.0, 0.0, 30.0, 100.0, 800.0, 1e4], dtype=dtype)
    y = ops.sigmoid(x)
    assert np.all(np.isfinite(y))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[4] == 0.5
    np.testing.assert_allclose(y[3], math.exp(-30.0), rtol=1e-5)


def test_nan_propagates():
    x = np.array([np.nan, -1.0, 2.0], np.float32)
    for fn in (ops.relu, ops.sigmoid, ops.tanh, ops.leaky_relu):
        assert np.isnan(fn(x)[0])
    assert ops.relu(x)[1] == 0.0


@dtypes
def test_in_place_out(dtype, rng):
    x = rand((5, 6), dtype, rng)
    ref = relu_ref(x)
    assert ops.relu(x, out=x) is x
    assert_close(x, ref, dtype)
    x = rand((5, 6), dtype, rng)
    ref = softmax_ref(x)
    assert ops.softmax(x, x) is x
    assert_close(x, ref, dtype, scale=4)
    g, y = rand((5, 6), dtype, rng), ops.sigmoid(rand((5, 6), dtype, rng))
    ref = f64(g) * f64(y) * (1 - f64(y))
    assert ops.sigmoid_backward(g, y, out=g) is g
    assert_close(g, ref, dtype, scale=4)


def test_out_receives_result_and_converts_inputs(rng):
    x = rand((4, 10), np.float64, rng)[:, ::2]  # non-contiguous input is copied
    out = np.full((4, 5), np.nan)
    assert ops.tanh(x, out=out) is out
    np.testing.assert_allclose(out, np.tanh(x), rtol=1e-14)
    assert ops.relu([[1.0, -2.0]]).tolist() == [[1.0, 0.0]]
    xb = np.array([1.0, -2.0], dtype=">f8")  # byte-swapped
    assert ops.relu(xb).tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------
# Softmax
# --------------------------------------------------------------------------
@dtypes
@pytest.mark.parametrize("shape", [(1,), (5,), (3, 1), (4, 7), (2, 3, 33), (0, 4), (3, 0),
                                   (300, 10)], ids=str)
def test_softmax_reference(shape, dtype, rng):
    x = (5 * rand(shape, np.float64, rng)).astype(dtype)
    y = ops.softmax(x)
    ly = ops.log_softmax(x)
    if x.size:
        assert_close(y, softmax_ref(x), dtype, scale=4)
        assert_close(ly, log_softmax_ref(x), dtype, scale=40)
    g = rand(shape, dtype, rng)
    ref = f64(y) * (f64(g) - np.sum(f64(g) * f64(y), axis=-1, keepdims=True))
    assert_close(ops.softmax_backward(g, y), ref, dtype, scale=8)
    ref = f64(g) - np.exp(f64(ly)) * np.sum(f64(g), axis=-1, keepdims=True)
    assert_close(ops.log_softmax_backward(g, ly), ref, dtype, scale=40)


@dtypes
def test_softmax_large_logits(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4 - 1]], dtype=dtype)
    y, ly = ops.softmax(x), ops.log_softmax(x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(ly))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y[1], 1 / 3, rtol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_finite_difference(name, rng):
    x = rand((3, 5), np.float64, rng) * 3
    w = rand((3, 5), np.float64, rng)
    fwd = getattr(ops, name)
    bwd = getattr(ops, name + "_backward")
    grad = bwd(w, fwd(x))
    num = finite_diff_grad(lambda v: float(np.sum(w * fwd(v))), x)
    np.testing.assert_allclose(grad, num, rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------
@dtypes
@pytest.mark.parametrize("n,c", [(1, 1), (1, 5), (7, 3), (64, 10), (130, 257)])
def test_softmax_cross_entropy_reference(n, c, dtype, rng):
    logits = (4 * rand((n, c), np.float64, rng)).astype(dtype)
    labels = rng.integers(0, c, size=n)
    loss, grad = ops.softmax_cross_entropy(logits, labels)
    rloss, rgrad = ce_ref(logits, labels)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, rloss, rtol=1e-6 if dtype == np.float32 else 1e-13)
    assert_close(grad, rgrad, dtype, scale=4.0 / n)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int32, np.uint64, np.int64])
def test_softmax_cross_entropy_label_dtypes(label_dtype, rng):
    logits = rand((6, 4), np.float64, rng)
    labels = np.array([0, 3, 1, 2, 3, 0], dtype=label_dtype)
    loss, grad = ops.softmax_cross_entropy(logits, labels)
    rloss, rgrad = ce_ref(logits, labels.astype(np.int64))
    np.testing.assert_allclose(loss, rloss, rtol=1e-13)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-12, atol=1e-16)
    loss_list, _ = ops.softmax_cross_entropy(logits, [0, 3, 1, 2, 3, 0])
    assert loss_list == loss


def test_softmax_cross_entropy_finite_difference(rng):
    logits = rand((4, 6), np.float64, rng) * 2
    labels = np.array([5, 0, 2, 2])
    _, grad = ops.softmax_cross_entropy(logits, labels)
    num = finite_diff_grad(lambda v: ops.softmax_cross_entropy(v, labels)[0], logits)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


@dtypes
def test_softmax_cross_entropy_large_logits(dtype, torch):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    labels = np.array([1, 1, 0])
    loss, grad = ops.softmax_cross_entropy(logits, labels)
    assert math.isfinite(loss) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(loss, (2e4 + 0 + math.log(2)) / 3, rtol=1e-6)
    t = torch.tensor(logits.astype(np.float64), requires_grad=True)
    tl = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    tl.backward()
    np.testing.assert_allclose(loss, tl.item(), rtol=1e-6)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_softmax_cross_entropy_grad_out(rng):
    logits = rand((5, 3), np.float32, rng)
    labels = np.array([0, 1, 2, 1, 0])
    ref_loss, ref_grad = ops.softmax_cross_entropy(logits, labels)
    g = np.empty_like(logits)
    loss, grad = ops.softmax_cross_entropy(logits, labels, grad_out=g)
    assert grad is g and loss == ref_loss
    np.testing.assert_array_equal(g, ref_grad)
    loss, grad = ops.softmax_cross_entropy(logits, labels, logits)  # in place
    assert grad is logits and loss == ref_loss
    np.testing.assert_array_equal(logits, ref_grad)


@dtypes
@pytest.mark.parametrize("shape", [(1,), (3, 4), (2, 3, 5), (5000,), (), (70000,)], ids=str)
def test_mse_and_bce_reference(shape, dtype, rng):
    a, b = rand(shape, dtype, rng), rand(shape, dtype, rng)
    size = max(a.size, 1)
    loss, grad = ops.mse_loss(a, b)
    d = f64(a) - f64(b)
    np.testing.assert_allclose(loss, np.mean(d * d), rtol=1e-12)
    assert_close(grad, 2 * d / size, dtype, scale=1.0 / size)
    x = (6 * rand(shape, np.float64, rng)).astype(dtype)
    t = rng.uniform(0, 1, size=shape).astype(dtype)
    loss, grad = ops.binary_cross_entropy_with_logits(x, t)
    rloss, rgrad = bce_ref(x, t)
    np.testing.assert_allclose(loss, rloss, rtol=1e-6 if dtype == np.float32 else 1e-13)
    assert_close(grad, rgrad, dtype, scale=2.0 / size)


def test_losses_finite_difference_and_torch(rng, torch):
    a, b = rand((3, 4), np.float64, rng), rand((3, 4), np.float64, rng)
    _, grad = ops.mse_loss(a, b)
    num = finite_diff_grad(lambda v: ops.mse_loss(v, b)[0], a)
    np.testing.assert_allclose(grad, num, rtol=1e-7, atol=1e-10)
    x = 5 * a
    t = rng.uniform(0, 1, size=(3, 4))
    loss, grad = ops.binary_cross_entropy_with_logits(x, t)
    num = finite_diff_grad(lambda v: ops.binary_cross_entropy_with_logits(v, t)[0], x)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-10)
    tx = torch.tensor(x, requires_grad=True)
    tl = torch.nn.functional.binary_cross_entropy_with_logits(tx, torch.tensor(t))
    tl.backward()
    np.testing.assert_allclose(loss, tl.item(), rtol=1e-13)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-12, atol=1e-16)


def test_bce_large_logits():
    x = np.array([1e4, -1e4, 50.0, -50.0], np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    loss, grad = ops.binary_cross_entropy_with_logits(x, t)
    assert math.isfinite(loss) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(loss, (1e4 + 1e4 + 2 * math.log1p(math.exp(-50))) / 4, rtol=1e-6)


# --------------------------------------------------------------------------
# Bias
# --------------------------------------------------------------------------
@dtypes
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (4, 300), (2, 3, 7), (2, 4, 5, 6),
                                   (0, 3), (3, 2, 0), (600, 5)], ids=str)
def test_bias_reference(shape, dtype, rng):
    x = rand(shape, dtype, rng)
    b = rand((shape[1],), dtype, rng)
    bshape = (1, -1) + (1,) * (len(shape) - 2)
    assert_close(ops.bias_add(x, b), f64(x) + f64(b).reshape(bshape), dtype)
    axes = (0,) + tuple(range(2, len(shape)))
    m = max(x.size // max(shape[1], 1), 1)
    assert_close(ops.bias_grad(x), f64(x).sum(axis=axes), dtype, scale=m)


def test_bias_finite_difference(rng):
    x = rand((3, 4, 2, 2), np.float64, rng)
    b = rand((4,), np.float64, rng)
    w = rand(x.shape, np.float64, rng)
    num = finite_diff_grad(lambda v: float(np.sum(w * ops.bias_add(x, v))), b)
    np.testing.assert_allclose(ops.bias_grad(w), num, rtol=1e-8, atol=1e-10)
    out = np.empty(4)
    assert ops.bias_grad(w, out=out) is out


# --------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------
_G = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(z):
    z = np.asarray(z, dtype=np.uint64) + _G
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def dropout_mask_ref(n, p, seed):
    """The documented stream: element i is kept iff (h_i >> 11) >= ceil(p * 2^53)."""
    with np.errstate(over="ignore"):
        key = _splitmix(np.uint64(seed % (1 << 64)))
        h = _splitmix(key + np.arange(n, dtype=np.uint64) * _G)
    return ((h >> np.uint64(11)) >= np.uint64(math.ceil(p * 2.0 ** 53))).astype(np.uint8)


@dtypes
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9])
def test_dropout_reference(p, dtype, rng):
    x = rand((37, 129), dtype, rng)
    y, mask = ops.dropout(x, p, 1234)
    assert mask.dtype == np.uint8 and mask.shape == x.shape
    np.testing.assert_array_equal(mask.ravel(), dropout_mask_ref(x.size, p, 1234))
    scale = dtype(1.0 / (1.0 - p))
    np.testing.assert_array_equal(y, np.where(mask == 1, x * scale, 0).astype(dtype))
    g = rand(x.shape, dtype, rng)
    gx = ops.dropout_backward(g, mask, p)
    np.testing.assert_array_equal(gx, np.where(mask == 1, g * scale, 0).astype(dtype))
    np.testing.assert_array_equal(ops.dropout_backward(g, mask.astype(bool), p), gx)
    if p == 0.0:
        assert mask.all()


def test_dropout_seeds_and_rate(rng):
    x = np.ones(200_000, np.float32)
    y1, m1 = ops.dropout(x, 0.3, 7)
    y2, m2 = ops.dropout(x, 0.3, 7)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(y1, y2)
    _, m3 = ops.dropout(x, 0.3, 8)
    assert not np.array_equal(m1, m3)
    assert abs(m1.mean() - 0.7) < 0.005
    _, m_neg = ops.dropout(x[:100], 0.3, -1)  # taken modulo 2**64
    np.testing.assert_array_equal(m_neg, ops.dropout(x[:100], 0.3, 2 ** 64 - 1)[1])
    _, m_np = ops.dropout(x[:100], 0.3, np.int64(7))
    np.testing.assert_array_equal(m_np, m1[:100])


def test_dropout_out_buffers(rng):
    x = rand((10, 10), np.float64, rng)
    y_ref, m_ref = ops.dropout(x, 0.5, 3)
    out, mo = np.empty_like(x), np.empty(x.shape, np.uint8)
    y, m = ops.dropout(x, 0.5, 3, out=out, mask_out=mo)
    assert y is out and m is mo
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(m, m_ref)
    y, m = ops.dropout(x, 0.5, 3, x)  # in place
    assert y is x
    np.testing.assert_array_equal(x, y_ref)


# --------------------------------------------------------------------------
# Batch normalisation
# --------------------------------------------------------------------------
@dtypes
@pytest.mark.parametrize("shape", [(2, 3), (16, 5), (2, 3, 4, 5), (3, 2, 1, 7), (4, 3, 6)],
                         ids=str)
def test_batch_norm_forward_reference(shape, dtype, rng):
    x = (3 * rand(shape, np.float64, rng) + 1.5).astype(dtype)
    c = shape[1]
    gamma, beta = rand((c,), dtype, rng), rand((c,), dtype, rng)
    rm0 = rand((c,), dtype, rng)
    rv0 = rng.uniform(0.5, 2.0, size=c).astype(dtype)
    rm, rv = rm0.copy(), rv0.copy()
    y, sm, si = ops.batch_norm_forward(x, gamma, beta, rm, rv, True, momentum=0.2, eps=1e-3)
    ry, rmean, rinv = bn_ref(x, gamma, beta, eps=1e-3)
    rt = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ry, rtol=rt, atol=rt)
    np.testing.assert_allclose(sm, rmean, rtol=rt, atol=rt)
    np.testing.assert_allclose(si, rinv, rtol=rt)
    m = x.size // c
    axes = (0,) + tuple(range(2, x.ndim))
    unbiased = f64(x).var(axis=axes) * m / (m - 1)
    np.testing.assert_allclose(rm, 0.8 * f64(rm0) + 0.2 * rmean, rtol=rt, atol=rt)
    np.testing.assert_allclose(rv, 0.8 * f64(rv0) + 0.2 * unbiased, rtol=rt)
    # inference: running statistics used and left unchanged
    rm1, rv1 = rm.copy(), rv.copy()
    y, sm, si = ops.batch_norm_forward(x, gamma, beta, rm, rv, False, eps=1e-3)
    ry, _, rinv = bn_ref(x, gamma, beta, rm1, rv1, eps=1e-3)
    np.testing.assert_allclose(y, ry, rtol=rt, atol=rt)
    np.testing.assert_array_equal(sm, rm1)
    np.testing.assert_allclose(si, rinv, rtol=rt)
    np.testing.assert_array_equal(rm, rm1)
    np.testing.assert_array_equal(rv, rv1)


def test_batch_norm_no_affine_no_running(rng):
    x = rand((6, 3, 2, 2), np.float64, rng)
    y, sm, si = ops.batch_norm_forward(x, None, None, None, None, True)
    ry, _, _ = bn_ref(x, np.ones(3), np.zeros(3))
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 3, 2)], ids=str)
def test_batch_norm_backward_finite_difference(shape, rng):
    x = rand(shape, np.float64, rng) * 2
    c = shape[1]
    gamma, beta = rand((c,), np.float64, rng), rand((c,), np.float64, rng)
    w = rand(shape, np.float64, rng)

    def f(xv, gv=gamma, bv=beta):
        return float(np.sum(w * ops.batch_norm_forward(xv, gv, bv, None, None, True)[0]))

    _, sm, si = ops.batch_norm_forward(x, gamma, beta, None, None, True)
    gx, gg, gb = ops.batch_norm_backward(w, x, gamma, sm, si)
    np.testing.assert_allclose(gx, finite_diff_grad(f, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gg, finite_diff_grad(lambda v: f(x, v), gamma), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(gb, finite_diff_grad(lambda v: f(x, gamma, v), beta),
                               rtol=1e-6, atol=1e-8)
    gx2, _, _ = ops.batch_norm_backward(w, x, gamma, sm, si, out=w)  # in place over grad_y
    np.testing.assert_array_equal(gx2, gx)


@dtypes
def test_batch_norm_against_torch(dtype, torch, rng):
    x = rand((4, 3, 5, 5), dtype, rng) + 0.5
    gamma, beta = rand((3,), dtype, rng), rand((3,), dtype, rng)
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    y, sm, si = ops.batch_norm_forward(x, gamma, beta, rm, rv, True, 0.1, 1e-5)
    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(gamma, requires_grad=True)
    tb = torch.tensor(beta, requires_grad=True)
    trm, trv = torch.zeros(3, dtype=tx.dtype), torch.ones(3, dtype=tx.dtype)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, True, 0.1, 1e-5)
    rt = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rt, atol=rt)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=rt, atol=rt)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=rt, atol=rt)
    g = rand(x.shape, dtype, rng)
    ty.backward(torch.tensor(g))
    gx, gg, gb = ops.batch_norm_backward(g, x, gamma, sm, si)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=10 * rt, atol=10 * rt)
    np.testing.assert_allclose(gg, tg.grad.numpy(), rtol=10 * rt, atol=10 * rt)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=10 * rt, atol=10 * rt)


# --------------------------------------------------------------------------
# Optimizers: numpy transcriptions of torch.optim's algorithms (float64)
# --------------------------------------------------------------------------
def sgd_ref(p, g, buf, lr, momentum, dampening, nesterov, wd, first):
    g = g + wd * p
    if momentum != 0:
        buf = g.copy() if first else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf


def adam_ref(p, g, m, v, step, lr, b1, b2, eps, wd, decoupled):
    if wd != 0:
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
    m = m + (1 - b1) * (g - m)
    v = b2 * v + (1 - b2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - b2 ** step) + eps
    return p - lr / (1 - b1 ** step) * m / denom, m, v


def rmsprop_ref(p, g, sq, buf, lr, alpha, eps, wd, momentum):
    g = g + wd * p
    sq = alpha * sq + (1 - alpha) * g * g
    avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf = momentum * buf + g / avg
        return p - lr * buf, sq, buf
    return p - lr * g / avg, sq, buf


SGD_CASES = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9,
             dampening=0.3, weight_decay=0.01), dict(lr=0.02, momentum=0.8, nesterov=True,
             weight_decay=0.1)]
ADAM_CASES = [dict(), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, weight_decay=0.1,
              decoupled_weight_decay=True), dict(lr=0.003, beta1=0.5, beta2=0.9, eps=1e-6)]
RMS_CASES = [dict(), dict(lr=0.001, alpha=0.9, weight_decay=0.05),
             dict(lr=0.002, momentum=0.9), dict(lr=0.01, momentum=0.5, weight_decay=0.1)]


def _opt_tol(dtype):
    return dict(rtol=3e-6, atol=3e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


@dtypes
@pytest.mark.parametrize("case", range(len(SGD_CASES)))
def test_sgd_against_reference(case, dtype, rng):
    kw = SGD_CASES[case]
    p = rand((7, 5), dtype, rng)
    vel = np.zeros_like(p) if kw.get("momentum") else None
    rp, rbuf = p.astype(np.float64), None
    for step in range(1, 6):
        g = rand(p.shape, dtype, rng)
        assert ops.sgd_update(p, g, vel, first_step=step == 1, **kw) is None
        rp, rbuf = sgd_ref(rp, f64(g), rbuf, kw["lr"], kw.get("momentum", 0.0),
                           kw.get("dampening", 0.0), kw.get("nesterov", False),
                           kw.get("weight_decay", 0.0), step == 1)
        np.testing.assert_allclose(p, rp, **_opt_tol(dtype))
        if vel is not None:
            np.testing.assert_allclose(vel, rbuf, **_opt_tol(dtype))


@dtypes
@pytest.mark.parametrize("case", range(len(ADAM_CASES)))
def test_adam_against_reference(case, dtype, rng):
    kw = ADAM_CASES[case]
    full = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                decoupled_weight_decay=False)
    full.update(kw)
    p = rand((6, 4), dtype, rng)
    m, v = np.zeros_like(p), np.zeros_like(p)
    rp, rm, rv = p.astype(np.float64), np.zeros(p.shape), np.zeros(p.shape)
    for step in range(1, 6):
        g = rand(p.shape, dtype, rng)
        ops.adam_update(p, g, m, v, step, **kw)
        rp, rm, rv = adam_ref(rp, f64(g), rm, rv, step, *full.values())
        np.testing.assert_allclose(p, rp, **_opt_tol(dtype))
        np.testing.assert_allclose(m, rm, **_opt_tol(dtype))
        np.testing.assert_allclose(v, rv, **_opt_tol(dtype))


@dtypes
@pytest.mark.parametrize("case", range(len(RMS_CASES)))
def test_rmsprop_against_reference(case, dtype, rng):
    kw = RMS_CASES[case]
    full = dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0)
    full.update(kw)
    p = rand((6, 4), dtype, rng)
    sq = np.zeros_like(p)
    buf = np.zeros_like(p) if full["momentum"] > 0 else None
    rp, rsq, rbuf = p.astype(np.float64), np.zeros(p.shape), np.zeros(p.shape)
    for _ in range(5):
        g = rand(p.shape, dtype, rng)
        ops.rmsprop_update(p, g, sq, momentum_buffer=buf, **kw)
        rp, rsq, rbuf = rmsprop_ref(rp, f64(g), rsq, rbuf, *full.values())
        # 1/sqrt(square_avg) amplifies float32 rounding of the first tiny averages
        tol = _opt_tol(dtype) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(p, rp, **tol)
        np.testing.assert_allclose(sq, rsq, **tol)


def _torch_steps(torch, make_opt, p0, grads):
    tp = torch.nn.Parameter(torch.tensor(p0.copy()))
    opt = make_opt([tp])
    for g in grads:
        tp.grad = torch.tensor(g)
        opt.step()
    return tp.detach().numpy()


@dtypes
def test_optimizers_against_torch(dtype, torch, rng):
    p0 = rand((50,), dtype, rng)
    grads = [rand(p0.shape, dtype, rng) for _ in range(6)]
    tol = _opt_tol(dtype) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)

    for kw in SGD_CASES:
        p = p0.copy()
        vel = np.zeros_like(p) if kw.get("momentum") else None
        for i, g in enumerate(grads):
            ops.sgd_update(p, g, vel, first_step=i == 0, **kw)
        ref = _torch_steps(torch, lambda ps: torch.optim.SGD(ps, **kw), p0, grads)
        np.testing.assert_allclose(p, ref, **tol, err_msg=str(kw))

    for kw in ADAM_CASES:
        p = p0.copy()
        m, v = np.zeros_like(p), np.zeros_like(p)
        for i, g in enumerate(grads):
            ops.adam_update(p, g, m, v, i + 1, **kw)
        tkw = dict(lr=kw.get("lr", 1e-3), betas=(kw.get("beta1", 0.9), kw.get("beta2", 0.999)),
                   eps=kw.get("eps", 1e-8), weight_decay=kw.get("weight_decay", 0.0))
        cls = torch.optim.AdamW if kw.get("decoupled_weight_decay") else torch.optim.Adam
        ref = _torch_steps(torch, lambda ps: cls(ps, **tkw), p0, grads)
        np.testing.assert_allclose(p, ref, **tol, err_msg=str(kw))

    for kw in RMS_CASES:
        p = p0.copy()
        sq = np.zeros_like(p)
        buf = np.zeros_like(p) if kw.get("momentum", 0) > 0 else None
        for g in grads:
            ops.rmsprop_update(p, g, sq, momentum_buffer=buf, **kw)
        ref = _torch_steps(torch, lambda ps: torch.optim.RMSprop(ps, **kw), p0, grads)
        rtol = tol if dtype == np.float64 else dict(rtol=5e-5, atol=5e-6)
        np.testing.assert_allclose(p, ref, **rtol, err_msg=str(kw))


def test_sgd_without_velocity_and_grad_layouts(rng):
    p = rand((4, 6), np.float64, rng)
    g = rand((6, 4), np.float64, rng).T  # non-contiguous grad is fine
    expected = p - 0.5 * g
    ops.sgd_update(p, g, None, 0.5)
    np.testing.assert_allclose(p, expected, rtol=1e-15)


# --------------------------------------------------------------------------
# Determinism: 1 thread vs 2 threads, bitwise
# --------------------------------------------------------------------------
def _all_ops(rng, dtype):
    x = rand((300, 257), dtype, rng)
    g = rand(x.shape, dtype, rng)
    x4 = rand((8, 16, 24, 24), dtype, rng)
    g4 = rand(x4.shape, dtype, rng)
    labels = rng.integers(0, 257, size=300)
    c = x4.shape[1]
    gam, bet = rand((c,), dtype, rng), rand((c,), dtype, rng)
    y4, sm, si = ops.batch_norm_forward(x4, gam, bet, None, None, True)

    def bn_train():
        rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
        return ops.batch_norm_forward(x4, gam, bet, rm, rv, True) + (rm, rv)

    def optim():
        p, m, v = x.copy(), np.zeros_like(x), np.zeros_like(x)
        vel, sq, buf = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
        ps, pr = x.copy(), x.copy()
        for step in (1, 2):
            ops.adam_update(p, g, m, v, step, weight_decay=0.01)
            ops.sgd_update(ps, g, vel, 0.1, 0.9, nesterov=True, first_step=step == 1)
            ops.rmsprop_update(pr, g, sq, momentum=0.5, momentum_buffer=buf)
        return p, m, v, ps, vel, pr, sq, buf

    return {
        "relu": lambda: ops.relu(x), "relu_backward": lambda: ops.relu_backward(g, x),
        "leaky_relu": lambda: ops.leaky_relu(x, 0.1),
        "leaky_relu_backward": lambda: ops.leaky_relu_backward(g, x, 0.1),
        "sigmoid": lambda: ops.sigmoid(x), "sigmoid_backward": lambda: ops.sigmoid_backward(g, x),
        "tanh": lambda: ops.tanh(x), "tanh_backward": lambda: ops.tanh_backward(g, x),
        "softmax": lambda: ops.softmax(x), "log_softmax": lambda: ops.log_softmax(x),
        "softmax_backward": lambda: ops.softmax_backward(g, x),
        "log_softmax_backward": lambda: ops.log_softmax_backward(g, x),
        "softmax_cross_entropy": lambda: ops.softmax_cross_entropy(x, labels),
        "mse_loss": lambda: ops.mse_loss(x, g),
        "bce": lambda: ops.binary_cross_entropy_with_logits(x, g),
        "bias_add": lambda: ops.bias_add(x4, gam), "bias_grad": lambda: ops.bias_grad(g4),
        "bias_grad_2d": lambda: ops.bias_grad(g),
        "dropout": lambda: ops.dropout(x, 0.4, 99),
        "dropout_backward": lambda: ops.dropout_backward(g, ops.dropout(x, 0.4, 99)[1], 0.4),
        "batch_norm_forward": bn_train,
        "batch_norm_eval": lambda: ops.batch_norm_forward(x4, gam, bet, sm, 1 / si ** 2, False),
        "batch_norm_backward": lambda: ops.batch_norm_backward(g4, x4, gam, sm, si),
        "optimizers": optim,
    }


def _as_list(r):
    return [np.asarray(v) for v in (r if isinstance(r, tuple) else (r,))]


@needs_openmp
@dtypes
def test_one_and_two_threads_bitwise(dtype, rng):
    cases = _all_ops(rng, dtype)
    for name, fn in cases.items():
        with pydl.num_threads(1):
            one = _as_list(fn())
        with pydl.num_threads(2):
            two = _as_list(fn())
        for a, b in zip(one, two):
            assert np.array_equal(a, b, equal_nan=True), name


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
F32 = np.zeros((2, 3), np.float32)
F64 = np.zeros((2, 3), np.float64)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: ops.relu(np.zeros(3, np.int64)), TypeError, "expected x of dtype float32 or float64"),
    (lambda: ops.relu(np.zeros(3, np.float16)), TypeError, "got dtype float16"),
    (lambda: ops.relu_backward(F32, F64), TypeError, "y has dtype float64 but grad_y has dtype"),
    (lambda: ops.relu_backward(F32, F32[:1]), ValueError, r"y has shape \(1, 3\)"),
    (lambda: ops.leaky_relu(F32, "a"), TypeError, "negative_slope must be a real number"),
    (lambda: ops.leaky_relu(F32, float("nan")), ValueError, "negative_slope must be finite"),
    (lambda: ops.relu(F32, out=[0.0]), TypeError, "out must be a numpy.ndarray"),
    (lambda: ops.relu(F32, out=np.zeros((3, 2), np.float32)), ValueError, "out has shape"),
    (lambda: ops.relu(F32, out=np.zeros((2, 3))), ValueError, "out has dtype float64"),
    (lambda: ops.relu(F32, out=np.zeros((3, 2), np.float32).T), ValueError, "C-contiguous"),
    (lambda: ops.softmax(np.float32(1.0)), ValueError, r"expected x of shape \(\.\.\., C\)"),
    (lambda: ops.softmax_backward(F32, F32.T), ValueError, "has shape"),
    (lambda: ops.softmax_cross_entropy(np.zeros(3), [0]), ValueError, r"shape \(N, C\)"),
    (lambda: ops.softmax_cross_entropy(F32, [0.0, 1.0]), TypeError, "integer dtype"),
    (lambda: ops.softmax_cross_entropy(F32, [0, 1, 2]), ValueError, r"labels of shape \(N,\)"),
    (lambda: ops.softmax_cross_entropy(F32, [0, 3]), ValueError, r"\[0, 3\); got labels\[1\] = 3"),
    (lambda: ops.softmax_cross_entropy(F32, [-1, 0]), ValueError, r"labels\[0\] = -1"),
    (lambda: ops.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)), ValueError, "N >= 1"),
    (lambda: ops.softmax_cross_entropy(F32, [0, 1], grad_out=F64), ValueError,
     "grad_out has dtype"),
    (lambda: ops.mse_loss(np.zeros(0), np.zeros(0)), ValueError, "at least one element"),
    (lambda: ops.mse_loss(F32, F32[0]), ValueError, "target has shape"),
    (lambda: ops.binary_cross_entropy_with_logits(F32, F64), TypeError, "targets has dtype"),
    (lambda: ops.bias_add(np.zeros(3), np.zeros(3)), ValueError, r"\(N, C\) or"),
    (lambda: ops.bias_add(F32, np.zeros(2, np.float32)), ValueError, r"bias of shape \(C,\)"),
    (lambda: ops.bias_add(F32, np.zeros(3)), TypeError, "bias has dtype float64"),
    (lambda: ops.bias_grad(F32, out=np.zeros(2, np.float32)), ValueError, "out has shape"),
    (lambda: ops.dropout(F32, 1.0, 0), ValueError, r"p must lie in \[0, 1\)"),
    (lambda: ops.dropout(F32, -0.1, 0), ValueError, "p must lie in"),
    (lambda: ops.dropout(F32, 0.5, 1.5), TypeError, "seed must be an int"),
    (lambda: ops.dropout(F32, 0.5, 0, mask_out=np.zeros((2, 3), bool)), ValueError,
     "mask_out has dtype bool"),
    (lambda: ops.dropout_backward(F32, F32, 0.5), TypeError, "expected mask of dtype uint8"),
    (lambda: ops.dropout_backward(F32, np.ones(3, np.uint8), 0.5), ValueError, "mask has shape"),
    (lambda: ops.batch_norm_forward(np.zeros((1, 3)), None, None, None, None, True), ValueError,
     "more than 1 value per channel"),
    (lambda: ops.batch_norm_forward(F64, None, None, None, None, False), ValueError,
     "running_mean is required"),
    (lambda: ops.batch_norm_forward(F64, None, None, np.zeros(3, np.float32), np.ones(3), True),
     TypeError, "running_mean has dtype float32"),
    (lambda: ops.batch_norm_forward(F64, None, None, [0.0] * 3, np.ones(3), True), TypeError,
     "running_mean must be a numpy.ndarray"),
    (lambda: ops.batch_norm_forward(F64, np.ones(2), None, None, None, True), ValueError,
     r"gamma of shape \(C,\)"),
    (lambda: ops.batch_norm_forward(F64, None, None, None, None, True, momentum=2), ValueError,
     "momentum must lie in"),
    (lambda: ops.batch_norm_forward(np.zeros(3), None, None, None, None, True), ValueError,
     r"\(N, C\) or \(N, C, H, W\)"),
    (lambda: ops.batch_norm_backward(F64, F64, None, None, None), ValueError, "save_mean"),
    (lambda: ops.batch_norm_backward(F64, F32, None, np.zeros(3), np.ones(3)), TypeError,
     "x has dtype float32"),
    (lambda: ops.sgd_update([1.0], [1.0], None, 0.1), TypeError, "param must be a numpy.ndarray"),
    (lambda: ops.sgd_update(np.zeros(3, int), np.zeros(3), None, 0.1), TypeError, "dtype"),
    (lambda: ops.sgd_update(F64, F64, None, -0.1), ValueError, "lr must be >= 0"),
    (lambda: ops.sgd_update(F64, F32, None, 0.1), TypeError, "grad has dtype float32"),
    (lambda: ops.sgd_update(F64, F64[:1], None, 0.1), ValueError, "grad has shape"),
    (lambda: ops.sgd_update(F64, F64.copy(), None, 0.1, momentum=0.9), ValueError,
     "needs a velocity buffer"),
    (lambda: ops.sgd_update(F64, F64.copy(), np.zeros((2, 3)), 0.1, 0.9, 0.1, True),
     ValueError, "nesterov=True requires"),
    (lambda: ops.sgd_update(np.zeros((3, 2)).T, np.zeros((2, 3)), None, 0.1), ValueError,
     "param must be C-contiguous"),
    (lambda: ops.adam_update(F64, F64.copy(), np.zeros((2, 3)), np.zeros((2, 3)), 0), ValueError,
     "step must be an int >= 1"),
    (lambda: ops.adam_update(F64, F64.copy(), np.zeros((2, 3)), np.zeros((2, 3)), 1.0),
     TypeError, "step must be an int"),
    (lambda: ops.adam_update(F64, F64.copy(), np.zeros((2, 3)), np.zeros((2, 3)), 1, beta1=1.0),
     ValueError, r"beta1 must lie in \[0, 1\)"),
    (lambda: ops.adam_update(F64, F64.copy(), np.zeros((2, 3), np.float32), np.zeros((2, 3)), 1),
     TypeError, "exp_avg has dtype float32"),
    (lambda: ops.adam_update(F64, F64.copy(), np.zeros(6), np.zeros((2, 3)), 1), ValueError,
     "exp_avg has shape"),
    (lambda: ops.rmsprop_update(F64, F64.copy(), np.zeros((2, 3)), momentum=0.5), ValueError,
     "needs a momentum_buffer"),
    (lambda: ops.rmsprop_update(F64, F64.copy(), np.zeros((2, 3)), alpha=-1), ValueError,
     "alpha must be >= 0"),
    (lambda: ops.rmsprop_update(F64, F64.copy(), np.zeros((2, 3)), lr=True), TypeError,
     "lr must be a real number"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_overlap_and_readonly_errors(rng):
    x = rand((4, 6), np.float64, rng)
    buf = np.zeros(30)
    with pytest.raises(ValueError, match="out overlaps x without being exactly x"):
        ops.relu(buf[:24].reshape(4, 6), out=buf[6:30].reshape(4, 6))
    ro = np.zeros((4, 6))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is not writeable"):
        ops.relu(x, out=ro)
    with pytest.raises(ValueError, match="param is not writeable"):
        ops.sgd_update(ro, x, None, 0.1)
    p = np.zeros(6)
    with pytest.raises(ValueError, match="param and exp_avg share memory"):
        ops.adam_update(p, np.ones(6), p, np.zeros(6), 1)
    rm = np.zeros(3)
    with pytest.raises(ValueError, match="running_mean and running_var share memory"):
        ops.batch_norm_forward(np.ones((4, 3)), None, None, rm, rm, True)
    y = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="mask_out overlaps"):
        mask = y.reshape(-1).view(np.uint8)[:6].reshape(2, 3)
        ops.dropout(np.ones((2, 3), np.float32), 0.5, 0, out=y, mask_out=mask)


def test_failed_call_leaves_out_unchanged():
    logits = np.zeros((2, 3), np.float32)
    g = np.full((2, 3), 7.0, np.float32)
    with pytest.raises(ValueError):
        ops.softmax_cross_entropy(logits, [0, 5], grad_out=g)
    assert np.all(g == 7.0)
    p = np.ones(4)
    with pytest.raises(ValueError):
        ops.adam_update(p, np.ones(4), np.zeros(4), np.zeros(4), 1, lr=-1.0)
    assert np.all(p == 1.0)


def test_exports():
    for name in ("relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid",
                 "sigmoid_backward", "tanh", "tanh_backward", "softmax", "log_softmax",
                 "softmax_backward", "log_softmax_backward", "softmax_cross_entropy", "mse_loss",
                 "binary_cross_entropy_with_logits", "bias_add", "bias_grad", "dropout",
                 "dropout_backward", "batch_norm_forward", "batch_norm_backward", "sgd_update",
                 "adam_update", "rmsprop_update"):
        assert name in ops.__all__ and callable(getattr(ops, name))


# --------------------------------------------------------------------------
# float32 sigmoid, tanh and softmax use pydl's vectorised exp and tanh
# (csrc/nn/nn_common.h): accuracy over the whole float range, special values
# --------------------------------------------------------------------------
def _float_grid():
    mag = np.geomspace(1e-30, 110.0, 20000)
    x = np.concatenate([-mag[::-1], [0.0, -0.0], mag, np.linspace(-12, 12, 4001)])
    return x.astype(np.float32)


@pytest.mark.parametrize("isa_name", pydl.isa_names())
def test_float_sigmoid_and_tanh_accuracy_over_the_range(isa_name):
    with isa(isa_name):
        _check_float_sigmoid_and_tanh()


def _check_float_sigmoid_and_tanh():
    x = _float_grid()
    ref = sigmoid_ref(x)
    np.testing.assert_allclose(ops.sigmoid(x), ref, rtol=1e-6, atol=1e-44)  # subnormal tail
    np.testing.assert_allclose(ops.tanh(x), np.tanh(f64(x)), rtol=1e-6, atol=0)
    special = np.array([np.nan, np.inf, -np.inf, 89.0, -89.0, 104.0, -104.0], np.float32)
    s, t = ops.sigmoid(special), ops.tanh(special)
    assert np.isnan(s[0]) and np.isnan(t[0])
    assert s[1:].tolist() == [1.0, 0.0, 1.0, float(np.float32(sigmoid_ref(-89.0))), 1.0, 0.0]
    assert t[1:].tolist() == [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
    assert np.signbit(ops.tanh(np.array([-0.0], np.float32)))[0]


@dtypes
@pytest.mark.parametrize("cols", [1, 3, 4, 255, 256, 257, 1000, 1029])
def test_softmax_rows_across_chunks(cols, dtype, rng):
    x = rand((3, cols), dtype, rng) * 30
    y = ops.softmax(x)
    assert_close(y, softmax_ref(x), dtype, scale=1)
    ls = ops.log_softmax(x)
    ref_ls = np.log(softmax_ref(x))
    np.testing.assert_allclose(ls, ref_ls, rtol=tol(dtype)[0] * 10, atol=tol(dtype)[1] * 100)
    g = rand((3, cols), dtype, rng)
    ref_g = g - np.exp(f64(ls)) * f64(g).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ops.log_softmax_backward(g, ls), ref_g,
                               rtol=tol(dtype)[0] * 10, atol=tol(dtype)[1] * cols)
    # in place (y is x): the exponentials must not overwrite x before they are summed
    xc = x.copy()
    assert ops.log_softmax(xc, out=xc) is xc
    np.testing.assert_array_equal(xc, ls)
    xc = x.copy()
    np.testing.assert_array_equal(ops.softmax(xc, out=xc), y)


@dtypes
def test_out_overlap_check_is_exact_for_contiguous_buffers(dtype, rng):
    # the overlap test compares byte ranges: adjacent slices of one buffer do not overlap,
    # one shared element does
    buf = rand((30,), dtype, rng)
    x = buf[10:20]
    ref = np.maximum(f64(x), 0)
    for o in (buf[:10], buf[20:]):
        np.testing.assert_array_equal(ops.relu(x, out=o), ref)
    for o in (buf[1:11], buf[19:29], buf[9:19]):
        before = buf.copy()
        with pytest.raises(ValueError, match="relu: out overlaps x without being exactly x"):
            ops.relu(x, out=o)
        np.testing.assert_array_equal(buf, before)
    # empty arrays overlap nothing
    assert ops.relu(buf[:0], out=buf[:0]).size == 0
    p, v = rand((8,), dtype, rng), rand((16,), dtype, rng)
    with pytest.raises(ValueError, match="sgd_update: param and grad share memory"):
        ops.sgd_update(p, p, None, 0.1)
    with pytest.raises(ValueError, match="sgd_update: param and grad share memory"):
        ops.sgd_update(v[:8], v[7:15], None, 0.1)
    ops.sgd_update(v[:8], v[8:], None, 0.1)  # adjacent: fine


@needs_openmp
@pytest.mark.parametrize("isa_name", pydl.isa_names())
def test_float_sigmoid_and_tanh_one_and_two_threads(isa_name, rng):
    x = (rand((300_001,), np.float32, rng) * 20).astype(np.float32)
    with isa(isa_name):
        got = {}
        for n in (1, 2):
            with pydl.num_threads(n):
                got[n] = (ops.sigmoid(x), ops.tanh(x))
    for a, b in zip(got[1], got[2]):
        assert np.array_equal(a, b)
    np.testing.assert_allclose(got[1][0], sigmoid_ref(x), rtol=1e-6, atol=1e-44)
    np.testing.assert_allclose(got[1][1], np.tanh(f64(x)), rtol=1e-6, atol=0)


# --------------------------------------------------------------------------
# Rows gathered by index (Sequential.fit's mini-batches)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("shape, dtype", [((500, 1, 28, 28), np.float32), ((300, 7), np.float64),
                                          ((40,), np.int64), ((9, 3, 2), np.uint8)])
def test_gather_rows_equals_take(shape, dtype, rng):
    from pydl._nn import _gather_rows
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    for b in (0, 1, 5, 64):
        idx = rng.integers(0, shape[0], b).astype(np.int64)
        for n in (1, 2):
            with pydl.num_threads(n):
                out = np.full((b,) + shape[1:], 3, dtype)
                assert _gather_rows(x, idx, out) is out
                np.testing.assert_array_equal(out, np.take(x, idx, axis=0))


def test_gather_rows_refuses_bad_arguments(rng):
    from pydl._nn import _gather_rows
    x = rng.standard_normal((10, 4)).astype(np.float32)
    out = np.full((3, 4), 7.0, np.float32)
    with pytest.raises(IndexError, match=r"\[0, 10\)"):
        _gather_rows(x, np.array([1, 10, 2]), out)
    assert (out == 7.0).all()  # nothing written
    with pytest.raises(IndexError):
        _gather_rows(x, np.array([-1, 0, 0]), out)
    with pytest.raises(TypeError, match="int64"):
        _gather_rows(x, np.array([1, 2, 3], np.int32), out)
    with pytest.raises(ValueError, match="shape"):
        _gather_rows(x, np.array([1, 2]), out)
    with pytest.raises(ValueError, match="float32"):
        _gather_rows(x, np.array([1, 2, 3]), out.astype(np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        _gather_rows(x[:, ::2], np.array([1, 2, 3]), out[:, :2])
    with pytest.raises(ValueError, match="overlap"):
        _gather_rows(x, np.array([1, 2, 3]), x[:3])
