"""Shared helpers for pydl's tests: random data, the GEMM reference and its
tolerance, memory-layout builders, ISA switching, subprocess runs and a
finite-difference gradient."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
import pytest

import pydl

DTYPES = (np.float32, np.float64)
DTYPE_IDS = ("f32", "f64")

# Environment variables that change how pydl starts; subprocess tests clear them.
PYDL_ENV_VARS = ("PYDL_ISA", "PYDL_NUM_THREADS", "OMP_NUM_THREADS")


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def rand(shape: Sequence[int], dtype, rng: np.random.Generator) -> np.ndarray:
    """C-ordered array of ``dtype`` with entries uniform in [-1, 1)."""
    return rng.uniform(-1.0, 1.0, size=tuple(shape)).astype(dtype)


def _absmax(x) -> float:
    x = np.asarray(x)
    return float(np.max(np.abs(x))) if x.size else 0.0


# --------------------------------------------------------------------------
# Reference and tolerance
# --------------------------------------------------------------------------
def gemm_ref(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False) -> np.ndarray:
    """alpha * op(a) @ op(b) + beta * c, computed in float64 (c not read if beta == 0)."""
    A = np.asarray(a, dtype=np.float64)
    B = np.asarray(b, dtype=np.float64)
    if trans_a:
        A = A.T
    if trans_b:
        B = B.T
    r = alpha * (A @ B)
    if beta != 0:
        r = r + beta * np.asarray(c, dtype=np.float64)
    return np.broadcast_to(r, (A.shape[0], B.shape[1]))


def gemm_tol(k: int, dtype) -> Tuple[float, float]:
    """(rtol, atol) for a GEMM with inner size ``k`` in ``dtype``.

    atol is per unit magnitude: multiply it by |alpha| * max|a| * max|b|.  The
    accumulated rounding error of a blocked dot product of length k grows
    like sqrt(k) * eps (measured: <= ~5 eps sqrt(k) for data in [-1, 1)), so
    16 eps sqrt(k) leaves margin while staying far below the size of one
    product term: at k = 12000 in float32 it is 2e-4, so a dropped or
    doubled term (|a_ik b_kj| up to 1) or an off-by-one fails.  rtol covers
    rounding the result (and alpha, beta) to ``dtype``.
    """
    eps = float(np.finfo(dtype).eps)
    return 4.0 * eps, 16.0 * eps * float(np.sqrt(max(int(k), 1)))


def gemm_scale(a, b, c=None, alpha=1.0, beta=0.0) -> Tuple[float, float]:
    """(|alpha| max|a| max|b|, |beta| max|c|): the magnitudes the tolerance scales with."""
    s_ab = abs(alpha) * _absmax(a) * _absmax(b)
    s_c = abs(beta) * _absmax(c) if (c is not None and beta != 0) else 0.0
    return s_ab, s_c


def assert_gemm_close(got, ref, k: int, dtype, *, scale: float = 1.0, c_scale: float = 0.0,
                      err_msg: str = "") -> None:
    """got (pydl's result, in ``dtype``) agrees with the float64 reference.

    ``scale`` = |alpha| max|a| max|b| (1 for rand() data and alpha = 1),
    ``c_scale`` = |beta| max|c|.  NaN or inf in ``got`` always fails.
    """
    got = np.asarray(got)
    ref = np.asarray(ref)
    assert got.dtype == np.dtype(dtype), f"dtype {got.dtype}, expected {np.dtype(dtype)}"
    assert got.shape == ref.shape, f"shape {got.shape}, expected {ref.shape}"
    rtol, atol = gemm_tol(k, dtype)
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol * scale + 4.0 * eps * c_scale,
                               equal_nan=False, err_msg=err_msg)


def check_gemm(got, a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False,
               dtype=None, err_msg: str = "") -> None:
    """Compare a pydl.ops.gemm result with gemm_ref using the scaled tolerance."""
    A = np.asarray(a)
    k = A.shape[0] if trans_a else A.shape[1]
    ref = gemm_ref(a, b, c, alpha, beta, trans_a, trans_b)
    s_ab, s_c = gemm_scale(a, b, c, alpha, beta)
    assert_gemm_close(got, ref, k, dtype or A.dtype, scale=s_ab, c_scale=s_c, err_msg=err_msg)


def check_matmul(got, a, b, dtype=None) -> None:
    """Compare a pydl.ops.matmul result with np.matmul in float64."""
    A = np.asarray(a)
    ref = np.matmul(A.astype(np.float64), np.asarray(b, dtype=np.float64))
    assert_gemm_close(got, ref, A.shape[-1], dtype or A.dtype, scale=_absmax(a) * _absmax(b))


# --------------------------------------------------------------------------
# Memory layouts: a view with logical shape ``shape`` laid out as ``kind``
# --------------------------------------------------------------------------
LAYOUTS = ("C", "F", "strided", "neg_rows", "neg_cols", "neg_both", "T_view",
           "bcast_rows", "bcast_cols")


def make_layout(shape: Tuple[int, int], dtype, rng: np.random.Generator, kind: str) -> np.ndarray:
    """A 2-D array of logical shape ``shape`` with the given memory layout."""
    m, n = shape
    if kind == "C":
        x = rand((m, n), dtype, rng)
    elif kind == "F":
        x = np.asfortranarray(rand((m, n), dtype, rng))
    elif kind == "strided":  # steps in both axes and an offset
        x = rand((2 * m, 3 * n + 1), dtype, rng)[::2, 1::3]
    elif kind == "neg_rows":
        x = rand((m, n), dtype, rng)[::-1]
    elif kind == "neg_cols":
        x = rand((m, n), dtype, rng)[:, ::-1]
    elif kind == "neg_both":
        x = rand((m, 2 * n), dtype, rng)[::-1, ::-2]
    elif kind == "T_view":
        x = rand((n, m), dtype, rng).T
    elif kind == "bcast_rows":  # row stride 0: every row is the same
        x = np.broadcast_to(rand((1, n), dtype, rng), (m, n))
    elif kind == "bcast_cols":  # column stride 0
        x = np.broadcast_to(rand((m, 1), dtype, rng), (m, n))
    else:
        raise ValueError(kind)
    assert x.shape == (m, n) and x.dtype == np.dtype(dtype)
    return x


# --------------------------------------------------------------------------
# ISA
# --------------------------------------------------------------------------
def skip_unless_isa(name: str) -> None:
    """pytest.skip if this CPU (or build) cannot run the ``name`` kernels."""
    if name != "best" and name not in pydl.supported_isas():
        pytest.skip(f"this CPU/build cannot run the {name!r} kernels "
                    f"(supported: {', '.join(pydl.supported_isas())})")


@contextlib.contextmanager
def isa(name: str) -> Iterator[str]:
    """Use the ``name`` kernels inside the block (skipping the test if the CPU
    lacks them) and restore the previous kernel path afterwards."""
    skip_unless_isa(name)
    previous = pydl.get_isa()
    pydl.set_isa(name)
    try:
        yield pydl.get_isa()
    finally:
        pydl.set_isa(previous)


# --------------------------------------------------------------------------
# Subprocesses
# --------------------------------------------------------------------------
def run_python(args: Sequence[str], env: Optional[Dict[str, str]] = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python *args`` with a clean pydl environment plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if k not in PYDL_ENV_VARS}
    full_env.update(env or {})
    return subprocess.run([sys.executable, *args], env=full_env, capture_output=True,
                          text=True, timeout=timeout)


# --------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------
def finite_diff_grad(f, x, eps: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of the scalar ``f(x)`` at ``x``, in float64.

    ``x`` is copied to float64 and perturbed one element at a time
    (2 * x.size calls of ``f``), so keep it tiny.  For ``f`` linear in ``x``
    (convolution, average pooling, a projection of them) the result is exact
    up to rounding: about eps_machine * |f| / ``eps``.
    """
    base = np.array(x, dtype=np.float64, copy=True)
    grad = np.empty_like(base)
    flat, gflat = base.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = float(f(base))
        flat[i] = old - eps
        f_minus = float(f(base))
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


# A build without OpenMP runs every kernel on one thread; thread-control
# tests do not apply to it.
SERIAL_BUILD = pydl._core.openmp_version() == 0
needs_openmp = pytest.mark.skipif(SERIAL_BUILD, reason="serial build (no OpenMP): thread "
                                                       "control is a no-op")


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------
def check_layer_gradients(layers, input_shape: Sequence[int], rng: np.random.Generator, *,
                          batch: int = 2, rtol: float = 1e-5, atol: float = 1e-6,
                          eps: float = 1e-6, dropout_seed: int = 12345):
    """Check a small network's backward pass against central finite differences.

    ``layers`` (the layer under test in the middle, e.g. ``[Conv2D, layer,
    Flatten, Dense]``) become a float64 ``pydl.Sequential`` whose first
    layer also returns its input gradient.  With the scalar ``L = sum(out *
    W)`` for a random projection ``W``, the analytic dL/dx and every layer's
    every parameter gradient (one forward with training=True, one backward)
    are compared with ``finite_diff_grad``.  Every Dropout layer's generator
    is re-seeded before each forward, so all evaluations share one mask.
    Keep the network tiny: each parameter array and the input cost
    2 * size forward passes.  Returns the model.
    """
    from pydl.layers import Dropout

    model = pydl.Sequential(list(layers)).astype(np.float64)
    model.layers[0].needs_input_grad = True
    model.build(tuple(input_shape))
    x = rng.uniform(-1.0, 1.0, size=(batch,) + tuple(input_shape))
    w = rng.uniform(-1.0, 1.0, size=(batch,) + model.output_shapes[-1])

    def reseed() -> None:
        for layer in model.layers:
            if isinstance(layer, Dropout):
                layer._rng = np.random.default_rng(dropout_seed)

    def loss(xx) -> float:
        reseed()
        out = model.forward(xx, training=True)
        assert out.dtype == np.float64, f"output dtype {out.dtype} in a float64 network"
        return float(np.sum(out * w))

    reseed()
    model.forward(x, training=True)
    gx = model.backward(w.copy())
    assert gx is not None, "layers[0].needs_input_grad is True but backward returned None"
    gx = np.array(gx, dtype=np.float64)
    grads = [{k: np.array(g, copy=True) for k, g in layer.grads.items()}
             for layer in model.layers]

    def compare(got, num, what):
        assert got.shape == num.shape, f"{what}: gradient shape {got.shape}, expected {num.shape}"
        scale = max(1.0, _absmax(num))
        np.testing.assert_allclose(got, num, rtol=rtol, atol=atol * scale,
                                   err_msg=f"{what} differs from finite differences")

    compare(gx, finite_diff_grad(loss, x, eps), "input gradient")
    for i, layer in enumerate(model.layers):
        assert sorted(layer.grads) == sorted(layer.params), f"layer {i}: grads keys != params keys"
        for name, p in layer.params.items():
            orig = p.copy()

            def f(v, p=p):
                p[...] = v
                return loss(x)

            num = finite_diff_grad(f, orig, eps)
            p[...] = orig
            compare(grads[i][name], num, f"layer {i} ({layer!r}) parameter {name!r}")
    return model
