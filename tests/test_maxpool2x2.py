"""The MaxPool2D layer's 2x2 stride-2 path (csrc/pool/maxpool2x2.c): one byte
per output instead of int64 indices, and a ReLU folded in.  Its results must
equal, bit for bit, max_pool2d with indices, max_pool2d_backward and (with
the ReLU) relu / relu_backward, on every kernel path and thread count."""
import numpy as np
import pytest

import pydl
from pydl import ops
from pydl._pool import _max_pool2x2, _max_pool2x2_backward
from pydl.layers import MaxPool2D

from helpers import DTYPE_IDS, DTYPES, isa

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)

# (N, C, H, W): odd sizes leave a row or a column in no window; widths above
# 32 take several 16-output blocks per row; (4, 16, 40, 34) is big enough
# for two threads.
SHAPES = [(1, 1, 2, 2), (2, 3, 5, 7), (3, 2, 10, 10), (1, 2, 9, 33), (2, 1, 4, 64),
          (1, 1, 3, 70), (1, 3, 4, 19), (4, 16, 40, 34)]


def _data(shape, dtype, rng):
    """Small integers (ties, exact zeros), signed zeros and a few NaNs."""
    x = rng.integers(-3, 4, shape).astype(dtype)
    x[rng.random(shape) < 0.1] = -0.0
    x[rng.random(shape) < 0.02] = np.nan
    return x


def _coded(x, relu):
    y = np.empty(x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2), x.dtype)
    code = np.empty(y.shape, np.uint8)
    _max_pool2x2(x, y, code, relu)
    return y, code


def _general(x, g, relu):
    """The same step through the public ops."""
    y, idx = ops.max_pool2d(x, 2, return_indices=True)
    if relu:
        y = ops.relu(y)
        g = ops.relu_backward(g, y)
    return y, ops.max_pool2d_backward(g, idx, x.shape)


@pytest.mark.parametrize("isa_name", pydl.isa_names())
@pytest.mark.parametrize("relu", [False, True], ids=["max", "max_relu"])
@dtypes
def test_equals_the_general_path_bitwise(isa_name, relu, dtype, rng):
    with isa(isa_name):
        for shape in SHAPES:
            x = _data(shape, dtype, rng)
            y, code = _coded(x, relu)
            g = rng.standard_normal(y.shape).astype(dtype)
            g[rng.random(g.shape) < 0.1] = -0.0
            gx = np.full(x.shape, np.nan, dtype)  # every element must be written
            _max_pool2x2_backward(g, code, gx)
            ref_y, ref_gx = _general(x, g, relu)
            assert y.tobytes() == ref_y.tobytes(), shape
            assert gx.tobytes() == ref_gx.tobytes(), shape
            assert code.max() <= (4 if relu else 3)


def test_codes_name_the_tap_and_relu_marks_no_gradient():
    x = np.array([[[[1, 5, -2, -1, 0, 0, 0, 1, -5, -6],
                    [3, 2, -3, 4, 0, 0, 2, 1, -7, -5]]]], np.float32)
    assert _coded(x, False)[1].ravel().tolist() == [1, 3, 0, 2, 0]  # ties: the first
    y, code = _coded(x, True)
    assert y.ravel().tolist() == [5, 4, 0, 2, 0]
    assert code.ravel().tolist() == [1, 3, 4, 2, 4]


@pytest.mark.parametrize("isa_name", pydl.isa_names())
@dtypes
@pytest.mark.parametrize("shape", [(4, 16, 41, 35), (8, 64, 16, 6)], ids=["w35", "w6"])
def test_one_and_two_threads_are_bitwise_identical(isa_name, dtype, shape, rng):
    # (8, 64, 16, 6): rows of 3 outputs, so a whole 16-lane store spans
    # several rows, also where the threads' row ranges meet
    with isa(isa_name):
        x = _data(shape, dtype, rng)
        g = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2)).astype(dtype)
        out = {}
        for n in (1, 2):
            with pydl.num_threads(n):
                y, code = _coded(x, True)
                gx = np.empty_like(x)
                _max_pool2x2_backward(g, code, gx)
                out[n] = (y.tobytes(), code.tobytes(), gx.tobytes())
        assert out[1] == out[2]
        ref_y, ref_gx = _general(x, g, True)
        assert out[2][0] == ref_y.tobytes() and out[2][2] == ref_gx.tobytes()


@pytest.mark.parametrize("relu", [False, True])
def test_layer_keeps_one_byte_per_output_and_matches_the_ops(relu, rng):
    layer = MaxPool2D(2)
    x = rng.standard_normal((3, 4, 9, 12)).astype(np.float32)
    y = (layer._forward_then_relu if relu else layer.forward)(x, training=True).copy()
    assert layer._idx is None and layer._code.dtype == np.uint8
    g = rng.standard_normal(y.shape).astype(np.float32)
    gx = (layer._backward_then_relu if relu else layer.backward)(g)
    ref_y, ref_gx = _general(x, g, relu)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(gx, ref_gx)


def test_layer_takes_the_code_path_with_ceil_mode_on_even_sizes(rng):
    layer = MaxPool2D(2, ceil_mode=True)
    x = rng.standard_normal((2, 3, 8, 6)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert layer._code is not None
    np.testing.assert_array_equal(y, ops.max_pool2d(x, 2, ceil_mode=True))


def test_backward_after_an_inference_forward_raises(rng):
    layer = MaxPool2D(2)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    y = layer.forward(x, training=True)
    layer.forward(x, training=False)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones_like(y))


@pytest.mark.parametrize("kw", [dict(kernel_size=9), dict(kernel_size=(1, 10)),
                                dict(kernel_size=3, dilation=4)])
def test_windows_wider_than_eight_are_accepted(kw, rng):
    # the layer decides on its 2x2 path from the checked window, not from a
    # small plane that a wide window would not fit
    layer = MaxPool2D(**kw)
    x = rng.standard_normal((1, 2, 12, 12)).astype(np.float32)
    np.testing.assert_array_equal(layer.forward(x), ops.max_pool2d(x, **kw))


@pytest.mark.parametrize("kw", [dict(kernel_size=2, padding=1), dict(kernel_size=2, stride=1),
                                dict(kernel_size=(2, 2), ceil_mode=True)])
def test_other_windows_take_the_general_path(kw, rng):
    layer = MaxPool2D(**kw)
    x = rng.standard_normal((2, 3, 7, 9)).astype(np.float32)
    y = layer._forward_then_relu(x, training=True)
    assert layer._code is None and layer._idx.dtype == np.int64
    np.testing.assert_array_equal(y, ops.relu(ops.max_pool2d(x, **kw)))
    g = rng.standard_normal(y.shape).astype(np.float32)
    _, idx = ops.max_pool2d(x, return_indices=True, **kw)
    np.testing.assert_array_equal(layer._backward_then_relu(g),
                                  ops.max_pool2d_backward(ops.relu_backward(g, y), idx, x.shape))


def _bufs(shape=(2, 3, 6, 8), dtype=np.float32):
    x = np.ones(shape, dtype)
    y = np.empty(shape[:2] + (shape[2] // 2, shape[3] // 2), dtype)
    return x, y, np.empty(y.shape, np.uint8)


@pytest.mark.parametrize("case, exc, match", [
    ("x_3d", ValueError, "shape"),
    ("x_int", TypeError, "dtype"),
    ("x_small", ValueError, "at least 2"),
    ("y_shape", ValueError, "y has shape"),
    ("y_dtype", TypeError, "y has dtype"),
    ("code_dtype", TypeError, "code has dtype"),
    ("x_strided", ValueError, "C-contiguous"),
    ("y_readonly", ValueError, "writeable"),
    ("overlap", ValueError, "overlap"),
    ("y_code_overlap", ValueError, "overlap"),
])
def test_forward_errors(case, exc, match):
    x, y, code = _bufs()
    if case == "x_3d":
        x = x[0]
    elif case == "x_int":
        x = x.astype(np.int32)
    elif case == "x_small":
        x, y, code = _bufs((2, 3, 1, 8))
    elif case == "y_shape":
        y = y[:1]
    elif case == "y_dtype":
        y = y.astype(np.float64)
    elif case == "code_dtype":
        code = code.astype(np.int64)
    elif case == "x_strided":
        x = np.ones((2, 3, 6, 16), np.float32)[..., ::2]
    elif case == "y_readonly":
        y.flags.writeable = False
    elif case == "overlap":
        y = x.reshape(-1)[:y.size].reshape(y.shape)
    elif case == "y_code_overlap":
        code = y.view(np.uint8).reshape(-1)[:code.size].reshape(code.shape)
    with pytest.raises(exc, match=match):
        _max_pool2x2(x, y, code, False)


@pytest.mark.parametrize("case, exc, match", [
    ("gx_dtype", TypeError, "grad_x has dtype"),
    ("gy_shape", ValueError, "grad_y has shape"),
    ("code_shape", ValueError, "code has shape"),
    ("gx_readonly", ValueError, "writeable"),
    ("overlap", ValueError, "overlap"),
])
def test_backward_errors(case, exc, match):
    gx, gy, code = _bufs()
    if case == "gx_dtype":
        gx = gx.astype(np.int64)
    elif case == "gy_shape":
        gy = gy[:, :1]
    elif case == "code_shape":
        code = code[:1]
    elif case == "gx_readonly":
        gx.flags.writeable = False
    elif case == "overlap":
        gy = gx.reshape(-1)[:gy.size].reshape(gy.shape)
    with pytest.raises(exc, match=match):
        _max_pool2x2_backward(gy, code, gx)
