# GEMM and matmul: validate and allocate in Python land, then one C call
# (csrc/gemm/) with the GIL released.
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t

from pydl._cpydl cimport *

cnp.import_array()

_ACCEPTED = "float32 or float64"
_TooHardError = getattr(np, "exceptions", np).TooHardError


cdef inline tuple _shp(cnp.ndarray x):
    return (<object>x).shape


cdef inline bint _float_type(int t) noexcept:
    return t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64


cdef cnp.ndarray _as_array(object x, str fn, str name):
    """x as an ndarray of float32/float64 whose strides are whole elements."""
    cdef cnp.ndarray arr
    if isinstance(x, np.ndarray):
        arr = <cnp.ndarray>x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:
            raise TypeError(f"{fn}: expected {name} to be an array of {_ACCEPTED}, "
                            f"got {type(x).__name__} that numpy cannot convert ({exc})") from None
    if not _float_type(cnp.PyArray_TYPE(arr)):
        raise TypeError(f"{fn}: expected {name} of dtype {_ACCEPTED}, got dtype {arr.dtype}. "
                        f"Convert it first, e.g. {name}.astype(np.float32).")
    if not cnp.PyArray_ISNOTSWAPPED(arr):
        return arr.astype(arr.dtype.newbyteorder("="), order="C")
    if not _element_strided(arr):
        return np.array(arr, order="C", copy=True)
    return arr


cdef bint _element_strided(cnp.ndarray x):
    """True if x is aligned and every stride is a whole number of elements."""
    cdef int i
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(x)
    if not cnp.PyArray_ISALIGNED(x):
        return False
    for i in range(cnp.PyArray_NDIM(x)):
        if cnp.PyArray_STRIDES(x)[i] % isz != 0:
            return False
    return True


cdef _check_same_dtype(str fn, list named):
    cdef object first_name = named[0][0]
    cdef object first = named[0][1].dtype
    for name, arr in named[1:]:
        if arr.dtype != first:
            raise TypeError(f"{fn}: all operands must have the same dtype ({_ACCEPTED}); got "
                            f"{first_name}.dtype={first} and {name}.dtype={arr.dtype}. "
                            f"Cast one of them, e.g. {name}.astype({first_name}.dtype).")


cdef void _extent(cnp.ndarray x, char **lo, char **hi) noexcept:
    """Byte range [lo, hi) that x's elements can touch."""
    cdef char *p = <char *>cnp.PyArray_DATA(x)
    cdef char *first = p
    cdef char *last = p
    cdef int i
    cdef cnp.npy_intp d, st
    for i in range(cnp.PyArray_NDIM(x)):
        d = cnp.PyArray_DIMS(x)[i]
        if d == 0:
            lo[0] = p
            hi[0] = p
            return
        st = cnp.PyArray_STRIDES(x)[i] * (d - 1)
        if st < 0:
            first += st
        else:
            last += st
    lo[0] = first
    hi[0] = last + cnp.PyArray_ITEMSIZE(x)


cdef bint _overlaps(cnp.ndarray out, cnp.ndarray x):
    """True if out and x share memory (exact, past a cheap bounds test)."""
    cdef char *lo1
    cdef char *hi1
    cdef char *lo2
    cdef char *hi2
    _extent(out, &lo1, &hi1)
    _extent(x, &lo2, &hi2)
    if lo1 >= hi1 or lo2 >= hi2 or hi1 <= lo2 or hi2 <= lo1:
        return False
    try:
        return np.shares_memory(out, x, max_work=1 << 20)
    except _TooHardError:
        return True  # could not rule an overlap out: treat it as one


cdef cnp.ndarray _check_out(object out, str fn, tuple shape, int typenum, object inputs):
    """Validate a user-given `out` array; inputs are (name, array) pairs it
    must not overlap."""
    if not isinstance(out, np.ndarray):
        raise ValueError(f"{fn}: out must be a numpy.ndarray, got {type(out).__name__}")
    cdef cnp.ndarray o = <cnp.ndarray>out
    cdef int i
    cdef bint same = cnp.PyArray_NDIM(o) == len(shape)
    if same:
        for i in range(cnp.PyArray_NDIM(o)):
            if cnp.PyArray_DIMS(o)[i] != <cnp.npy_intp>shape[i]:
                same = False
    if not same:
        raise ValueError(f"{fn}: out has shape {_shp(o)}, expected {shape}")
    if cnp.PyArray_TYPE(o) != typenum or not cnp.PyArray_ISNOTSWAPPED(o):
        raise ValueError(f"{fn}: out has dtype {o.dtype}, expected "
                         f"{np.dtype(np.float32 if typenum == cnp.NPY_FLOAT32 else np.float64)} "
                         f"(the inputs' dtype)")
    if not cnp.PyArray_ISWRITEABLE(o):
        raise ValueError(f"{fn}: out is not writeable (a read-only or broadcast view?); "
                         f"pass a writeable array")
    for name, x in inputs:
        if _overlaps(o, x):
            raise ValueError(f"{fn}: out overlaps input {name}; pass a separate output array "
                             f"or leave out=None")
    return o


cdef inline int64_t _es(cnp.ndarray x, int axis) noexcept:
    """Stride of an axis in elements."""
    return cnp.PyArray_STRIDES(x)[axis] // cnp.PyArray_ITEMSIZE(x)


cdef int _run(int typenum, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha,
              cnp.ndarray a, int64_t bs_a, int64_t rs_a, int64_t cs_a,
              cnp.ndarray b, int64_t bs_b, int64_t rs_b, int64_t cs_b,
              double beta, cnp.ndarray c, int64_t bs_c, int64_t rs_c) except -1:
    """The kernel call: C_t = alpha * A_t B_t + beta * C_t, GIL released."""
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef void *pb = cnp.PyArray_DATA(b)
    cdef void *pc = cnp.PyArray_DATA(c)
    cdef int status
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            status = pydl_sgemm_batched(batch, m, n, k, <float>alpha,
                                        <const float *>pa, bs_a, rs_a, cs_a,
                                        <const float *>pb, bs_b, rs_b, cs_b,
                                        <float>beta, <float *>pc, bs_c, rs_c, 0)
        else:
            status = pydl_dgemm_batched(batch, m, n, k, alpha,
                                        <const double *>pa, bs_a, rs_a, cs_a,
                                        <const double *>pb, bs_b, rs_b, cs_b,
                                        beta, <double *>pc, bs_c, rs_c, 0)
    if status == PYDL_ERR_NOMEM:
        raise MemoryError("pydl GEMM: could not allocate its packing workspace")
    return 0


cdef bint _unit_cols(cnp.ndarray c):
    """True if the kernel can write c in place: element-strided, aligned,
    with a contiguous last axis (or one of length <= 1), and no two elements
    at the same address (threads would race on a self-overlapping view)."""
    cdef int nd = cnp.PyArray_NDIM(c)
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(c)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(c)
    cdef cnp.npy_intp isz = cnp.PyArray_ITEMSIZE(c)
    if not _element_strided(c):
        return False
    if dims[nd - 1] > 1 and strides[nd - 1] != isz:
        return False
    # rows must not overlap: |row stride| >= row length (when there are rows)
    if dims[nd - 2] > 1 and abs(strides[nd - 2]) < dims[nd - 1] * isz:
        return False
    # matrices of a batch must not overlap
    if nd == 3 and dims[0] > 1 and dims[1] > 0 and dims[2] > 0 and \
            abs(strides[0]) < (dims[1] - 1) * abs(strides[1]) + dims[2] * isz:
        return False
    return True



cdef bint _broadcasts_to(cnp.ndarray c, int64_t m, int64_t n):
    """c's shape broadcasts to (m, n) (numpy's rules: at most 2 axes here,
    each 1 or the result's size), checked in C."""
    cdef int nd = cnp.PyArray_NDIM(c)
    cdef cnp.npy_intp *d = cnp.PyArray_DIMS(c)
    if nd > 2:
        return False
    if nd == 2 and not (d[0] == 1 or d[0] == m):
        return False
    return nd == 0 or d[nd - 1] == 1 or d[nd - 1] == n


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, out=None):
    """General matrix multiply: ``alpha * op(a) @ op(b) + beta * c``.

    ``op(x)`` is ``x.T`` when the matching ``trans_*`` flag is true, else ``x``.

    Parameters
    ----------
    a : ndarray of shape (M, K), or (K, M) if trans_a
    b : ndarray of shape (K, N), or (N, K) if trans_b
        float32 or float64, both the same dtype.  Any memory layout (C or
        Fortran order, strided views) is read in place, without a copy.
    c : ndarray broadcastable to (M, N), optional
        Required when beta != 0.  Not read when beta == 0 (it may hold NaN).
    alpha, beta : float
    trans_a, trans_b : bool
    out : ndarray of shape (M, N), optional
        Where to write the result; may be ``c`` itself (in-place update), must
        not overlap ``a`` or ``b``.

    Returns
    -------
    ndarray of shape (M, N), the dtype of the inputs (``out`` if given).

    Raises
    ------
    TypeError
        Dtypes other than float32/float64, or mixed dtypes.
    ValueError
        Wrong ndim, incompatible shapes, beta != 0 without c, or a bad ``out``.
    """
    cdef str fn = "gemm"
    cdef cnp.ndarray A = _as_array(a, fn, "a")
    cdef cnp.ndarray B = _as_array(b, fn, "b")
    if cnp.PyArray_NDIM(A) != 2 or cnp.PyArray_NDIM(B) != 2:
        raise ValueError(f"gemm: expected 2-D a and b, got a.shape={_shp(A)} and "
                         f"b.shape={_shp(B)}; for stacks of matrices use pydl.ops.matmul")
    cdef int typenum = cnp.PyArray_TYPE(A)
    if cnp.PyArray_TYPE(B) != typenum:
        _check_same_dtype(fn, [("a", A), ("b", B)])
    cdef double alpha_ = _real(fn, "alpha", alpha)
    cdef double beta_ = _real(fn, "beta", beta)
    # op(x) by swapping strides: the kernel reads any strides, no copy.
    cdef bint ta = bool(trans_a), tb = bool(trans_b)
    cdef int64_t m = cnp.PyArray_DIMS(A)[1 if ta else 0], k = cnp.PyArray_DIMS(A)[0 if ta else 1]
    cdef int64_t kb = cnp.PyArray_DIMS(B)[1 if tb else 0], n = cnp.PyArray_DIMS(B)[0 if tb else 1]
    cdef int64_t rs_a = _es(A, 1 if ta else 0), cs_a = _es(A, 0 if ta else 1)
    cdef int64_t rs_b = _es(B, 1 if tb else 0), cs_b = _es(B, 0 if tb else 1)
    if kb != k:
        raise ValueError(f"gemm: shapes do not fit: op(a) is {m}x{k} (a.shape={_shp(A)}, "
                         f"trans_a={ta}) but op(b) is {kb}x{n} (b.shape={_shp(B)}, "
                         f"trans_b={tb}); the inner sizes must be equal")
    cdef cnp.ndarray C = None
    if c is not None:
        C = _as_array(c, fn, "c")
        if cnp.PyArray_TYPE(C) != typenum:
            _check_same_dtype(fn, [("a", A), ("c", C)])
        if not _broadcasts_to(C, m, n):
            raise ValueError(f"gemm: c has shape {_shp(C)}, which does not broadcast to the "
                             f"result shape ({m}, {n})")
    elif beta_ != 0:
        raise ValueError(f"gemm: beta={beta!r} needs c; pass c=... or beta=0")
    cdef cnp.npy_intp dims[2]
    cdef cnp.ndarray target
    if out is None:
        dims[0] = m
        dims[1] = n
        target = cnp.PyArray_EMPTY(2, dims, typenum, 0)
    else:
        target = _check_out(out, fn, (m, n), typenum, (("a", A), ("b", B)))
        if C is not None and C is not target and _overlaps(target, C):
            raise ValueError("gemm: out overlaps c without being c; pass out=c for an "
                             "in-place update, or separate arrays")
    cdef cnp.ndarray work = target if _unit_cols(target) else np.empty((m, n), dtype=A.dtype)
    if beta_ != 0 and C is not work:
        np.copyto(work, C)
    _run(typenum, 1, m, n, k, alpha_, A, 0, rs_a, cs_a, B, 0, rs_b, cs_b,
         beta_, work, 0, _es(work, 0))
    if work is not target:
        np.copyto(target, work)
    return target


cdef double _real(str fn, str name, object v) except? -1.0:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(v).__name__} {v!r}")
    return float(v)


def matmul(a, b, out=None):
    """Matrix product ``a @ b`` of 2-D matrices or 3-D stacks of matrices.

    Parameters
    ----------
    a : ndarray of shape (M, K) or (batch, M, K)
    b : ndarray of shape (K, N) or (batch, K, N)
        float32 or float64, both the same dtype, any memory layout.  A 2-D
        operand is broadcast over the other's batch, as is a batch of 1.
    out : ndarray of shape (M, N) or (batch, M, N), optional
        Must not overlap a or b.

    Returns
    -------
    ndarray of shape (M, N) if both inputs are 2-D, else (batch, M, N).

    Raises
    ------
    TypeError
        Dtypes other than float32/float64, or mixed dtypes.
    ValueError
        ndim other than 2 or 3, incompatible shapes, or a bad ``out``.
    """
    cdef cnp.ndarray A, B, C
    cdef cnp.npy_intp dims[2]
    cdef int t
    # Fast path for the common call: two 2-D arrays of one float dtype.
    if out is None and type(a) is np.ndarray and type(b) is np.ndarray:
        A = <cnp.ndarray>a
        B = <cnp.ndarray>b
        t = cnp.PyArray_TYPE(A)
        if (cnp.PyArray_NDIM(A) == 2 and cnp.PyArray_NDIM(B) == 2 and _float_type(t)
                and cnp.PyArray_TYPE(B) == t and cnp.PyArray_DIMS(A)[1] == cnp.PyArray_DIMS(B)[0]
                and cnp.PyArray_ISALIGNED(A) and cnp.PyArray_ISALIGNED(B)
                and cnp.PyArray_ISNOTSWAPPED(A) and cnp.PyArray_ISNOTSWAPPED(B)):
            dims[0] = cnp.PyArray_DIMS(A)[0]
            dims[1] = cnp.PyArray_DIMS(B)[1]
            C = cnp.PyArray_EMPTY(2, dims, t, 0)
            _run(t, 1, dims[0], dims[1], cnp.PyArray_DIMS(A)[1], 1.0,
                 A, 0, _es(A, 0), _es(A, 1), B, 0, _es(B, 0), _es(B, 1), 0.0, C, 0, dims[1])
            return C
    return _matmul_general(a, b, out)


cdef _matmul_general(a, b, out):
    cdef str fn = "matmul"
    cdef cnp.ndarray A = _as_array(a, fn, "a")
    cdef cnp.ndarray B = _as_array(b, fn, "b")
    if A.ndim not in (2, 3) or B.ndim not in (2, 3):
        raise ValueError(f"matmul: expected 2-D matrices or 3-D stacks (batch, rows, cols), got "
                         f"a.shape={_shp(A)} and b.shape={_shp(B)}; reshape vectors to "
                         f"(1, K) or (K, 1)")
    _check_same_dtype(fn, [("a", A), ("b", B)])
    cdef int64_t m = A.shape[A.ndim - 2], k = A.shape[A.ndim - 1]
    cdef int64_t kb = B.shape[B.ndim - 2], n = B.shape[B.ndim - 1]
    if k != kb:
        raise ValueError(f"matmul: shapes do not fit: a.shape={_shp(A)} has {k} columns but "
                         f"b.shape={_shp(B)} has {kb} rows")
    cdef int64_t ba = A.shape[0] if A.ndim == 3 else 1
    cdef int64_t bb = B.shape[0] if B.ndim == 3 else 1
    if ba != bb and ba != 1 and bb != 1:
        raise ValueError(f"matmul: batch sizes do not broadcast: a.shape={_shp(A)}, "
                         f"b.shape={_shp(B)}")
    cdef int64_t batch = 0 if ba == 0 or bb == 0 else max(ba, bb)
    cdef tuple shape
    if A.ndim == 3 or B.ndim == 3:
        shape = (batch, m, n)
    else:
        shape = (m, n)
    cdef cnp.ndarray target
    if out is None:
        target = np.empty(shape, dtype=A.dtype)
    else:
        target = _check_out(out, fn, shape, cnp.PyArray_TYPE(A), (("a", A), ("b", B)))
    cdef cnp.ndarray work = target if _unit_cols(target) else np.empty(shape, dtype=A.dtype)
    # Batch strides (0 broadcasts a matrix over the batch).
    cdef int64_t bs_a = _es(A, 0) if A.ndim == 3 and ba > 1 else 0
    cdef int64_t bs_b = _es(B, 0) if B.ndim == 3 and bb > 1 else 0
    cdef int64_t bs_c = _es(work, 0) if work.ndim == 3 else 0
    cdef int ra = A.ndim - 2, rb = B.ndim - 2, rc = work.ndim - 2
    cdef int64_t rs_a = _es(A, ra), cs_a = _es(A, ra + 1)
    cdef int64_t rs_b = _es(B, rb), cs_b = _es(B, rb + 1), rs_c = _es(work, rc)
    if batch > 1 and bs_b == 0 and bs_a == m * rs_a and bs_c == m * rs_c:
        # A stack of row blocks times one matrix is one tall product.
        m, batch, bs_a, bs_c = m * batch, 1, 0, 0
    _run(cnp.PyArray_TYPE(A), batch, m, n, k, 1.0, A, bs_a, rs_a, cs_a, B, bs_b, rs_b, cs_b,
         0.0, work, bs_c, rs_c)
    if work is not target:
        np.copyto(target, work)
    return target
