"""`out=` on conv2d and the pooling ops: the result lands in the given array,
and a wrong `out` raises (TypeError for a non-array, ValueError otherwise)."""
import numpy as np
import pytest

import pydl
from helpers import rand

ops = pydl.ops


def _cases(rng):
    x = rand((2, 3, 9, 8), np.float32, rng)
    w = rand((4, 3, 3, 3), np.float32, rng)
    y, idx = ops.max_pool2d(x, 2, return_indices=True)
    gy = rand(y.shape, np.float32, rng)
    return {
        "conv2d": (lambda out: ops.conv2d(x, w, padding=1, out=out),
                   ops.conv2d(x, w, padding=1), (x, w)),
        "max_pool2d": (lambda out: ops.max_pool2d(x, 2, out=out), y, (x,)),
        "max_pool2d_backward": (lambda out: ops.max_pool2d_backward(gy, idx, x.shape, out=out),
                                ops.max_pool2d_backward(gy, idx, x.shape), (gy,)),
        "avg_pool2d": (lambda out: ops.avg_pool2d(x, 3, 2, 1, out=out),
                       ops.avg_pool2d(x, 3, 2, 1), (x,)),
        "avg_pool2d_backward": (
            lambda out: ops.avg_pool2d_backward(gy, x.shape, 2, out=out),
            ops.avg_pool2d_backward(gy, x.shape, 2), (gy,)),
    }


NAMES = ["conv2d", "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]


@pytest.mark.parametrize("name", NAMES)
def test_out_receives_the_result(name, rng):
    fn, expected, _ = _cases(rng)[name]
    out = np.full(expected.shape, np.nan, np.float32)
    assert fn(out) is out
    np.testing.assert_array_equal(out, expected)
    assert fn(out) is out  # reused: overwritten, not accumulated
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", NAMES)
def test_bad_out_raises(name, rng):
    fn, expected, inputs = _cases(rng)[name]
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        fn(expected.tolist())
    with pytest.raises(ValueError, match="out has shape"):
        fn(np.empty(expected.shape + (1,), np.float32))
    with pytest.raises(ValueError, match="out has dtype"):
        fn(np.empty(expected.shape, np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        fn(np.empty(expected.shape[::-1], np.float32).T)
    ro = np.empty(expected.shape, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="not writeable"):
        fn(ro)
    first = inputs[0]
    if first.shape == expected.shape:
        with pytest.raises(ValueError, match="overlaps input"):
            fn(first)


def test_out_overlapping_an_input_raises(rng):
    x = rand((1, 2, 5, 5), np.float32, rng)
    with pytest.raises(ValueError, match="overlaps input x"):
        ops.avg_pool2d(x, 1, out=x)
    with pytest.raises(ValueError, match="overlaps input x"):
        ops.max_pool2d(x, 1, out=x)
    w = rand((2, 2, 1, 1), np.float32, rng)
    with pytest.raises(ValueError, match="overlaps input x"):
        ops.conv2d(x, w, out=x)


def test_conv2d_backward_out(rng):
    x = rand((2, 3, 7, 6), np.float64, rng)
    w = rand((4, 3, 3, 3), np.float64, rng)
    gy = rand(ops.conv2d(x, w, padding=1).shape, np.float64, rng)
    expected = ops.conv2d_backward(gy, x, w, padding=1)
    bufs = tuple(np.full(e.shape, np.nan) for e in expected)
    got = ops.conv2d_backward(gy, x, w, padding=1, out=bufs)
    for g, b, e in zip(got, bufs, expected):
        assert g is b
        np.testing.assert_array_equal(g, e)
    got = ops.conv2d_backward(gy, x, w, padding=1, out=(None, bufs[1], None))
    assert got[1] is bufs[1] and got[0] is not None and got[2] is not None
    got = ops.conv2d_backward(gy, x, w, padding=1, needs=(False, False, True), out=bufs)
    assert got[0] is None and got[1] is None and got[2] is bufs[2]
    with pytest.raises(TypeError, match="out must be a tuple"):
        ops.conv2d_backward(gy, x, w, padding=1, out=bufs[0])
    with pytest.raises(ValueError, match="out has shape"):
        ops.conv2d_backward(gy, x, w, padding=1, out=(bufs[1], None, None))
    with pytest.raises(ValueError, match="overlaps input x"):
        ops.conv2d_backward(gy, x, w, padding=1, out=(x, None, None))


def test_conv2d_backward_outs_must_not_overlap_each_other(rng):
    # grad_weight and grad_bias carved from one buffer would be written over
    # each other: refused, as an out overlapping an input is
    x = rand((2, 3, 7, 6), np.float64, rng)
    w = rand((4, 3, 3, 3), np.float64, rng)
    gy = rand(ops.conv2d(x, w, padding=1).shape, np.float64, rng)
    buf = np.empty(w.size + 4)
    gw, gb = buf[:w.size].reshape(w.shape), buf[w.size - 4:w.size]
    with pytest.raises(ValueError, match=r"overlaps input out\[1\]"):
        ops.conv2d_backward(gy, x, w, padding=1, out=(None, gw, gb))
    gx = np.empty(x.shape)
    with pytest.raises(ValueError, match=r"overlaps input out\[0\]"):
        ops.conv2d_backward(gy, x, w, padding=1,
                            out=(gx, None, gx.reshape(-1)[:4]))
