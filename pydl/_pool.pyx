# 2-D max and average pooling: validate and allocate here, then one C call
# (csrc/pool/) with the GIL released.
import operator

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memset

from pydl._cpydl cimport *
from pydl._windows import as_float_array, output_array, pool_geometry

cnp.import_array()

_X_LAYOUT = "(N, C, H, W)"


cdef pydl_pool2d_params _params(dict g):
    cdef pydl_pool2d_params p
    p.planes, p.h, p.w = g["n"] * g["c"], g["h"], g["w"]
    p.kh, p.kw = g["kh"], g["kw"]
    p.stride_h, p.stride_w = g["sh"], g["sw"]
    p.pad_top, p.pad_left, p.pad_bottom, p.pad_right = g["pt"], g["pl"], g["pb"], g["pr"]
    p.dil_h, p.dil_w = g["dh"], g["dw"]
    p.out_h, p.out_w = g["out_h"], g["out_w"]
    return p


def _input_shape(input_shape, str fn):
    try:
        shape = tuple(operator.index(v) for v in input_shape)
    except TypeError:
        raise TypeError(f"{fn}: input_shape must be a tuple of 4 ints (N, C, H, W), got "
                        f"{input_shape!r}") from None
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{fn}: input_shape must be (N, C, H, W) with sizes >= 0, got "
                         f"{input_shape!r}")
    return shape


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, out=None, indices_out=None):
    """2-D max pooling, NCHW, as torch.nn.functional.max_pool2d.

    Padding counts as -inf; a NaN in a window gives NaN; ties go to the first
    maximum in row-major window order (the index returned, and the value).
    Without indices the value is the same number, but among equal values such
    as -0.0 and +0.0 (or two NaN payloads) it may keep another one than the
    first, except for 2x2 windows of column stride 2.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W), float32 or float64
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to kernel_size.
    padding : int, (int, int) or ((top, bottom), (left, right))
        Each smaller than the dilated kernel extent (as in ONNX; PyTorch
        further requires at most half the kernel).
    dilation : int or (int, int)
    ceil_mode : bool
        Round the output size up; the last window must still start inside
        the input or its left/top padding.
    return_indices : bool
        Also return, for each output, the flat index ih*W + iw (int64) of the
        chosen element in its input plane, as PyTorch does.
    out : ndarray of shape (N, C, out_h, out_w), optional
        C-contiguous array of x's dtype to write y into.
    indices_out : ndarray of shape (N, C, out_h, out_w), int64, optional
        C-contiguous array to write the indices into (needs
        return_indices=True); reusing one avoids the page faults of a fresh
        int64 array on every call.

    Returns
    -------
    y : ndarray of shape (N, C, out_h, out_w), or (y, indices).
    """
    cdef str fn = "max_pool2d"
    X = as_float_array(x, fn, "x", 4, _X_LAYOUT)
    g = pool_geometry(fn, X.shape, kernel_size, stride, padding, dilation, ceil_mode)
    shape = (g["n"], g["c"], g["out_h"], g["out_w"])
    cdef cnp.ndarray Y = output_array(out, fn, shape, X.dtype, (("x", X),))
    if indices_out is not None and not return_indices:
        raise ValueError(f"{fn}: indices_out was given but return_indices=False; pass "
                         f"return_indices=True or drop indices_out")
    I = (output_array(indices_out, fn, shape, np.dtype(np.int64), (("x", X), ("out", Y)))
         if return_indices else None)
    cdef pydl_pool2d_params p = _params(g)
    cdef cnp.ndarray cx = X
    cdef void *px = cnp.PyArray_DATA(cx)
    cdef void *py = cnp.PyArray_DATA(Y)
    cdef int64_t *pi = NULL if I is None else <int64_t *>cnp.PyArray_DATA(<cnp.ndarray>I)
    cdef bint single = X.dtype == np.float32
    cdef int status
    with nogil:
        if single:
            status = pydl_smaxpool2d_fwd(&p, <const float *>px, <float *>py, pi, 0)
        else:
            status = pydl_dmaxpool2d_fwd(&p, <const double *>px, <double *>py, pi, 0)
    if status == PYDL_ERR_NOMEM:
        raise MemoryError(f"{fn}: could not allocate the pooling row buffer")
    return (Y, I) if return_indices else Y


def max_pool2d_backward(grad_y, indices, input_shape, *, out=None):
    """Gradient of :func:`max_pool2d`: grad_x[plane][indices[o]] += grad_y[o].

    Parameters
    ----------
    grad_y : ndarray of shape (N, C, out_h, out_w)
    indices : ndarray of int64, same shape
        From ``max_pool2d(..., return_indices=True)``.
    input_shape : (N, C, H, W)
    out : ndarray of shape input_shape, optional
        C-contiguous array of grad_y's dtype to write grad_x into (it is
        overwritten; reusing it avoids the page faults of a fresh array).

    Returns
    -------
    grad_x : ndarray of shape input_shape; overlapping windows accumulate.
    """
    cdef str fn = "max_pool2d_backward"
    GY = as_float_array(grad_y, fn, "grad_y", 4, "(N, C, out_h, out_w)")
    shape = _input_shape(input_shape, fn)
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must be integers (int64 from max_pool2d), got dtype "
                        f"{idx.dtype}")
    if idx.shape != GY.shape:
        raise ValueError(f"{fn}: indices has shape {idx.shape} but grad_y has shape {GY.shape}; "
                         f"they must match")
    if GY.shape[:2] != shape[:2]:
        raise ValueError(f"{fn}: grad_y has shape {GY.shape} but input_shape={shape}: N and C "
                         f"must match")
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    # The range of the indices is checked by the kernel (PYDL_ERR_INDEX, out
    # left untouched), in the same pass that reads them.
    cdef pydl_pool2d_params p
    memset(&p, 0, sizeof(p))
    p.planes, p.h, p.w = shape[0] * shape[1], shape[2], shape[3]
    p.kh = p.kw = p.stride_h = p.stride_w = p.dil_h = p.dil_w = 1
    p.out_h, p.out_w = GY.shape[2], GY.shape[3]
    cdef cnp.ndarray GX = output_array(out, fn, shape, GY.dtype, (("grad_y", GY), ("indices", idx)))
    cdef cnp.ndarray cgy = GY, cidx = idx
    cdef void *pgy = cnp.PyArray_DATA(cgy)
    cdef void *pgx = cnp.PyArray_DATA(GX)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(cidx)
    cdef bint single = GY.dtype == np.float32
    cdef int status
    with nogil:
        if single:
            status = pydl_smaxpool2d_bwd(&p, <const float *>pgy, pi, <float *>pgx, 0)
        else:
            status = pydl_dmaxpool2d_bwd(&p, <const double *>pgy, pi, <double *>pgx, 0)
    if status == PYDL_ERR_INDEX:
        raise ValueError(f"{fn}: indices must lie in [0, H*W) = [0, {shape[2] * shape[3]}) for "
                         f"input_shape={shape}; got values in [{idx.min()}, {idx.max()}]")
    return GX


def avg_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               count_include_pad=True, *, out=None):
    """2-D average pooling, NCHW, as torch.nn.functional.avg_pool2d.

    Parameters are those of :func:`max_pool2d`, plus ``count_include_pad``:
    divide by the number of window positions inside the padded input (True)
    or inside the input only (False), and ``out`` (as for max_pool2d).

    Returns
    -------
    y : ndarray of shape (N, C, out_h, out_w)
    """
    cdef str fn = "avg_pool2d"
    X = as_float_array(x, fn, "x", 4, _X_LAYOUT)
    g = pool_geometry(fn, X.shape, kernel_size, stride, padding, dilation, ceil_mode)
    cdef cnp.ndarray Y = output_array(out, fn, (g["n"], g["c"], g["out_h"], g["out_w"]), X.dtype,
                                      (("x", X),))
    cdef pydl_pool2d_params p = _params(g)
    cdef int cip = bool(count_include_pad)
    cdef cnp.ndarray cx = X
    cdef void *px = cnp.PyArray_DATA(cx)
    cdef void *py = cnp.PyArray_DATA(Y)
    cdef bint single = X.dtype == np.float32
    with nogil:
        if single:
            pydl_savgpool2d_fwd(&p, cip, <const float *>px, <float *>py, 0)
        else:
            pydl_davgpool2d_fwd(&p, cip, <const double *>px, <double *>py, 0)
    return Y


def avg_pool2d_backward(grad_y, input_shape, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False, count_include_pad=True, *, out=None):
    """Gradient of :func:`avg_pool2d` (same parameters; ``out`` as for
    max_pool2d_backward).

    Returns
    -------
    grad_x : ndarray of shape input_shape
    """
    cdef str fn = "avg_pool2d_backward"
    GY = as_float_array(grad_y, fn, "grad_y", 4, "(N, C, out_h, out_w)")
    shape = _input_shape(input_shape, fn)
    g = pool_geometry(fn, shape, kernel_size, stride, padding, dilation, ceil_mode)
    expected = (g["n"], g["c"], g["out_h"], g["out_w"])
    if GY.shape != expected:
        raise ValueError(f"{fn}: grad_y has shape {GY.shape}, expected {expected} (avg_pool2d's "
                         f"output shape for input_shape={shape})")
    cdef pydl_pool2d_params p = _params(g)
    cdef int cip = bool(count_include_pad)
    cdef cnp.ndarray GX = output_array(out, fn, shape, GY.dtype, (("grad_y", GY),))
    cdef cnp.ndarray cgy = GY
    cdef void *pgy = cnp.PyArray_DATA(cgy)
    cdef void *pgx = cnp.PyArray_DATA(GX)
    cdef bint single = GY.dtype == np.float32
    with nogil:
        if single:
            pydl_savgpool2d_bwd(&p, cip, <const float *>pgy, <float *>pgx, 0)
        else:
            pydl_davgpool2d_bwd(&p, cip, <const double *>pgy, <double *>pgx, 0)
    return GX


def global_avg_pool2d(x):
    """Mean over each H x W plane: (N, C, H, W) -> (N, C, 1, 1)."""
    X = as_float_array(x, "global_avg_pool2d", "x", 4, _X_LAYOUT)
    if X.shape[2] < 1 or X.shape[3] < 1:
        raise ValueError(f"global_avg_pool2d: x has empty planes, shape {X.shape}")
    return avg_pool2d(X, (X.shape[2], X.shape[3]))


def global_max_pool2d(x):
    """Maximum over each H x W plane: (N, C, H, W) -> (N, C, 1, 1)."""
    X = as_float_array(x, "global_max_pool2d", "x", 4, _X_LAYOUT)
    if X.shape[2] < 1 or X.shape[3] < 1:
        raise ValueError(f"global_max_pool2d: x has empty planes, shape {X.shape}")
    return max_pool2d(X, (X.shape[2], X.shape[3]))


cdef _check_2x2_array(str fn, str name, a, tuple shape, dtype):
    """a must be a C-contiguous, aligned, writeable-if-needed ndarray of that
    exact shape and dtype (the layer's own buffers; nothing is converted)."""
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"{fn}: {name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype != dtype:
        raise TypeError(f"{fn}: {name} has dtype {a.dtype}, expected {np.dtype(dtype)}")
    if a.shape != shape:
        raise ValueError(f"{fn}: {name} has shape {a.shape}, expected {shape}")
    if not (a.flags.c_contiguous and a.flags.aligned):
        raise ValueError(f"{fn}: {name} must be C-contiguous and aligned; pass "
                         f"np.ascontiguousarray({name})")


cdef tuple _check_2x2_full(str fn, str name, a, bint writeable):
    """a, the full-size side of the 2x2 pool, checked as _check_2x2_array
    does and for H, W >= 2 (and writeable); returns the pooled shape."""
    if not isinstance(a, cnp.ndarray) or a.ndim != 4:
        raise ValueError(f"{fn}: {name} must be an ndarray of shape (N, C, H, W), got "
                         f"{getattr(a, 'shape', type(a).__name__)}")
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"{fn}: {name} has dtype {a.dtype}, expected float32 or float64")
    n, c, h, w = a.shape
    if h < 2 or w < 2:
        raise ValueError(f"{fn}: {name} has shape {a.shape}: H and W must be at least 2")
    _check_2x2_array(fn, name, a, a.shape, a.dtype)
    if writeable and not a.flags.writeable:
        raise ValueError(f"{fn}: {name} must be writeable")
    return (n, c, h // 2, w // 2)


def _max_pool2x2(x, y, code, bint relu):
    """2x2 stride-2 max pooling without padding into the caller's y and
    code (the MaxPool2D layer's path; pydl.h, pydl_smaxpool2x2_fwd): y =
    max_pool2d(x, 2), or relu of it, and code (uint8) the chosen tap of each
    window (0..3), or 4 where the ReLU passes no gradient.

    x : (N, C, H, W) float32 or float64, C-contiguous, H and W >= 2
    y : (N, C, H // 2, W // 2) of x's dtype; code : same shape, uint8
    """
    cdef str fn = "max_pool2x2"
    oshape = _check_2x2_full(fn, "x", x, False)
    _check_2x2_array(fn, "y", y, oshape, x.dtype)
    _check_2x2_array(fn, "code", code, oshape, np.uint8)
    if not (y.flags.writeable and code.flags.writeable):
        raise ValueError(f"{fn}: y and code must be writeable")
    if (np.may_share_memory(x, y) or np.may_share_memory(x, code)
            or np.may_share_memory(y, code)):
        raise ValueError(f"{fn}: x, y and code must not overlap")
    cdef cnp.ndarray cx = x, cy = y, cc = code
    cdef int64_t planes = x.shape[0] * x.shape[1], hh = x.shape[2], ww = x.shape[3]
    cdef void *px = cnp.PyArray_DATA(cx)
    cdef void *py = cnp.PyArray_DATA(cy)
    cdef uint8_t *pc = <uint8_t *>cnp.PyArray_DATA(cc)
    cdef bint single = x.dtype == np.float32
    with nogil:
        if single:
            pydl_smaxpool2x2_fwd(planes, hh, ww, relu, <const float *>px, <float *>py, pc, 0)
        else:
            pydl_dmaxpool2x2_fwd(planes, hh, ww, relu, <const double *>px, <double *>py, pc, 0)
    return y


def _max_pool2x2_backward(grad_y, code, grad_x):
    """Gradient of :func:`_max_pool2x2` into the caller's grad_x
    (overwritten): grad_y at each window's chosen tap, 0 elsewhere.

    grad_y : (N, C, H // 2, W // 2) float32 or float64, C-contiguous
    code : same shape, uint8, from _max_pool2x2
    grad_x : (N, C, H, W) of grad_y's dtype
    """
    cdef str fn = "max_pool2x2_backward"
    oshape = _check_2x2_full(fn, "grad_x", grad_x, True)
    _check_2x2_array(fn, "grad_y", grad_y, oshape, grad_x.dtype)
    _check_2x2_array(fn, "code", code, oshape, np.uint8)
    if np.may_share_memory(grad_x, grad_y) or np.may_share_memory(grad_x, code):
        raise ValueError(f"{fn}: grad_x must not overlap grad_y or code")
    cdef cnp.ndarray cg = grad_y, cc = code, cgx = grad_x
    cdef int64_t planes = grad_x.shape[0] * grad_x.shape[1], hh = grad_x.shape[2]
    cdef int64_t ww = grad_x.shape[3]
    cdef void *pg = cnp.PyArray_DATA(cg)
    cdef const uint8_t *pc = <const uint8_t *>cnp.PyArray_DATA(cc)
    cdef void *pgx = cnp.PyArray_DATA(cgx)
    cdef bint single = grad_x.dtype == np.float32
    with nogil:
        if single:
            pydl_smaxpool2x2_bwd(planes, hh, ww, <const float *>pg, pc, <float *>pgx, 0)
        else:
            pydl_dmaxpool2x2_bwd(planes, hh, ww, <const double *>pg, pc, <double *>pgx, 0)
    return grad_x
