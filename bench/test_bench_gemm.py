"""pytest-benchmark: pydl.ops.gemm against numpy (OpenBLAS), case by case.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest bench/ --benchmark-only

Not collected by the default `pytest` run (testpaths = ["tests"]).  Both
libraries run on pydl.get_num_threads() threads (set it with PYDL_NUM_THREADS).
Each case checks pydl's result against a float64 reference once; nothing here
asserts on speed.  For the pydl/numpy ratios quoted in bench/README.md use
`pydl bench gemm`, which interleaves the two libraries sample by sample.
"""
from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")
threadpoolctl = pytest.importorskip("threadpoolctl")

import pydl  # noqa: E402
from pydl.benchmarks.gemm import Case  # noqa: E402

# A few cases of `pydl bench gemm` (pydl/benchmarks/gemm.py), same names;
# the names are the benchmark groups, the short ids are for `-k`.
CASES = {
    "sq256": Case("square N=256", 256, 256, 256),
    "sq1024": Case("square N=1024", 1024, 1024, 1024),
    "64x784x256": Case("64x784 . 784x256", 64, 256, 784),
    "64x256x784_NT": Case("(64x256) . (784x256)^T", 64, 784, 256, trans_b=True),
    "784x64x256_TN": Case("(64x784)^T . (64x256)", 784, 256, 64, trans_a=True),
    "f64_sq1024": Case("float64 N=1024", 1024, 1024, 1024, dtype=np.float64),
    "overhead8x8": Case("overhead 8x8 (a @ b)", 8, 8, 8, overhead=True),
}
LIBRARIES = ["pydl", "numpy"]

# Pause before each benchmark: thread pools (OpenMP, OpenBLAS) keep spinning
# for a while after a call and would steal cores from the next library.
SETTLE_S = 0.2

_FORCING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@pytest.fixture(scope="module", autouse=True)
def _same_threads_for_both():
    """numpy's BLAS gets as many threads as pydl uses."""
    forced = [f"{v}={os.environ[v]}" for v in _FORCING_VARS if v in os.environ]
    if forced:
        warnings.warn(f"{', '.join(forced)} is set: numpy runs a forced OpenBLAS kernel; "
                      f"run with env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE",
                      RuntimeWarning, stacklevel=1)
    with threadpoolctl.threadpool_limits(pydl.get_num_threads(), user_api="blas"):
        yield


def _operands(case: Case):
    rng = np.random.default_rng(0)
    shape_a = (case.k, case.m) if case.trans_a else (case.m, case.k)
    shape_b = (case.n, case.k) if case.trans_b else (case.k, case.n)
    a = rng.uniform(-1.0, 1.0, shape_a).astype(case.dtype)
    b = rng.uniform(-1.0, 1.0, shape_b).astype(case.dtype)
    return a, b


def _check(case: Case, a, b) -> None:
    """pydl's result agrees with a float64 reference (tolerance as in
    tests/helpers.py: rtol 4 eps, atol 16 eps sqrt(k) for data in [-1, 1))."""
    if case.overhead:
        got = pydl.ops.matmul(a, b)
    else:
        got = pydl.ops.gemm(a, b, trans_a=case.trans_a, trans_b=case.trans_b)
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    ref = (a64.T if case.trans_a else a64) @ (b64.T if case.trans_b else b64)
    eps = float(np.finfo(case.dtype).eps)
    assert got.dtype == case.dtype and got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=4 * eps, atol=16 * eps * np.sqrt(case.k),
                               err_msg=case.name)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_gemm(benchmark, case: Case, library: str) -> None:
    a, b = _operands(case)
    if library == "pydl":
        _check(case, a, b)
    opa = a.T if case.trans_a else a
    opb = b.T if case.trans_b else b
    c = np.empty((case.m, case.n), case.dtype)
    if case.overhead:
        fn = (lambda: pydl.ops.matmul(a, b)) if library == "pydl" else (lambda: a @ b)
    elif library == "pydl":
        def fn():
            return pydl.ops.gemm(a, b, trans_a=case.trans_a, trans_b=case.trans_b, out=c)
    else:
        def fn():
            return np.matmul(opa, opb, out=c)

    benchmark.group = case.name
    benchmark.extra_info.update(threads=pydl.get_num_threads(), kernel_path=pydl.get_isa(),
                                flop=2 * case.m * case.n * case.k)
    time.sleep(SETTLE_S)
    benchmark(fn)
