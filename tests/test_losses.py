"""pydl.losses: values and gradients against numpy references, stability
of the fused softmax-cross-entropy, target checks, names."""
import numpy as np
import pytest

from pydl import losses
from pydl.losses import MSE, BinaryCrossEntropy, CrossEntropy

DT = [np.float32, np.float64]
RTOL = {np.float32: 1e-5, np.float64: 1e-12}


def ce_ref(z, y):
    z = np.asarray(z, np.float64)
    m = z.max(axis=1, keepdims=True)
    logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    n = len(y)
    p = np.exp(logp)
    g = p.copy()
    g[np.arange(n), y] -= 1
    return -logp[np.arange(n), y].mean(), g / n


def bce_ref(z, t):
    z = np.asarray(z, np.float64)
    t = np.asarray(t, np.float64)
    loss = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    return loss.mean(), (1 / (1 + np.exp(-z)) - t) / z.size


@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_cross_entropy_matches_numpy(dt, rng):
    z = rng.normal(0, 3, (7, 5)).astype(dt)
    y = rng.integers(0, 5, 7)
    value, grad = CrossEntropy()(z, y)
    ref_v, ref_g = ce_ref(z, y)
    assert isinstance(float(value), float)
    assert grad.shape == z.shape and grad.dtype == dt
    assert float(value) == pytest.approx(ref_v, rel=RTOL[dt] * 10)
    np.testing.assert_allclose(grad, ref_g, rtol=RTOL[dt] * 10, atol=RTOL[dt] * 1e-2)


@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_mse_matches_numpy(dt, rng):
    out = rng.normal(0, 1, (6, 3)).astype(dt)
    t = rng.normal(0, 1, (6, 3)).astype(dt)
    value, grad = MSE()(out, t)
    d = out.astype(np.float64) - t
    assert float(value) == pytest.approx(np.mean(d ** 2), rel=RTOL[dt] * 10)
    np.testing.assert_allclose(grad, 2 * d / d.size, rtol=RTOL[dt] * 10, atol=1e-7)


@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_bce_matches_numpy(dt, rng):
    z = rng.normal(0, 4, (6, 3)).astype(dt)
    t = rng.uniform(0, 1, (6, 3)).astype(dt)
    value, grad = BinaryCrossEntropy()(z, t)
    ref_v, ref_g = bce_ref(z, t)
    assert float(value) == pytest.approx(ref_v, rel=RTOL[dt] * 10)
    np.testing.assert_allclose(grad, ref_g, rtol=RTOL[dt] * 10, atol=RTOL[dt] * 1e-2)


def test_grads_by_finite_differences(rng):
    from helpers import finite_diff_grad

    z = rng.normal(0, 2, (4, 3))
    y = rng.integers(0, 3, 4)
    t = rng.uniform(0, 1, (4, 3))
    for loss, target in ((CrossEntropy(), y), (MSE(), t), (BinaryCrossEntropy(), t)):
        _, g = loss(z, target)
        g = g.copy()
        num = finite_diff_grad(lambda v: loss(v, target)[0], z)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9, err_msg=repr(loss))


@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_cross_entropy_finite_for_huge_logits(dt):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dt)
    y = np.array([0, 0, 2])
    value, grad = CrossEntropy()(z, y)
    assert np.isfinite(value) and np.isfinite(grad).all()
    # sample 0 is right (loss 0), sample 1 wrong by 2e4, sample 2 wrong by 2e4 (+log 2)
    assert float(value) == pytest.approx((0 + 2e4 + 2e4 + np.log(2)) / 3, rel=1e-5)
    np.testing.assert_allclose(grad, np.array([[0, 0, 0], [-1, 1, 0], [0.5, 0.5, -1]]) / 3,
                               atol=1e-6)


def test_bce_finite_for_huge_logits():
    z = np.array([[1e4], [-1e4], [1e4]], np.float32)
    t = np.array([[1.0], [0.0], [0.0]], np.float32)
    value, grad = BinaryCrossEntropy()(z, t)
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert float(value) == pytest.approx(1e4 / 3, rel=1e-5)


def test_grad_buffer_reused():
    loss = MSE()
    a = np.ones((2, 2), np.float32)
    _, g1 = loss(a, np.zeros_like(a))
    _, g2 = loss(a, np.zeros_like(a))
    assert g1 is g2
    _, g3 = loss(np.ones((3, 2), np.float32), np.zeros((3, 2), np.float32))
    assert g3.shape == (3, 2)


def test_mse_and_bce_accept_flat_targets_for_single_output():
    out = np.array([[0.5], [1.5]], np.float64)
    assert MSE().check_target(np.array([1.0, 1.0]), (1,)).shape == (2, 1)
    v, _ = MSE()(out, np.array([1.0, 1.0]))
    assert v == pytest.approx(0.25)
    v, _ = BinaryCrossEntropy()(out, np.array([1, 0]))  # integer targets are cast
    assert v == pytest.approx(bce_ref(out, [[1], [0]])[0])


# --------------------------------------------------------------------------
# check_target
# --------------------------------------------------------------------------
def test_cross_entropy_check_target():
    ce = CrossEntropy()
    y = np.array([0, 2, 1])
    assert ce.check_target(y, (3,)) is y or np.array_equal(ce.check_target(y, (3,)), y)
    with pytest.raises(ValueError, match="label 3 is out of range"):
        ce.check_target(np.array([0, 3]), (3,))
    with pytest.raises(ValueError, match="label -1 is out of range"):
        ce.check_target(np.array([0, -1]), (3,))
    with pytest.raises(ValueError, match="integer class labels"):
        ce.check_target(np.array([0.0, 1.0]), (3,))
    with pytest.raises(ValueError, match="argmax"):
        ce.check_target(np.eye(3, dtype=np.int64), (3,))
    with pytest.raises(ValueError, match=r"\(N, C\) logits"):
        ce.check_target(np.array([0, 1]), (3, 2))


def test_mse_check_target():
    with pytest.raises(ValueError, match=r"MSE: targets have per-sample shape \(2,\)"):
        MSE().check_target(np.zeros((4, 2)), (3,))
    assert MSE().check_target(np.zeros((4, 3)), (3,)).shape == (4, 3)


def test_bce_check_target():
    bce = BinaryCrossEntropy()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bce.check_target(np.array([[0.5], [1.5]]), (1,))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bce.check_target(np.array([-0.5, 0.5]), (1,))
    with pytest.raises(ValueError, match="BinaryCrossEntropy: targets have per-sample shape"):
        bce.check_target(np.zeros((4, 2)), (3,))


def test_get_by_name():
    assert isinstance(losses.get("cross_entropy"), CrossEntropy)
    assert isinstance(losses.get("CE"), CrossEntropy)
    assert isinstance(losses.get("mse"), MSE)
    assert isinstance(losses.get("bce"), BinaryCrossEntropy)
    assert isinstance(losses.get("binary_cross_entropy"), BinaryCrossEntropy)
    obj = MSE()
    assert losses.get(obj) is obj
    for bad in ("hinge", None, 3):
        with pytest.raises(ValueError, match="unknown loss"):
            losses.get(bad)
    assert repr(CrossEntropy()) == "CrossEntropy()"


def test_targets_of_another_shape_are_not_reshaped():
    out = np.ones((4, 2), np.float32)
    with pytest.raises(ValueError):
        MSE()(out, out.T.copy())
    with pytest.raises(ValueError):
        BinaryCrossEntropy()(out, np.ones(8, np.float32))
    value, _ = MSE()(np.ones((4, 1), np.float32), np.ones(4, np.float32))  # (N,) for (N, 1)
    assert value == 0.0
