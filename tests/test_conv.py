"""pydl.ops.conv2d and pydl.ops.conv2d_backward against float64 numpy references.

The references below share no code with pydl: the forward pads with np.pad and
sums one strided slice per kernel tap (r, s); the backward is the explicit
adjoint of that loop (scatter into the padded input, then crop), and finite
differences check the forward/backward pair independently of both.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pydl
from helpers import needs_openmp
from helpers import (DTYPE_IDS, DTYPES, assert_gemm_close, finite_diff_grad, isa, rand,
                     run_python)

conv2d = pydl.ops.conv2d
conv2d_backward = pydl.ops.conv2d_backward

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)


# --------------------------------------------------------------------------
# float64 references
# --------------------------------------------------------------------------
def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _same_pads(size, k, stride, dil):
    """SAME_UPPER: output ceil(size/stride); the odd extra padding goes at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dil * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def ref_geometry(x_shape, w_shape, stride, padding, dilation):
    _, _, h, w = x_shape
    _, _, r, s = w_shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            pt = pb = pl = pr = 0
        else:
            assert padding == "same"
            pt, pb = _same_pads(h, r, sh, dh)
            pl, pr = _same_pads(w, s, sw, dw)
    elif np.ndim(padding) == 0:
        pt = pb = pl = pr = int(padding)
    elif isinstance(padding[0], (tuple, list)):
        (pt, pb), (pl, pr) = padding
    else:
        pt = pb = int(padding[0])
        pl = pr = int(padding[1])
    out_h = (h + pt + pb - dh * (r - 1) - 1) // sh + 1
    out_w = (w + pl + pr - dw * (s - 1) - 1) // sw + 1
    return dict(sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl, pr=pr, out_h=out_h,
                out_w=out_w)


def _tap_slices(g, r, s):
    """Index of the padded input read by kernel tap (r, s) for every output position."""
    rows = slice(r * g["dh"], r * g["dh"] + g["sh"] * (g["out_h"] - 1) + 1, g["sh"])
    cols = slice(s * g["dw"], s * g["dw"] + g["sw"] * (g["out_w"] - 1) + 1, g["sw"])
    return rows, cols


def conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    n, c, _, _ = x.shape
    k, cg, r_, s_ = w.shape
    g = ref_geometry(x.shape, w.shape, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (g["pt"], g["pb"]), (g["pl"], g["pr"])))
    kg = k // groups
    y = np.zeros((n, k, g["out_h"], g["out_w"]))
    for grp in range(groups):
        xg = xp[:, grp * cg:(grp + 1) * cg]
        wg = w[grp * kg:(grp + 1) * kg]
        for r in range(r_):
            for s in range(s_):
                rows, cols = _tap_slices(g, r, s)
                y[:, grp * kg:(grp + 1) * kg] += np.einsum("nchw,kc->nkhw", xg[:, :, rows, cols],
                                                           wg[:, :, r, s])
    if b is not None:
        y += np.asarray(b, np.float64)[None, :, None, None]
    return y


def conv2d_backward_ref(gy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """The adjoint of conv2d_ref's loop: (grad_x, grad_weight, grad_bias) in float64."""
    gy = np.asarray(gy, np.float64)
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    _, _, h, wd = x.shape
    k, cg, r_, s_ = w.shape
    g = ref_geometry(x.shape, w.shape, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (g["pt"], g["pb"]), (g["pl"], g["pr"])))
    gxp = np.zeros_like(xp)
    gw = np.zeros_like(w)
    kg = k // groups
    for grp in range(groups):
        cs, ks = slice(grp * cg, (grp + 1) * cg), slice(grp * kg, (grp + 1) * kg)
        for r in range(r_):
            for s in range(s_):
                rows, cols = _tap_slices(g, r, s)
                gxp[:, cs, rows, cols] += np.einsum("nkhw,kc->nchw", gy[:, ks], w[ks, :, r, s])
                gw[ks, :, r, s] += np.einsum("nkhw,nchw->kc", gy[:, ks], xp[:, cs, rows, cols])
    gx = gxp[:, :, g["pt"]:g["pt"] + h, g["pl"]:g["pl"] + wd]
    return gx, gw, gy.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------
# Comparison with a tolerance scaled by the reduction length
# --------------------------------------------------------------------------
def _absmax(a):
    a = np.asarray(a)
    return float(np.abs(a).max()) if a.size else 0.0


def check_forward(got, x, w, b=None, err_msg="", **kw):
    ref = conv2d_ref(x, w, b, **kw)
    _, cg, r, s = w.shape
    scale = max(_absmax(x) * _absmax(w), _absmax(b) if b is not None else 0.0, 1e-30)
    assert_gemm_close(got, ref, cg * r * s + 1, x.dtype, scale=scale, err_msg=err_msg)


def check_backward(got, gy, x, w, needs=(True, True, True), err_msg="", **kw):
    gx, gw, gb = got
    rx, rw, rb = conv2d_backward_ref(gy, x, w, **kw)
    k, _, r, s = w.shape
    groups = kw.get("groups", 1)
    n, _, oh, ow = gy.shape
    positions = max(n * oh * ow, 1)
    dtype = x.dtype
    if needs[0]:
        assert_gemm_close(gx, rx, k // groups * r * s, dtype,
                          scale=max(_absmax(gy) * _absmax(w), 1e-30), err_msg=err_msg + " grad_x")
    else:
        assert gx is None
    if needs[1]:
        assert_gemm_close(gw, rw, positions, dtype, scale=max(_absmax(gy) * _absmax(x), 1e-30),
                          err_msg=err_msg + " grad_weight")
    else:
        assert gw is None
    if needs[2]:
        # A plain running sum (pydl sums in double): its rounding error grows
        # like eps64 * positions, not sqrt(positions), once the partial sums
        # are large; still far below one term.
        eps = float(np.finfo(dtype).eps)
        atol = (16 * eps * np.sqrt(positions) + 2 * np.finfo(np.float64).eps * positions) \
            * max(_absmax(gy), 1e-30)
        assert gb.dtype == dtype and gb.shape == rb.shape
        np.testing.assert_allclose(gb, rb, rtol=4 * eps, atol=atol, err_msg=err_msg + " grad_bias")
    else:
        assert gb is None


def test_references_on_hand_computed_cases():
    # The references themselves: a 2x2 input, a 2x2 kernel, padding 1.
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = np.array([[[[1.0, 10.0], [100.0, 1000.0]]]])
    y = conv2d_ref(x, w, padding=1)
    np.testing.assert_array_equal(y[0, 0], [[1000 * 1, 1000 * 2 + 100 * 1, 100 * 2],
                                            [1000 * 3 + 10 * 1, 4321, 100 * 4 + 2],
                                            [10 * 3, 10 * 4 + 3, 4]])
    # stride 2, dilation 2 on a 5x5 ramp: taps (0,0), (0,2), (2,0), (2,2)
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    y = conv2d_ref(x, np.ones((1, 1, 2, 2)), stride=2, dilation=2)
    np.testing.assert_array_equal(y[0, 0], [[0 + 2 + 10 + 12, 2 + 4 + 12 + 14],
                                            [10 + 12 + 20 + 22, 12 + 14 + 22 + 24]])
    # the backward reference is the adjoint of the forward: <gy, A x> == <A^T gy, x>
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 4, 6, 7)), rng.standard_normal((6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=((1, 2), (0, 1)), dilation=(1, 2), groups=2)
    gy = rng.standard_normal(conv2d_ref(x, w, **kw).shape)
    gx, gw, _ = conv2d_backward_ref(gy, x, w, **kw)
    lhs = np.sum(gy * conv2d_ref(x, w, **kw))
    assert np.isclose(lhs, np.sum(gx * x)) and np.isclose(lhs, np.sum(gw * w))


def test_tolerance_catches_a_wrong_tap(rng):
    # Dropping one kernel tap or shifting the window by one must fail the check.
    x, w = rand((2, 3, 7, 7), np.float32, rng), rand((4, 3, 3, 3), np.float32, rng)
    y = conv2d(x, w, padding=1)
    check_forward(y, x, w, padding=1)
    w_drop = w.copy()
    w_drop[:, :, 1, 2] = 0
    with pytest.raises(AssertionError):
        check_forward(conv2d_ref(x, w_drop, padding=1).astype(np.float32), x, w, padding=1)
    shifted = conv2d_ref(x, w, padding=((0, 2), (1, 1))).astype(np.float32)
    with pytest.raises(AssertionError):
        check_forward(shifted, x, w, padding=1)


# --------------------------------------------------------------------------
# The seed example
# --------------------------------------------------------------------------
@dtypes
def test_seed_example_1x3_filter(dtype):
    x = np.arange(1, 26, dtype=dtype).reshape(1, 1, 5, 5)
    w = np.array([1, 2, 1], dtype=dtype).reshape(1, 1, 1, 3)
    expected = np.array([[8, 12, 16], [28, 32, 36], [48, 52, 56], [68, 72, 76], [88, 92, 96]],
                        dtype=dtype)
    y = conv2d(x, w)
    assert y.shape == (1, 1, 5, 3) and y.dtype == dtype
    np.testing.assert_array_equal(y[0, 0], expected)
    np.testing.assert_array_equal(conv2d(x, w, padding="valid")[0, 0], expected)
    np.testing.assert_array_equal(conv2d_ref(x, w)[0, 0], expected)


# --------------------------------------------------------------------------
# Parametrized configurations
# --------------------------------------------------------------------------
# name: (x shape, weight shape, stride, padding, dilation, groups)
CONFIGS = {
    "k1_pointwise": ((2, 5, 6, 7), (3, 5, 1, 1), 1, 0, 1, 1),
    "k1_stride2": ((1, 3, 7, 5), (4, 3, 1, 1), 2, 0, 1, 1),
    "k1_pad1": ((2, 3, 4, 5), (2, 3, 1, 1), 1, 1, 1, 1),
    "k1_dil3": ((1, 2, 5, 5), (3, 2, 1, 1), 1, 0, 3, 1),
    "k1_pad_bottom_only": ((1, 3, 4, 5), (2, 3, 1, 1), 1, ((0, 1), (0, 2)), 1, 1),
    "k2": ((2, 3, 6, 6), (4, 3, 2, 2), 1, 0, 1, 1),
    "k3_pad1": ((2, 3, 8, 9), (5, 3, 3, 3), 1, 1, 1, 1),
    "k3_s2_pad1": ((1, 4, 9, 9), (6, 4, 3, 3), 2, 1, 1, 1),
    "k5_s3_pad2": ((2, 2, 9, 8), (3, 2, 5, 5), 3, 2, 1, 1),
    "k6_pad1": ((1, 3, 7, 8), (2, 3, 6, 6), 1, 1, 1, 1),
    "k7": ((1, 2, 9, 9), (2, 2, 7, 7), 1, 0, 1, 1),
    "k7_s2_pad3": ((1, 3, 9, 7), (2, 3, 7, 7), 2, 3, 1, 1),
    "k1x3_pad_pair": ((2, 3, 5, 7), (4, 3, 1, 3), 1, (0, 1), 1, 1),
    "k3x1_stride_pair": ((2, 3, 7, 6), (2, 3, 3, 1), (2, 1), (1, 0), 1, 1),
    "k2x5_pairs": ((1, 5, 6, 9), (3, 5, 2, 5), (1, 2), (1, 2), 1, 1),
    "k4x3_asym": ((2, 3, 7, 8), (3, 3, 4, 3), 1, ((1, 2), (0, 1)), 1, 1),
    "k3_s2_asym": ((1, 2, 9, 9), (4, 2, 3, 3), 2, ((0, 2), (2, 0)), 1, 1),
    "k7x2_s3_asym": ((2, 2, 9, 6), (3, 2, 7, 2), (3, 2), ((3, 0), (1, 2)), 1, 1),
    "valid": ((2, 3, 6, 7), (2, 3, 3, 2), 1, "valid", 1, 1),
    "valid_s2": ((1, 3, 8, 9), (2, 3, 3, 3), 2, "valid", 1, 1),
    "same_k3": ((2, 3, 7, 6), (4, 3, 3, 3), 1, "same", 1, 1),
    "same_k2_even": ((1, 3, 5, 6), (2, 3, 2, 2), 1, "same", 1, 1),
    "same_k4_even_s2": ((2, 2, 9, 8), (3, 2, 4, 4), 2, "same", 1, 1),
    "same_k3_s2": ((1, 3, 7, 8), (2, 3, 3, 3), 2, "same", 1, 1),
    "same_k6x2_s2": ((1, 2, 9, 7), (2, 2, 6, 2), 2, "same", 1, 1),
    "same_k1x4_dil2": ((1, 2, 6, 7), (3, 2, 1, 4), 1, "same", 2, 1),
    "same_k5x2_s3": ((1, 2, 9, 7), (2, 2, 5, 2), 3, "same", 1, 1),
    "same_k3_s2_dil2_groups2": ((2, 4, 8, 7), (2, 2, 3, 3), 2, "same", 2, 2),
    "dil2_k3": ((2, 3, 9, 9), (2, 3, 3, 3), 1, 2, 2, 1),
    "dil3_k3_pad1": ((1, 2, 9, 9), (3, 2, 3, 3), 1, 1, 3, 1),
    "dil_pair_s2": ((1, 3, 9, 8), (2, 3, 3, 2), 2, (1, 2), (2, 3), 1),
    "dil2_k2_s3_asym": ((2, 2, 8, 9), (2, 2, 2, 2), 3, ((2, 1), (0, 3)), 2, 1),
    "groups2_K6_C4": ((2, 4, 6, 7), (6, 2, 3, 3), 1, 1, 1, 2),
    "groups2_K4_C6": ((1, 6, 5, 6), (4, 3, 3, 2), (1, 2), ((1, 0), (0, 1)), 1, 2),
    "groups3": ((2, 6, 6, 5), (3, 2, 2, 3), 1, 1, 1, 3),
    "groups2_k1": ((2, 4, 5, 5), (6, 2, 1, 1), 1, 0, 1, 2),
    "depthwise": ((2, 5, 7, 7), (5, 1, 3, 3), 1, 1, 1, 5),
    "depthwise_x2_s2": ((1, 3, 8, 8), (6, 1, 3, 3), 2, 1, 1, 3),
    "depthwise_dil2": ((1, 4, 9, 9), (4, 1, 3, 3), 1, 2, 2, 4),
    "depthwise_k1": ((2, 3, 4, 5), (3, 1, 1, 1), 1, 0, 1, 3),
    "C7_K5": ((2, 7, 6, 6), (5, 7, 3, 3), 1, 1, 1, 1),
    "C1_K1": ((2, 1, 5, 5), (1, 1, 3, 3), 1, 0, 1, 1),
    "all_ones": ((1, 1, 1, 1), (1, 1, 1, 1), 1, 0, 1, 1),
    "H1_W9": ((2, 3, 1, 9), (2, 3, 1, 3), 1, (0, 1), 1, 1),
    "odd_5x3_pad1": ((1, 1, 5, 3), (2, 1, 3, 3), 1, 1, 1, 1),
    "padding_beyond_kernel": ((1, 2, 3, 3), (2, 2, 2, 2), 1, 3, 1, 1),
    "kernel_fills_padded_input": ((1, 2, 3, 4), (2, 2, 5, 6), 1, 1, 1, 1),
    "stride_beyond_kernel": ((1, 2, 9, 9), (3, 2, 2, 2), 3, 0, 1, 1),
    # float32 layers with few channels per group take the direct kernels
    # (csrc/conv/conv_direct.c): the data gradient too once C/groups >= 8
    "direct_lenet2_like": ((3, 9, 12, 12), (10, 9, 5, 5), 1, 0, 1, 1),
    "direct_pad2_dil2": ((2, 8, 11, 13), (6, 8, 3, 3), 1, 2, 2, 1),
    "direct_groups2_C16": ((2, 16, 9, 10), (12, 8, 3, 3), 1, 1, 1, 2),
    "direct_wide_rows": ((2, 8, 5, 40), (9, 8, 3, 5), 1, (1, 2), 1, 1),
    "direct_stride_h2": ((2, 8, 11, 9), (5, 8, 3, 3), (2, 1), 1, 1, 1),
    "direct_asym_pad": ((1, 8, 7, 9), (3, 8, 3, 4), 1, ((2, 0), (1, 3)), 1, 1),
    "direct_K26_two_lane_blocks": ((2, 3, 7, 8), (26, 3, 3, 3), 1, 1, 1, 1),
    "direct_depthwise_k5": ((2, 4, 9, 11), (4, 1, 5, 5), 1, 2, 1, 4),
    # more than 32 output (or, for the data gradient, input) channels per
    # group take the wide kernels where the ISA has them (AVX-512): partial
    # channel blocks, column strides, blocks of 8, 10, 12 and 14 positions,
    # kernel widths 3, 5 and others (the weight gradient's three variants);
    # forward rows of at least 8 outputs
    "wide_K40_s2": ((2, 5, 11, 15), (40, 5, 3, 3), 2, 1, 1, 1),
    "wide_K33_sw3_dil2_asym": ((1, 6, 9, 26), (33, 6, 3, 2), (1, 3), ((1, 0), (2, 1)), (1, 2), 1),
    # rows of fewer than 8 outputs: the forward goes to im2col, the
    # gradients stay on the wide kernels
    "wide_K40_s2_out7": ((2, 5, 11, 13), (40, 5, 3, 3), 2, 1, 1, 1),
    "wide_K33_sw3_dil2_out6": ((1, 6, 9, 17), (33, 6, 3, 2), (1, 3), ((1, 0), (2, 1)), (1, 2), 1),
    "wide_groups2_C80_K72": ((2, 80, 7, 9), (72, 40, 3, 3), 1, 1, 1, 2),
    "wide_C34_K34_W29": ((1, 34, 3, 29), (34, 34, 1, 3), 1, (0, 1), 1, 1),
    "wide_C48_K64_W24": ((1, 48, 4, 24), (64, 48, 3, 3), 1, 1, 1, 1),
    "wide_K36_k5": ((2, 3, 9, 10), (36, 3, 5, 5), 1, 2, 1, 1),
    "wide_C34_K40_W14": ((1, 34, 14, 14), (40, 34, 3, 3), 1, 1, 1, 1),
    # 1x1 kernels stay on im2col even with many channels
    "wide_1x1_s2_K40": ((2, 8, 9, 11), (40, 8, 1, 1), 2, 0, 1, 1),
    # float32 3x3 stride-1 layers with >= 64 input and output channels take
    # Winograd F(2x2, 3x3) (csrc/conv/conv_winograd.c), all three passes: odd outputs (clipped tiles), no padding, asymmetric padding,
    # padding 3 (the data gradient's padding 2 - 3 skips a row and a column),
    # tiles in two chunks whose runs cross images and rows of tiles
    "wino_C64_K64_odd": ((2, 64, 9, 11), (64, 64, 3, 3), 1, 1, 1, 1),
    "wino_C72_K65_pad0": ((1, 72, 8, 7), (65, 72, 3, 3), 1, 0, 1, 1),
    "wino_C64_K80_asym": ((1, 64, 7, 9), (80, 64, 3, 3), 1, ((2, 0), (0, 1)), 1, 1),
    "wino_C64_K64_pad3": ((1, 64, 5, 6), (64, 64, 3, 3), 1, 3, 1, 1),
    "wino_N3_two_chunks": ((3, 64, 13, 17), (64, 64, 3, 3), 1, 1, 1, 1),
    # more filters than 256*256 (ResNet's 512-channel stages take Winograd)
    "wino_C288_K272_big": ((1, 288, 6, 5), (272, 288, 3, 3), 1, 1, 1, 1),
    # float32 layers of >= 32 images with few channels take the batch in the
    # lanes (csrc/conv/conv_lanes.c; forward, and the data gradient at stride
    # 1): two channel blocks, a partial image group with rows of more than 16
    # columns, strides with dilation and a 5-channel block, padding wider than
    # the kernel (rows wholly in padding; the data gradient's padding is
    # negative), 7-channel blocks with column dilation; weight-gradient
    # kernel widths 1, 6 and 7 with a last block of half the channels
    "lanes_N32_lenet2": ((32, 6, 12, 12), (16, 6, 5, 5), 1, 0, 1, 1),
    "lanes_N33_pad2_W19": ((33, 1, 20, 19), (6, 1, 5, 5), 1, 2, 1, 1),
    "lanes_N33_s2_dil2_asym": ((33, 3, 13, 21), (13, 3, 3, 4), (2, 3), ((1, 2), (0, 3)), (2, 1), 1),
    "lanes_N32_K1_pad4": ((32, 2, 6, 7), (1, 2, 3, 3), 1, 4, 1, 1),
    "lanes_N40_K7_dil": ((40, 4, 11, 9), (7, 4, 3, 2), 1, (2, 1), (2, 3), 1),
    "lanes_N32_S1": ((32, 4, 5, 6), (10, 4, 3, 1), 1, (1, 0), 1, 1),
    "lanes_N32_S6": ((32, 3, 8, 11), (9, 3, 2, 6), 1, 1, 1, 1),
    "lanes_N32_S7": ((32, 2, 9, 10), (4, 2, 1, 7), 1, (0, 3), 1, 1),
}


def _kw(cfg):
    _, _, stride, padding, dilation, groups = cfg
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def _operands(cfg, dtype, rng, bias=True):
    x_shape, w_shape = cfg[0], cfg[1]
    x, w = rand(x_shape, dtype, rng), rand(w_shape, dtype, rng)
    b = rand((w_shape[0],), dtype, rng) if bias else None
    return x, w, b


@dtypes
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_forward(name, bias, dtype, rng):
    cfg = CONFIGS[name]
    kw = _kw(cfg)
    x, w, b = _operands(cfg, dtype, rng, bias)
    x0, w0 = x.copy(), w.copy()
    y = conv2d(x, w, b, **kw)
    g = ref_geometry(x.shape, w.shape, kw["stride"], kw["padding"], kw["dilation"])
    assert y.shape == (x.shape[0], w.shape[0], g["out_h"], g["out_w"])
    assert y.dtype == dtype and y.flags.c_contiguous
    check_forward(y, x, w, b, err_msg=name, **kw)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


@dtypes
@pytest.mark.parametrize("name", list(CONFIGS))
def test_backward(name, dtype, rng):
    cfg = CONFIGS[name]
    kw = _kw(cfg)
    x, w, _ = _operands(cfg, dtype, rng, bias=False)
    g = ref_geometry(x.shape, w.shape, kw["stride"], kw["padding"], kw["dilation"])
    gy = rand((x.shape[0], w.shape[0], g["out_h"], g["out_w"]), dtype, rng)
    got = conv2d_backward(gy, x, w, **kw)
    for arr, like in zip(got, (x, w, w[:, 0, 0, 0])):
        assert arr.shape == like.shape and arr.dtype == dtype
    check_backward(got, gy, x, w, err_msg=name, **kw)


# Exact expectations for 'same' (independent of the reference's formula):
# (H, W, R, S, stride, dilation) -> ((top, bottom), (left, right)).
SAME_PADS = [
    ((5, 6, 2, 2, 1, 1), ((0, 1), (0, 1))),
    ((7, 7, 3, 3, 1, 1), ((1, 1), (1, 1))),
    ((9, 8, 4, 4, 2, 1), ((1, 2), (1, 1))),
    ((7, 8, 3, 3, 2, 1), ((1, 1), (0, 1))),
    ((6, 6, 1, 4, 1, 2), ((0, 0), (3, 3))),
    ((9, 7, 5, 2, 3, 1), ((1, 1), (0, 1))),
    ((4, 4, 1, 1, 3, 1), ((0, 0), (0, 0))),
]


@pytest.mark.parametrize("case,pads", SAME_PADS, ids=[str(c) for c, _ in SAME_PADS])
def test_same_padding_is_same_upper(case, pads, rng):
    h, w_, r, s, stride, dil = case
    x, w = rand((1, 2, h, w_), np.float64, rng), rand((3, 2, r, s), np.float64, rng)
    y = conv2d(x, w, padding="same", stride=stride, dilation=dil)
    assert y.shape[2:] == (-(-h // stride), -(-w_ // stride))
    explicit = conv2d(x, w, padding=pads, stride=stride, dilation=dil)
    np.testing.assert_array_equal(y, explicit)
    gy = rand(y.shape, np.float64, rng)
    for a, b in zip(conv2d_backward(gy, x, w, padding="same", stride=stride, dilation=dil),
                    conv2d_backward(gy, x, w, padding=pads, stride=stride, dilation=dil)):
        np.testing.assert_array_equal(a, b)


@dtypes
def test_padding_forms_agree(dtype, rng):
    x, w = rand((2, 3, 6, 7), dtype, rng), rand((4, 3, 3, 2), dtype, rng)
    y = conv2d(x, w, padding=(1, 2))
    np.testing.assert_array_equal(y, conv2d(x, w, padding=((1, 1), (2, 2))))
    np.testing.assert_array_equal(y, conv2d(x, w, padding=[np.int64(1), 2]))
    np.testing.assert_array_equal(conv2d(x, w, padding=1), conv2d(x, w, padding=(1, 1)))
    np.testing.assert_array_equal(conv2d(x, w, padding=0), conv2d(x, w, padding="valid"))
    np.testing.assert_array_equal(conv2d(x, w, stride=2), conv2d(x, w, stride=(2, 2)))
    np.testing.assert_array_equal(conv2d(x, w, dilation=(2, 2)), conv2d(x, w, dilation=2))


# --------------------------------------------------------------------------
# Property test over random small configurations
# --------------------------------------------------------------------------
@st.composite
def conv_problems(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg = draw(st.integers(1, 3))
    kg = draw(st.integers(1, 3))
    depthwise = draw(st.booleans()) and groups > 1
    if depthwise:
        cg = 1
    r, s = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    form = draw(st.sampled_from(["int", "pair", "asym", "valid", "same"]))
    if form == "int":
        p = draw(st.integers(0, 3))
        padding, pads = p, (p, p, p, p)
    elif form == "pair":
        ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        padding, pads = (ph, pw), (ph, ph, pw, pw)
    elif form == "asym":
        pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
        padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    else:
        padding, pads = form, (0, 0, 0, 0)
    # smallest input the kernel fits in ('same' always fits)
    min_h = 1 if form == "same" else max(1, dh * (r - 1) + 1 - pads[0] - pads[1])
    min_w = 1 if form == "same" else max(1, dw * (s - 1) + 1 - pads[2] - pads[3])
    h = draw(st.integers(min_h, min_h + 6))
    w = draw(st.integers(min_w, min_w + 6))
    n = draw(st.integers(1, 2))
    return dict(x_shape=(n, groups * cg, h, w), w_shape=(groups * kg, cg, r, s),
                kw=dict(stride=(sh, sw), padding=padding, dilation=(dh, dw), groups=groups),
                bias=draw(st.booleans()), dtype=draw(st.sampled_from(DTYPES)),
                seed=draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_problems())
def test_property_forward_and_backward(problem):
    rng = np.random.default_rng(problem["seed"])
    dtype, kw = problem["dtype"], problem["kw"]
    x, w = rand(problem["x_shape"], dtype, rng), rand(problem["w_shape"], dtype, rng)
    b = rand((w.shape[0],), dtype, rng) if problem["bias"] else None
    y = conv2d(x, w, b, **kw)
    check_forward(y, x, w, b, **kw)
    gy = rand(y.shape, dtype, rng)
    check_backward(conv2d_backward(gy, x, w, **kw), gy, x, w, **kw)


# --------------------------------------------------------------------------
# Central finite differences in float64 (independent of both references)
# --------------------------------------------------------------------------
FD_CONFIGS = {
    "plain_k2x3": ((1, 2, 4, 5), (3, 2, 2, 3), dict()),
    "s2_asym_pad": ((2, 2, 5, 4), (2, 2, 3, 2), dict(stride=2, padding=((1, 0), (0, 2)))),
    "dil2_groups2": ((1, 4, 5, 5), (4, 2, 2, 2), dict(dilation=2, padding=1, groups=2)),
    "depthwise_same_s2": ((1, 3, 5, 4), (3, 1, 3, 2), dict(stride=2, padding="same", groups=3)),
}


@pytest.mark.parametrize("name", list(FD_CONFIGS))
def test_gradients_match_finite_differences(name, rng):
    x_shape, w_shape, kw = FD_CONFIGS[name]
    x, w = rand(x_shape, np.float64, rng), rand(w_shape, np.float64, rng)
    b = rand((w_shape[0],), np.float64, rng)
    proj = rand(conv2d(x, w, b, **kw).shape, np.float64, rng)  # L = sum(proj * y)

    gx, gw, gb = conv2d_backward(proj, x, w, **kw)
    fd_x = finite_diff_grad(lambda v: np.sum(proj * conv2d(v, w, b, **kw)), x)
    fd_w = finite_diff_grad(lambda v: np.sum(proj * conv2d(x, v, b, **kw)), w)
    fd_b = finite_diff_grad(lambda v: np.sum(proj * conv2d(x, w, v, **kw)), b)
    np.testing.assert_allclose(gx, fd_x, rtol=1e-6, atol=1e-7, err_msg="grad_x")
    np.testing.assert_allclose(gw, fd_w, rtol=1e-6, atol=1e-7, err_msg="grad_weight")
    np.testing.assert_allclose(gb, fd_b, rtol=1e-6, atol=1e-7, err_msg="grad_bias")


# --------------------------------------------------------------------------
# needs
# --------------------------------------------------------------------------
@pytest.mark.parametrize("needs", [(True, True, True), (True, False, False),
                                   (False, True, False), (False, False, True),
                                   (False, True, True), (True, False, True),
                                   (False, False, False)])
@dtypes
def test_needs_selects_gradients(needs, dtype, rng):
    # the bias gradient alone is summed without the weight gradient
    kw = dict(stride=2, padding=1, groups=2)
    x, w = rand((2, 4, 7, 6), dtype, rng), rand((6, 2, 3, 3), dtype, rng)
    gy = rand(conv2d(x, w, **kw).shape, dtype, rng)
    full = conv2d_backward(gy, x, w, **kw)
    got = conv2d_backward(gy, x, w, needs=needs, **kw)
    assert len(got) == 3
    for want, a, b in zip(needs, got, full):
        if want:
            assert a is not None
            np.testing.assert_array_equal(a, b)
        else:
            assert a is None


@pytest.mark.parametrize("needs", [(False, False, True), (False, True, True), (True, False, True)])
def test_bias_gradient_alone_equals_it_with_the_others_batch_in_lanes(needs, rng):
    # float32 layers of >= 32 images with few channels sum the bias gradient
    # from the interleaved grad_y (csrc/conv/conv_lanes.c) whatever else is
    # asked for
    x, w = rand((33, 3, 10, 9), np.float32, rng), rand((5, 3, 3, 3), np.float32, rng)
    gy = rand(conv2d(x, w, padding=1).shape, np.float32, rng)
    full = conv2d_backward(gy, x, w, padding=1)
    got = conv2d_backward(gy, x, w, padding=1, needs=needs)
    for want, a, b in zip(needs, got, full):
        if want:
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(got[2], gy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-6)


def test_needs_accepts_numpy_bools(rng):
    x, w = rand((1, 2, 4, 4), np.float32, rng), rand((3, 2, 2, 2), np.float32, rng)
    gy = rand((1, 3, 3, 3), np.float32, rng)
    gx, gw, gb = conv2d_backward(gy, x, w, needs=np.array([False, True, False]))
    assert gx is None and gb is None and gw.shape == w.shape


# --------------------------------------------------------------------------
# Inputs: layouts, byte order, lists, empty batch
# --------------------------------------------------------------------------
@dtypes
def test_non_contiguous_inputs(dtype, rng):
    x = rand((2, 6, 9, 10), dtype, rng)[:, ::2, 1:, ::-1]  # (2, 3, 8, 10) strided view
    w = np.asfortranarray(rand((4, 3, 3, 3), dtype, rng))
    b = rand((8,), dtype, rng)[::2]
    y = conv2d(x, w, b, padding=1)
    np.testing.assert_array_equal(y, conv2d(np.ascontiguousarray(x), np.ascontiguousarray(w),
                                            np.ascontiguousarray(b), padding=1))
    check_forward(y, x, w, b, padding=1)
    gy = rand(y.shape, dtype, rng)
    ref = conv2d_backward(np.ascontiguousarray(gy), np.ascontiguousarray(x),
                          np.ascontiguousarray(w), padding=1)
    gy_view = np.repeat(gy, 2, axis=3)[..., ::2]
    assert not gy_view.flags.c_contiguous
    for a, b_ in zip(conv2d_backward(gy_view, x, w, padding=1), ref):
        np.testing.assert_array_equal(a, b_)


@dtypes
def test_byteswapped_inputs_are_converted(dtype, rng):
    x, w, b = rand((2, 3, 5, 6), dtype, rng), rand((4, 3, 3, 3), dtype, rng), \
        rand((4,), dtype, rng)
    swapped = [a.astype(a.dtype.newbyteorder("S")) for a in (x, w, b)]
    assert not swapped[0].dtype.isnative
    np.testing.assert_array_equal(conv2d(*swapped, padding=1), conv2d(x, w, b, padding=1))


def test_nested_lists_of_floats():
    y = conv2d([[[[1.0, 2.0, 3.0]]]], [[[[1.0, -1.0]]]])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [[[[-1.0, -1.0]]]])


@dtypes
def test_empty_batch(dtype, rng):
    x, w, b = np.zeros((0, 3, 5, 5), dtype), rand((4, 3, 3, 3), dtype, rng), rand((4,), dtype, rng)
    y = conv2d(x, w, b, padding=1)
    assert y.shape == (0, 4, 5, 5) and y.dtype == dtype
    gx, gw, gb = conv2d_backward(np.zeros((0, 4, 5, 5), dtype), x, w, padding=1)
    assert gx.shape == x.shape
    np.testing.assert_array_equal(gw, np.zeros_like(w))
    np.testing.assert_array_equal(gb, np.zeros(4, dtype))


def test_windows_wholly_in_padding_give_the_bias(rng):
    x, w = rand((1, 2, 2, 2), np.float64, rng), rand((3, 2, 1, 1), np.float64, rng)
    b = np.array([0.5, -1.5, 2.0])
    y = conv2d(x, w, b, padding=2)
    assert y.shape == (1, 3, 6, 6)
    np.testing.assert_array_equal(y[0, :, 0], np.broadcast_to(b[:, None], (3, 6)))
    np.testing.assert_array_equal(y[0, :, :, -1], np.broadcast_to(b[:, None], (3, 6)))
    check_forward(y, x, w, b, padding=2)


@dtypes
def test_nan_and_inf_reach_only_the_outputs_that_read_them(dtype, rng):
    kw = dict(stride=2, padding=((2, 0), (1, 2)), dilation=(1, 2))
    x, w = rand((2, 3, 9, 8), dtype, rng), rand((4, 3, 3, 2), dtype, rng)
    x[0, 1, 4, 5] = np.nan
    x[1, 2, 0, 1] = np.inf
    y = conv2d(x, w, **kw)
    ref = conv2d_ref(x, w, **kw)
    assert np.isnan(ref).any() and np.isinf(ref).any()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(ref))
    ok = np.isfinite(ref)
    assert_gemm_close(y[ok], ref[ok], 3 * 3 * 2, dtype)


def test_nan_weight_reaches_every_output_it_meets_inside_the_input(rng):
    # A NaN weight gives NaN wherever its tap reads the input, on every path
    # (the batch-in-lanes kernels skip taps that lie wholly in the padding,
    # so outputs where it meets only padding may stay finite: pydl.h), and
    # never reaches the other output channels.
    x = rand((32, 1, 6, 6), np.float32, rng)
    w = rand((4, 1, 3, 3), np.float32, rng)
    w[0, 0, 0, 0] = np.nan
    for name in pydl.isa_names():
        with isa(name):
            y = conv2d(x, w, padding=1)
        assert np.isnan(y[:, 0, 1:, 1:]).all(), name  # the tap reads x[oh - 1, ow - 1]
        assert np.isfinite(y[:, 1:]).all(), name


def test_concurrent_calls_from_python_threads(rng):
    import threading

    problems = []
    for x_shape, w_shape, kw in [((3, 8, 20, 20), (16, 8, 3, 3), dict(padding=1)),
                                 ((2, 6, 17, 23), (9, 2, 5, 3), dict(stride=2, groups=3,
                                                                     padding="same"))]:
        x, w = rand(x_shape, np.float32, rng), rand(w_shape, np.float32, rng)
        gy = rand(conv2d(x, w, **kw).shape, np.float32, rng)
        want = (conv2d(x, w, **kw),) + conv2d_backward(gy, x, w, **kw)
        problems.append((x, w, gy, kw, want))
    errors = []

    def work(i):
        try:
            x, w, gy, kw, want = problems[i]
            for _ in range(10):
                got = (conv2d(x, w, **kw),) + conv2d_backward(gy, x, w, **kw)
                for a, b in zip(got, want):
                    assert np.array_equal(a, b), f"problem {i} differs under concurrency"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a pydl call did not return"
    assert not errors, errors


# --------------------------------------------------------------------------
# Every kernel path agrees with the reference
# --------------------------------------------------------------------------
DISPATCH_CONFIGS = ["k1_pointwise", "k3_pad1", "k3_s2_asym", "same_k4_even_s2", "dil3_k3_pad1",
                    "groups2_K4_C6", "depthwise_x2_s2", "C7_K5", "k7_s2_pad3",
                    "direct_lenet2_like", "direct_pad2_dil2", "direct_groups2_C16",
                    "direct_wide_rows", "direct_asym_pad", "direct_K26_two_lane_blocks",
                    "direct_depthwise_k5", "wide_K40_s2", "wide_K33_sw3_dil2_asym",
                    "wide_K40_s2_out7", "wide_K33_sw3_dil2_out6",
                    "wide_groups2_C80_K72", "wide_C34_K34_W29", "wide_C48_K64_W24",
                    "wide_K36_k5", "wide_C34_K40_W14", "wide_1x1_s2_K40", "wino_C64_K64_odd",
                    "wino_C72_K65_pad0", "wino_C64_K80_asym", "wino_C64_K64_pad3",
                    "wino_N3_two_chunks", "wino_C288_K272_big", "lanes_N32_lenet2",
                    "lanes_N33_pad2_W19", "lanes_N33_s2_dil2_asym", "lanes_N32_K1_pad4",
                    "lanes_N40_K7_dil", "lanes_N32_S1", "lanes_N32_S6", "lanes_N32_S7"]


@pytest.mark.parametrize("isa_name", pydl.isa_names())
@dtypes
def test_every_kernel_path_matches_reference(isa_name, dtype):
    rng = np.random.default_rng(99)
    with isa(isa_name) as active:
        assert active == isa_name
        for name in DISPATCH_CONFIGS:
            cfg = CONFIGS[name]
            kw = _kw(cfg)
            x, w, b = _operands(cfg, dtype, rng)
            y = conv2d(x, w, b, **kw)
            check_forward(y, x, w, b, err_msg=f"{isa_name} {name}", **kw)
            gy = rand(y.shape, dtype, rng)
            check_backward(conv2d_backward(gy, x, w, **kw), gy, x, w,
                           err_msg=f"{isa_name} {name}", **kw)
        # a bigger problem, so the GEMM micro-kernels run on full tiles
        x, w, b = rand((2, 16, 12, 12), dtype, rng), rand((24, 16, 3, 3), dtype, rng), \
            rand((24,), dtype, rng)
        y = conv2d(x, w, b, padding=1)
        check_forward(y, x, w, b, err_msg=isa_name, padding=1)
        gy = rand(y.shape, dtype, rng)
        check_backward(conv2d_backward(gy, x, w, padding=1), gy, x, w, err_msg=isa_name,
                       padding=1)


# --------------------------------------------------------------------------
# Determinism: 1 and 2 threads give bitwise identical results
# --------------------------------------------------------------------------
# N=4, 6, 9: threads take whole images (and weight-gradient chunks; N=9 makes
# 8 chunks of unequal size); N=3 (not a multiple of 2) and N=1: threads share
# each image's GEMMs, which are above pydl's GEMM threading threshold
# (test_threaded_shapes_use_two_threads).
THREAD_CASES = {
    "N4_C8_K16_20x20": ((4, 8, 20, 20), (16, 8, 3, 3), dict(padding=1)),
    "N3_C16_K32_24x24": ((3, 16, 24, 24), (32, 16, 3, 3), dict(padding=1)),
    "N1_C16_K32_32x32": ((1, 16, 32, 32), (32, 16, 3, 3), dict(padding=1)),
    "N6_groups2_s2": ((6, 8, 21, 19), (12, 4, 3, 3), dict(stride=2, padding="same", groups=2)),
    "N9_pointwise": ((9, 8, 12, 12), (16, 8, 1, 1), dict()),
    # small 1x1 images: one batched GEMM whose weights each thread packs once
    "N8_pointwise_7x7_shared_w": ((8, 300, 7, 7), (260, 300, 1, 1), dict()),
    "N5_direct": ((5, 8, 10, 10), (6, 8, 5, 5), dict(padding=2)),
    # small images through im2col, half the batch per block and thread
    "N10_im2col_image_blocks": ((10, 32, 14, 14), (40, 32, 3, 3), dict(stride=2, padding=1)),
    "N1_direct_by_block": ((1, 8, 12, 12), (20, 8, 3, 3), dict(padding=1)),
    "N1_wide_by_block": ((1, 8, 9, 30), (40, 8, 3, 3), dict(padding=1)),
    "N3_wide_s2": ((3, 36, 10, 10), (48, 36, 3, 3), dict(stride=2, padding=1)),
    # Winograd: 300 tiles go in 3 chunks on one thread, 4 on two
    "N3_winograd": ((3, 64, 20, 20), (64, 64, 3, 3), dict(padding=1)),
    # batch in lanes: three image groups each, the last one partial
    "N33_lanes": ((33, 6, 12, 12), (16, 6, 5, 5), dict()),
    "N40_lanes_pad2": ((40, 1, 14, 14), (6, 1, 5, 5), dict(padding=2)),
    # batch in lanes, four image groups: each thread takes whole groups
    "N64_lanes_own_groups": ((64, 3, 10, 10), (8, 3, 3, 3), dict(padding=1)),
}


@pytest.mark.parametrize("isa_name", pydl.isa_names())
@dtypes
@pytest.mark.parametrize("case", list(THREAD_CASES))
def test_one_and_two_threads_are_bitwise_identical(case, dtype, isa_name, rng):
    x_shape, w_shape, kw = THREAD_CASES[case]
    with isa(isa_name):
        x, w, b = rand(x_shape, dtype, rng), rand(w_shape, dtype, rng), \
            rand((w_shape[0],), dtype, rng)
        gy = rand(conv2d(x, w, **kw).shape, dtype, rng)
        results = {}
        for n in (1, 2):
            with pydl.num_threads(n):
                results[n] = (conv2d(x, w, b, **kw),) + conv2d_backward(gy, x, w, **kw)
        for what, one, two in zip(("y", "grad_x", "grad_weight", "grad_bias"), results[1],
                                  results[2]):
            assert np.array_equal(one, two), f"{what}: 1 vs 2 threads differ ({case}, {isa_name})"
        check_forward(results[2][0], x, w, b, **kw)
        check_backward(results[2][1:], gy, x, w, **kw)


_THREAD_PROBE = (
    "import os, sys, numpy as np, pydl\n"
    "def tasks(): return len(os.listdir('/proc/self/task'))\n"
    "n, c, hw, k = (int(v) for v in sys.argv[1].split(','))\n"
    "rng = np.random.default_rng(0)\n"
    "x = rng.random((n, c, hw, hw), np.float32)\n"
    "w = rng.random((k, c, 3, 3), np.float32)\n"
    "pydl.set_num_threads(2)\n"
    "before = tasks()\n"
    "pydl.ops.conv2d(x, w, padding=1)\n"
    "print(tasks() - before)\n"
)


@needs_openmp
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("shape", ["3,16,24,32", "1,16,32,32"])
def test_threaded_shapes_use_two_threads(shape):
    # The N=3 and N=1 cases above share GEMMs between threads only if those
    # GEMMs are big enough; check that a second (OpenMP) thread really starts.
    proc = run_python(["-c", _THREAD_PROBE, shape], env={"OPENBLAS_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) == 1, (
        f"{shape}: no OpenMP worker thread started; if pydl's threading threshold changed, "
        f"enlarge THREAD_CASES so the determinism test still runs on 2 threads")


# --------------------------------------------------------------------------
# Errors: the exception type and a message naming the argument
# --------------------------------------------------------------------------
def _f64(*shape):
    return np.ones(shape, np.float64)


def _f32(*shape):
    return np.ones(shape, np.float32)


_X, _W = _f64(2, 4, 6, 6), _f64(3, 4, 3, 3)
_GY = _f64(2, 3, 4, 4)

ERROR_CASES = {
    "x_ndim3": (lambda: conv2d(_f64(4, 6, 6), _W), ValueError, r"x of shape \(N, C, H, W\)"),
    "x_ndim5": (lambda: conv2d(_f64(1, 2, 4, 6, 6), _W), ValueError, r"\bx\b.*4-D"),
    "weight_ndim3": (lambda: conv2d(_X, _f64(3, 4, 3)), ValueError, r"weight"),
    "x_int": (lambda: conv2d(np.ones((2, 4, 6, 6), np.int64), _W), TypeError,
              r"x of dtype float32 or float64, got dtype int64"),
    "x_float16": (lambda: conv2d(_X.astype(np.float16), _W.astype(np.float16)), TypeError,
                  r"\bx\b.*float16"),
    "weight_int": (lambda: conv2d(_X, np.ones((3, 4, 3, 3), np.int32)), TypeError, r"weight"),
    "mixed_x_weight": (lambda: conv2d(_X, _f32(3, 4, 3, 3)), TypeError,
                       r"weight has dtype float32 but x has dtype float64"),
    "mixed_bias": (lambda: conv2d(_X, _W, _f32(3)), TypeError, r"bias has dtype float32"),
    "bias_int": (lambda: conv2d(_X, _W, np.ones(3, np.int64)), TypeError, r"bias"),
    "bias_wrong_length": (lambda: conv2d(_X, _W, _f64(4)), ValueError, r"bias has shape \(4,\)"),
    "bias_2d": (lambda: conv2d(_X, _W, _f64(1, 3)), ValueError, r"bias"),
    "groups_not_dividing_C": (lambda: conv2d(_f64(1, 5, 6, 6), _f64(4, 2, 3, 3), groups=2),
                              ValueError, r"groups=2 must divide"),
    "groups_not_dividing_K": (lambda: conv2d(_X, _f64(3, 2, 3, 3), groups=2), ValueError,
                              r"groups=2 must divide"),
    "groups_zero": (lambda: conv2d(_X, _W, groups=0), ValueError, r"groups must be >= 1"),
    "groups_float": (lambda: conv2d(_X, _W, groups=1.0), TypeError, r"groups"),
    "weight_channels_mismatch": (lambda: conv2d(_X, _f64(3, 3, 3, 3)), ValueError,
                                 r"weight.shape=\(3, 3, 3, 3\) does not fit"),
    "weight_channels_groups": (lambda: conv2d(_X, _f64(4, 4, 3, 3), groups=2), ValueError,
                               r"expected weight.shape\[1\] == 2"),
    "weight_zero_kernel": (lambda: conv2d(_X, _f64(3, 4, 0, 3)), ValueError, r"weight.shape"),
    "weight_zero_K": (lambda: conv2d(_X, _f64(0, 4, 3, 3)), ValueError, r"weight.shape"),
    "kernel_larger_than_input": (lambda: conv2d(_X, _f64(3, 4, 7, 3)), ValueError,
                                 r"kernel 7x3 is larger than the padded input 6x6"),
    "dilated_kernel_too_large": (lambda: conv2d(_X, _W, dilation=3), ValueError,
                                 r"kernel 7x7 is larger than the padded input"),
    "kernel_larger_valid": (lambda: conv2d(_X, _f64(3, 4, 3, 8), padding="valid"), ValueError,
                            r"larger than the padded input"),
    "stride_zero": (lambda: conv2d(_X, _W, stride=0), ValueError, r"stride must be >= 1"),
    "stride_negative_pair": (lambda: conv2d(_X, _W, stride=(1, -1)), ValueError, r"stride"),
    "stride_triple": (lambda: conv2d(_X, _W, stride=(1, 1, 1)), ValueError, r"stride"),
    "stride_float": (lambda: conv2d(_X, _W, stride=1.5), TypeError, r"stride"),
    "stride_bool": (lambda: conv2d(_X, _W, stride=True), TypeError, r"stride"),
    "dilation_zero": (lambda: conv2d(_X, _W, dilation=0), ValueError, r"dilation must be >= 1"),
    "dilation_negative": (lambda: conv2d(_X, _W, dilation=(1, -2)), ValueError, r"dilation"),
    "padding_negative": (lambda: conv2d(_X, _W, padding=-1), ValueError,
                         r"padding must be >= 0"),
    "padding_negative_pair": (lambda: conv2d(_X, _W, padding=(0, -1)), ValueError, r"padding"),
    "padding_negative_asym": (lambda: conv2d(_X, _W, padding=((0, 1), (-1, 0))), ValueError,
                              r"padding"),
    "padding_bad_string": (lambda: conv2d(_X, _W, padding="full"), ValueError,
                           r"padding must be .*'valid' or 'same'.*'full'"),
    "padding_float": (lambda: conv2d(_X, _W, padding=0.5), TypeError, r"padding"),
    "padding_three": (lambda: conv2d(_X, _W, padding=(1, 1, 1)), ValueError, r"padding"),
    "bwd_grad_y_shape": (lambda: conv2d_backward(_f64(2, 3, 5, 5), _X, _W), ValueError,
                         r"grad_y has shape \(2, 3, 5, 5\), expected \(2, 3, 4, 4\)"),
    "bwd_grad_y_channels": (lambda: conv2d_backward(_f64(2, 4, 4, 4), _X, _W), ValueError,
                            r"grad_y has shape"),
    "bwd_grad_y_ndim": (lambda: conv2d_backward(_f64(3, 4, 4), _X, _W), ValueError, r"grad_y"),
    "bwd_grad_y_dtype": (lambda: conv2d_backward(_f32(2, 3, 4, 4), _X, _W), TypeError,
                         r"grad_y has dtype float32"),
    "bwd_grad_y_int": (lambda: conv2d_backward(np.ones((2, 3, 4, 4), np.int64), _X, _W),
                       TypeError, r"grad_y"),
    "bwd_weight_dtype": (lambda: conv2d_backward(_GY, _X, _f32(3, 4, 3, 3)), TypeError,
                         r"weight has dtype float32"),
    "bwd_groups": (lambda: conv2d_backward(_GY, _X, _W, groups=3), ValueError, r"groups=3"),
    "bwd_stride_zero": (lambda: conv2d_backward(_GY, _X, _W, stride=0), ValueError, r"stride"),
    "bwd_padding_string": (lambda: conv2d_backward(_GY, _X, _W, padding="half"), ValueError,
                           r"padding"),
    "bwd_needs_two": (lambda: conv2d_backward(_GY, _X, _W, needs=(True, True)), ValueError,
                      r"needs must be three booleans"),
    "bwd_needs_scalar": (lambda: conv2d_backward(_GY, _X, _W, needs=True), ValueError,
                         r"needs"),
}


def test_checked_geometry_is_reused_but_never_for_a_bool():
    # conv_geometry remembers checked int arguments; True == 1 must still fail
    y = conv2d(_X, _W, stride=1, padding=1)
    np.testing.assert_array_equal(conv2d(_X, _W, stride=1, padding=1), y)
    with pytest.raises(TypeError, match="stride"):
        conv2d(_X, _W, stride=True, padding=1)
    with pytest.raises(TypeError, match="padding"):
        conv2d(_X, _W, stride=1, padding=True)


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors(case):
    call, exc, match = ERROR_CASES[case]
    with pytest.raises(exc, match=match) as info:
        call()
    assert "conv2d" in str(info.value)  # the message names the op


# --------------------------------------------------------------------------
# PyTorch (optional peer, not a dependency)
# --------------------------------------------------------------------------
TORCH_CONFIGS = ["k1_pointwise", "k3_pad1", "k3_s2_pad1", "k5_s3_pad2", "k7_s2_pad3",
                 "k1x3_pad_pair", "k3x1_stride_pair", "k2x5_pairs", "valid", "same_k3",
                 "same_k2_even", "same_k1x4_dil2", "dil_pair_s2", "groups2_K6_C4",
                 "groups2_K4_C6_sym", "depthwise_x2_s2", "C7_K5"]


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    configs = dict(CONFIGS, groups2_K4_C6_sym=((1, 6, 5, 6), (4, 3, 3, 2), (1, 2), (1, 0), 1, 2))
    for name in TORCH_CONFIGS:
        cfg = configs[name]
        kw = _kw(cfg)
        x, w, b = _operands(cfg, np.float64, rng)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        ty = F.conv2d(tx, tw, tb, **kw)
        y = conv2d(x, w, b, **kw)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
        gy = rand(y.shape, np.float64, rng)
        ty.backward(torch.tensor(gy))
        for what, got, want in zip(("grad_x", "grad_weight", "grad_bias"),
                                   conv2d_backward(gy, x, w, **kw), (tx, tw, tb)):
            np.testing.assert_allclose(got, want.grad.numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name} {what}")


# --------------------------------------------------------------------------
# Blocked im2col: with many input channels the im2col matrix is built in
# blocks of output positions (1 MiB each; a block boundary can fall inside an
# output row); these shapes need 2 or more blocks in float32 and float64.
# --------------------------------------------------------------------------
BLOCKED_CASES = {
    "c256_k3_pad1": dict(shape=(1, 256, 14, 13), k=4, ks=3, kw=dict(padding=1)),
    "c192_k3_s2_asym": dict(shape=(1, 192, 29, 27), k=3, ks=3,
                            kw=dict(stride=2, padding=((1, 0), (2, 1)))),
    "c160_k5_dil2_g2": dict(shape=(2, 160, 16, 14), k=4, ks=5,
                            kw=dict(padding="same", dilation=2, groups=2)),
}


@dtypes
@pytest.mark.parametrize("name", list(BLOCKED_CASES))
def test_blocked_im2col_matches_reference(name, dtype, rng):
    case = BLOCKED_CASES[name]
    n, c, h, w_ = case["shape"]
    groups = case["kw"].get("groups", 1)
    x = rand((n, c, h, w_), dtype, rng)
    w = rand((case["k"], c // groups, case["ks"], case["ks"]), dtype, rng)
    b = rand((case["k"],), dtype, rng)
    y = pydl.ops.conv2d(x, w, b, **case["kw"])
    check_forward(y, x, w, b, err_msg=name, **case["kw"])
    gy = rand(y.shape, dtype, rng)
    got = pydl.ops.conv2d_backward(gy, x, w, **case["kw"])
    check_backward(got, gy, x, w, err_msg=name, **case["kw"])
    with pydl.num_threads(1):
        one = pydl.ops.conv2d_backward(gy, x, w, **case["kw"])
    for a, b_ in zip(got, one):
        assert np.array_equal(a, b_)


def test_direct_weight_gradient_keeps_inf_out_of_other_taps():
    # A narrow float32 layer takes the direct kernels, whose last vector of
    # columns runs past out_w: the inf in the last input column reaches only
    # the tap that reads it (0 * inf must not become NaN elsewhere).
    x = np.ones((1, 1, 1, 12), np.float32)
    x[..., 11] = np.inf
    w = np.ones((1, 1, 1, 3), np.float32)
    gy = np.ones((1, 1, 1, 10), np.float32)
    _, gw, _ = conv2d_backward(gy, x, w, needs=(False, True, False))
    np.testing.assert_array_equal(gw.ravel(), [10.0, 10.0, np.inf])


def test_huge_dilation_and_padding_fall_back_cleanly():
    # Sizes near 2**31 must not overflow the direct path's size checks.
    x = np.ones((1, 1, 1, 1), np.float32)
    w = np.ones((1, 1, 3, 2), np.float32)
    dw = 2**30 - 25
    kw = dict(padding=((2**31 - 1, 2**31 - 1), (2**29, dw - 2**29)), dilation=(2**31 - 1, dw))
    y = conv2d(x, w, **kw)
    np.testing.assert_array_equal(y, conv2d(x.astype(np.float64), w.astype(np.float64), **kw))


@pytest.mark.parametrize("c, k", [(64, 64), (288, 272)], ids=["C64_K64", "C288_K272"])
def test_winograd_infinite_input_stays_inside_its_windows(c, k, rng):
    # Winograd (float32, 3x3, >= 64 channels, C*K up to 512*512) computes
    # inf - inf in its transforms: an infinite input gives NaN instead of
    # inf, but only in the outputs whose windows hold it (pydl.h); the rest
    # stay exact.
    x = rand((1, c, 8, 9), np.float32, rng)
    w = rand((k, c, 3, 3), np.float32, rng)
    x[0, 5, 3, 4] = np.inf
    y = conv2d(x, w, padding=1)
    ref = conv2d_ref(x.astype(np.float64), w.astype(np.float64), padding=1)
    np.testing.assert_array_equal(np.isfinite(y), np.isfinite(ref))
    reached = np.zeros((8, 9), bool)
    reached[2:5, 3:6] = True
    assert not np.isfinite(y[0][:, reached]).any() and np.isfinite(y[0][:, ~reached]).all()
    # the direct sum meets the inf once per output (+-inf, never NaN): NaN
    # shows the layer took Winograd
    assert np.isnan(y[0][:, reached]).any()
    x0 = np.where(np.isinf(x), np.float32(0), x)
    check_forward(np.where(reached, conv2d(x0, w, padding=1), y), x0, w, padding=1)


# --------------------------------------------------------------------------
# Convolution, ReLU and 2x2 max pooling in one pass (the lanes kernels'
# pooled output, pydl_sconv2d_fwd_maxpool2x2)
# --------------------------------------------------------------------------
POOLED_CASES = [name for name in CONFIGS if name.startswith("lanes_")]


def _pooled_case(name, rng, bias):
    """Operands of CONFIGS[name] (some inputs exactly 0), its convolution
    and the shape of that convolution's 2x2 pool; skips a case without a
    2x2 window."""
    xs, ws, stride, padding, dilation, _ = CONFIGS[name]
    x = rng.standard_normal(xs).astype(np.float32)
    x[rng.random(xs) < 0.05] = 0.0
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32) if bias else None
    conv = pydl.ops.conv2d(x, w, b, stride, padding, dilation)
    if min(conv.shape[2:]) < 2:
        pytest.skip("no 2x2 window")
    shape = conv.shape[:2] + (conv.shape[2] // 2, conv.shape[3] // 2)
    return x, w, b, (stride, padding, dilation), conv, shape


@pytest.mark.parametrize("name", POOLED_CASES)
@pytest.mark.parametrize("relu", [False, True], ids=["pool", "relu_pool"])
def test_conv_then_pool_in_one_pass_equals_the_two_calls(name, relu, rng):
    from pydl._conv import _conv2d_maxpool2x2
    from pydl._pool import _max_pool2x2
    x, w, b, (stride, padding, dilation), conv, shape = _pooled_case(name, rng, bias=True)
    ref_y, ref_code = np.empty(shape, np.float32), np.empty(shape, np.uint8)
    _max_pool2x2(conv, ref_y, ref_code, relu)
    for n in (1, 2):
        with pydl.num_threads(n):
            y, code = np.full(shape, np.nan, np.float32), np.full(shape, 9, np.uint8)
            took = _conv2d_maxpool2x2(x, w, b, stride, padding, dilation, y, code, relu)
            assert took == (pydl.get_isa() == "avx512")
            if took:
                assert y.tobytes() == ref_y.tobytes() and code.tobytes() == ref_code.tobytes()


def test_conv_then_pool_declines_what_the_lanes_kernels_do_not_take(rng):
    from pydl._conv import _conv2d_maxpool2x2
    w = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    for x in (rng.standard_normal((8, 1, 28, 28)).astype(np.float32),   # too few images
              rng.standard_normal((32, 1, 28, 28))):                    # float64
        y, code = np.full((len(x), 6, 12, 12), 7.0, np.float32), np.zeros((len(x), 6, 12, 12),
                                                                           np.uint8)
        assert not _conv2d_maxpool2x2(x, w.astype(x.dtype), None, 1, 0, 1, y, code, True)
        assert (y == 7.0).all() and (code == 0).all()  # nothing written
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    with isa("generic"):
        y, code = np.empty((32, 6, 12, 12), np.float32), np.empty((32, 6, 12, 12), np.uint8)
        assert not _conv2d_maxpool2x2(x, w, None, 1, 0, 1, y, code, True)
    with pytest.raises(ValueError, match="shape"):
        _conv2d_maxpool2x2(x, w, None, 1, 0, 1, np.empty((32, 6, 12, 11), np.float32),
                           np.empty((32, 6, 12, 12), np.uint8), True)


@pytest.mark.parametrize("name", POOLED_CASES)
def test_conv_backward_from_a_pooled_gradient_equals_the_two_calls(name, rng):
    from pydl._conv import _conv2d_backward_maxpool2x2
    from pydl._pool import _max_pool2x2, _max_pool2x2_backward
    x, w, _, (stride, padding, dilation), conv, shape = _pooled_case(name, rng, bias=False)
    y, code = np.empty(shape, np.float32), np.empty(shape, np.uint8)
    _max_pool2x2(conv, y, code, True)
    g = rng.standard_normal(shape).astype(np.float32)
    full = np.empty_like(conv)
    _max_pool2x2_backward(g, code, full)
    for n in (1, 2):
        with pydl.num_threads(n):
            ref = pydl.ops.conv2d_backward(full, x, w, stride, padding, dilation)
            for needs in ((True, True, True), (False, True, False), (False, False, True)):
                out = tuple(np.full(a.shape, np.nan, np.float32) if k else None
                            for a, k in zip(ref, needs))
                took = _conv2d_backward_maxpool2x2(g, code, x, w, stride, padding, dilation, out)
                if pydl.get_isa() != "avx512" or (needs[0] and stride != 1):
                    assert not took  # the data gradient of strided layers is not on lanes
                    continue
                assert took
                for a, b in zip(out, ref):
                    assert a is None or a.tobytes() == b.tobytes(), (name, n, needs)
