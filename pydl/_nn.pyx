# Neural-network layer ops: activations, softmax, losses, bias, dropout, batch
# normalisation and optimizer updates.  Each def validates and allocates, then
# makes one C call (csrc/nn/) with the GIL released.
import math
import operator

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, uint64_t

from pydl._cpydl cimport *

cnp.import_array()

_ACCEPTED = "float32 or float64"
_TooHardError = getattr(np, "exceptions", np).TooHardError

ctypedef int (*s_unary_t)(int64_t, const float *, float *, int) noexcept nogil
ctypedef int (*d_unary_t)(int64_t, const double *, double *, int) noexcept nogil
ctypedef int (*s_binary_t)(int64_t, const float *, const float *, float *, int) noexcept nogil
ctypedef int (*d_binary_t)(int64_t, const double *, const double *, double *, int) noexcept nogil
ctypedef int (*s_rows_t)(int64_t, int64_t, const float *, float *, int) noexcept nogil
ctypedef int (*d_rows_t)(int64_t, int64_t, const double *, double *, int) noexcept nogil
ctypedef int (*s_rows2_t)(int64_t, int64_t, const float *, const float *, float *,
                          int) noexcept nogil
ctypedef int (*d_rows2_t)(int64_t, int64_t, const double *, const double *, double *,
                          int) noexcept nogil
ctypedef int (*s_loss_t)(int64_t, const float *, const float *, double *, float *,
                         int) noexcept nogil
ctypedef int (*d_loss_t)(int64_t, const double *, const double *, double *, double *,
                         int) noexcept nogil


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------
def _float(x, str fn, str name, int min_ndim=0, str layout="any shape"):
    """x as a C-contiguous, aligned, native-order float32/float64 array with
    at least min_ndim dimensions (converted only when it is not one)."""
    cdef cnp.ndarray fast
    cdef int tn
    if type(x) is np.ndarray:  # the common case, checked in C (no flags objects)
        fast = <cnp.ndarray>x
        tn = cnp.PyArray_TYPE(fast)
        if ((tn == cnp.NPY_FLOAT32 or tn == cnp.NPY_FLOAT64)
                and cnp.PyArray_NDIM(fast) >= min_ndim and cnp.PyArray_IS_C_CONTIGUOUS(fast)
                and cnp.PyArray_ISALIGNED(fast) and cnp.PyArray_ISNOTSWAPPED(fast)):
            return x
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise TypeError(f"{fn}: expected {name} of dtype {_ACCEPTED}, got dtype {arr.dtype}. "
                        f"Convert it first, e.g. {name}.astype(np.float32).")
    if arr.ndim < min_ndim:
        raise ValueError(f"{fn}: expected {name} of shape {layout} (at least {min_ndim}-D), "
                         f"got shape {arr.shape}")
    if not arr.flags.c_contiguous or not arr.flags.aligned or not arr.dtype.isnative:
        arr = np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
    return arr


def _like(str fn, str name0, a0, str name, x):
    """x as an array of a0's dtype and shape (C-contiguous), else TypeError /
    ValueError naming both."""
    a = _float(x, fn, name)
    if a.dtype != a0.dtype:
        raise TypeError(f"{fn}: {name} has dtype {a.dtype} but {name0} has dtype {a0.dtype}; "
                        f"they must have the same dtype ({_ACCEPTED}). Cast one, e.g. "
                        f"{name}.astype({name0}.dtype).")
    if a.shape != a0.shape:
        raise ValueError(f"{fn}: {name} has shape {a.shape} but {name0} has shape {a0.shape}; "
                         f"they must match")
    return a


cdef bint _overlaps(object a, object b):
    """True if a and b share memory; an undecidable case counts as an overlap.
    Two C-contiguous arrays (the usual case: every array here is checked or
    made C-contiguous first) occupy exactly their byte ranges, so comparing
    the ranges in C is exact and costs nanoseconds (np.may_share_memory and
    np.shares_memory cost a Python call each)."""
    cdef cnp.ndarray x = <cnp.ndarray?>a
    cdef cnp.ndarray y = <cnp.ndarray?>b
    cdef char *x0
    cdef char *y0
    cdef Py_ssize_t nx, ny
    if cnp.PyArray_IS_C_CONTIGUOUS(x) and cnp.PyArray_IS_C_CONTIGUOUS(y):
        nx = cnp.PyArray_NBYTES(x)
        ny = cnp.PyArray_NBYTES(y)
        x0 = <char *>cnp.PyArray_DATA(x)
        y0 = <char *>cnp.PyArray_DATA(y)
        return nx > 0 and ny > 0 and x0 < y0 + ny and y0 < x0 + nx
    if not np.may_share_memory(a, b):
        return False
    try:
        return np.shares_memory(a, b, max_work=1 << 20)
    except _TooHardError:
        return True


cdef bint _same_buffer(object a, object b):
    """a and b are the same C-contiguous elements (an exact alias)."""
    return (cnp.PyArray_DATA(<cnp.ndarray>a) == cnp.PyArray_DATA(<cnp.ndarray>b)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>b)
            and a.dtype == b.dtype and a.shape == b.shape)


def _out(out, str fn, str oname, tuple shape, dtype, tuple inputs, bint alias_ok=True):
    """A new C-contiguous array, or the user's ``out`` once checked: an ndarray
    of that shape and dtype, C-contiguous, aligned, writeable, and sharing no
    memory with the inputs ((name, array) pairs), except that it may be
    exactly one of them when alias_ok (the kernel reads each element before
    it writes it)."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{fn}: {oname} must be a numpy.ndarray, got {type(out).__name__}")
    o = out
    cdef cnp.ndarray oc = <cnp.ndarray>out
    dt = np.dtype(dtype)
    if o.shape != shape:
        raise ValueError(f"{fn}: {oname} has shape {o.shape}, expected {shape}")
    if o.dtype != dt:
        raise ValueError(f"{fn}: {oname} has dtype {o.dtype}, expected {dt}")
    if not (cnp.PyArray_IS_C_CONTIGUOUS(oc) and cnp.PyArray_ISALIGNED(oc)
            and o.dtype.isnative):
        raise ValueError(f"{fn}: {oname} must be C-contiguous and aligned; pass "
                         f"np.empty({shape}, dtype=np.{dt.name}) or leave {oname}=None")
    if not cnp.PyArray_ISWRITEABLE(oc):
        raise ValueError(f"{fn}: {oname} is not writeable (a read-only or broadcast view?); "
                         f"pass a writeable array")
    for name, x in inputs:
        if x is None or (alias_ok and _same_buffer(o, x)):
            continue
        if _overlaps(o, x):
            raise ValueError(f"{fn}: {oname} overlaps {name}" +
                             (f" without being exactly {name}" if alias_ok else "") +
                             f"; pass a separate array or leave {oname}=None")
    return o


def _real(v, str fn, str name):
    """v as a finite float (TypeError for non-numbers and bools)."""
    if isinstance(v, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(v).__name__} {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(v).__name__} "
                        f"{v!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{fn}: {name} must be finite, got {v!r}")
    return f


def _at_least(v, str fn, str name, double low):
    f = _real(v, fn, name)
    if f < low:
        raise ValueError(f"{fn}: {name} must be >= {low:g}, got {v!r}")
    return f


def _in_range(v, str fn, str name, double low, double high, bint high_open):
    f = _real(v, fn, name)
    if f < low or (f >= high if high_open else f > high):
        raise ValueError(f"{fn}: {name} must lie in [{low:g}, {high:g}{')' if high_open else ']'}"
                         f", got {v!r}")
    return f


cdef inline void *_ptr(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline bint _single(object a):
    return (<cnp.ndarray>a).dtype.itemsize == 4


# --------------------------------------------------------------------------
# Shared drivers
# --------------------------------------------------------------------------
cdef object _unary(str fn, object x, object out, s_unary_t sf, d_unary_t df):
    X = _float(x, fn, "x")
    Y = _out(out, fn, "out", X.shape, X.dtype, (("x", X),))
    cdef int64_t n = X.size
    cdef void *px = _ptr(X)
    cdef void *py = _ptr(Y)
    cdef bint single = _single(X)
    with nogil:
        if single:
            sf(n, <const float *>px, <float *>py, 0)
        else:
            df(n, <const double *>px, <double *>py, 0)
    return Y


cdef object _binary(str fn, str name_a, object a, str name_b, object b, object out,
                    s_binary_t sf, d_binary_t df):
    A = _float(a, fn, name_a)
    B = _like(fn, name_a, A, name_b, b)
    Y = _out(out, fn, "out", A.shape, A.dtype, ((name_a, A), (name_b, B)))
    cdef int64_t n = A.size
    cdef void *pa = _ptr(A)
    cdef void *pb = _ptr(B)
    cdef void *py = _ptr(Y)
    cdef bint single = _single(A)
    with nogil:
        if single:
            sf(n, <const float *>pa, <const float *>pb, <float *>py, 0)
        else:
            df(n, <const double *>pa, <const double *>pb, <double *>py, 0)
    return Y


cdef object _rows(str fn, object x, object out, s_rows_t sf, d_rows_t df):
    X = _float(x, fn, "x", 1, "(..., C)")
    Y = _out(out, fn, "out", X.shape, X.dtype, (("x", X),))
    cdef int64_t cols = X.shape[X.ndim - 1]
    cdef int64_t rows = X.size // cols if cols > 0 else 0
    cdef void *px = _ptr(X)
    cdef void *py = _ptr(Y)
    cdef bint single = _single(X)
    with nogil:
        if single:
            sf(rows, cols, <const float *>px, <float *>py, 0)
        else:
            df(rows, cols, <const double *>px, <double *>py, 0)
    return Y


cdef object _rows2(str fn, object grad_y, object y, object out, s_rows2_t sf, d_rows2_t df):
    GY = _float(grad_y, fn, "grad_y", 1, "(..., C)")
    Y = _like(fn, "grad_y", GY, "y", y)
    GX = _out(out, fn, "out", GY.shape, GY.dtype, (("grad_y", GY), ("y", Y)))
    cdef int64_t cols = GY.shape[GY.ndim - 1]
    cdef int64_t rows = GY.size // cols if cols > 0 else 0
    cdef void *pg = _ptr(GY)
    cdef void *py = _ptr(Y)
    cdef void *px = _ptr(GX)
    cdef bint single = _single(GY)
    with nogil:
        if single:
            sf(rows, cols, <const float *>pg, <const float *>py, <float *>px, 0)
        else:
            df(rows, cols, <const double *>pg, <const double *>py, <double *>px, 0)
    return GX


cdef object _pair_loss(str fn, str name_a, object a, str name_b, object b, object grad_out,
                       s_loss_t sf, d_loss_t df):
    A = _float(a, fn, name_a)
    B = _like(fn, name_a, A, name_b, b)
    if A.size == 0:
        raise ValueError(f"{fn}: {name_a} is empty (shape {A.shape}); the mean loss needs at "
                         f"least one element")
    G = _out(grad_out, fn, "grad_out", A.shape, A.dtype, ((name_a, A), (name_b, B)))
    cdef int64_t n = A.size
    cdef double loss = 0.0
    cdef void *pa = _ptr(A)
    cdef void *pb = _ptr(B)
    cdef void *pg = _ptr(G)
    cdef bint single = _single(A)
    with nogil:
        if single:
            sf(n, <const float *>pa, <const float *>pb, &loss, <float *>pg, 0)
        else:
            df(n, <const double *>pa, <const double *>pb, &loss, <double *>pg, 0)
    return loss, G


# --------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------
def relu(x, out=None):
    """ReLU, element-wise: ``y = max(x, 0)`` (NaN stays NaN).

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
    out : ndarray of x's shape and dtype, optional
        C-contiguous array to write y into; may be x itself (in place).

    Returns
    -------
    y : ndarray of x's shape
    """
    return _unary("relu", x, out, pydl_srelu_fwd, pydl_drelu_fwd)


def relu_backward(grad_y, y, out=None):
    """Gradient of :func:`relu` from its output: ``grad_x = grad_y * (y > 0)``.

    Parameters
    ----------
    grad_y : ndarray of any shape, float32 or float64
    y : ndarray, same shape and dtype
        The output of :func:`relu`.
    out : ndarray, same shape and dtype, optional
        C-contiguous array to write grad_x into; may be grad_y or y.

    Returns
    -------
    grad_x : ndarray of grad_y's shape
    """
    return _binary("relu_backward", "grad_y", grad_y, "y", y, out, pydl_srelu_bwd,
                   pydl_drelu_bwd)


def leaky_relu(x, negative_slope=0.01, out=None):
    """Leaky ReLU, element-wise: ``y = x if x > 0 else negative_slope * x``.

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
    negative_slope : float
        Finite real number.
    out : ndarray of x's shape and dtype, optional
        C-contiguous array to write y into; may be x itself.

    Returns
    -------
    y : ndarray of x's shape
    """
    cdef str fn = "leaky_relu"
    cdef double slope = _real(negative_slope, fn, "negative_slope")
    X = _float(x, fn, "x")
    Y = _out(out, fn, "out", X.shape, X.dtype, (("x", X),))
    cdef int64_t n = X.size
    cdef void *px = _ptr(X)
    cdef void *py = _ptr(Y)
    cdef bint single = _single(X)
    with nogil:
        if single:
            pydl_sleaky_relu_fwd(n, slope, <const float *>px, <float *>py, 0)
        else:
            pydl_dleaky_relu_fwd(n, slope, <const double *>px, <double *>py, 0)
    return Y


def leaky_relu_backward(grad_y, x, negative_slope=0.01, out=None):
    """Gradient of :func:`leaky_relu` from its input:
    ``grad_x = grad_y if x > 0 else negative_slope * grad_y``.

    Parameters
    ----------
    grad_y : ndarray of any shape, float32 or float64
    x : ndarray, same shape and dtype
        The input of :func:`leaky_relu`.
    negative_slope : float
    out : ndarray, same shape and dtype, optional
        C-contiguous array to write grad_x into; may be grad_y or x.

    Returns
    -------
    grad_x : ndarray of grad_y's shape
    """
    cdef str fn = "leaky_relu_backward"
    cdef double slope = _real(negative_slope, fn, "negative_slope")
    GY = _float(grad_y, fn, "grad_y")
    X = _like(fn, "grad_y", GY, "x", x)
    GX = _out(out, fn, "out", GY.shape, GY.dtype, (("grad_y", GY), ("x", X)))
    cdef int64_t n = GY.size
    cdef void *pg = _ptr(GY)
    cdef void *px = _ptr(X)
    cdef void *pgx = _ptr(GX)
    cdef bint single = _single(GY)
    with nogil:
        if single:
            pydl_sleaky_relu_bwd(n, slope, <const float *>pg, <const float *>px, <float *>pgx, 0)
        else:
            pydl_dleaky_relu_bwd(n, slope, <const double *>pg, <const double *>px,
                                 <double *>pgx, 0)
    return GX


def sigmoid(x, out=None):
    """Logistic sigmoid, element-wise: ``y = 1 / (1 + exp(-x))``.

    Computed from ``e = exp(-|x|)`` so that no exponential overflows: exact
    0 and 1 in the far tails, never NaN for finite x.

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
    out : ndarray of x's shape and dtype, optional
        C-contiguous array to write y into; may be x itself.

    Returns
    -------
    y : ndarray of x's shape, in [0, 1]
    """
    return _unary("sigmoid", x, out, pydl_ssigmoid_fwd, pydl_dsigmoid_fwd)


def sigmoid_backward(grad_y, y, out=None):
    """Gradient of :func:`sigmoid` from its output: ``grad_x = grad_y * y * (1 - y)``.

    Parameters
    ----------
    grad_y : ndarray of any shape, float32 or float64
    y : ndarray, same shape and dtype
        The output of :func:`sigmoid`.
    out : ndarray, same shape and dtype, optional
        May be grad_y or y.

    Returns
    -------
    grad_x : ndarray of grad_y's shape
    """
    return _binary("sigmoid_backward", "grad_y", grad_y, "y", y, out, pydl_ssigmoid_bwd,
                   pydl_dsigmoid_bwd)


def tanh(x, out=None):
    """Hyperbolic tangent, element-wise.

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
    out : ndarray of x's shape and dtype, optional
        May be x itself.

    Returns
    -------
    y : ndarray of x's shape, in [-1, 1]
    """
    return _unary("tanh", x, out, pydl_stanh_fwd, pydl_dtanh_fwd)


def tanh_backward(grad_y, y, out=None):
    """Gradient of :func:`tanh` from its output: ``grad_x = grad_y * (1 - y**2)``.

    Parameters
    ----------
    grad_y : ndarray of any shape, float32 or float64
    y : ndarray, same shape and dtype
        The output of :func:`tanh`.
    out : ndarray, same shape and dtype, optional
        May be grad_y or y.

    Returns
    -------
    grad_x : ndarray of grad_y's shape
    """
    return _binary("tanh_backward", "grad_y", grad_y, "y", y, out, pydl_stanh_bwd,
                   pydl_dtanh_bwd)


# --------------------------------------------------------------------------
# Softmax over the last axis
# --------------------------------------------------------------------------
def softmax(x, out=None):
    """Softmax over the last axis: ``y = exp(x - m) / sum(exp(x - m))`` with
    ``m`` the maximum of each row (so no exponential overflows).

    A row holding NaN or +inf gives a row of NaN.

    Parameters
    ----------
    x : ndarray of shape (..., C), at least 1-D, float32 or float64
    out : ndarray of x's shape and dtype, optional
        May be x itself.

    Returns
    -------
    y : ndarray of shape (..., C); each row sums to 1
    """
    return _rows("softmax", x, out, pydl_ssoftmax_fwd, pydl_dsoftmax_fwd)


def log_softmax(x, out=None):
    """Log-softmax over the last axis: ``y = (x - m) - log(sum(exp(x - m)))``.

    Parameters
    ----------
    x : ndarray of shape (..., C), at least 1-D, float32 or float64
    out : ndarray of x's shape and dtype, optional
        May be x itself.

    Returns
    -------
    y : ndarray of shape (..., C)
    """
    return _rows("log_softmax", x, out, pydl_slog_softmax_fwd, pydl_dlog_softmax_fwd)


def softmax_backward(grad_y, y, out=None):
    """Gradient of :func:`softmax` from its output, row by row:
    ``grad_x = y * (grad_y - sum(grad_y * y))``.

    Parameters
    ----------
    grad_y : ndarray of shape (..., C), float32 or float64
    y : ndarray, same shape and dtype
        The output of :func:`softmax`.
    out : ndarray, same shape and dtype, optional
        May be grad_y or y.

    Returns
    -------
    grad_x : ndarray of shape (..., C)
    """
    return _rows2("softmax_backward", grad_y, y, out, pydl_ssoftmax_bwd, pydl_dsoftmax_bwd)


def log_softmax_backward(grad_y, y, out=None):
    """Gradient of :func:`log_softmax` from its output, row by row:
    ``grad_x = grad_y - exp(y) * sum(grad_y)``.

    Parameters
    ----------
    grad_y : ndarray of shape (..., C), float32 or float64
    y : ndarray, same shape and dtype
        The output of :func:`log_softmax`.
    out : ndarray, same shape and dtype, optional
        May be grad_y or y.

    Returns
    -------
    grad_x : ndarray of shape (..., C)
    """
    return _rows2("log_softmax_backward", grad_y, y, out, pydl_slog_softmax_bwd,
                  pydl_dlog_softmax_bwd)


# --------------------------------------------------------------------------
# Losses (mean reduction), each with its gradient
# --------------------------------------------------------------------------
def softmax_cross_entropy(logits, labels, grad_out=None):
    """Softmax cross-entropy with integer class labels, and its gradient.

    ``loss = mean_i(-log_softmax(logits)[i, labels[i]])`` and
    ``grad = (softmax(logits) - onehot(labels)) / N``, computed with each
    row's maximum subtracted: finite for any finite logits (e.g. +-1e4).

    Parameters
    ----------
    logits : ndarray of shape (N, C), N >= 1, float32 or float64
    labels : ndarray of shape (N,), any integer dtype
        Class indices in [0, C).
    grad_out : ndarray of shape (N, C), optional
        C-contiguous array of logits' dtype to write the gradient into; may
        be logits itself.

    Returns
    -------
    loss : float
    grad_logits : ndarray of shape (N, C)

    Raises
    ------
    TypeError
        Non-float logits or non-integer labels.
    ValueError
        Wrong shapes, N == 0, or a label outside [0, C) (the message names
        the first one).
    """
    cdef str fn = "softmax_cross_entropy"
    X = _float(logits, fn, "logits", 2, "(N, C)")
    if X.ndim != 2:
        raise ValueError(f"{fn}: expected logits of shape (N, C) (2-D), got shape {X.shape}")
    n_rows, n_cls = X.shape
    L = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
    if L.dtype.kind not in "iu":
        raise TypeError(f"{fn}: expected labels of an integer dtype (class indices), got dtype "
                        f"{L.dtype}. Convert them first, e.g. labels.astype(np.int64).")
    if L.shape != (n_rows,):
        raise ValueError(f"{fn}: expected labels of shape (N,) = ({n_rows},) to match logits of "
                         f"shape {X.shape}, got shape {L.shape}")
    if n_rows == 0:
        raise ValueError(f"{fn}: logits has no rows (shape {X.shape}); the mean loss needs "
                         f"N >= 1")
    bad = (L < 0) | (L >= n_cls)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{fn}: labels must lie in [0, C) = [0, {n_cls}); got labels[{i}] = "
                         f"{L[i]}")
    L64 = np.ascontiguousarray(L, dtype=np.int64)
    G = _out(grad_out, fn, "grad_out", X.shape, X.dtype, (("logits", X), ("labels", L64)))
    cdef int64_t n = n_rows, c = n_cls
    cdef double loss = 0.0
    cdef void *px = _ptr(X)
    cdef const int64_t *pl = <const int64_t *>_ptr(L64)
    cdef void *pg = _ptr(G)
    cdef bint single = _single(X)
    with nogil:
        if single:
            pydl_ssoftmax_cross_entropy(n, c, <const float *>px, pl, &loss, <float *>pg, 0)
        else:
            pydl_dsoftmax_cross_entropy(n, c, <const double *>px, pl, &loss, <double *>pg, 0)
    return loss, G


def mse_loss(pred, target, grad_out=None):
    """Mean squared error and its gradient.

    ``loss = mean((pred - target)**2)`` over all elements and
    ``grad = 2 * (pred - target) / pred.size``.

    Parameters
    ----------
    pred : ndarray of any non-empty shape, float32 or float64
    target : ndarray, same shape and dtype
    grad_out : ndarray, same shape and dtype, optional
        May be pred or target.

    Returns
    -------
    loss : float
    grad_pred : ndarray of pred's shape
    """
    return _pair_loss("mse_loss", "pred", pred, "target", target, grad_out, pydl_smse_loss,
                      pydl_dmse_loss)


def binary_cross_entropy_with_logits(logits, targets, grad_out=None):
    """Binary cross-entropy on logits and its gradient (stable for any x).

    ``loss = mean(max(x, 0) - x * t + log1p(exp(-|x|)))`` over all elements
    and ``grad = (sigmoid(x) - t) / x.size``.

    Parameters
    ----------
    logits : ndarray of any non-empty shape, float32 or float64
    targets : ndarray, same shape and dtype
        Usually in [0, 1].
    grad_out : ndarray, same shape and dtype, optional
        May be logits or targets.

    Returns
    -------
    loss : float
    grad_logits : ndarray of logits' shape
    """
    return _pair_loss("binary_cross_entropy_with_logits", "logits", logits, "targets", targets,
                      grad_out, pydl_sbinary_cross_entropy_with_logits,
                      pydl_dbinary_cross_entropy_with_logits)


# --------------------------------------------------------------------------
# Bias over axis 1
# --------------------------------------------------------------------------
def _nc_s(tuple shape):
    cdef int64_t s = 1
    for d in shape[2:]:
        s *= d
    return shape[0], shape[1], s


def bias_add(x, bias, out=None):
    """Add a per-channel bias along axis 1: ``y[n, c, ...] = x[n, c, ...] + bias[c]``.

    Parameters
    ----------
    x : ndarray of shape (N, C) or (N, C, *spatial), float32 or float64
    bias : ndarray of shape (C,), same dtype
    out : ndarray of x's shape and dtype, optional
        May be x itself.

    Returns
    -------
    y : ndarray of x's shape
    """
    cdef str fn = "bias_add"
    X = _float(x, fn, "x", 2, "(N, C) or (N, C, *spatial)")
    B = _float(bias, fn, "bias")
    if B.dtype != X.dtype:
        raise TypeError(f"{fn}: bias has dtype {B.dtype} but x has dtype {X.dtype}; they must "
                        f"have the same dtype. Cast one, e.g. bias.astype(x.dtype).")
    if B.shape != (X.shape[1],):
        raise ValueError(f"{fn}: expected bias of shape (C,) = ({X.shape[1]},) for x of shape "
                         f"{X.shape}, got shape {B.shape}")
    Y = _out(out, fn, "out", X.shape, X.dtype, (("x", X), ("bias", B)))
    cdef int64_t n, c, s
    n, c, s = _nc_s(X.shape)
    cdef void *px = _ptr(X)
    cdef void *pb = _ptr(B)
    cdef void *py = _ptr(Y)
    cdef bint single = _single(X)
    with nogil:
        if single:
            pydl_sbias_add_fwd(n, c, s, <const float *>px, <const float *>pb, <float *>py, 0)
        else:
            pydl_dbias_add_fwd(n, c, s, <const double *>px, <const double *>pb, <double *>py, 0)
    return Y


def bias_grad(grad_y, out=None):
    """Gradient of :func:`bias_add` with respect to the bias: the sum of
    grad_y over every axis but axis 1 (in double, in an order fixed by the
    shape).

    Parameters
    ----------
    grad_y : ndarray of shape (N, C) or (N, C, *spatial), float32 or float64
    out : ndarray of shape (C,), optional
        C-contiguous array of grad_y's dtype to write the result into.

    Returns
    -------
    grad_bias : ndarray of shape (C,)
    """
    cdef str fn = "bias_grad"
    GY = _float(grad_y, fn, "grad_y", 2, "(N, C) or (N, C, *spatial)")
    GB = _out(out, fn, "out", (GY.shape[1],), GY.dtype, (("grad_y", GY),), False)
    cdef int64_t n, c, s
    n, c, s = _nc_s(GY.shape)
    cdef void *pg = _ptr(GY)
    cdef void *pb = _ptr(GB)
    cdef bint single = _single(GY)
    with nogil:
        if single:
            pydl_sbias_add_bwd(n, c, s, <const float *>pg, <float *>pb, 0)
        else:
            pydl_dbias_add_bwd(n, c, s, <const double *>pg, <double *>pb, 0)
    return GB


# --------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------
def dropout(x, p, seed, out=None, mask_out=None):
    """Inverted dropout: keep each element with probability 1 - p and scale
    the kept ones by 1 / (1 - p).

    The decision for element i is a pure function of (seed, i, p): a
    SplitMix64 stream indexed by the element (see pydl.h), so the mask is
    the same on any number of threads and for the same seed.

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
    p : float
        Drop probability, 0 <= p < 1.
    seed : int
        Any integer; it is taken modulo 2**64.
    out : ndarray of x's shape and dtype, optional
        May be x itself.
    mask_out : ndarray of x's shape, uint8, optional
        C-contiguous array to write the mask into.

    Returns
    -------
    y : ndarray of x's shape
        ``x * mask / (1 - p)``.
    mask : ndarray of x's shape, uint8
        1 where the element was kept, 0 where it was dropped.
    """
    cdef str fn = "dropout"
    cdef double prob = _in_range(p, fn, "p", 0.0, 1.0, True)
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"{fn}: seed must be an int, got {seed!r}")
    try:
        seed_int = operator.index(seed)
    except TypeError:
        raise TypeError(f"{fn}: seed must be an int, got {type(seed).__name__} "
                        f"{seed!r}") from None
    cdef uint64_t key = <uint64_t>(seed_int % (1 << 64))
    X = _float(x, fn, "x")
    Y = _out(out, fn, "out", X.shape, X.dtype, (("x", X),))
    M = _out(mask_out, fn, "mask_out", X.shape, np.uint8, (("x", X), ("out", Y)), False)
    cdef int64_t n = X.size
    cdef void *px = _ptr(X)
    cdef void *py = _ptr(Y)
    cdef uint8_t *pm = <uint8_t *>_ptr(M)
    cdef bint single = _single(X)
    with nogil:
        if single:
            pydl_sdropout_fwd(n, prob, key, <const float *>px, <float *>py, pm, 0)
        else:
            pydl_ddropout_fwd(n, prob, key, <const double *>px, <double *>py, pm, 0)
    return Y, M


def dropout_backward(grad_y, mask, p, out=None):
    """Gradient of :func:`dropout`: ``grad_x = grad_y * mask / (1 - p)``.

    Parameters
    ----------
    grad_y : ndarray of any shape, float32 or float64
    mask : ndarray of grad_y's shape, uint8 or bool
        The mask returned by :func:`dropout` (nonzero = kept).
    p : float
        The drop probability of the forward call, 0 <= p < 1.
    out : ndarray of grad_y's shape and dtype, optional
        May be grad_y itself.

    Returns
    -------
    grad_x : ndarray of grad_y's shape
    """
    cdef str fn = "dropout_backward"
    cdef double prob = _in_range(p, fn, "p", 0.0, 1.0, True)
    GY = _float(grad_y, fn, "grad_y")
    M = mask if isinstance(mask, np.ndarray) else np.asarray(mask)
    if M.dtype != np.uint8 and M.dtype != np.bool_:
        raise TypeError(f"{fn}: expected mask of dtype uint8 (from dropout) or bool, got dtype "
                        f"{M.dtype}. Convert it, e.g. mask.astype(np.uint8).")
    if M.shape != GY.shape:
        raise ValueError(f"{fn}: mask has shape {M.shape} but grad_y has shape {GY.shape}; "
                         f"they must match")
    M = np.ascontiguousarray(M).view(np.uint8)
    GX = _out(out, fn, "out", GY.shape, GY.dtype, (("grad_y", GY), ("mask", M)))
    cdef int64_t n = GY.size
    cdef void *pg = _ptr(GY)
    cdef const uint8_t *pm = <const uint8_t *>_ptr(M)
    cdef void *px = _ptr(GX)
    cdef bint single = _single(GY)
    with nogil:
        if single:
            pydl_sdropout_bwd(n, prob, <const float *>pg, pm, <float *>px, 0)
        else:
            pydl_ddropout_bwd(n, prob, <const double *>pg, pm, <double *>px, 0)
    return GX


# --------------------------------------------------------------------------
# Batch normalisation
# --------------------------------------------------------------------------
def _channel_param(v, str fn, str name, X):
    """None, or a (C,) array of X's dtype (read-only use)."""
    if v is None:
        return None
    a = _float(v, fn, name)
    if a.dtype != X.dtype:
        raise TypeError(f"{fn}: {name} has dtype {a.dtype} but x has dtype {X.dtype}; they must "
                        f"have the same dtype. Cast it, e.g. {name}.astype(x.dtype).")
    if a.shape != (X.shape[1],):
        raise ValueError(f"{fn}: expected {name} of shape (C,) = ({X.shape[1]},) for x of shape "
                         f"{X.shape}, got shape {a.shape}")
    return a


def _inplace(v, str fn, str name, shape, dtype, str what):
    """An ndarray updated in place: of that shape and dtype, C-contiguous,
    aligned, native and writeable (never converted)."""
    if not isinstance(v, np.ndarray):
        raise TypeError(f"{fn}: {name} must be a numpy.ndarray ({what}, updated in place), got "
                        f"{type(v).__name__}")
    if v.dtype != dtype:
        raise TypeError(f"{fn}: {name} has dtype {v.dtype}, expected {np.dtype(dtype)} (x's "
                        f"dtype); it is updated in place, so create it with that dtype")
    if v.shape != tuple(shape):
        raise ValueError(f"{fn}: {name} has shape {v.shape}, expected {tuple(shape)}")
    if not (v.flags.c_contiguous and v.flags.aligned and v.dtype.isnative):
        raise ValueError(f"{fn}: {name} must be C-contiguous and aligned, since it is updated "
                         f"in place; allocate it with np.zeros({tuple(shape)}, "
                         f"dtype=np.{np.dtype(dtype).name})")
    if not v.flags.writeable:
        raise ValueError(f"{fn}: {name} is not writeable; it is updated in place")
    return v


def _no_overlap(str fn, tuple written, tuple read):
    """ValueError if an array written in place shares memory with another
    written one or with an input ((name, array) pairs; None entries skipped)."""
    cdef Py_ssize_t i, j
    for i in range(len(written)):
        na, a = written[i]
        if a is None:
            continue
        for nb, b in written[i + 1:] + read:
            if b is not None and _overlaps(a, b):
                raise ValueError(f"{fn}: {na} and {nb} share memory; pass separate arrays")


def batch_norm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1,
                       eps=1e-5, out=None):
    """Batch normalisation over axis 1 (per channel), as
    torch.nn.functional.batch_norm.

    ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` per channel, with the
    statistics taken over N (and the spatial axes).  In training mode mean and
    var are the batch's (biased variance) and the running statistics are
    updated in place, as PyTorch does:
    ``running_mean = (1 - momentum) * running_mean + momentum * mean`` and
    ``running_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)``
    (the unbiased variance; m = elements per channel).  In inference mode the
    running statistics are used and left unchanged.

    Parameters
    ----------
    x : ndarray of shape (N, C) or (N, C, H, W) (any (N, C, *spatial)), float32 or float64
    gamma, beta : ndarray of shape (C,), same dtype, or None
        Scale and shift (None: 1 and 0).
    running_mean, running_var : ndarray of shape (C,), same dtype
        C-contiguous and writeable: updated in place when training.  May be
        None when training (nothing to update); required for inference.
    training : bool
    momentum : float in [0, 1]
    eps : float >= 0
    out : ndarray of x's shape and dtype, optional
        May be x itself.

    Returns
    -------
    y : ndarray of x's shape
    save_mean : ndarray of shape (C,)
        The mean used (the batch's, or running_mean).
    save_invstd : ndarray of shape (C,)
        ``1 / sqrt(var + eps)`` for the variance used.

    Raises
    ------
    ValueError
        In training mode with fewer than 2 values per channel (as PyTorch).
    """
    cdef str fn = "batch_norm_forward"
    X = _float(x, fn, "x", 2, "(N, C) or (N, C, H, W)")
    G = _channel_param(gamma, fn, "gamma", X)
    B = _channel_param(beta, fn, "beta", X)
    cdef bint train = bool(training)
    cdef double mom = _in_range(momentum, fn, "momentum", 0.0, 1.0, False)
    cdef double ep = _at_least(eps, fn, "eps", 0.0)
    C = X.shape[1]
    RM = RV = None
    if running_mean is not None or not train:
        if running_mean is None:
            raise ValueError(f"{fn}: running_mean is required when training=False")
        RM = _inplace(running_mean, fn, "running_mean", (C,), X.dtype, "running mean")
    if running_var is not None or not train:
        if running_var is None:
            raise ValueError(f"{fn}: running_var is required when training=False")
        RV = _inplace(running_var, fn, "running_var", (C,), X.dtype, "running variance")
    cdef int64_t n, c, s
    n, c, s = _nc_s(X.shape)
    if train and n * s < 2:
        raise ValueError(f"{fn}: expected more than 1 value per channel when training, got x "
                         f"of shape {X.shape}")
    _no_overlap(fn, (("running_mean", RM), ("running_var", RV)),
                (("x", X), ("gamma", G), ("beta", B)))
    Y = _out(out, fn, "out", X.shape, X.dtype, (("x", X), ("gamma", G), ("beta", B),
                                               ("running_mean", RM), ("running_var", RV)))
    SM = np.empty((C,), dtype=X.dtype)
    SI = np.empty((C,), dtype=X.dtype)
    cdef void *px = _ptr(X)
    cdef void *pg = _ptr(G)
    cdef void *pb = _ptr(B)
    cdef void *prm = _ptr(RM)
    cdef void *prv = _ptr(RV)
    cdef void *py = _ptr(Y)
    cdef void *psm = _ptr(SM)
    cdef void *psi = _ptr(SI)
    cdef bint single = _single(X)
    with nogil:
        if single:
            pydl_sbatch_norm_fwd(n, c, s, <const float *>px, <const float *>pg,
                                 <const float *>pb, <float *>prm, <float *>prv, train, mom, ep,
                                 <float *>py, <float *>psm, <float *>psi, 0)
        else:
            pydl_dbatch_norm_fwd(n, c, s, <const double *>px, <const double *>pg,
                                 <const double *>pb, <double *>prm, <double *>prv, train, mom,
                                 ep, <double *>py, <double *>psm, <double *>psi, 0)
    return Y, SM, SI


def batch_norm_backward(grad_y, x, gamma, save_mean, save_invstd, out=None):
    """Gradient of :func:`batch_norm_forward` in training mode.

    With ``xhat = (x - save_mean) * save_invstd`` per channel and m elements
    per channel: ``grad_beta = sum(grad_y)``, ``grad_gamma = sum(grad_y *
    xhat)`` and ``grad_x = gamma * save_invstd * (grad_y - grad_beta / m -
    xhat * grad_gamma / m)``, sums over N (and the spatial axes) in double.

    Parameters
    ----------
    grad_y : ndarray of shape (N, C) or (N, C, H, W) (any (N, C, *spatial)), float32 or float64
    x : ndarray, same shape and dtype
        The forward input.
    gamma : ndarray of shape (C,), same dtype, or None (1)
    save_mean, save_invstd : ndarray of shape (C,), same dtype
        From :func:`batch_norm_forward` (training mode).
    out : ndarray of x's shape and dtype, optional
        Array to write grad_x into; may be grad_y or x.

    Returns
    -------
    grad_x : ndarray of x's shape
    grad_gamma : ndarray of shape (C,)
    grad_beta : ndarray of shape (C,)
    """
    cdef str fn = "batch_norm_backward"
    GY = _float(grad_y, fn, "grad_y", 2, "(N, C) or (N, C, H, W)")
    X = _like(fn, "grad_y", GY, "x", x)
    G = _channel_param(gamma, fn, "gamma", X)
    if save_mean is None or save_invstd is None:
        raise ValueError(f"{fn}: save_mean and save_invstd are required (from "
                         f"batch_norm_forward)")
    SM = _channel_param(save_mean, fn, "save_mean", X)
    SI = _channel_param(save_invstd, fn, "save_invstd", X)
    GX = _out(out, fn, "out", X.shape, X.dtype, (("grad_y", GY), ("x", X), ("gamma", G),
                                                ("save_mean", SM), ("save_invstd", SI)))
    C = X.shape[1]
    GG = np.empty((C,), dtype=X.dtype)
    GB = np.empty((C,), dtype=X.dtype)
    cdef int64_t n, c, s
    n, c, s = _nc_s(X.shape)
    cdef void *pgy = _ptr(GY)
    cdef void *px = _ptr(X)
    cdef void *pg = _ptr(G)
    cdef void *psm = _ptr(SM)
    cdef void *psi = _ptr(SI)
    cdef void *pgx = _ptr(GX)
    cdef void *pgg = _ptr(GG)
    cdef void *pgb = _ptr(GB)
    cdef bint single = _single(X)
    with nogil:
        if single:
            pydl_sbatch_norm_bwd(n, c, s, <const float *>pgy, <const float *>px,
                                 <const float *>pg, <const float *>psm, <const float *>psi,
                                 <float *>pgx, <float *>pgg, <float *>pgb, 0)
        else:
            pydl_dbatch_norm_bwd(n, c, s, <const double *>pgy, <const double *>px,
                                 <const double *>pg, <const double *>psm, <const double *>psi,
                                 <double *>pgx, <double *>pgg, <double *>pgb, 0)
    return GX, GG, GB


# --------------------------------------------------------------------------
# Optimizer updates (in place)
# --------------------------------------------------------------------------
cdef inline bint _ok_inplace(object v):
    """v is a C-contiguous, aligned, native, writeable ndarray (C checks)."""
    cdef cnp.ndarray a = <cnp.ndarray>v
    return (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a)
            and cnp.PyArray_ISNOTSWAPPED(a) and cnp.PyArray_ISWRITEABLE(a))


def _param(param, str fn):
    cdef int tn
    if isinstance(param, np.ndarray):  # the common case first, checked in C
        tn = cnp.PyArray_TYPE(<cnp.ndarray>param)
        if (tn == cnp.NPY_FLOAT32 or tn == cnp.NPY_FLOAT64) and _ok_inplace(param):
            return param
    if not isinstance(param, np.ndarray):
        raise TypeError(f"{fn}: param must be a numpy.ndarray (updated in place), got "
                        f"{type(param).__name__}")
    if param.dtype.kind != "f" or param.dtype.itemsize not in (4, 8):
        raise TypeError(f"{fn}: expected param of dtype {_ACCEPTED}, got dtype {param.dtype}")
    if not (param.flags.c_contiguous and param.flags.aligned and param.dtype.isnative):
        raise ValueError(f"{fn}: param must be C-contiguous and aligned, since it is updated in "
                         f"place; keep parameters in np.ascontiguousarray buffers")
    if not param.flags.writeable:
        raise ValueError(f"{fn}: param is not writeable; it is updated in place")
    return param


def _state(v, str fn, str name, P):
    """An optimizer state buffer: like param (shape, dtype, layout)."""
    if (isinstance(v, np.ndarray)  # the common case first
            and cnp.PyArray_TYPE(<cnp.ndarray>v) == cnp.PyArray_TYPE(<cnp.ndarray>P)
            and _ok_inplace(v) and v.shape == P.shape):
        return v
    if not isinstance(v, np.ndarray):
        raise TypeError(f"{fn}: {name} must be a numpy.ndarray (optimizer state, updated in "
                        f"place), got {type(v).__name__}")
    if v.dtype != P.dtype:
        raise TypeError(f"{fn}: {name} has dtype {v.dtype} but param has dtype {P.dtype}; "
                        f"create it with np.zeros_like(param)")
    if v.shape != P.shape:
        raise ValueError(f"{fn}: {name} has shape {v.shape} but param has shape {P.shape}; "
                         f"they must match")
    if not (v.flags.c_contiguous and v.flags.aligned and v.dtype.isnative):
        raise ValueError(f"{fn}: {name} must be C-contiguous and aligned; create it with "
                         f"np.zeros_like(param)")
    if not v.flags.writeable:
        raise ValueError(f"{fn}: {name} is not writeable; it is updated in place")
    return v


def sgd_update(param, grad, velocity, lr, momentum=0.0, dampening=0.0, nesterov=False,
               weight_decay=0.0, first_step=False):
    """One step of torch.optim.SGD on a parameter buffer, in place.

    ``g = grad + weight_decay * param``; with momentum:
    ``velocity = g`` on the first step, else ``velocity = momentum * velocity
    + (1 - dampening) * g``, then ``g = g + momentum * velocity`` (Nesterov)
    or ``g = velocity``; finally ``param -= lr * g``.

    Parameters
    ----------
    param : ndarray, float32 or float64, C-contiguous and writeable
        Updated in place.
    grad : ndarray of param's shape and dtype
    velocity : ndarray of param's shape and dtype, or None
        The momentum buffer, updated in place; may be None (and is not
        touched) when momentum == 0.
    lr : float >= 0
    momentum : float >= 0
    dampening : float
    nesterov : bool
        Needs momentum > 0 and dampening == 0.
    weight_decay : float >= 0
    first_step : bool
        True on the first step with this velocity buffer: it is set to g
        (PyTorch's initialisation), not decayed.

    Returns
    -------
    None
    """
    cdef str fn = "sgd_update"
    P = _param(param, fn)
    G = _like(fn, "param", P, "grad", grad)
    lr_, mom, damp, nest, wd = _sgd_scalars(fn, lr, momentum, dampening, nesterov, weight_decay)
    V = None
    if mom != 0.0:
        if velocity is None:
            raise ValueError(f"{fn}: momentum={momentum!r} needs a velocity buffer; pass "
                             f"np.zeros_like(param) (with first_step=True on the first step)")
        V = _state(velocity, fn, "velocity", P)
    _no_overlap(fn, (("param", P), ("velocity", V)), (("grad", G),))
    _sgd_call(P, G, V, bool(first_step), lr_, mom, damp, nest, wd)


cdef tuple _sgd_scalars(str fn, lr, momentum, dampening, nesterov, weight_decay):
    """sgd_update's scalars, checked: (lr, momentum, dampening, nesterov,
    weight_decay)."""
    cdef double mom = _at_least(momentum, fn, "momentum", 0.0)
    cdef double damp = _real(dampening, fn, "dampening")
    cdef bint nest = bool(nesterov)
    lr_ = _at_least(lr, fn, "lr", 0.0)
    wd = _at_least(weight_decay, fn, "weight_decay", 0.0)
    if nest and (mom <= 0.0 or damp != 0.0):
        raise ValueError(f"{fn}: nesterov=True requires momentum > 0 and dampening == 0, got "
                         f"momentum={momentum!r}, dampening={dampening!r}")
    return lr_, mom, damp, nest, wd


cdef void _sgd_call(object P, object G, object V, bint first, double lr_, double mom,
                    double damp, bint nest, double wd):
    """The kernel on checked arrays (V None when momentum is 0)."""
    cdef int64_t n = cnp.PyArray_SIZE(<cnp.ndarray>P)
    cdef void *pp = _ptr(P)
    cdef void *pg = _ptr(G)
    cdef void *pv = _ptr(V) if mom != 0.0 else NULL
    cdef bint single = _single(P)
    with nogil:
        if single:
            pydl_ssgd_update(n, <float *>pp, <const float *>pg, <float *>pv, lr_, mom, damp,
                             nest, wd, first, 0)
        else:
            pydl_dsgd_update(n, <double *>pp, <const double *>pg, <double *>pv, lr_, mom, damp,
                             nest, wd, first, 0)


cdef bint _update_arrays_ok(object P, object G, tuple states):
    """P, G and the state arrays pass sgd_update's / adam_update's checks
    as they are: ndarrays of P's float dtype and shape, C-contiguous,
    aligned, native; P and the states writeable; none sharing memory with
    another (C checks only; anything else takes the full, raising path)."""
    cdef int tn
    if type(P) is not np.ndarray or type(G) is not np.ndarray:
        return False
    tn = cnp.PyArray_TYPE(<cnp.ndarray>P)
    if not (tn == cnp.NPY_FLOAT32 or tn == cnp.NPY_FLOAT64) or not _ok_inplace(P):
        return False
    if (cnp.PyArray_TYPE(<cnp.ndarray>G) != tn
            or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>G)
            or not cnp.PyArray_ISALIGNED(<cnp.ndarray>G)
            or not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>G)
            or not cnp.PyArray_SAMESHAPE(<cnp.ndarray>P, <cnp.ndarray>G)
            or _overlaps(P, G)):
        return False
    for S in states:
        if (type(S) is not np.ndarray or cnp.PyArray_TYPE(<cnp.ndarray>S) != tn
                or not _ok_inplace(S) or not cnp.PyArray_SAMESHAPE(<cnp.ndarray>P, <cnp.ndarray>S)
                or _overlaps(S, P) or _overlaps(S, G)):
            return False
    if len(states) == 2 and _overlaps(states[0], states[1]):
        return False
    return True


def _sgd_update_many(list params, list grads, list velocities, list first_steps, lr,
                     momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    """:func:`sgd_update` on each params[i] with grads[i], velocities[i] and
    first_steps[i], the scalars checked once (for Optimizer.step).  Arrays
    that are not ready as they are go through sgd_update itself (which
    converts or raises); earlier ones are then already updated, as in a
    loop of sgd_update calls."""
    cdef str fn = "sgd_update"
    lr_, mom, damp, nest, wd = _sgd_scalars(fn, lr, momentum, dampening, nesterov, weight_decay)
    if not (len(params) == len(grads) == len(velocities) == len(first_steps)):
        raise ValueError(f"{fn}: params, grads, velocities and first_steps must have the same "
                         f"length")
    cdef Py_ssize_t i
    for i in range(len(params)):
        P, G, V = params[i], grads[i], velocities[i]
        if _update_arrays_ok(P, G, (V,) if mom != 0.0 else ()):
            _sgd_call(P, G, V, bool(first_steps[i]), lr_, mom, damp, nest, wd)
        else:
            sgd_update(P, G, V, lr, momentum, dampening, nesterov, weight_decay,
                       first_steps[i])


def adam_update(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9, beta2=0.999,
                eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False):
    """One step of torch.optim.Adam (or AdamW) on a parameter buffer, in place.

    If weight_decay != 0: ``param *= 1 - lr * weight_decay`` (decoupled,
    AdamW) or ``g = grad + weight_decay * param``.  Then
    ``exp_avg = lerp(exp_avg, g, 1 - beta1)``,
    ``exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2`` and
    ``param -= lr / (1 - beta1**step) * exp_avg /
    (sqrt(exp_avg_sq) / sqrt(1 - beta2**step) + eps)``.

    Parameters
    ----------
    param : ndarray, float32 or float64, C-contiguous and writeable
        Updated in place.
    grad : ndarray of param's shape and dtype
    exp_avg, exp_avg_sq : ndarray of param's shape and dtype
        First and second moment estimates (zeros before the first step),
        updated in place.
    step : int >= 1
        The number of this step, counting from 1 (for the bias correction).
    lr : float >= 0
    beta1, beta2 : float in [0, 1)
    eps : float >= 0
    weight_decay : float >= 0
    decoupled_weight_decay : bool
        True for AdamW.

    Returns
    -------
    None
    """
    cdef str fn = "adam_update"
    P = _param(param, fn)
    G = _like(fn, "param", P, "grad", grad)
    M = _state(exp_avg, fn, "exp_avg", P)
    V = _state(exp_avg_sq, fn, "exp_avg_sq", P)
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"{fn}: step must be an int >= 1, got {step!r}")
    try:
        step_i = operator.index(step)
    except TypeError:
        raise TypeError(f"{fn}: step must be an int >= 1 (the 1-based step count), got "
                        f"{type(step).__name__} {step!r}") from None
    if step_i < 1 or step_i >= (1 << 63):
        raise ValueError(f"{fn}: step must be an int >= 1 (the 1-based step count), got {step_i}")
    lr_, b1, b2, ep, wd = _adam_scalars(fn, lr, beta1, beta2, eps, weight_decay)
    _no_overlap(fn, (("param", P), ("exp_avg", M), ("exp_avg_sq", V)), (("grad", G),))
    _adam_call(P, G, M, V, step_i, lr_, b1, b2, ep, wd, bool(decoupled_weight_decay))


cdef tuple _adam_scalars(str fn, lr, beta1, beta2, eps, weight_decay):
    """adam_update's scalars, checked: (lr, beta1, beta2, eps, weight_decay)."""
    return (_at_least(lr, fn, "lr", 0.0), _in_range(beta1, fn, "beta1", 0.0, 1.0, True),
            _in_range(beta2, fn, "beta2", 0.0, 1.0, True), _at_least(eps, fn, "eps", 0.0),
            _at_least(weight_decay, fn, "weight_decay", 0.0))


cdef void _adam_call(object P, object G, object M, object V, int64_t st, double lr_, double b1,
                     double b2, double ep, double wd, bint dec):
    """The kernel on checked arrays and step."""
    cdef int64_t n = cnp.PyArray_SIZE(<cnp.ndarray>P)
    cdef void *pp = _ptr(P)
    cdef void *pg = _ptr(G)
    cdef void *pm = _ptr(M)
    cdef void *pv = _ptr(V)
    cdef bint single = _single(P)
    with nogil:
        if single:
            pydl_sadam_update(n, <float *>pp, <const float *>pg, <float *>pm, <float *>pv, st,
                              lr_, b1, b2, ep, wd, dec, 0)
        else:
            pydl_dadam_update(n, <double *>pp, <const double *>pg, <double *>pm, <double *>pv,
                              st, lr_, b1, b2, ep, wd, dec, 0)


def _adam_update_many(list params, list grads, list exp_avgs, list exp_avg_sqs, list steps,
                      lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                      decoupled_weight_decay=False):
    """:func:`adam_update` on each params[i] with grads[i], exp_avgs[i],
    exp_avg_sqs[i] and steps[i], the scalars checked once (for
    Optimizer.step); arrays or steps not ready as they are go through
    adam_update itself (which converts or raises)."""
    cdef str fn = "adam_update"
    lr_, b1, b2, ep, wd = _adam_scalars(fn, lr, beta1, beta2, eps, weight_decay)
    cdef bint dec = bool(decoupled_weight_decay)
    if not (len(params) == len(grads) == len(exp_avgs) == len(exp_avg_sqs) == len(steps)):
        raise ValueError(f"{fn}: params, grads, exp_avgs, exp_avg_sqs and steps must have the "
                         f"same length")
    cdef Py_ssize_t i
    for i in range(len(params)):
        P, G, M, V, step = params[i], grads[i], exp_avgs[i], exp_avg_sqs[i], steps[i]
        if (type(step) is int and 1 <= step < (1 << 63)
                and _update_arrays_ok(P, G, (M, V))):
            _adam_call(P, G, M, V, step, lr_, b1, b2, ep, wd, dec)
        else:
            adam_update(P, G, M, V, step, lr, beta1, beta2, eps, weight_decay,
                        decoupled_weight_decay)


def rmsprop_update(param, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                   momentum=0.0, momentum_buffer=None):
    """One step of torch.optim.RMSprop (centered=False) on a parameter
    buffer, in place.

    ``g = grad + weight_decay * param``,
    ``square_avg = alpha * square_avg + (1 - alpha) * g**2``,
    ``avg = sqrt(square_avg) + eps``; with momentum > 0:
    ``momentum_buffer = momentum * momentum_buffer + g / avg`` and
    ``param -= lr * momentum_buffer``, else ``param -= lr * g / avg``.

    Parameters
    ----------
    param : ndarray, float32 or float64, C-contiguous and writeable
        Updated in place.
    grad : ndarray of param's shape and dtype
    square_avg : ndarray of param's shape and dtype
        Zeros before the first step; updated in place.
    lr : float >= 0
    alpha : float >= 0
    eps : float >= 0
    weight_decay : float >= 0
    momentum : float >= 0
    momentum_buffer : ndarray of param's shape and dtype, or None
        Required when momentum > 0 (zeros before the first step, as
        PyTorch); updated in place.

    Returns
    -------
    None
    """
    cdef str fn = "rmsprop_update"
    P = _param(param, fn)
    G = _like(fn, "param", P, "grad", grad)
    S = _state(square_avg, fn, "square_avg", P)
    cdef double lr_ = _at_least(lr, fn, "lr", 0.0)
    cdef double al = _at_least(alpha, fn, "alpha", 0.0)
    cdef double ep = _at_least(eps, fn, "eps", 0.0)
    cdef double wd = _at_least(weight_decay, fn, "weight_decay", 0.0)
    cdef double mom = _at_least(momentum, fn, "momentum", 0.0)
    B = None
    if mom > 0.0:
        if momentum_buffer is None:
            raise ValueError(f"{fn}: momentum={momentum!r} needs a momentum_buffer; pass "
                             f"np.zeros_like(param) before the first step")
        B = _state(momentum_buffer, fn, "momentum_buffer", P)
    _no_overlap(fn, (("param", P), ("square_avg", S), ("momentum_buffer", B)),
                (("grad", G),))
    cdef int64_t n = P.size
    cdef void *pp = _ptr(P)
    cdef void *pg = _ptr(G)
    cdef void *ps = _ptr(S)
    cdef void *pb = _ptr(B)
    cdef bint single = _single(P)
    with nogil:
        if single:
            pydl_srmsprop_update(n, <float *>pp, <const float *>pg, <float *>ps, <float *>pb,
                                 lr_, al, ep, wd, mom, 0)
        else:
            pydl_drmsprop_update(n, <double *>pp, <const double *>pg, <double *>ps,
                                 <double *>pb, lr_, al, ep, wd, mom, 0)


def _gather_rows(x, index, out):
    """out[i] = x[index[i]] along axis 0 (Sequential.fit's mini-batches),
    the rows copied on pydl's threads (pydl.h, pydl_gather_rows).

    x : C-contiguous ndarray of shape (N, ...), not an np.memmap
    index : int64 ndarray of shape (B,), values in [0, N)
    out : C-contiguous writeable ndarray of shape (B, ...) and x's dtype,
        sharing no memory with x
    """
    cdef str fn = "gather_rows"
    if not isinstance(x, cnp.ndarray) or x.ndim < 1 or not x.flags.c_contiguous:
        raise ValueError(f"{fn}: x must be a C-contiguous ndarray of at least 1 dimension")
    if not (isinstance(index, cnp.ndarray) and index.dtype == np.int64 and index.ndim == 1
            and index.flags.c_contiguous):
        raise TypeError(f"{fn}: index must be a C-contiguous int64 array of shape (B,)")
    expected = (index.shape[0],) + x.shape[1:]
    if not (isinstance(out, cnp.ndarray) and out.dtype == x.dtype and out.shape == expected
            and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"{fn}: out must be a writeable C-contiguous {x.dtype} array of shape "
                         f"{expected}")
    if np.may_share_memory(out, x) or np.may_share_memory(out, index):
        raise ValueError(f"{fn}: out must not overlap x or index")
    cdef cnp.ndarray cx = x, ci = index, co = out
    cdef int64_t rows = index.shape[0], src_rows = x.shape[0]
    cdef int64_t row_bytes = x.itemsize * (x.size // src_rows if src_rows else 0)
    cdef const void *px = cnp.PyArray_DATA(cx)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(ci)
    cdef void *po = cnp.PyArray_DATA(co)
    cdef int status
    with nogil:
        status = pydl_gather_rows(rows, row_bytes, px, src_rows, pi, po, 0)
    if status == PYDL_ERR_INDEX:
        raise IndexError(f"{fn}: index values must lie in [0, {src_rows}); got "
                         f"[{index.min()}, {index.max()}]")
    return out
