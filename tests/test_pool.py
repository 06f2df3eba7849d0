"""pydl.ops max/avg/global pooling (forward and backward) against float64
numpy references written with explicit window loops."""
import os

import numpy as np
import pytest

import pydl
from helpers import needs_openmp
from helpers import DTYPE_IDS, DTYPES, finite_diff_grad, isa, rand, run_python

max_pool2d = pydl.ops.max_pool2d
max_pool2d_backward = pydl.ops.max_pool2d_backward
avg_pool2d = pydl.ops.avg_pool2d
avg_pool2d_backward = pydl.ops.avg_pool2d_backward
global_avg_pool2d = pydl.ops.global_avg_pool2d
global_max_pool2d = pydl.ops.global_max_pool2d

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)


# --------------------------------------------------------------------------
# float64 references
# --------------------------------------------------------------------------
def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _pads(padding):
    if np.ndim(padding) == 0:
        return (int(padding),) * 4
    if isinstance(padding[0], (tuple, list)):
        (t, b), (l, r) = padding
        return t, b, l, r
    return int(padding[0]), int(padding[0]), int(padding[1]), int(padding[1])


def _out_size(size, k, s, p0, p1, d, ceil_mode):
    span = size + p0 + p1 - (d * (k - 1) + 1)
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p0:
        out -= 1  # PyTorch: the last window must start inside the input or its top/left padding
    return out


class Windows:
    """Pooling geometry and, per output position, the input taps of its window."""

    def __init__(self, shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        self.n, self.c, self.h, self.w = shape
        self.kh, self.kw = _pair(kernel_size)
        self.sh, self.sw = _pair(kernel_size if stride is None else stride)
        self.dh, self.dw = _pair(dilation)
        self.pt, self.pb, self.pl, self.pr = _pads(padding)
        self.out_h = _out_size(self.h, self.kh, self.sh, self.pt, self.pb, self.dh, ceil_mode)
        self.out_w = _out_size(self.w, self.kw, self.sw, self.pl, self.pr, self.dw, ceil_mode)

    @property
    def out_shape(self):
        return (self.n, self.c, self.out_h, self.out_w)

    def rows(self, oh):
        return [oh * self.sh - self.pt + i * self.dh for i in range(self.kh)]

    def cols(self, ow):
        return [ow * self.sw - self.pl + j * self.dw for j in range(self.kw)]

    def taps(self, oh, ow):
        """(ih, iw) of the window's input elements, in row-major window order."""
        return [(ih, iw) for ih in self.rows(oh) for iw in self.cols(ow)
                if 0 <= ih < self.h and 0 <= iw < self.w]

    def divisor(self, oh, ow, count_include_pad):
        if not count_include_pad:
            return len(self.taps(oh, ow))
        rows = [ih for ih in self.rows(oh) if -self.pt <= ih < self.h + self.pb]
        cols = [iw for iw in self.cols(ow) if -self.pl <= iw < self.w + self.pr]
        return len(rows) * len(cols)

    def positions(self):
        for oh in range(self.out_h):
            for ow in range(self.out_w):
                yield oh, ow


def max_pool_ref(x, *args, **kw):
    """(y, indices): per window the first maximum in row-major order; NaN wins."""
    x = np.asarray(x, np.float64)
    win = Windows(x.shape, *args, **kw)
    y = np.empty(win.out_shape)
    idx = np.empty(win.out_shape, np.int64)
    for oh, ow in win.positions():
        taps = win.taps(oh, ow)
        assert taps, "a window without input elements"
        best = x[:, :, taps[0][0], taps[0][1]].copy()
        best_at = np.full(best.shape, taps[0][0] * win.w + taps[0][1])
        for ih, iw in taps[1:]:
            v = x[:, :, ih, iw]
            take = (v > best) | (np.isnan(v) & ~np.isnan(best))
            best = np.where(take, v, best)
            best_at = np.where(take, ih * win.w + iw, best_at)
        y[:, :, oh, ow] = best
        idx[:, :, oh, ow] = best_at
    return y, idx


def max_pool_backward_ref(gy, indices, input_shape):
    n, c, h, w = input_shape
    gx = np.zeros((n * c, h * w))
    gy = np.asarray(gy, np.float64).reshape(n * c, -1)
    indices = np.asarray(indices).reshape(n * c, -1)
    for p in range(n * c):
        np.add.at(gx[p], indices[p], gy[p])
    return gx.reshape(input_shape)


def avg_pool_ref(x, *args, count_include_pad=True, **kw):
    x = np.asarray(x, np.float64)
    win = Windows(x.shape, *args, **kw)
    y = np.empty(win.out_shape)
    for oh, ow in win.positions():
        total = sum(x[:, :, ih, iw] for ih, iw in win.taps(oh, ow))
        y[:, :, oh, ow] = total / win.divisor(oh, ow, count_include_pad)
    return y


def avg_pool_backward_ref(gy, input_shape, *args, count_include_pad=True, **kw):
    gy = np.asarray(gy, np.float64)
    win = Windows(input_shape, *args, **kw)
    assert gy.shape == win.out_shape
    gx = np.zeros(input_shape)
    for oh, ow in win.positions():
        g = gy[:, :, oh, ow] / win.divisor(oh, ow, count_include_pad)
        for ih, iw in win.taps(oh, ow):
            gx[:, :, ih, iw] += g
    return gx


def _tol(dtype, k):
    """(rtol, atol) for a sum of k terms of magnitude <= 1 followed by a division."""
    eps = float(np.finfo(dtype).eps)
    return 4 * eps, 16 * eps * np.sqrt(max(k, 1))


def check_avg(got, ref, dtype, k, err_msg=""):
    assert got.dtype == dtype, got.dtype
    assert got.shape == ref.shape, (got.shape, ref.shape)
    rtol, atol = _tol(dtype, k)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=err_msg)


def test_references_on_hand_computed_cases():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y, idx = max_pool_ref(x, 3, 2, 1)  # windows start at -1 and 1
    np.testing.assert_array_equal(y[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(idx[0, 0], [[5, 7], [13, 15]])
    # count_include_pad: the top-left window holds 4 inputs and 5 padding taps
    a = avg_pool_ref(x, 3, 2, 1)
    assert a[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 9
    assert avg_pool_ref(x, 3, 2, 1, count_include_pad=False)[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4
    # ceil mode on 5 with k=2, s=2, p=1: the 4th window would start in the right padding
    assert Windows((1, 1, 5, 5), 2, 2, 1, ceil_mode=True).out_h == 3
    w = Windows((1, 1, 8, 8), 3, 2, 1, ceil_mode=True)  # a partial 5th window
    assert w.out_h == 5 and w.divisor(4, 4, True) == 4 and w.divisor(4, 4, False) == 1
    # the backward references are the adjoints of the forwards
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    args = ((3, 2), (2, 1), ((1, 2), (0, 1)), (1, 2), True)
    gy = rng.standard_normal(Windows(x.shape, *args).out_shape)
    for cip in (True, False):
        lhs = np.sum(gy * avg_pool_ref(x, *args, count_include_pad=cip))
        assert np.isclose(lhs, np.sum(x * avg_pool_backward_ref(gy, x.shape, *args,
                                                                count_include_pad=cip)))
    y, idx = max_pool_ref(x, *args)
    assert np.isclose(np.sum(gy * y), np.sum(x * max_pool_backward_ref(gy, idx, x.shape)))


# --------------------------------------------------------------------------
# The seed example
# --------------------------------------------------------------------------
@dtypes
def test_seed_example_2x2_stride1(dtype):
    x = np.arange(1, 26, dtype=dtype).reshape(1, 1, 5, 5)
    expected = [[7, 8, 9, 10], [12, 13, 14, 15], [17, 18, 19, 20], [22, 23, 24, 25]]
    y, idx = max_pool2d(x, 2, stride=1, return_indices=True)
    assert y.shape == (1, 1, 4, 4) and y.dtype == dtype
    np.testing.assert_array_equal(y[0, 0], expected)
    np.testing.assert_array_equal(idx[0, 0], np.array(expected) - 1)  # value v sits at v - 1
    np.testing.assert_array_equal(max_pool_ref(x, 2, 1)[0][0, 0], expected)


# --------------------------------------------------------------------------
# Parametrized configurations
# --------------------------------------------------------------------------
# name: (x shape, kernel_size, stride, padding, dilation, ceil_mode)
CONFIGS = {
    "k1": ((1, 2, 5, 4), 1, None, 0, 1, False),
    "k1_s2": ((1, 2, 5, 4), 1, 2, 0, 1, False),
    "k2_default_stride": ((2, 3, 6, 6), 2, None, 0, 1, False),
    "k2_default_stride_odd": ((2, 3, 7, 5), 2, None, 0, 1, False),
    "k2_s1_overlap": ((2, 2, 5, 5), 2, 1, 0, 1, False),
    "k3_s1": ((2, 2, 7, 6), 3, 1, 0, 1, False),
    "k3_s2_p1": ((2, 3, 7, 7), 3, 2, 1, 1, False),
    "k3_s1_p1": ((1, 2, 5, 6), 3, 1, 1, 1, False),
    "k4_s3_p2": ((1, 2, 9, 8), 4, 3, 2, 1, False),
    "k4_default_stride": ((1, 5, 4, 4), 4, None, 0, 1, False),
    "k2x3": ((2, 2, 6, 7), (2, 3), None, 0, 1, False),
    "k3x1_s21_p10": ((1, 3, 7, 5), (3, 1), (2, 1), (1, 0), 1, False),
    "k4x2_s12_p21": ((1, 2, 8, 7), (4, 2), (1, 2), (2, 1), 1, False),
    "k1x4_s3": ((2, 1, 4, 9), (1, 4), 3, 0, 1, False),
    "asym_pad": ((2, 2, 7, 8), 3, 2, ((0, 2), (1, 0)), 1, False),
    "asym_pad_overlap": ((1, 2, 6, 5), (3, 2), 1, ((2, 0), (0, 1)), 1, False),
    "pad_2_of_k3": ((1, 2, 6, 6), 3, 2, 2, 1, False),
    "pad_3_of_k4_s1": ((1, 1, 5, 5), 4, 1, 3, 1, False),
    "pad_2_of_k3_asym": ((2, 1, 5, 6), 3, (1, 2), ((2, 0), (1, 2)), 1, False),
    "dil2": ((1, 2, 9, 9), 3, 1, 0, 2, False),
    "dil2_p2": ((1, 2, 8, 9), 3, 2, 2, 2, False),
    "dil3_k2_s2_p2": ((2, 2, 9, 8), 2, 2, 2, 3, False),
    "dil_pair": ((1, 2, 9, 9), (2, 3), (1, 2), (1, 2), (2, 1), False),
    "ceil_partial": ((1, 2, 6, 6), 3, 2, 0, 1, True),
    "ceil_partial_p1": ((1, 2, 8, 8), 3, 2, 1, 1, True),
    "ceil_drops_window_in_padding": ((1, 2, 5, 5), 2, 2, 1, 1, True),
    "ceil_same_as_floor": ((1, 2, 7, 7), 3, 2, 0, 1, True),
    "ceil_s3": ((2, 2, 8, 7), 2, 3, 0, 1, True),
    "ceil_dil2_p1": ((1, 1, 8, 7), 2, 3, 1, 2, True),
    "ceil_asym": ((2, 2, 7, 6), (3, 2), (2, 3), ((1, 0), (0, 1)), 1, True),
    "ceil_pad_2_of_k3": ((1, 2, 6, 7), 3, 2, 2, 1, True),
    "ceil_default_stride": ((1, 2, 7, 5), 2, None, 0, 1, True),
    "batch1_odd_5x3": ((1, 1, 5, 3), 2, 1, 0, 1, False),
    "odd_s3_p1": ((2, 3, 9, 7), 3, 3, 1, 1, False),
    "H1": ((2, 2, 1, 7), (1, 3), (1, 2), (0, 1), 1, True),
    "1x1_input_p1": ((1, 3, 1, 1), 2, 1, 1, 1, False),
}


def _args(cfg):
    _, kernel, stride, padding, dilation, ceil_mode = cfg
    return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode)


def _ref_args(cfg):
    a = _args(cfg)
    return (a.pop("kernel_size"),), a


@dtypes
@pytest.mark.parametrize("name", list(CONFIGS))
def test_max_pool_forward_and_indices(name, dtype, rng):
    cfg = CONFIGS[name]
    x = rand(cfg[0], dtype, rng)
    x0 = x.copy()
    pos, kw = _ref_args(cfg)
    ref_y, ref_idx = max_pool_ref(x, *pos, **kw)
    y, idx = max_pool2d(x, return_indices=True, **_args(cfg))
    assert y.shape == ref_y.shape and y.dtype == dtype and idx.dtype == np.int64
    np.testing.assert_array_equal(y, ref_y.astype(dtype))  # a selection: exact
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(max_pool2d(x, **_args(cfg)), y)
    np.testing.assert_array_equal(x, x0)


@dtypes
@pytest.mark.parametrize("name", list(CONFIGS))
def test_max_pool_backward(name, dtype, rng):
    cfg = CONFIGS[name]
    x = rand(cfg[0], dtype, rng)
    y, idx = max_pool2d(x, return_indices=True, **_args(cfg))
    gy = rand(y.shape, dtype, rng)
    gx = max_pool2d_backward(gy, idx, x.shape)
    assert gx.shape == x.shape and gx.dtype == dtype
    # at most kh*kw windows add into one element
    k = int(np.prod(_pair(cfg[1])))
    rtol, atol = _tol(dtype, k)
    np.testing.assert_allclose(gx, max_pool_backward_ref(gy, idx, x.shape), rtol=rtol, atol=atol)


@dtypes
@pytest.mark.parametrize("count_include_pad", [True, False], ids=["incl_pad", "excl_pad"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_avg_pool_forward_and_backward(name, count_include_pad, dtype, rng):
    cfg = CONFIGS[name]
    x = rand(cfg[0], dtype, rng)
    pos, kw = _ref_args(cfg)
    k = int(np.prod(_pair(cfg[1])))
    y = avg_pool2d(x, count_include_pad=count_include_pad, **_args(cfg))
    check_avg(y, avg_pool_ref(x, *pos, count_include_pad=count_include_pad, **kw), dtype, k,
              err_msg="forward")
    gy = rand(y.shape, dtype, rng)
    gx = avg_pool2d_backward(gy, x.shape, count_include_pad=count_include_pad, **_args(cfg))
    check_avg(gx, avg_pool_backward_ref(gy, x.shape, *pos, count_include_pad=count_include_pad,
                                        **kw), dtype, k, err_msg="backward")


def test_ceil_mode_sizes():
    # (H, k, s, p) -> (floor size, ceil size), PyTorch's rule
    for (h, k, s, p), (floor, ceil) in {(6, 3, 2, 0): (2, 3), (5, 2, 2, 1): (3, 3),
                                        (8, 3, 2, 1): (4, 5), (7, 3, 2, 0): (3, 3),
                                        (8, 2, 3, 0): (3, 3), (7, 2, 3, 0): (2, 3),
                                        (6, 3, 2, 2): (4, 4), (5, 2, 2, 0): (2, 3)}.items():
        x = np.zeros((1, 1, h, h))
        for mode, want in ((False, floor), (True, ceil)):
            assert max_pool2d(x, k, s, p, ceil_mode=mode).shape[2:] == (want, want), (h, k, s, p)
            assert avg_pool2d(x, k, s, p, ceil_mode=mode).shape[2:] == (want, want), (h, k, s, p)


def test_count_include_pad_with_ceil_mode_ignores_taps_beyond_the_padding():
    # 8x8 ones, k=3, s=2, p=1, ceil: the last window covers padded rows 8..10
    # of a 10-row padded input: 1 input row + 1 padding row (+ 1 beyond).
    x = np.ones((1, 1, 8, 8))
    y = avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=True)
    assert y.shape == (1, 1, 5, 5)
    assert y[0, 0, 0, 0] == 4 / 9  # top-left: 2x2 inputs in a 3x3 window
    assert y[0, 0, 4, 2] == 3 / 6  # bottom row: 1 input row of 3, 2 rows counted
    assert y[0, 0, 4, 4] == 1 / 4
    np.testing.assert_array_equal(
        avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), np.ones((1, 1, 5, 5)))


# --------------------------------------------------------------------------
# Ties, infinities and NaN
# --------------------------------------------------------------------------
@dtypes
def test_ties_pick_the_first_maximum(dtype):
    x = np.zeros((1, 2, 4, 4), dtype)
    y, idx = max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [[0, 2], [8, 10]])
    # padding counts as -inf, so the first tap inside the input wins
    y, idx = max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(idx[0, 1], [[0, 0, 1, 2], [0, 0, 1, 2], [4, 4, 5, 6],
                                              [8, 8, 9, 10]])
    assert (y == 0).all()
    # a plateau of equal maxima: row-major first
    x = np.array([[1, 5, 5], [5, 2, 5], [0, 5, 1]], dtype).reshape(1, 1, 3, 3)
    y, idx = max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [[1, 1], [3, 5]])
    x = np.full((2, 3, 5, 6), 0.25, dtype)
    for cfg in CONFIGS.values():
        if cfg[0][2] <= 5 and cfg[0][3] <= 6:
            xx = x[:, :, :cfg[0][2], :cfg[0][3]]
            np.testing.assert_array_equal(max_pool2d(xx, return_indices=True, **_args(cfg))[1],
                                          max_pool_ref(xx, *_ref_args(cfg)[0],
                                                       **_ref_args(cfg)[1])[1])


@dtypes
def test_minus_infinity_input_is_not_confused_with_padding(dtype):
    x = np.full((1, 1, 3, 3), -np.inf, dtype)
    y, idx = max_pool2d(x, 3, stride=2, padding=2, return_indices=True)
    assert y.shape == (1, 1, 3, 3) and (y == -np.inf).all()
    # windows start at -2, 0, 2: the first tap inside the input wins
    np.testing.assert_array_equal(idx[0, 0], [[0, 0, 2], [0, 0, 2], [6, 6, 8]])
    gx = max_pool2d_backward(np.ones(y.shape, dtype), idx, x.shape)
    np.testing.assert_array_equal(gx[0, 0], [[4, 0, 2], [0, 0, 0], [2, 0, 1]])


@dtypes
def test_nan_in_window_gives_nan(dtype, rng):
    x = rand((2, 2, 7, 7), dtype, rng)
    x[0, 0, 2, 3] = np.nan
    x[1, 1, 6, 6] = np.nan
    x[1, 0, 0, 0] = np.nan
    x[1, 0, 0, 1] = np.nan
    for kw in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, stride=1),
               dict(kernel_size=(3, 2), stride=(1, 2), dilation=2, ceil_mode=True)):
        y, idx = max_pool2d(x, return_indices=True, **kw)
        ref_y, ref_idx = max_pool_ref(x, **kw)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref_y))
        assert np.isnan(ref_y).any()
        ok = ~np.isnan(ref_y)
        np.testing.assert_array_equal(y[ok], ref_y[ok].astype(dtype))
        np.testing.assert_array_equal(idx[ok], ref_idx[ok])
        # a NaN output points at a NaN input, so the gradient goes there
        planes = x.reshape(4, -1)
        chosen = np.take_along_axis(planes, idx.reshape(4, -1), axis=1).reshape(y.shape)
        np.testing.assert_array_equal(np.isnan(chosen), np.isnan(y))
        a = avg_pool2d(x, **kw)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(avg_pool_ref(x, **kw)))
        # without indices (the row-reduced path): the same NaNs and values
        y2 = max_pool2d(x, **kw)
        np.testing.assert_array_equal(np.isnan(y2), np.isnan(ref_y))
        np.testing.assert_array_equal(y2[ok], ref_y[ok].astype(dtype))


@dtypes
@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(1, 3), stride=2),
                                dict(kernel_size=(4, 3), stride=(1, 2), padding=1),
                                dict(kernel_size=(2, 3), stride=(2, 1)),
                                dict(kernel_size=3, stride=3, dilation=2, padding=2)],
                         ids=["3x3_s2_p1", "1x3_s2", "4x3_s12_p1", "2x3_s21", "3x3_s3_d2"])
@pytest.mark.parametrize("row", [0, 1, 2, 3])
def test_max_pool_without_indices_keeps_a_nan_in_any_window_row(kw, row, dtype):
    # The no-index path reduces a window's rows with plain maxima and redoes
    # a row holding a NaN with the NaN rule: a NaN in any of a window's rows
    # (first, middle, last) must survive, wherever it sits in the row (70
    # columns: the vector kernel's full blocks, its tail and every lane).
    h, w = 9, 70
    x = np.broadcast_to(np.arange(h * w, dtype=dtype).reshape(h, w) % 7, (w, 1, h, w)).copy()
    x[np.arange(w), 0, row, np.arange(w)] = np.nan  # plane c: a NaN in column c
    y = max_pool2d(x, **kw)
    ref_y, _ = max_pool_ref(x, **kw)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref_y))
    ok = ~np.isnan(ref_y)
    np.testing.assert_array_equal(y[ok], ref_y[ok].astype(dtype))


@dtypes
@pytest.mark.parametrize("values", [[np.nan, 5.0, 7.0, 1.0], [5.0, np.nan, 7.0, 1.0],
                                    [5.0, 7.0, 1.0, np.nan], [np.nan, np.nan, 1.0, 2.0]],
                         ids=["nan_first", "nan_second", "nan_last", "two_nans"])
def test_nan_beats_larger_values_in_either_order(values, dtype):
    x = np.array(values, dtype).reshape(1, 1, 2, 2)
    y, idx = max_pool2d(x, 2, return_indices=True)
    assert np.isnan(y[0, 0, 0, 0])
    assert np.isnan(x.reshape(-1)[idx[0, 0, 0, 0]])
    assert np.isnan(global_max_pool2d(x)[0, 0, 0, 0])


# --------------------------------------------------------------------------
# Backward details
# --------------------------------------------------------------------------
@dtypes
def test_max_backward_accumulates_overlapping_windows(dtype):
    x = np.array([[1, 2, 3], [4, 9, 5], [6, 7, 8]], dtype).reshape(1, 1, 3, 3)
    y, idx = max_pool2d(x, 2, stride=1, return_indices=True)
    assert (idx == 4).all()  # every window picks the centre
    gy = np.array([[1.0, 2.0], [3.0, 4.5]], dtype).reshape(1, 1, 2, 2)
    gx = max_pool2d_backward(gy, idx, x.shape)
    expected = np.zeros((3, 3), dtype)
    expected[1, 1] = 10.5
    np.testing.assert_array_equal(gx[0, 0], expected)
    # and with padding: every 3x3 window (stride 1, pad 1) of an increasing ramp
    # picks its bottom-right input element
    x = np.arange(16, dtype=dtype).reshape(1, 1, 4, 4)
    y, idx = max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    gx = max_pool2d_backward(np.ones(y.shape, dtype), idx, x.shape)
    np.testing.assert_array_equal(gx[0, 0], [[0, 0, 0, 0], [0, 1, 1, 2], [0, 1, 1, 2],
                                             [0, 2, 2, 4]])


@dtypes
def test_max_backward_accepts_other_integer_index_types(dtype, rng):
    x = rand((2, 3, 6, 6), dtype, rng)
    y, idx = max_pool2d(x, 3, stride=1, return_indices=True)
    gy = rand(y.shape, dtype, rng)
    want = max_pool2d_backward(gy, idx, x.shape)
    for cast in (np.int32, np.uint16, np.int16):
        np.testing.assert_array_equal(max_pool2d_backward(gy, idx.astype(cast), x.shape), want)
    np.testing.assert_array_equal(max_pool2d_backward(gy, idx, list(x.shape)), want)
    # strided grad_y and indices views
    gy2 = np.repeat(gy, 2, axis=3)[..., ::2]
    idx2 = np.repeat(idx, 2, axis=3)[..., ::2]
    np.testing.assert_array_equal(max_pool2d_backward(gy2, idx2, x.shape), want)


def test_max_backward_routes_to_arbitrary_valid_indices():
    # indices need not come from a pooling call: any index in [0, H*W) works
    gy = np.array([1.0, 2.0, 4.0, 8.0]).reshape(1, 1, 2, 2)
    idx = np.array([5, 0, 5, 11]).reshape(1, 1, 2, 2)
    gx = max_pool2d_backward(gy, idx, (1, 1, 3, 4))
    expected = np.zeros(12)
    expected[[5, 0, 11]] = [5.0, 2.0, 8.0]
    np.testing.assert_array_equal(gx.reshape(-1), expected)


FD_CONFIGS = {
    "k2_s1": dict(kernel_size=2, stride=1),
    "k3_s2_p1_ceil": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "k2x3_asym_dil2": dict(kernel_size=(2, 3), stride=(1, 2), padding=((1, 0), (2, 1)),
                           dilation=2),
}


@pytest.mark.parametrize("name", list(FD_CONFIGS))
def test_gradients_match_finite_differences(name, rng):
    kw = FD_CONFIGS[name]
    x = rand((1, 2, 5, 6), np.float64, rng)
    for cip in (True, False):
        proj = rand(avg_pool2d(x, count_include_pad=cip, **kw).shape, np.float64, rng)
        fd = finite_diff_grad(lambda v: np.sum(proj * avg_pool2d(v, count_include_pad=cip, **kw)),
                              x)
        got = avg_pool2d_backward(proj, x.shape, count_include_pad=cip, **kw)
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8, err_msg=f"avg cip={cip}")
    # max pooling is linear near x when the maxima are unique (random data)
    y, idx = max_pool2d(x, return_indices=True, **kw)
    proj = rand(y.shape, np.float64, rng)
    fd = finite_diff_grad(lambda v: np.sum(proj * max_pool2d(v, **kw)), x)
    np.testing.assert_allclose(max_pool2d_backward(proj, idx, x.shape), fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------
# Global pooling
# --------------------------------------------------------------------------
@dtypes
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (1, 4, 1, 9), (3, 2, 16, 16)])
def test_global_pools(shape, dtype, rng):
    x = rand(shape, dtype, rng)
    avg = global_avg_pool2d(x)
    mx = global_max_pool2d(x)
    assert avg.shape == mx.shape == shape[:2] + (1, 1)
    assert avg.dtype == mx.dtype == dtype
    rtol, atol = _tol(dtype, shape[2] * shape[3])
    np.testing.assert_allclose(avg, x.astype(np.float64).mean(axis=(2, 3), keepdims=True),
                               rtol=rtol, atol=atol)
    np.testing.assert_array_equal(mx, x.max(axis=(2, 3), keepdims=True))


# --------------------------------------------------------------------------
# Inputs: layouts, lists, empty batch
# --------------------------------------------------------------------------
@dtypes
def test_non_contiguous_input_and_lists(dtype, rng):
    x = rand((2, 6, 9, 10), dtype, rng)[:, ::2, 1:, ::-1]
    xc = np.ascontiguousarray(x)
    for fn in (max_pool2d, avg_pool2d):
        np.testing.assert_array_equal(fn(x, 3, 2, 1), fn(xc, 3, 2, 1))
    np.testing.assert_array_equal(global_max_pool2d(x), global_max_pool2d(xc))
    y = max_pool2d([[[[1.0, 3.0], [2.0, 0.0]]]], 2)
    assert y.dtype == np.float64 and y[0, 0, 0, 0] == 3.0


def test_byteswapped_input_is_converted(rng):
    x = rand((1, 2, 5, 5), np.float64, rng)
    swapped = x.astype(x.dtype.newbyteorder("S"))
    assert not swapped.dtype.isnative
    np.testing.assert_array_equal(max_pool2d(swapped, 2), max_pool2d(x, 2))


@dtypes
def test_empty_batch(dtype):
    x = np.zeros((0, 3, 5, 5), dtype)
    y, idx = max_pool2d(x, 2, return_indices=True)
    assert y.shape == idx.shape == (0, 3, 2, 2)
    assert avg_pool2d(x, 3, 1, 1).shape == (0, 3, 5, 5)
    assert max_pool2d_backward(y, idx, x.shape).shape == x.shape
    assert avg_pool2d_backward(np.zeros((0, 3, 5, 5), dtype), x.shape, 3, 1, 1).shape == x.shape


# --------------------------------------------------------------------------
# Every kernel path agrees with the reference
# --------------------------------------------------------------------------
DISPATCH_CONFIGS = ["k3_s2_p1", "k4x2_s12_p21", "asym_pad", "pad_3_of_k4_s1", "dil_pair",
                    "ceil_partial_p1", "ceil_asym", "odd_s3_p1"]


@pytest.mark.parametrize("isa_name", pydl.isa_names())
@dtypes
def test_every_kernel_path_matches_reference(isa_name, dtype):
    rng = np.random.default_rng(7)
    with isa(isa_name) as active:
        assert active == isa_name
        for name in DISPATCH_CONFIGS:
            cfg = CONFIGS[name]
            pos, kw = _ref_args(cfg)
            k = int(np.prod(_pair(cfg[1])))
            x = rand(cfg[0][:2] + (cfg[0][2] + 9, cfg[0][3] + 17), dtype, rng)
            y, idx = max_pool2d(x, return_indices=True, **_args(cfg))
            ref_y, ref_idx = max_pool_ref(x, *pos, **kw)
            np.testing.assert_array_equal(y, ref_y.astype(dtype), err_msg=name)
            np.testing.assert_array_equal(idx, ref_idx, err_msg=name)
            gy = rand(y.shape, dtype, rng)
            np.testing.assert_allclose(max_pool2d_backward(gy, idx, x.shape),
                                       max_pool_backward_ref(gy, idx, x.shape),
                                       rtol=_tol(dtype, k)[0], atol=_tol(dtype, k)[1])
            for cip in (True, False):
                check_avg(avg_pool2d(x, count_include_pad=cip, **_args(cfg)),
                          avg_pool_ref(x, *pos, count_include_pad=cip, **kw), dtype, k, name)
                check_avg(avg_pool2d_backward(gy, x.shape, count_include_pad=cip, **_args(cfg)),
                          avg_pool_backward_ref(gy, x.shape, *pos, count_include_pad=cip, **kw),
                          dtype, k, name)


# --------------------------------------------------------------------------
# Determinism: 1 and 2 threads give bitwise identical results
# --------------------------------------------------------------------------
THREAD_CASES = {
    "k2_default": ((4, 16, 32, 32), dict(kernel_size=2)),
    "k3_s2_p1_ceil": ((4, 16, 32, 32), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    "k3_s1_overlap_odd_batch": ((3, 5, 33, 31), dict(kernel_size=(3, 2), stride=1,
                                                     padding=((2, 0), (1, 1)))),
}


@pytest.mark.parametrize("isa_name", pydl.isa_names())
@dtypes
@pytest.mark.parametrize("case", list(THREAD_CASES))
def test_one_and_two_threads_are_bitwise_identical(case, dtype, isa_name, rng):
    shape, kw = THREAD_CASES[case]
    with isa(isa_name):
        x = rand(shape, dtype, rng)
        y0, idx0 = max_pool2d(x, return_indices=True, **kw)
        gy = rand(y0.shape, dtype, rng)
        results = {}
        for n in (1, 2):
            with pydl.num_threads(n):
                y, idx = max_pool2d(x, return_indices=True, **kw)
                results[n] = dict(
                    max=y, indices=idx, max_bwd=max_pool2d_backward(gy, idx, shape),
                    avg=avg_pool2d(x, **kw),
                    avg_excl=avg_pool2d(x, count_include_pad=False, **kw),
                    avg_bwd=avg_pool2d_backward(gy, shape, **kw),
                    avg_bwd_excl=avg_pool2d_backward(gy, shape, count_include_pad=False, **kw),
                    gavg=global_avg_pool2d(x), gmax=global_max_pool2d(x))
        for what in results[1]:
            assert np.array_equal(results[1][what], results[2][what]), \
                f"{what}: 1 vs 2 threads differ ({case}, {isa_name})"
        # spot-check the threaded results against the references
        sub = np.s_[:1, :3]
        ref_y, ref_idx = max_pool_ref(x[sub], **kw)
        np.testing.assert_array_equal(results[2]["max"][sub], ref_y.astype(dtype))
        np.testing.assert_array_equal(results[2]["indices"][sub], ref_idx)
        check_avg(results[2]["avg"][sub], avg_pool_ref(x[sub], **kw), dtype, 9)


_THREAD_PROBE = (
    "import os, numpy as np, pydl\n"
    "def tasks(): return len(os.listdir('/proc/self/task'))\n"
    "x = np.random.default_rng(0).random((4, 16, 32, 32), np.float32)\n"
    "pydl.set_num_threads(2)\n"
    "before = tasks()\n"
    "pydl.ops.max_pool2d(x, 2)\n"
    "print(tasks() - before)\n"
)


@needs_openmp
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_thread_case_uses_two_threads():
    proc = run_python(["-c", _THREAD_PROBE], env={"OPENBLAS_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) == 1, (
        "no OpenMP worker thread started for a (4, 16, 32, 32) max pool: if pydl's pooling "
        "threshold changed, enlarge THREAD_CASES")


# --------------------------------------------------------------------------
# Errors: the exception type and a message naming the argument
# --------------------------------------------------------------------------
def _f64(*shape):
    return np.ones(shape, np.float64)


_X = _f64(2, 3, 6, 6)
_GY = _f64(2, 3, 3, 3)
_IDX = np.zeros((2, 3, 3, 3), np.int64)


def _window_errors(fn, name):
    return {
        f"{name}_x_ndim3": (lambda: fn(_f64(3, 6, 6), 2), ValueError,
                            r"x of shape \(N, C, H, W\)"),
        f"{name}_x_ndim5": (lambda: fn(_f64(1, 2, 3, 6, 6), 2), ValueError, r"\bx\b.*4-D"),
        f"{name}_x_int": (lambda: fn(np.ones((2, 3, 6, 6), np.int32), 2), TypeError,
                          r"x of dtype float32 or float64, got dtype int32"),
        f"{name}_x_float16": (lambda: fn(_X.astype(np.float16), 2), TypeError, r"float16"),
        f"{name}_kernel_zero": (lambda: fn(_X, 0), ValueError, r"kernel_size must be >= 1"),
        f"{name}_kernel_negative_pair": (lambda: fn(_X, (2, -1)), ValueError, r"kernel_size"),
        f"{name}_kernel_float": (lambda: fn(_X, 2.0), TypeError, r"kernel_size"),
        f"{name}_kernel_triple": (lambda: fn(_X, (2, 2, 2)), ValueError, r"kernel_size"),
        f"{name}_stride_zero": (lambda: fn(_X, 2, 0), ValueError, r"stride must be >= 1"),
        f"{name}_stride_negative": (lambda: fn(_X, 2, (1, -1)), ValueError, r"stride"),
        f"{name}_dilation_zero": (lambda: fn(_X, 2, dilation=0), ValueError,
                                  r"dilation must be >= 1"),
        f"{name}_padding_negative": (lambda: fn(_X, 2, padding=-1), ValueError,
                                     r"padding must be >= 0"),
        f"{name}_padding_negative_asym": (lambda: fn(_X, 3, padding=((0, 1), (1, -1))),
                                          ValueError, r"padding"),
        f"{name}_padding_equals_kernel": (lambda: fn(_X, 2, padding=2), ValueError,
                                          r"padding=2 must be smaller than the \(dilated\) "
                                          r"kernel extent 2x2"),
        f"{name}_padding_bottom_equals_kernel": (lambda: fn(_X, 3, padding=((0, 3), (0, 0))),
                                                 ValueError, r"padding=.*must be smaller"),
        f"{name}_padding_right_beyond_kernel": (lambda: fn(_X, (3, 2), padding=(1, 2)),
                                                ValueError, r"kernel extent 3x2"),
        f"{name}_padding_dilated_extent": (lambda: fn(_X, 2, padding=4, dilation=3), ValueError,
                                           r"kernel extent 4x4"),
        f"{name}_padding_string": (lambda: fn(_X, 2, padding="same"), ValueError,
                                   r"padding must be an int"),
        f"{name}_empty_output": (lambda: fn(_f64(1, 1, 2, 2), 3), ValueError,
                                 r"output would be empty"),
        f"{name}_empty_output_dilated": (lambda: fn(_f64(1, 1, 5, 5), 3, dilation=3),
                                         ValueError, r"output would be empty"),
        f"{name}_window_reads_only_gaps": (lambda: fn(_f64(1, 1, 2, 2), 2, 1, 1, 3), ValueError,
                                           r"some window reads no input element"),
        f"{name}_window_reads_only_gaps_rows": (lambda: fn(_f64(1, 1, 1, 5), (2, 1), 1, (1, 0),
                                                           (2, 1)), ValueError,
                                                r"reads no input element"),
    }


ERROR_CASES = {
    **_window_errors(max_pool2d, "max"),
    **_window_errors(avg_pool2d, "avg"),
    **_window_errors(lambda x, *a, **k: avg_pool2d_backward(
        np.ones((x.shape[0], x.shape[1], 3, 3)) if np.ndim(x) == 4 else x, np.shape(x), *a,
        **k), "avg_bwd_geometry")
}
# the backward takes no x: drop the x-dtype/ndim cases for it (grad_y is checked below)
for _k in [k for k in ERROR_CASES if k.startswith("avg_bwd_geometry_x_")]:
    del ERROR_CASES[_k]
ERROR_CASES.update({
    "max_bwd_indices_float": (lambda: max_pool2d_backward(_GY, _IDX.astype(np.float64),
                                                          _X.shape), TypeError,
                              r"indices must be integers.*float64"),
    "max_bwd_indices_bool": (lambda: max_pool2d_backward(_GY, _IDX.astype(bool), _X.shape),
                             TypeError, r"indices"),
    "max_bwd_indices_too_large": (lambda: max_pool2d_backward(_GY, _IDX + 36, _X.shape),
                                  ValueError, r"indices must lie in \[0, H\*W\) = \[0, 36\)"),
    "max_bwd_indices_negative": (lambda: max_pool2d_backward(_GY, _IDX - 1, _X.shape),
                                 ValueError, r"indices must lie in"),
    "max_bwd_indices_shape": (lambda: max_pool2d_backward(_GY, _IDX[:, :, :2], _X.shape),
                              ValueError, r"indices has shape \(2, 3, 2, 3\) but grad_y"),
    "max_bwd_input_shape_channels": (lambda: max_pool2d_backward(_GY, _IDX, (2, 4, 6, 6)),
                                     ValueError, r"input_shape=\(2, 4, 6, 6\)"),
    "max_bwd_input_shape_len3": (lambda: max_pool2d_backward(_GY, _IDX, (2, 3, 36)),
                                 ValueError, r"input_shape must be \(N, C, H, W\)"),
    "max_bwd_input_shape_negative": (lambda: max_pool2d_backward(_GY, _IDX, (2, 3, -6, 6)),
                                     ValueError, r"input_shape"),
    "max_bwd_input_shape_none": (lambda: max_pool2d_backward(_GY, _IDX, None), TypeError,
                                 r"input_shape"),
    "max_bwd_grad_y_int": (lambda: max_pool2d_backward(_IDX, _IDX, _X.shape), TypeError,
                           r"grad_y of dtype float32 or float64"),
    "max_bwd_grad_y_ndim": (lambda: max_pool2d_backward(_f64(2, 3, 9), _IDX, _X.shape),
                            ValueError, r"grad_y"),
    "avg_bwd_grad_y_shape": (lambda: avg_pool2d_backward(_f64(2, 3, 4, 3), _X.shape, 2),
                             ValueError, r"grad_y has shape \(2, 3, 4, 3\), expected "
                             r"\(2, 3, 3, 3\)"),
    "avg_bwd_grad_y_int": (lambda: avg_pool2d_backward(_IDX, _X.shape, 2), TypeError,
                           r"grad_y"),
    "avg_bwd_grad_y_ndim": (lambda: avg_pool2d_backward(_f64(3, 3, 3), _X.shape, 2),
                            ValueError, r"grad_y"),
    "avg_bwd_input_shape_len5": (lambda: avg_pool2d_backward(_GY, (1,) + _X.shape, 2),
                                 ValueError, r"input_shape"),
    "avg_bwd_input_shape_str": (lambda: avg_pool2d_backward(_GY, "abcd", 2), TypeError,
                                r"input_shape"),
    "global_avg_ndim": (lambda: global_avg_pool2d(_f64(3, 6, 6)), ValueError, r"\bx\b"),
    "global_avg_dtype": (lambda: global_avg_pool2d(np.ones((1, 1, 2, 2), int)), TypeError,
                         r"\bx\b"),
    "global_avg_empty": (lambda: global_avg_pool2d(_f64(1, 2, 0, 3)), ValueError,
                         r"empty planes"),
    "global_max_ndim": (lambda: global_max_pool2d(_f64(6, 6)), ValueError, r"\bx\b"),
    "global_max_dtype": (lambda: global_max_pool2d(np.ones((1, 1, 2, 2), np.complex128)),
                         TypeError, r"\bx\b"),
    "global_max_empty": (lambda: global_max_pool2d(_f64(1, 2, 3, 0)), ValueError,
                         r"empty planes"),
})


def test_checked_geometry_is_reused_but_never_for_a_bool(rng):
    # pool_geometry remembers checked int arguments; True == 1 must still fail
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    y = max_pool2d(x, 2, stride=1)
    np.testing.assert_array_equal(max_pool2d(x, 2, stride=1), y)
    with pytest.raises(TypeError, match="stride"):
        max_pool2d(x, 2, stride=True)
    with pytest.raises(TypeError, match="kernel_size"):
        max_pool2d(x, True, stride=1)


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors(case):
    call, exc, match = ERROR_CASES[case]
    with pytest.raises(exc, match=match) as info:
        call()
    assert "pool2d" in str(info.value)  # the message names the op


def test_padding_between_half_and_whole_kernel_is_accepted(rng):
    # ONNX allows pads up to the kernel extent; PyTorch stops at half the kernel.
    x = rand((1, 2, 5, 5), np.float64, rng)
    for k, p in ((3, 2), (4, 3), (2, 1), ((3, 4), (2, 3))):
        y = max_pool2d(x, k, 1, p)
        np.testing.assert_array_equal(y, max_pool_ref(x, k, 1, p)[0])
        check_avg(avg_pool2d(x, k, 1, p), avg_pool_ref(x, k, 1, p), np.float64, 16)


# --------------------------------------------------------------------------
# PyTorch (optional peer, not a dependency)
# --------------------------------------------------------------------------
# configurations PyTorch accepts: symmetric padding <= half the kernel;
# avg_pool2d has no dilation
TORCH_CONFIGS = ["k1", "k2_default_stride", "k2_default_stride_odd", "k2_s1_overlap", "k3_s2_p1",
                 "k3_s1_p1", "k4_s3_p2", "k2x3", "k3x1_s21_p10", "k4x2_s12_p21", "dil2",
                 "ceil_partial", "ceil_partial_p1", "ceil_drops_window_in_padding",
                 "ceil_s3", "ceil_dil2_p1", "ceil_default_stride", "batch1_odd_5x3",
                 "odd_s3_p1", "H1", "1x1_input_p1"]


def test_pools_match_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for name in TORCH_CONFIGS:
        cfg = CONFIGS[name]
        a = _args(cfg)
        x = rand(cfg[0], np.float64, rng)
        tx = torch.tensor(x, requires_grad=True)
        ty, tidx = F.max_pool2d(tx, return_indices=True, **a)
        y, idx = max_pool2d(x, return_indices=True, **a)
        np.testing.assert_array_equal(y, ty.detach().numpy(), err_msg=name)
        np.testing.assert_array_equal(idx, tidx.numpy(), err_msg=name)
        gy = rand(y.shape, np.float64, rng)
        ty.backward(torch.tensor(gy))
        np.testing.assert_allclose(max_pool2d_backward(gy, idx, x.shape), tx.grad.numpy(),
                                   rtol=1e-14, atol=1e-14, err_msg=name)
        if a["dilation"] != 1:
            continue
        del a["dilation"]
        for cip in (True, False):
            tx = torch.tensor(x, requires_grad=True)
            ty = F.avg_pool2d(tx, count_include_pad=cip, **a)
            y = avg_pool2d(x, count_include_pad=cip, **a)
            np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-14, atol=1e-14,
                                       err_msg=f"{name} count_include_pad={cip}")
            gy = rand(y.shape, np.float64, rng)
            ty.backward(torch.tensor(gy))
            np.testing.assert_allclose(avg_pool2d_backward(gy, x.shape, count_include_pad=cip,
                                                           **a),
                                       tx.grad.numpy(), rtol=1e-14, atol=1e-14,
                                       err_msg=f"{name} count_include_pad={cip} backward")


# --------------------------------------------------------------------------
# The vectorised max-pooling paths (2x2 stride 2 in one pass, any window tap
# by tap, clipped edge windows one at a time, rows of more than one 256-output
# chunk): values and indices equal the reference's for many shapes, with ties
# and NaN
# --------------------------------------------------------------------------
SWEEP_GEOMETRIES = [
    # kernel, stride, padding, dilation, ceil_mode
    (2, 2, 0, 1, False),
    (2, 2, 0, 1, True),
    (2, 2, 1, 1, False),
    (2, 2, 1, 1, True),
    ((2, 2), (2, 2), ((1, 0), (0, 1)), 1, False),
    (2, 1, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    (3, 2, 0, 1, False),
    (3, 1, 1, 1, False),
    (2, 2, 0, 2, False),
    (3, 3, 1, 2, True),
    ((2, 3), (1, 2), (1, 1), (2, 1), False),
    ((1, 2), (1, 2), 0, 1, False),
    ((3, 2), (2, 2), (1, 0), 1, True),
]
SWEEP_SIZES = [(1, 1), (2, 2), (3, 5), (4, 4), (7, 9), (8, 17), (5, 33), (4, 66), (3, 530)]


def _sweep_input(shape, dtype, rng, kind):
    if kind == "ties":  # few distinct values: many equal maxima in a window
        return rng.integers(-2, 3, size=shape).astype(dtype)
    if kind == "zeros":  # -0.0 and +0.0 tie: the first one is kept (value and index)
        return rng.choice(np.array([-0.0, 0.0, -1.0], dtype), size=shape)
    x = rand(shape, dtype, rng)
    if kind == "nan":  # NaN (several per window, at random) and inf
        x[rng.random(shape) < 0.15] = np.nan
        x[rng.random(shape) < 0.05] = np.inf
        x[rng.random(shape) < 0.05] = -np.inf
    return x


@pytest.mark.slow
@dtypes
@pytest.mark.parametrize("kind", ["random", "ties", "zeros", "nan"])
@pytest.mark.parametrize("geometry", SWEEP_GEOMETRIES, ids=str)
def test_max_pool_vector_paths_match_reference(geometry, kind, dtype, rng):
    kernel, stride, padding, dilation, ceil_mode = geometry
    kw = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    kh, kwid = _pair(kernel)
    dh, dw = _pair(dilation)
    pt, pb, pl, pr = _pads(padding)
    for h, w in SWEEP_SIZES:
        if (h + pt + pb < dh * (kh - 1) + 1 or w + pl + pr < dw * (kwid - 1) + 1
                or max(pt, pb) >= dh * (kh - 1) + 1 or max(pl, pr) >= dw * (kwid - 1) + 1):
            continue
        try:
            x = _sweep_input((2, 2, h, w), dtype, rng, kind)
            y, idx = max_pool2d(x, kernel, return_indices=True, **kw)
        except ValueError:  # e.g. a ceil_mode window starting in the padding
            continue
        ref_y, ref_idx = max_pool_ref(x, kernel, **kw)
        where = f"{geometry}, {(h, w)}, {kind}"
        np.testing.assert_array_equal(idx, ref_idx, err_msg=where)
        # a selection: the exact element, sign of zero and NaN included
        np.testing.assert_array_equal(y, ref_y.astype(dtype), err_msg=where)
        assert np.array_equal(np.signbit(y), np.signbit(ref_y)), where
        flat = x.reshape(4, -1)
        np.testing.assert_array_equal(
            np.take_along_axis(flat, idx.reshape(4, -1), 1).reshape(y.shape), y, err_msg=where)
        # without indices: the same values; bit for bit for 2x2 stride-2 windows, else
        # up to the sign of a zero (pydl.h)
        y2 = max_pool2d(x, kernel, **kw)
        np.testing.assert_array_equal(y2, y, err_msg=where)
        if _pair(kernel) == (2, 2) and _pair(stride)[1] == 2 and _pair(dilation) == (1, 1):
            assert np.array_equal(y2.view(np.uint8), y.view(np.uint8)), where


@dtypes
def test_max_pool_nan_takes_first_nan_index(dtype):
    # NaN in several taps of one window: the first NaN in row-major order
    x = np.zeros((1, 1, 4, 600), dtype)
    x[0, 0, 0, 1] = np.nan        # window (0, 0): taps a=0, b=NaN, c, d
    x[0, 0, 1, 0] = np.nan        #   ... and c=NaN: index of b
    x[0, 0, 1, 3] = np.nan        # window (0, 1): only d
    x[0, 0, 0, 4] = 5.0           # window (0, 2): 5 then a later NaN
    x[0, 0, 1, 5] = np.nan
    x[0, 0, 2, 598:600] = 7.0     # window (1, 299), in the second 256-output chunk: tie
    y, idx = max_pool2d(x, 2, return_indices=True)
    assert idx[0, 0, 0, 0] == 1 and np.isnan(y[0, 0, 0, 0])
    assert idx[0, 0, 0, 1] == 600 + 3 and np.isnan(y[0, 0, 0, 1])
    assert idx[0, 0, 0, 2] == 600 + 5 and np.isnan(y[0, 0, 0, 2])
    assert idx[0, 0, 1, 299] == 2 * 600 + 598 and y[0, 0, 1, 299] == 7.0
    assert np.isnan(max_pool2d(x, 2)[0, 0, 0, :3]).all()


@needs_openmp
@pytest.mark.parametrize("isa_name", pydl.isa_names())
@dtypes
def test_max_pool_vector_paths_one_and_two_threads(isa_name, dtype, rng):
    with isa(isa_name):
        for kernel, stride, padding in ((2, 2, 0), (3, 2, 1), (2, 1, 0)):
            x = _sweep_input((8, 16, 33, 530), dtype, rng, "ties")
            x[0, 0, 0, :7] = np.nan
            got = {}
            for n in (1, 2):
                with pydl.num_threads(n):
                    y, idx = max_pool2d(x, kernel, stride, padding, return_indices=True)
                    got[n] = (y, idx, max_pool2d(x, kernel, stride, padding),
                              max_pool2d_backward(y, idx, x.shape))
            for a, b in zip(got[1], got[2]):
                assert np.array_equal(a.view(np.uint8), b.view(np.uint8))


@dtypes
@pytest.mark.parametrize("bad", [-1, 36, 1 << 40, -(1 << 62)])
def test_max_backward_bad_index_leaves_out_untouched(bad, dtype, rng):
    x = rand((2, 3, 6, 6), dtype, rng)
    y, idx = max_pool2d(x, 2, return_indices=True)
    idx[1, 2, 2, 1] = bad  # the last plane, so earlier planes would be written first
    out = np.full(x.shape, 3.0, dtype)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, H\*W\) = \[0, 36\)"):
        max_pool2d_backward(y, idx, x.shape, out=out)
    assert (out == 3.0).all()
    # a large call (2 threads) too
    x = rand((16, 16, 24, 24), dtype, rng)
    y, idx = max_pool2d(x, 2, return_indices=True)
    idx[-1, -1, -1, -1] = bad if bad != 36 else 576
    out = np.full(x.shape, 3.0, dtype)
    with pytest.raises(ValueError, match=r"indices must lie in"):
        max_pool2d_backward(y, idx, x.shape, out=out)
    assert (out == 3.0).all()
