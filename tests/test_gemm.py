"""pydl.ops.gemm and pydl.ops.matmul against a float64 numpy reference."""
import os
import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pydl
from helpers import needs_openmp
from helpers import (DTYPE_IDS, DTYPES, LAYOUTS, assert_gemm_close, check_gemm, check_matmul,
                     gemm_ref, gemm_scale, isa, make_layout, rand, run_python,
                     skip_unless_isa)

gemm = pydl.ops.gemm
matmul = pydl.ops.matmul

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
all_isas = pytest.mark.parametrize("isa_name", pydl.isa_names())


def _operands(m, n, k, dtype, rng, trans_a=False, trans_b=False):
    a = rand((k, m) if trans_a else (m, k), dtype, rng)
    b = rand((n, k) if trans_b else (k, n), dtype, rng)
    return a, b


# --------------------------------------------------------------------------
# The reference and tolerance catch real bugs
# --------------------------------------------------------------------------
@dtypes
@pytest.mark.parametrize("k", [1, 37, 12000])
def test_tolerance_catches_a_dropped_or_shifted_term(dtype, k, rng):
    m, n = 16, 20
    a, b = _operands(m, n, k, dtype, rng)
    good = gemm(a, b)
    check_gemm(good, a, b)
    dropped = (a[:, :-1].astype(np.float64) @ b[:-1].astype(np.float64)).astype(dtype)
    with pytest.raises(AssertionError):
        check_gemm(dropped, a, b)
    if k > 1:
        shifted = (a[:, 1:].astype(np.float64) @ b[:-1].astype(np.float64)).astype(dtype)
        with pytest.raises(AssertionError):
            check_gemm(shifted, a, b)


# --------------------------------------------------------------------------
# Transposes x (alpha, beta)
# --------------------------------------------------------------------------
ALPHA_BETA = [(1.0, 0.0), (2.5, 0.0), (-1.0, 1.0), (0.5, -2.0), (0.0, 1.0), (0.0, 0.0),
              (0.0, -0.5)]


@dtypes
@pytest.mark.parametrize("alpha,beta", ALPHA_BETA, ids=[f"a{a}_b{b}" for a, b in ALPHA_BETA])
@pytest.mark.parametrize("trans_a", [False, True], ids=["N", "T"])
@pytest.mark.parametrize("trans_b", [False, True], ids=["N", "T"])
def test_gemm_transposes_alpha_beta(trans_a, trans_b, alpha, beta, dtype, rng):
    m, n, k = 37, 29, 23
    a, b = _operands(m, n, k, dtype, rng, trans_a, trans_b)
    c = rand((m, n), dtype, rng)
    c_before = c.copy()
    got = gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    check_gemm(got, a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    assert got is not c
    np.testing.assert_array_equal(c, c_before)  # c is an input, not an output


@dtypes
def test_gemm_defaults_are_plain_product(dtype, rng):
    a, b = _operands(9, 11, 5, dtype, rng)
    got = gemm(a, b)
    assert got.flags.c_contiguous
    check_gemm(got, a, b)


@dtypes
def test_gemm_alpha_zero_does_not_read_a_and_b(dtype, rng):
    # pydl.h: "When k == 0 or alpha == 0, C is scaled by beta ... A and B are not read."
    a = np.full((6, 4), np.nan, dtype)
    b = np.full((4, 5), np.inf, dtype)
    c = rand((6, 5), dtype, rng)
    np.testing.assert_array_equal(gemm(a, b, c, alpha=0.0, beta=2.0), 2 * c)
    np.testing.assert_array_equal(gemm(a, b, alpha=0.0), np.zeros((6, 5), dtype))


# --------------------------------------------------------------------------
# beta == 0: c (and out) are never read
# --------------------------------------------------------------------------
NAN_SHAPES = [(1, 1, 1), (7, 13, 5), (50, 70, 0), (13, 37, 300), (150, 300, 40)]


@all_isas
@dtypes
@pytest.mark.parametrize("m,n,k", NAN_SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in NAN_SHAPES])
@pytest.mark.parametrize("alpha", [1.0, 0.0], ids=["alpha1", "alpha0"])
def test_beta_zero_ignores_nan_in_c_and_out(isa_name, dtype, m, n, k, alpha, rng):
    with isa(isa_name):
        a, b = _operands(m, n, k, dtype, rng)
        c = np.full((m, n), np.nan, dtype)
        out = np.full((m, n), np.nan, dtype)
        got = gemm(a, b, c, alpha=alpha, beta=0.0, out=out)
        assert got is out
        assert np.isfinite(out).all()
        check_gemm(out, a, b, alpha=alpha)
        # and without out: a fresh (uninitialised) result must not leak garbage either
        got2 = gemm(a, b, np.full((m, n), np.nan, dtype), alpha=alpha)
        assert np.isfinite(got2).all()
        check_gemm(got2, a, b, alpha=alpha)


@all_isas
@dtypes
@pytest.mark.parametrize("m,n,k", [(7, 19, 5), (50, 300, 600)], ids=["7x19x5", "50x300x600"])
def test_nan_and_inf_in_inputs_propagate(isa_name, dtype, m, n, k, rng):
    with isa(isa_name):
        a, b = _operands(m, n, k, dtype, rng)
        a[2, 3] = np.nan
        b[1, 4] = np.inf
        got = gemm(a, b)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
        finite = np.isfinite(ref)
        assert finite.sum() == (m - 1) * (n - 1)
        # the finite entries are unaffected (the NaN row / inf column did not leak)
        a[2, 3], b[1, 4] = 0, 0
        assert_gemm_close(got[finite], gemm_ref(a, b)[finite], k, dtype)


@dtypes
def test_beta_zero_nan_c_broadcast(dtype, rng):
    a, b = _operands(5, 8, 3, dtype, rng)
    got = gemm(a, b, np.full((8,), np.nan, dtype), beta=0.0)
    assert np.isfinite(got).all()
    check_gemm(got, a, b)


# --------------------------------------------------------------------------
# Sizes: empty, 1, primes, micro-tile edges, blocking edges, skinny, long K
# --------------------------------------------------------------------------
SIZES = [
    # empty M, N, K
    (0, 5, 3), (5, 0, 3), (5, 3, 0), (0, 0, 0), (0, 4, 0), (64, 64, 0),
    # ones
    (1, 1, 1), (1, 7, 1), (7, 1, 13), (1, 1, 97), (1, 50, 33), (50, 1, 33),
    # primes
    (7, 13, 31), (13, 31, 97), (97, 7, 13), (31, 97, 7),
    # around the micro-tiles (mr x nr: 4x16, 6x16, 12x32 float; 4x8, 6x8, 12x16 double)
    (3, 15, 5), (5, 17, 9), (11, 31, 3), (13, 33, 17), (12, 32, 8), (24, 64, 16),
    (6, 16, 4), (4, 8, 2), (25, 65, 10), (23, 47, 129),
    # around the cache blocks (mc 128/144, kc 256/384, nc 2048/4096)
    (145, 33, 257), (129, 17, 385), (9, 2049, 3), (7, 4097, 2), (289, 9, 513),
    # tall-skinny and short-wide
    (1000, 5, 3), (2000, 2, 17), (3, 5000, 4), (3, 7, 5000), (4000, 3, 1),
    # long K (tolerance scales with sqrt(K))
    (16, 20, 12000),
]


@dtypes
@pytest.mark.parametrize("m,n,k", SIZES, ids=[f"{m}x{n}x{k}" for m, n, k in SIZES])
def test_gemm_sizes(m, n, k, dtype, rng):
    a, b = _operands(m, n, k, dtype, rng)
    got = gemm(a, b)
    assert got.shape == (m, n)
    check_gemm(got, a, b)
    # the same problem with alpha, beta and a c
    c = rand((m, n), dtype, rng)
    got = gemm(a, b, c, alpha=-1.5, beta=0.75)
    check_gemm(got, a, b, c, alpha=-1.5, beta=0.75)


@dtypes
@pytest.mark.parametrize("m,n", [(0, 4), (4, 0), (5, 3)], ids=["M0", "N0", "5x3"])
def test_gemm_k_zero_gives_beta_c(m, n, dtype, rng):
    a = np.empty((m, 0), dtype)
    b = np.empty((0, n), dtype)
    np.testing.assert_array_equal(gemm(a, b), np.zeros((m, n), dtype))
    c = rand((m, n), dtype, rng)
    np.testing.assert_array_equal(gemm(a, b, c, alpha=3.0, beta=-2.0), -2 * c)
    np.testing.assert_array_equal(gemm(a, b, c, beta=1.0), c)


@dtypes
@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (5, 0, 3), (5, 3, 0), (7, 9, 11)],
                         ids=["M0", "N0", "K0", "7x9x11"])
def test_matmul_2d_sizes(m, n, k, dtype, rng):
    a, b = _operands(m, n, k, dtype, rng)
    got = matmul(a, b)
    assert got.shape == (m, n)
    check_matmul(got, a, b)


# --------------------------------------------------------------------------
# Memory layouts of the inputs
# --------------------------------------------------------------------------
@dtypes
@pytest.mark.parametrize("layout_b", LAYOUTS)
@pytest.mark.parametrize("layout_a", LAYOUTS)
def test_gemm_input_layouts(layout_a, layout_b, dtype, rng):
    m, n, k = 19, 37, 23
    a = make_layout((m, k), dtype, rng, layout_a)
    b = make_layout((k, n), dtype, rng, layout_b)
    a_before, b_before = a.copy(), b.copy()
    check_gemm(gemm(a, b), a, b)
    check_matmul(matmul(a, b), a, b)
    # transposed operands stored with the same layouts
    at = make_layout((k, m), dtype, rng, layout_a)
    bt = make_layout((n, k), dtype, rng, layout_b)
    check_gemm(gemm(at, bt, trans_a=True, trans_b=True, alpha=2.0), at, bt,
               trans_a=True, trans_b=True, alpha=2.0)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


@dtypes
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True),
                                             (True, True)], ids=["NN", "TN", "NT", "TT"])
def test_gemm_strided_views_across_cache_blocks(trans_a, trans_b, dtype, rng):
    # Strided/negative views big enough to need several kc slices and mc blocks.
    m, n, k = 150, 70, 300
    sa = (k, m) if trans_a else (m, k)
    sb = (n, k) if trans_b else (k, n)
    a = rand((2 * sa[0], 3 * sa[1]), dtype, rng)[::2, ::-3]
    b = rand((sb[0], 2 * sb[1]), dtype, rng)[::-1, 1::2]
    got = gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    check_gemm(got, a, b, trans_a=trans_a, trans_b=trans_b)


@dtypes
def test_gemm_same_array_twice(dtype, rng):
    x = rand((33, 17), dtype, rng)
    check_gemm(gemm(x, x, trans_b=True), x, x, trans_b=True)
    check_gemm(gemm(x, x, trans_a=True), x, x, trans_a=True)


@dtypes
def test_gemm_unaligned_input(dtype, rng):
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(10 * 7 * itemsize + 1, np.uint8)[1:]
    a = raw.view(dtype).reshape(10, 7)
    a[...] = rand((10, 7), dtype, rng)
    assert not a.flags.aligned
    b = rand((7, 9), dtype, rng)
    check_gemm(gemm(a, b), a, b)
    check_matmul(matmul(a, b), a, b)


@pytest.mark.parametrize("order", [
    pytest.param(">", id="big_endian"),
    pytest.param("<", id="little_endian"),
])
def test_non_native_byte_order_is_correct_or_rejected(order, rng):
    """A byte-swapped float array must give the right product or a TypeError,
    never a silently wrong result."""
    dtype = np.dtype(order + "f4")
    a = rand((5, 7), np.float32, rng).astype(dtype)
    b = rand((7, 3), np.float32, rng).astype(dtype)
    for fn in (gemm, matmul):
        try:
            got = fn(a, b)
        except TypeError:
            continue
        np.testing.assert_allclose(np.asarray(got, np.float64),
                                   gemm_ref(a, b), rtol=1e-5, atol=1e-5,
                                   err_msg=f"{fn.__name__} on {dtype.str} inputs")


def test_list_inputs(rng):
    got = gemm([[1.0, 2.0], [3.0, 4.0]], [[1.0], [0.5]])
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[2.0], [5.0]])
    got = gemm([[1.0, 2.0]], [[1.0], [1.0]], [[10.0]], beta=1.0)
    np.testing.assert_array_equal(got, [[13.0]])
    got = matmul([[1.0, 2.0], [3.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]])
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[1.0, 2.0], [3.0, 4.0]])


@dtypes
def test_numpy_scalar_alpha_beta(dtype, rng):
    a, b = _operands(6, 5, 4, dtype, rng)
    c = rand((6, 5), dtype, rng)
    got = gemm(a, b, c, alpha=np.float32(1.5), beta=np.int64(2))
    check_gemm(got, a, b, c, alpha=1.5, beta=2.0)
    got = gemm(a, b, c, alpha=2, beta=-1)  # Python ints are real numbers too
    check_gemm(got, a, b, c, alpha=2.0, beta=-1.0)


# --------------------------------------------------------------------------
# out= and c
# --------------------------------------------------------------------------
@dtypes
def test_gemm_out_c_ordered(dtype, rng):
    a, b = _operands(13, 21, 9, dtype, rng)
    out = np.empty((13, 21), dtype)
    got = gemm(a, b, out=out)
    assert got is out
    check_gemm(out, a, b)


OUT_VIEWS = {
    "strided": lambda big: big[1::2, ::3],
    "F": lambda big: np.asfortranarray(big[:13, :21]),
    "neg_rows": lambda big: big[25:0:-2, :21],
    "neg_cols": lambda big: big[:13, 20::-1],
    "T_view": lambda big: big[:21, :13].T,
}


@dtypes
@pytest.mark.parametrize("view", list(OUT_VIEWS))
@pytest.mark.parametrize("beta", [0.0, 0.5], ids=["beta0", "beta0.5"])
def test_gemm_non_contiguous_out(view, beta, dtype, rng):
    m, n, k = 13, 21, 9
    big = np.full((26, 63), 7.0, dtype)
    out = OUT_VIEWS[view](big)
    assert out.shape == (m, n)
    out_is_view = np.shares_memory(out, big)
    a, b = _operands(m, n, k, dtype, rng)
    c = rand((m, n), dtype, rng)
    got = gemm(a, b, c, beta=beta, alpha=1.25, out=out)
    assert got is out
    check_gemm(out, a, b, c, alpha=1.25, beta=beta)
    if out_is_view:
        # the result landed in big, and nothing outside the view was touched
        mask = np.ones(big.shape, bool)
        OUT_VIEWS[view](mask)[...] = False
        assert (big[mask] == 7.0).all()


@dtypes
@pytest.mark.parametrize("c_layout", ["C", "strided"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (-2.0, 0.5), (0.0, 3.0), (1.0, 0.0)],
                         ids=["a1b1", "a-2b0.5", "a0b3", "a1b0"])
def test_gemm_in_place_out_is_c(c_layout, alpha, beta, dtype, rng):
    m, n, k = 29, 35, 300  # k > kc: later slices accumulate into c
    a, b = _operands(m, n, k, dtype, rng)
    if c_layout == "C":
        c = rand((m, n), dtype, rng)
    else:
        big = rand((2 * m, 2 * n), dtype, rng)
        c = big[::2, 1::2]
    c0 = c.copy()
    got = gemm(a, b, c, alpha=alpha, beta=beta, out=c)
    assert got is c
    check_gemm(c, a, b, c0, alpha=alpha, beta=beta)


@dtypes
@pytest.mark.parametrize("c_shape", ["N", "1xN", "Mx1", "scalar", "1x1"])
def test_gemm_c_broadcast(c_shape, dtype, rng):
    m, n, k = 17, 23, 11
    shape = {"N": (n,), "1xN": (1, n), "Mx1": (m, 1), "scalar": (), "1x1": (1, 1)}[c_shape]
    a, b = _operands(m, n, k, dtype, rng)
    c = rand(shape, dtype, rng)
    got = gemm(a, b, c, alpha=0.5, beta=-1.5)
    assert got.shape == (m, n)
    check_gemm(got, a, b, c, alpha=0.5, beta=-1.5)
    out = np.empty((m, n), dtype)
    assert gemm(a, b, c, beta=2.0, out=out) is out
    check_gemm(out, a, b, c, beta=2.0)


@dtypes
def test_gemm_c_broadcast_view(dtype, rng):
    # c given as a zero-stride broadcast view of shape (M, N)
    m, n, k = 8, 12, 5
    a, b = _operands(m, n, k, dtype, rng)
    c = np.broadcast_to(rand((n,), dtype, rng), (m, n))
    check_gemm(gemm(a, b, c, beta=1.0), a, b, c, beta=1.0)


# --------------------------------------------------------------------------
# matmul: 2-D and batched 3-D
# --------------------------------------------------------------------------
MATMUL_CASES = {
    "2d": ((17, 9), (9, 13)),
    "3d_3d": ((4, 17, 9), (4, 9, 13)),
    "3d_2d": ((5, 17, 9), (9, 13)),
    "2d_3d": ((17, 9), (5, 9, 13)),
    "b1_3d": ((1, 17, 9), (6, 9, 13)),
    "3d_b1": ((6, 17, 9), (1, 9, 13)),
    "b1_b1": ((1, 7, 3), (1, 3, 5)),
    "b1_2d": ((1, 7, 3), (3, 5)),
    "3d_K0": ((3, 4, 0), (3, 0, 5)),
    "3d_M0": ((3, 0, 4), (3, 4, 5)),
    "3d_N0": ((3, 4, 5), (5, 0)),
    "empty_batch": ((0, 4, 5), (0, 5, 6)),
    "empty_batch_2d": ((0, 4, 5), (5, 6)),
    "2d_empty_batch": ((4, 5), (0, 5, 6)),
    "empty_batch_b1": ((0, 4, 5), (1, 5, 6)),
    "b1_empty_batch": ((1, 4, 5), (0, 5, 6)),
    "tall_batch": ((40, 13, 7), (7, 300)),
    "big_batch": ((64, 20, 20), (64, 20, 20)),
}


# Includes empty batches broadcast against a 2-D operand or a batch of 1,
# which must give numpy's empty batch (a regression test).
_MATMUL_PARAMS = list(MATMUL_CASES)


@dtypes
@pytest.mark.parametrize("case", _MATMUL_PARAMS)
def test_matmul_shapes(case, dtype, rng):
    sa, sb = MATMUL_CASES[case]
    a = rand(sa, dtype, rng)
    b = rand(sb, dtype, rng)
    got = matmul(a, b)
    assert got.shape == np.matmul(a, b).shape
    check_matmul(got, a, b)


@dtypes
@pytest.mark.parametrize("layout", ["transposed", "strided_batch", "neg_batch", "F_each",
                                    "bcast_batch"])
def test_matmul_3d_layouts(layout, dtype, rng):
    bsz, m, k, n = 5, 11, 9, 13

    def make(shape):
        if layout == "transposed":
            return rand((shape[0], shape[2], shape[1]), dtype, rng).transpose(0, 2, 1)
        if layout == "strided_batch":
            return rand((2 * shape[0], shape[1], 2 * shape[2]), dtype, rng)[::2, :, ::2]
        if layout == "neg_batch":
            return rand(shape, dtype, rng)[::-1, ::-1]
        if layout == "F_each":
            return np.asfortranarray(rand(shape, dtype, rng))
        return np.broadcast_to(rand(shape[1:], dtype, rng), shape)

    a, b = make((bsz, m, k)), make((bsz, k, n))
    check_matmul(matmul(a, b), a, b)
    b2 = rand((k, n), dtype, rng)
    check_matmul(matmul(a, b2), a, b2)


@dtypes
@pytest.mark.parametrize("out_kind", ["C", "strided", "neg_batch"])
@pytest.mark.parametrize("case", ["3d_3d", "3d_2d", "2d_3d", "b1_3d"])
def test_matmul_out_3d(case, out_kind, dtype, rng):
    sa, sb = MATMUL_CASES[case]
    a, b = rand(sa, dtype, rng), rand(sb, dtype, rng)
    shape = np.matmul(a, b).shape
    if out_kind == "C":
        out = np.full(shape, np.nan, dtype)
    elif out_kind == "strided":
        big = np.full((shape[0] * 2, shape[1], shape[2] * 3), np.nan, dtype)
        out = big[::2, :, ::3]
    else:
        out = np.full(shape, np.nan, dtype)[::-1]
    got = matmul(a, b, out=out)
    assert got is out
    check_matmul(out, a, b)


@dtypes
def test_matmul_out_2d(dtype, rng):
    a, b = rand((6, 4), dtype, rng), rand((4, 7), dtype, rng)
    out = np.full((12, 7), np.nan, dtype)[::2]
    assert matmul(a, b, out=out) is out
    check_matmul(out, a, b)


# --------------------------------------------------------------------------
# Property test
# --------------------------------------------------------------------------
# alpha/beta: 0 or magnitudes in [1e-3, 4] (tinier ones underflow in float32,
# which no tolerance relative to the reference can absorb).
_SCALARS = st.floats(-4, 4, width=32).filter(lambda x: x == 0 or abs(x) >= 1e-3)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(m=st.integers(0, 70), n=st.integers(0, 70), k=st.integers(0, 70),
       trans_a=st.booleans(), trans_b=st.booleans(),
       dtype=st.sampled_from(DTYPES),
       alpha=st.one_of(st.sampled_from([0.0, 1.0, -1.0]), _SCALARS),
       beta=st.one_of(st.sampled_from([0.0, 1.0]), _SCALARS),
       c_kind=st.sampled_from(["none", "full", "row", "col"]),
       use_out=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_gemm_property(m, n, k, trans_a, trans_b, dtype, alpha, beta, c_kind, use_out, seed):
    rng = np.random.default_rng(seed)
    a, b = _operands(m, n, k, dtype, rng, trans_a, trans_b)
    if c_kind == "none":
        c, beta = None, 0.0
    else:
        c = rand({"full": (m, n), "row": (n,), "col": (m, 1)}[c_kind], dtype, rng)
    out = np.full((m, n), np.nan, dtype) if use_out else None
    got = gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b, out=out)
    if use_out:
        assert got is out
    check_gemm(got, a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)


# --------------------------------------------------------------------------
# Dispatch: every kernel path gives the reference result
# --------------------------------------------------------------------------
DISPATCH_SHAPES = [(1, 1, 1), (5, 3, 0), (0, 4, 4), (7, 13, 31), (13, 33, 17), (12, 32, 16),
                   (25, 65, 300), (145, 37, 257), (97, 2049, 5), (3, 5, 2000)]


def _dispatch_problems(dtype, rng):
    for m, n, k in DISPATCH_SHAPES:
        for trans_a, trans_b in [(False, False), (True, True)]:
            a, b = _operands(m, n, k, dtype, rng, trans_a, trans_b)
            c = rand((m, n), dtype, rng)
            yield (m, n, k, trans_a, trans_b), a, b, c


@all_isas
@dtypes
def test_dispatch_every_isa_matches_reference_and_generic(isa_name, dtype):
    skip_unless_isa(isa_name)
    problems = list(_dispatch_problems(dtype, np.random.default_rng(1234)))
    results = {}
    for name in sorted({"generic", isa_name}):
        with isa(name) as active:
            assert active == name
            results[name] = [gemm(a, b, c, alpha=1.5, beta=-0.5, trans_a=ta, trans_b=tb)
                             for (_, _, _, ta, tb), a, b, c in problems]
            results[name + "_matmul"] = [matmul(a if not ta else a.T, b if not tb else b.T)
                                         for (_, _, _, ta, tb), a, b, c in problems]
    for i, ((m, n, k, ta, tb), a, b, c) in enumerate(problems):
        msg = f"isa={isa_name} shape={m}x{n}x{k} trans=({ta},{tb})"
        got = results[isa_name][i]
        check_gemm(got, a, b, c, alpha=1.5, beta=-0.5, trans_a=ta, trans_b=tb, err_msg=msg)
        check_matmul(results[isa_name + "_matmul"][i], a.T if ta else a, b.T if tb else b)
        # two kernel paths are each within tolerance of the truth, so within
        # twice the tolerance of each other
        s_ab, s_c = gemm_scale(a, b, c, alpha=1.5, beta=-0.5)
        assert_gemm_close(got, results["generic"][i].astype(np.float64), k, dtype,
                          scale=2 * s_ab, c_scale=2 * s_c, err_msg=msg + " vs generic")


@all_isas
def test_dispatch_batched_matmul(isa_name, rng):
    with isa(isa_name):
        for dtype in DTYPES:
            a, b = rand((6, 19, 23), dtype, rng), rand((6, 23, 29), dtype, rng)
            check_matmul(matmul(a, b), a, b)
            b2 = rand((23, 29), dtype, rng)
            check_matmul(matmul(a, b2), a, b2)


# --------------------------------------------------------------------------
# Determinism: bitwise identical on 1 and 2 threads, and across calls
# --------------------------------------------------------------------------
# Every shape is well above pydl's one-thread threshold (2^19 multiply-adds
# per thread), so 2 threads really are used (test_determinism_shapes_use_two_
# threads checks that).  Tall C runs the shared-packed-B path, short-wide C
# the rectangle-grid path, and small batched products the one-product-per-
# thread path.
DET_CASES = {
    "gemm_300x500x700": ("gemm", (300, 500, 700), False, False),
    "gemm_1000x64x300_TN": ("gemm", (1000, 64, 300), True, False),
    # 32-64 tile rows per thread (avx512): shared packed B when k >= 256,
    # rectangles when shallower
    "gemm_800x96x300_shared_b": ("gemm", (800, 96, 300), False, False),
    "gemm_800x200x64_shallow": ("gemm", (800, 200, 64), False, False),
    "gemm_64x3000x500_NT": ("gemm", (64, 3000, 500), False, True),
    "gemm_24x3000x300_grid": ("gemm", (24, 3000, 300), False, False),
    "gemm_50x301x257_TT": ("gemm", (50, 301, 257), True, True),
    "gemm_100x4500x64_wide": ("gemm", (100, 4500, 64), False, False),
    # B of 4.4 MB (float32): packed under the first block of A's tiles on
    # one thread, packed up front by each of two (2.2 MB each)
    "gemm_100x1000x1100_streamed_b": ("gemm", (100, 1000, 1100), False, False),
    "matmul_8x100x100x100": ("matmul", (8, 100, 100, 100), False, False),
    "matmul_96x48x48x48": ("matmul", (96, 48, 48, 48), False, False),
    "matmul_6x150x40x70_2d": ("matmul2d", (6, 150, 40, 70), False, False),
    # a 2-D A shared by the batch, too big to stay packed: each thread packs
    # it once for its products
    "matmul_2d_8x300x400x50": ("matmul_a2d", (8, 300, 400, 50), False, False),
}


@all_isas
@dtypes
@pytest.mark.parametrize("case", list(DET_CASES))
def test_deterministic_across_threads(case, dtype, isa_name, rng):
    kind, shape, ta, tb = DET_CASES[case]
    with isa(isa_name):
        if kind == "gemm":
            m, n, k = shape
            a, b = _operands(m, n, k, dtype, rng, ta, tb)
            c = rand((m, n), dtype, rng)

            def run():
                return gemm(a, b, c, alpha=0.75, beta=1.25, trans_a=ta, trans_b=tb)
        else:
            bsz, m, k, n = shape
            a = rand((m, k) if kind == "matmul_a2d" else (bsz, m, k), dtype, rng)
            b = rand((k, n) if kind == "matmul2d" else (bsz, k, n), dtype, rng)

            def run():
                return matmul(a, b)
        with pydl.num_threads(1):
            one = run()
        with pydl.num_threads(2):
            two = run()
            again = run()
        assert np.array_equal(one, two), f"1 vs 2 threads differ in {case} ({isa_name})"
        assert np.array_equal(two, again), f"repeated calls differ in {case} ({isa_name})"
        if kind == "gemm":
            check_gemm(two, a, b, c, alpha=0.75, beta=1.25, trans_a=ta, trans_b=tb)
        else:
            check_matmul(two, a, b)


# Shapes at the edges of the threaded paths: C of a few micro-tile rows per
# thread, C wider than one nc block, C with fewer B micro-panels than
# threads, N = 1.
THREADED_SHAPES = [(43, 300, 100), (42, 300, 100), (97, 4097, 20), (13, 5000, 50),
                   (200, 17, 600), (200, 9, 600), (600, 1, 1000), (61, 263, 530)]


@dtypes
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("m,n,k", THREADED_SHAPES,
                         ids=[f"{m}x{n}x{k}" for m, n, k in THREADED_SHAPES])
def test_threaded_paths_match_reference_and_one_thread(m, n, k, threads, dtype, rng):
    a = rand((m, 2 * k), dtype, rng)[::-1, ::2]  # a strided view
    b = rand((k, n), dtype, rng)
    c = rand((m, n), dtype, rng)
    with pydl.num_threads(1):
        one = gemm(a, b, c, alpha=1.5, beta=-0.5)
    with pydl.num_threads(threads):
        many = gemm(a, b, c, alpha=1.5, beta=-0.5)
    check_gemm(many, a, b, c, alpha=1.5, beta=-0.5)
    assert np.array_equal(one, many)


@dtypes
def test_repeated_in_place_calls_are_identical(dtype, rng):
    a, b = _operands(120, 80, 300, dtype, rng)
    c0 = rand((120, 80), dtype, rng)
    first, second = c0.copy(), c0.copy()
    gemm(a, b, first, beta=1.0, out=first)
    gemm(a, b, second, beta=1.0, out=second)
    assert np.array_equal(first, second)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
def _f32(*shape):
    return np.ones(shape, np.float32)


def _f64(*shape):
    return np.ones(shape, np.float64)


def _readonly(x):
    x.flags.writeable = False
    return x


_A = _f64(4, 3)
_B = _f64(3, 5)
_SQ = _f64(4, 4)
_SHARED = _f64(4, 9)
_BUF3 = _f64(2, 4, 4)

ERROR_CASES = {
    # dtypes
    "gemm_int32_a": (lambda: gemm(np.ones((2, 2), np.int32), _f64(2, 2)), TypeError,
                     r"\ba\b.*float32 or float64.*int32"),
    "gemm_int64_b": (lambda: gemm(_f64(2, 2), np.ones((2, 2), np.int64)), TypeError,
                     r"\bb\b.*float32 or float64.*int64"),
    "gemm_float16": (lambda: gemm(np.ones((2, 2), np.float16), np.ones((2, 2), np.float16)),
                     TypeError, r"float16"),
    "gemm_complex": (lambda: gemm(np.ones((2, 2), complex), np.ones((2, 2), complex)),
                     TypeError, r"complex128"),
    "gemm_bool": (lambda: gemm(np.ones((2, 2), bool), _f64(2, 2)), TypeError, r"bool"),
    "gemm_mixed_ab": (lambda: gemm(_f32(2, 3), _f64(3, 2)), TypeError,
                      r"a\.dtype=float32.*b\.dtype=float64"),
    "gemm_mixed_c": (lambda: gemm(_f32(2, 3), _f32(3, 2), _f64(2, 2), beta=1.0), TypeError,
                     r"c\.dtype=float64"),
    "gemm_mixed_c_beta0": (lambda: gemm(_f64(2, 3), _f64(3, 2), _f32(2, 2)), TypeError,
                           r"c\.dtype=float32"),
    "gemm_int_c": (lambda: gemm(_f64(2, 3), _f64(3, 2), np.ones((2, 2), int), beta=1.0),
                   TypeError, r"\bc\b.*int64"),
    "matmul_int": (lambda: matmul(np.ones((2, 2), np.int32), np.ones((2, 2), np.int32)),
                   TypeError, r"int32"),
    "matmul_float16_3d": (lambda: matmul(np.ones((2, 2, 2), np.float16), _f32(2, 2)),
                          TypeError, r"float16"),
    "matmul_complex": (lambda: matmul(np.ones((2, 2), np.complex64), _f32(2, 2)), TypeError,
                       r"complex64"),
    "matmul_mixed": (lambda: matmul(_f32(2, 3), _f64(3, 2)), TypeError,
                     r"a\.dtype=float32.*b\.dtype=float64"),
    "matmul_mixed_3d": (lambda: matmul(_f64(2, 2, 3), _f32(2, 3, 2)), TypeError,
                        r"a\.dtype=float64.*b\.dtype=float32"),
    "gemm_object": (lambda: gemm([["x"]], [[1.0]]), TypeError, r"\ba\b"),
    # alpha / beta
    "alpha_str": (lambda: gemm(_A, _B, alpha="2"), TypeError, r"alpha"),
    "beta_str": (lambda: gemm(_A, _B, _f64(4, 5), beta="1"), TypeError, r"beta"),
    "alpha_complex": (lambda: gemm(_A, _B, alpha=1j), TypeError, r"alpha"),
    "alpha_none": (lambda: gemm(_A, _B, alpha=None), TypeError, r"alpha"),
    "beta_without_c": (lambda: gemm(_A, _B, beta=1.0), ValueError, r"beta.*needs c"),
    "beta_neg_without_c": (lambda: gemm(_A, _B, beta=-0.5), ValueError, r"needs c"),
    # ndim
    "gemm_1d_a": (lambda: gemm(_f64(3), _B), ValueError, r"2-D"),
    "gemm_1d_b": (lambda: gemm(_A, _f64(3)), ValueError, r"2-D"),
    "gemm_3d": (lambda: gemm(_f64(2, 4, 3), _B), ValueError, r"2-D.*matmul"),
    "gemm_0d": (lambda: gemm(np.float64(1.0), _B), ValueError, r"2-D"),
    "matmul_1d": (lambda: matmul(_f64(3), _B), ValueError, r"2-D matrices or 3-D"),
    "matmul_1d_b": (lambda: matmul(_A, _f64(3)), ValueError, r"2-D matrices or 3-D"),
    "matmul_4d": (lambda: matmul(_f64(2, 2, 4, 3), _B), ValueError, r"2-D matrices or 3-D"),
    "matmul_4d_b": (lambda: matmul(_A, _f64(2, 2, 3, 5)), ValueError, r"2-D matrices or 3-D"),
    # shapes
    "gemm_k_mismatch": (lambda: gemm(_f64(4, 3), _f64(4, 5)), ValueError,
                        r"shapes do not fit.*4x3.*4x5"),
    "gemm_k_mismatch_trans": (lambda: gemm(_f64(4, 3), _f64(3, 5), trans_a=True), ValueError,
                              r"shapes do not fit.*trans_a=True"),
    "gemm_k_mismatch_trans_b": (lambda: gemm(_f64(4, 3), _f64(3, 5), trans_b=True), ValueError,
                                r"shapes do not fit.*trans_b=True"),
    "gemm_bad_c_shape": (lambda: gemm(_A, _B, _f64(4, 6), beta=1.0), ValueError,
                         r"c has shape \(4, 6\).*\(4, 5\)"),
    "gemm_c_too_big": (lambda: gemm(_A, _B, _f64(2, 4, 5), beta=1.0), ValueError,
                       r"c has shape \(2, 4, 5\)"),
    "gemm_c_bad_col": (lambda: gemm(_A, _B, _f64(3, 1), beta=1.0), ValueError, r"c has shape"),
    "matmul_k_mismatch": (lambda: matmul(_f64(4, 3), _f64(4, 5)), ValueError,
                          r"shapes do not fit"),
    "matmul_k_mismatch_3d": (lambda: matmul(_f64(2, 4, 3), _f64(2, 4, 5)), ValueError,
                             r"shapes do not fit"),
    "matmul_bad_batch": (lambda: matmul(_f64(2, 4, 3), _f64(3, 3, 5)), ValueError,
                         r"batch sizes do not broadcast"),
    "matmul_bad_batch_empty": (lambda: matmul(_f64(0, 4, 3), _f64(2, 3, 5)), ValueError,
                               r"batch sizes do not broadcast"),
    # out
    "gemm_out_shape": (lambda: gemm(_A, _B, out=_f64(5, 4)), ValueError,
                       r"out has shape \(5, 4\), expected \(4, 5\)"),
    "gemm_out_dtype": (lambda: gemm(_A, _B, out=_f32(4, 5)), ValueError,
                       r"out has dtype float32, expected float64"),
    "gemm_out_int": (lambda: gemm(_A, _B, out=np.ones((4, 5), int)), ValueError,
                     r"out has dtype int64"),
    "gemm_out_readonly": (lambda: gemm(_A, _B, out=_readonly(_f64(4, 5))), ValueError,
                          r"out is not writeable"),
    "gemm_out_broadcast": (lambda: gemm(_A, _B, out=np.broadcast_to(_f64(5), (4, 5))),
                           ValueError, r"out is not writeable"),
    "gemm_out_list": (lambda: gemm(_A, _B, out=[[0.0] * 5] * 4), ValueError,
                      r"out must be a numpy.ndarray"),
    "gemm_out_is_a": (lambda: gemm(_SQ, _f64(4, 4), out=_SQ), ValueError,
                      r"out overlaps input a"),
    "gemm_out_is_b": (lambda: gemm(_f64(4, 4), _SQ, out=_SQ), ValueError,
                      r"out overlaps input b"),
    "gemm_out_overlaps_a": (lambda: gemm(_SHARED[:, :3], _B, out=_SHARED[:, 2:7]), ValueError,
                            r"out overlaps input a"),
    "gemm_out_overlaps_b_T": (lambda: gemm(_f64(4, 4), _SQ.T, trans_b=True, out=_SQ),
                              ValueError, r"out overlaps input b"),
    "gemm_out_overlaps_c_view": (lambda: gemm(_A, _B, _SHARED[:, :5], beta=1.0,
                                              out=_SHARED[:, 2:7]), ValueError,
                                 r"out overlaps c"),
    "matmul_out_shape": (lambda: matmul(_f64(2, 4, 3), _B, out=_f64(4, 5)), ValueError,
                         r"out has shape \(4, 5\), expected \(2, 4, 5\)"),
    "matmul_out_dtype": (lambda: matmul(_A, _B, out=_f32(4, 5)), ValueError,
                         r"out has dtype float32"),
    "matmul_out_readonly": (lambda: matmul(_A, _B, out=_readonly(_f64(4, 5))), ValueError,
                            r"not writeable"),
    "matmul_out_is_a": (lambda: matmul(_SQ, _f64(4, 4), out=_SQ), ValueError,
                        r"out overlaps input a"),
    "matmul_out_overlaps_b_3d": (lambda: matmul(_f64(4, 4), _BUF3, out=_BUF3[::-1]),
                                 ValueError, r"out overlaps input b"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors(case):
    call, exc, match = ERROR_CASES[case]
    with pytest.raises(exc, match=match):
        call()


def test_failed_call_leaves_out_untouched():
    out = np.full((4, 5), 3.0)
    with pytest.raises(ValueError):
        gemm(_A, _B, beta=1.0, out=out)
    with pytest.raises(TypeError):
        gemm(_A, _f32(3, 5), out=out)
    assert (out == 3.0).all()


def test_out_equal_to_c_is_allowed_but_not_another_view_of_it(rng):
    a, b = rand((4, 3), np.float64, rng), rand((3, 5), np.float64, rng)
    c = rand((4, 5), np.float64, rng)
    c0 = c.copy()
    assert gemm(a, b, c, beta=1.0, out=c) is c
    check_gemm(c, a, b, c0, beta=1.0)
    with pytest.raises(ValueError, match="out overlaps c"):
        gemm(a, b, c, beta=1.0, out=c[:])


# --------------------------------------------------------------------------
# GIL released: concurrent calls from Python threads are correct
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["gemm", "matmul"])
def test_concurrent_calls_from_python_threads(fn, rng):
    n = 600
    dtype = np.float64
    problems = [(rand((n, n), dtype, rng), rand((n, n), dtype, rng)) for _ in range(2)]
    results = [None, None]
    errors = []

    def work(i):
        try:
            a, b = problems[i]
            results[i] = gemm(a, b, trans_b=True) if fn == "gemm" else matmul(a, b)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a pydl call did not return"
    assert not errors, errors
    for (a, b), got in zip(problems, results):
        if fn == "gemm":
            check_gemm(got, a, b, trans_b=True)
        else:
            check_matmul(got, a, b)


# --------------------------------------------------------------------------
# The determinism shapes really run on 2 threads (OpenMP's worker thread
# appears in a fresh process only once a parallel region runs)
# --------------------------------------------------------------------------
_THREAD_PROBE = (
    "import os, sys, numpy as np, pydl\n"
    "def tasks(): return len(os.listdir('/proc/self/task'))\n"
    "shape = tuple(int(x) for x in sys.argv[1].split('x'))\n"
    "rng = np.random.default_rng(0)\n"
    "pydl.set_num_threads(2)\n"
    "if len(shape) == 3:\n"
    "    m, n, k = shape\n"
    "    a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)\n"
    "else:\n"
    "    bs, m, k, n = shape\n"
    "    a, b = rng.random((bs, m, k), np.float32), rng.random((bs, k, n), np.float32)\n"
    "before = tasks()\n"
    "pydl.ops.matmul(a, b)\n"
    "print(tasks() - before)\n"
)


@needs_openmp
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("shape,new_threads", [
    ("300x500x700", 1), ("24x3000x300", 1), ("8x100x100x100", 1), ("96x48x48x48", 1),
    ("10x10x10", 0),
])
def test_determinism_shapes_use_two_threads(shape, new_threads):
    proc = run_python(["-c", _THREAD_PROBE, shape], env={"OPENBLAS_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) == new_threads, (
        f"{shape}: expected {'a' if new_threads else 'no'} new OpenMP worker thread; if pydl's "
        f"threading threshold changed, update DET_CASES so the determinism test still runs "
        f"on 2 threads")


# --------------------------------------------------------------------------
# Kernel variants agree bitwise: narrow C (no wider than one micro-panel)
# may read A in place instead of packing it, short C packs A once; both must
# reproduce the general path's arithmetic exactly.
# --------------------------------------------------------------------------
@all_isas
@dtypes
@pytest.mark.parametrize("m,k", [(64, 256), (7, 1000), (100, 13), (300, 700)])
def test_narrow_and_short_paths_match_wide_path_bitwise(m, k, dtype, isa_name, rng):
    with isa(isa_name):
        a = rand((m, k), dtype, rng)
        b = rand((k, 40), dtype, rng)
        wide = matmul(a, b)
        for n in (1, 10, 16):
            narrow = matmul(a, np.ascontiguousarray(b[:, :n]))
            assert np.array_equal(narrow, wide[:, :n]), f"n={n} differs from the wide product"


# Small products with A row-major or transposed read A (and a
# row-major B) in place, unpacked, through the in-place kernel: the same
# arithmetic as the packed path, which an A with no unit stride takes.
IN_PLACE_SHAPES = [(64, 64, 64), (13, 33, 17), (25, 47, 300), (100, 100, 100), (12, 70, 1100),
                   (64, 10, 256), (784, 256, 64)]


@pytest.mark.parametrize("isa_name", [i for i in pydl.isa_names() if i != "generic"])
@dtypes
@pytest.mark.parametrize("m,n,k", IN_PLACE_SHAPES,
                         ids=[f"{m}x{n}x{k}" for m, n, k in IN_PLACE_SHAPES])
def test_in_place_operands_match_packed_path_bitwise(m, n, k, dtype, isa_name, rng):
    with isa(isa_name):
        a_strided = rand((m, 2 * k), dtype, rng)[:, ::2]   # no unit stride: packed
        a = np.ascontiguousarray(a_strided)
        a_t = np.ascontiguousarray(a.T)
        b = rand((k, n), dtype, rng)
        b_rows = rand((k, n + 9), dtype, rng)[:, :n]   # rows further apart than n
        b_rows[...] = b
        c = rand((m, n), dtype, rng)
        packed = gemm(a_strided, b, c, alpha=1.5, beta=0.5)
        check_gemm(packed, a, b, c, alpha=1.5, beta=0.5)
        for threads in (1, 2):
            with pydl.num_threads(threads):
                for bb, name in ((b, "contiguous B"), (b_rows, "B rows apart")):
                    got = gemm(a, bb, c, alpha=1.5, beta=0.5)
                    assert np.array_equal(got, packed), f"{name}, {threads} threads"
                    got = gemm(a_t, bb, c, alpha=1.5, beta=0.5, trans_a=True)
                    assert np.array_equal(got, packed), f"A^T, {name}, {threads} threads"


def _before_guard_page(shape, dtype, rng):
    """A C-ordered array whose last byte lies right before a page
    that cannot be read: a kernel reading past it crashes the test."""
    mmap = pytest.importorskip("mmap")
    ctypes = pytest.importorskip("ctypes")
    page = mmap.PAGESIZE
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    size = -(-nbytes // page) * page + page
    buf = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(addr + size - page, page, 0) == 0, os.strerror(ctypes.get_errno())
    x = np.frombuffer(buf, dtype, int(np.prod(shape)), size - page - nbytes).reshape(shape)
    x[...] = rand(shape, dtype, rng)
    return x


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mprotect guard page: Linux")
@pytest.mark.parametrize("isa_name", pydl.isa_names())
@dtypes
@pytest.mark.parametrize("m,n,k", [(5, 10, 7), (64, 10, 256), (13, 40, 33), (30, 17, 50)],
                         ids=["5x10x7", "64x10x256", "13x40x33", "30x17x50"])
def test_in_place_reads_stay_inside_operands(m, n, k, dtype, isa_name, rng):
    # the last row of B (and of A) ends right before an unreadable page:
    # the column edge of an in-place B must be masked, not read
    with isa(isa_name):
        a = _before_guard_page((m, k), dtype, rng)
        a_t = _before_guard_page((k, m), dtype, rng)
        b = _before_guard_page((k, n), dtype, rng)
        check_gemm(gemm(a, b), a, b)
        check_gemm(gemm(a_t, b, trans_a=True), a_t, b, trans_a=True)


@all_isas
@dtypes
@pytest.mark.parametrize("bsz,m,k,n", [(6, 300, 400, 50), (5, 250, 900, 33), (8, 130, 64, 70)])
def test_shared_a_batch_matches_single_products_bitwise(bsz, m, k, n, dtype, isa_name, rng):
    # a batch sharing its 2-D A packs A once per thread (when A does not
    # stay packed by itself): every product as the single call computes it
    with isa(isa_name):
        a = rand((m, k), dtype, rng)
        b = rand((bsz, k, n), dtype, rng)
        for threads in (1, 2):
            with pydl.num_threads(threads):
                got = matmul(a, b)
                for t in range(bsz):
                    assert np.array_equal(got[t], matmul(a, b[t])), f"product {t} differs"
        check_matmul(got, a, b)


@all_isas
@dtypes
@pytest.mark.parametrize("layout", ["rows", "trans", "strided"])
@pytest.mark.parametrize("m", [20, 60, 200])
def test_streamed_b_matches_cached_b_bitwise(m, layout, dtype, isa_name, rng):
    # A B of 4 MiB or more is packed a few panels at a time while the first
    # block of A multiplies (m = 20: the short-C path, 60: one block of A in
    # the general path, packed in groups of panels, 200: two blocks of A);
    # its first 100 columns alone stay in cache and are packed up front.
    # Column j of C depends only on column j of B: bitwise the same.
    k, n = 1100, 1000
    with isa(isa_name), pydl.num_threads(1):
        a = rand((m, k), dtype, rng)
        if layout == "trans":
            bt = rand((n, k), dtype, rng)
            full = gemm(a, bt, trans_b=True)
            part = gemm(a, np.ascontiguousarray(bt[:100]), trans_b=True)
            check_gemm(full, a, bt, trans_b=True)
        else:
            b = (rand((k, 2 * n), dtype, rng)[:, ::2] if layout == "strided"
                 else rand((k, n), dtype, rng))
            full = gemm(a, b)
            part = gemm(a, np.ascontiguousarray(b[:, :100]))
            check_gemm(full, a, b)
        assert np.array_equal(full[:, :100], part)


def test_self_overlapping_out_views_get_a_defined_result(rng):
    # A writeable view whose elements alias each other must not let threads
    # race inside the kernel: pydl computes into a fresh array and copies.
    a = rand((3, 50, 40), np.float32, rng)
    b = rand((40, 60), np.float32, rng)
    buf = np.zeros(50 * 60, np.float32)
    out = np.lib.stride_tricks.as_strided(buf, (3, 50, 60), (0, 240, 4))
    assert matmul(a, b, out=out) is out
    np.testing.assert_allclose(out[2], a[2].astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    rows = np.lib.stride_tricks.as_strided(np.zeros(49 * 2 + 60, np.float32), (50, 60), (8, 4))
    assert gemm(a[0], b, out=rows) is rows
