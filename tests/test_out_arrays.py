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
