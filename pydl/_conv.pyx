# 2-D convolution: validate and allocate here, then one C call (csrc/conv/)
# with the GIL released.
import numpy as np

cimport numpy as cnp
from libc.stdint cimport uint8_t

from pydl._cpydl cimport *
from pydl._windows import as_float_array, check_same_dtype, conv_geometry, output_array

cnp.import_array()

_X_LAYOUT = "(N, C, H, W)"


cdef pydl_conv2d_params _params(dict g):
    cdef pydl_conv2d_params p
    p.n, p.c, p.h, p.w = g["n"], g["c"], g["h"], g["w"]
    p.k, p.r, p.s = g["k"], g["r"], g["s"]
    p.groups = g["groups"]
    p.stride_h, p.stride_w = g["sh"], g["sw"]
    p.pad_top, p.pad_left = g["pt"], g["pl"]
    p.dil_h, p.dil_w = g["dh"], g["dw"]
    p.out_h, p.out_w = g["out_h"], g["out_w"]
    return p


cdef inline void *_data(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


cdef _check(int status, str fn):
    if status == PYDL_ERR_NOMEM:
        raise MemoryError(f"{fn}: could not allocate the convolution workspace")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, out=None):
    """2-D convolution (cross-correlation, as in PyTorch and ONNX), NCHW.

    ``y[n, k] = bias[k] + sum_{c, r, s} weight[k, c, r, s] *
    x[n, g*C/groups + c, oh*stride - pad + r*dilation, ...]`` with ``g`` the
    group of output channel ``k``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W), float32 or float64
    weight : ndarray of shape (K, C/groups, R, S), same dtype
    bias : ndarray of shape (K,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), ((top, bottom), (left, right)), 'valid' or 'same'
        'same' gives an output of ceil(size / stride), with any odd extra
        padding at the end (ONNX SAME_UPPER, TensorFlow).
    groups : int
        Divides C and K; groups == C is a depthwise convolution.
    out : ndarray of shape (N, K, out_h, out_w), optional
        C-contiguous array of the inputs' dtype to write the result into
        (reusing it avoids the page faults of a fresh large array).

    Returns
    -------
    y : ndarray of shape (N, K, out_h, out_w), out_h =
        (H + pad_top + pad_bottom - dilation*(R-1) - 1) // stride + 1.

    Raises
    ------
    TypeError
        Dtypes other than float32/float64, or mixed dtypes.
    ValueError
        Wrong ndim, channels not divisible by groups, weight or bias shapes
        that do not fit, non-positive stride/dilation, negative padding, a
        kernel larger than the padded input.
    """
    cdef str fn = "conv2d"
    X = as_float_array(x, fn, "x", 4, _X_LAYOUT)
    W = as_float_array(weight, fn, "weight", 4, "(K, C/groups, R, S)")
    check_same_dtype(fn, ("x", X), ("weight", W))
    g = conv_geometry(fn, X.shape, W.shape, stride, padding, dilation, groups)
    B = None
    if bias is not None:
        B = as_float_array(bias, fn, "bias", 1, "(K,)")
        check_same_dtype(fn, ("x", X), ("bias", B))
        if B.shape[0] != g["k"]:
            raise ValueError(f"{fn}: bias has shape {B.shape}, expected ({g['k']},) (one value "
                             f"per output channel)")
    cdef cnp.ndarray Y = output_array(out, fn, (g["n"], g["k"], g["out_h"], g["out_w"]), X.dtype,
                                      (("x", X), ("weight", W)) + ((("bias", B),) if B is not None
                                                                   else ()))
    cdef pydl_conv2d_params p = _params(g)
    cdef cnp.ndarray cx = X, cw = W
    cdef void *px = cnp.PyArray_DATA(cx)
    cdef void *pw = cnp.PyArray_DATA(cw)
    cdef void *pb = _data(B)
    cdef void *py = cnp.PyArray_DATA(Y)
    cdef int status
    cdef bint single = X.dtype == np.float32
    with nogil:
        if single:
            status = pydl_sconv2d_fwd(&p, <const float *>px, <const float *>pw,
                                      <const float *>pb, <float *>py, 0)
        else:
            status = pydl_dconv2d_fwd(&p, <const double *>px, <const double *>pw,
                                      <const double *>pb, <double *>py, 0)
    _check(status, fn)
    return Y


def conv2d_backward(grad_y, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    needs=(True, True, True), *, out=None):
    """Gradients of :func:`conv2d` with respect to x, weight and bias.

    Parameters
    ----------
    grad_y : ndarray of shape (N, K, out_h, out_w)
        Gradient of the loss with respect to conv2d's output.
    x, weight, stride, padding, dilation, groups
        As given to :func:`conv2d`.
    needs : (bool, bool, bool)
        Which of (grad_x, grad_weight, grad_bias) to compute.
    out : (grad_x, grad_weight, grad_bias), optional
        Arrays to write the gradients into (C-contiguous, the shapes below,
        the inputs' dtype, sharing memory with no input and no other of
        them), None for any to allocate; entries for gradients not asked
        for are ignored.

    Returns
    -------
    (grad_x, grad_weight, grad_bias)
        Shapes (N, C, H, W), (K, C/groups, R, S) and (K,); None where not
        asked for.  Results are identical on any number of threads.
    """
    cdef str fn = "conv2d_backward"
    X = as_float_array(x, fn, "x", 4, _X_LAYOUT)
    W = as_float_array(weight, fn, "weight", 4, "(K, C/groups, R, S)")
    GY = as_float_array(grad_y, fn, "grad_y", 4, "(N, K, out_h, out_w)")
    check_same_dtype(fn, ("x", X), ("weight", W), ("grad_y", GY))
    g = conv_geometry(fn, X.shape, W.shape, stride, padding, dilation, groups)
    expected = (g["n"], g["k"], g["out_h"], g["out_w"])
    if GY.shape != expected:
        raise ValueError(f"{fn}: grad_y has shape {GY.shape}, expected {expected} (the shape "
                         f"of conv2d's output for these arguments)")
    try:
        need_x, need_w, need_b = (bool(v) for v in needs)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: needs must be three booleans (grad_x, grad_weight, grad_bias), "
                         f"got {needs!r}") from None
    if out is None:
        out = (None, None, None)
    elif not isinstance(out, (tuple, list)) or len(out) != 3:
        raise TypeError(f"{fn}: out must be a tuple (grad_x, grad_weight, grad_bias) of arrays "
                        f"or None, got {type(out).__name__}")
    inputs = (("grad_y", GY), ("x", X), ("weight", W))
    cdef pydl_conv2d_params p = _params(g)
    cdef cnp.ndarray cx = X, cw = W, cgy = GY
    GX = GW = GB = None
    cdef bint single = X.dtype == np.float32
    cdef int status = PYDL_OK
    cdef void *pgy = cnp.PyArray_DATA(cgy)
    cdef void *px = cnp.PyArray_DATA(cx)
    cdef void *pw = cnp.PyArray_DATA(cw)
    cdef void *pgx
    cdef void *pgw
    cdef void *pgb
    if need_x:
        GX = output_array(out[0], fn, X.shape, X.dtype, inputs)
        pgx = _data(GX)
        with nogil:
            if single:
                status = pydl_sconv2d_bwd_data(&p, <const float *>pgy, <const float *>pw,
                                               <float *>pgx, 0)
            else:
                status = pydl_dconv2d_bwd_data(&p, <const double *>pgy, <const double *>pw,
                                               <double *>pgx, 0)
        _check(status, fn)
    if need_w or need_b:
        # each output is checked against the inputs and the outputs before it
        if GX is not None:
            inputs += (("out[0] (grad_x)", GX),)
        GW = output_array(out[1], fn, W.shape, X.dtype, inputs) if need_w else None
        if GW is not None:
            inputs += (("out[1] (grad_weight)", GW),)
        GB = output_array(out[2], fn, (g["k"],), X.dtype, inputs) if need_b else None
        pgw = _data(GW)
        pgb = _data(GB)
        with nogil:
            if single:
                status = pydl_sconv2d_bwd_weight(&p, <const float *>pgy, <const float *>px,
                                                 <float *>pgw, <float *>pgb, 0)
            else:
                status = pydl_dconv2d_bwd_weight(&p, <const double *>pgy, <const double *>px,
                                                 <double *>pgw, <double *>pgb, 0)
        _check(status, fn)
    return GX, GW, GB


def _conv2d_maxpool2x2(x, weight, bias, stride, padding, dilation, y, code, bint relu):
    """conv2d, then ReLU (relu), then 2x2 stride-2 max pooling with one-byte
    codes, in one pass into the caller's y and code (the Conv2D -> ReLU ->
    MaxPool2D step of a Sequential; pydl.h, pydl_sconv2d_fwd_maxpool2x2).
    Returns False, having written nothing, where the kernels do not take the
    layer (then run conv2d and the pool).

    x : (N, C, H, W) float32; weight (K, C, R, S), bias (K,) or None, float32
    y : (N, K, out_h // 2, out_w // 2) float32; code : same shape, uint8
    """
    cdef str fn = "conv2d_maxpool2x2"
    X = as_float_array(x, fn, "x", 4, _X_LAYOUT)
    W = as_float_array(weight, fn, "weight", 4, "(K, C, R, S)")
    if X.dtype != np.float32 or W.dtype != np.float32:
        return False
    g = conv_geometry(fn, X.shape, W.shape, stride, padding, dilation, 1)
    B = None
    if bias is not None:
        B = as_float_array(bias, fn, "bias", 1, "(K,)")
        if B.dtype != np.float32 or B.shape[0] != g["k"]:
            raise ValueError(f"{fn}: bias must be float32 of shape ({g['k']},), got {B.dtype} "
                             f"{B.shape}")
    if g["out_h"] < 2 or g["out_w"] < 2:
        return False
    shape = (g["n"], g["k"], g["out_h"] // 2, g["out_w"] // 2)
    inputs = (("x", X), ("weight", W)) + ((("bias", B),) if B is not None else ())
    cdef cnp.ndarray Y = output_array(y, fn, shape, np.dtype(np.float32), inputs)
    cdef cnp.ndarray CD = output_array(code, fn, shape, np.dtype(np.uint8), inputs + (("y", Y),))
    cdef pydl_conv2d_params p = _params(g)
    cdef cnp.ndarray cx = X, cw = W
    cdef const float *px = <const float *>cnp.PyArray_DATA(cx)
    cdef const float *pw = <const float *>cnp.PyArray_DATA(cw)
    cdef const float *pb = <const float *>_data(B)
    cdef float *py = <float *>cnp.PyArray_DATA(Y)
    cdef uint8_t *pc = <uint8_t *>cnp.PyArray_DATA(CD)
    cdef int status
    with nogil:
        status = pydl_sconv2d_fwd_maxpool2x2(&p, px, pw, pb, relu, py, pc, 0)
    if status == PYDL_ERR_UNSUPPORTED:
        return False
    _check(status, fn)
    return True


def _conv2d_backward_maxpool2x2(grad_y, code, x, weight, stride, padding, dilation, out):
    """Gradients of :func:`_conv2d_maxpool2x2` from its pooled grad_y and
    codes, into out = (grad_x, grad_weight, grad_bias) (each an array or
    None: not asked for), without the full-size gradient of the convolution's
    output (pydl.h, pydl_sconv2d_bwd_maxpool2x2).  The same numbers, bit for
    bit, as max-pool backward then conv2d_backward.  Returns False, having
    written nothing, where the kernels do not take the layer.
    """
    cdef str fn = "conv2d_backward_maxpool2x2"
    X = as_float_array(x, fn, "x", 4, _X_LAYOUT)
    W = as_float_array(weight, fn, "weight", 4, "(K, C, R, S)")
    GY = as_float_array(grad_y, fn, "grad_y", 4, "(N, K, out_h // 2, out_w // 2)")
    if X.dtype != np.float32 or W.dtype != np.float32 or GY.dtype != np.float32:
        return False
    g = conv_geometry(fn, X.shape, W.shape, stride, padding, dilation, 1)
    pooled = (g["n"], g["k"], g["out_h"] // 2, g["out_w"] // 2)
    if GY.shape != pooled or g["out_h"] < 2 or g["out_w"] < 2:
        raise ValueError(f"{fn}: grad_y has shape {GY.shape}, expected {pooled} (the pooled "
                         f"output of this convolution)")
    if not (isinstance(code, cnp.ndarray) and code.dtype == np.uint8 and code.shape == pooled
            and code.flags.c_contiguous):
        raise ValueError(f"{fn}: code must be a C-contiguous uint8 array of shape {pooled}")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise TypeError(f"{fn}: out must be a tuple (grad_x, grad_weight, grad_bias)")
    inputs = (("grad_y", GY), ("x", X), ("weight", W), ("code", code))
    GX = output_array(out[0], fn, X.shape, X.dtype, inputs) if out[0] is not None else None
    if GX is not None:
        inputs += (("out[0]", GX),)
    GW = output_array(out[1], fn, W.shape, X.dtype, inputs) if out[1] is not None else None
    if GW is not None:
        inputs += (("out[1]", GW),)
    GB = output_array(out[2], fn, (g["k"],), X.dtype, inputs) if out[2] is not None else None
    if GX is None and GW is None and GB is None:
        return True
    cdef pydl_conv2d_params p = _params(g)
    cdef cnp.ndarray cx = X, cw = W, cgy = GY, cc = code
    cdef const float *pgy = <const float *>cnp.PyArray_DATA(cgy)
    cdef const uint8_t *pc = <const uint8_t *>cnp.PyArray_DATA(cc)
    cdef const float *px = <const float *>cnp.PyArray_DATA(cx)
    cdef const float *pw = <const float *>cnp.PyArray_DATA(cw)
    cdef float *pgx = <float *>_data(GX)
    cdef float *pgw = <float *>_data(GW)
    cdef float *pgb = <float *>_data(GB)
    cdef int status
    with nogil:
        status = pydl_sconv2d_bwd_maxpool2x2(&p, pgy, pc, px, pw, pgx, pgw, pgb, 0)
    if status == PYDL_ERR_UNSUPPORTED:
        return False
    _check(status, fn)
    return True
