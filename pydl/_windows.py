"""Argument checking and output sizes for sliding-window ops (conv, pooling).

Sizes follow PyTorch (and ONNX for what PyTorch lacks: asymmetric padding,
'same' padding, pooling padding up to the kernel extent).  Every error names
the op, the argument and its value.
"""
from __future__ import annotations

import operator
from typing import Any, Dict, Tuple

import numpy as np

__all__ = ["pair", "conv_geometry", "pool_geometry", "as_float_array", "check_same_dtype",
           "output_array"]

_ACCEPTED = "float32 or float64"


def as_float_array(x: Any, fn: str, name: str, ndim: int, layout: str) -> np.ndarray:
    """x as a C-contiguous, native-order float32/float64 array of the given ndim."""
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise TypeError(f"{fn}: expected {name} of dtype {_ACCEPTED}, got dtype {arr.dtype}. "
                        f"Convert it first, e.g. {name}.astype(np.float32).")
    if arr.ndim != ndim:
        raise ValueError(f"{fn}: expected {name} of shape {layout} ({ndim}-D), got shape "
                         f"{arr.shape}")
    if not arr.flags.c_contiguous or not arr.flags.aligned or not arr.dtype.isnative:
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
    return arr


def check_same_dtype(fn: str, first: Tuple[str, np.ndarray], *others: Tuple[str, np.ndarray]) -> None:
    name0, a0 = first
    for name, a in others:
        if a.dtype != a0.dtype:
            raise TypeError(f"{fn}: {name} has dtype {a.dtype} but {name0} has dtype {a0.dtype}; "
                            f"all arrays must have the same dtype ({_ACCEPTED}). Cast one, e.g. "
                            f"{name}.astype({name0}.dtype).")


def _int(v: Any, fn: str, name: str) -> int:
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got "
                        f"{type(v).__name__} {v!r}") from None


# Strides, paddings, dilations and kernel sizes above this are rejected: the
# C kernels' index arithmetic (int64) must not overflow.
_LIMIT = 1 << 31


def pair(v: Any, fn: str, name: str, minimum: int) -> Tuple[int, int]:
    """An int or a pair of ints as a pair, each in [minimum, 2**31)."""
    if type(v) is int and minimum <= v < _LIMIT:  # the common case, fast
        return (v, v)
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{fn}: {name} must be an int or a pair of ints, got {v!r}")
        out = (_int(v[0], fn, name), _int(v[1], fn, name))
    else:
        i = _int(v, fn, name)
        out = (i, i)
    if min(out) < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {v!r}")
    if max(out) >= _LIMIT:
        raise ValueError(f"{fn}: {name} must be < 2**31, got {v!r}")
    return out


def _padding4(padding: Any, fn: str) -> Tuple[int, int, int, int]:
    """int | (h, w) | ((top, bottom), (left, right)) -> (top, bottom, left, right)."""
    if type(padding) is int and 0 <= padding < _LIMIT:  # the common case, fast
        return padding, padding, padding, padding
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(isinstance(p, (tuple, list)) for p in padding)):
        (t, b), (l, r) = (pair(padding[0], fn, "padding", 0), pair(padding[1], fn, "padding", 0))
        return t, b, l, r
    ph, pw = pair(padding, fn, "padding", 0)
    return ph, ph, pw, pw


# Geometries already checked, by their arguments: layers and training loops
# ask for the same few again and again.  Only plain-int (and str) window
# arguments are keys, so that a key never equals one that must raise (True
# == 1, but a bool stride is an error).  The dicts are shared: read only.
_CHECKED: Dict[tuple, Dict[str, int]] = {}
_CHECKED_MAX = 1024


def _remember(key: tuple, geometry: Dict[str, int]) -> Dict[str, int]:
    if len(_CHECKED) >= _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED[key] = geometry
    return geometry


def conv_geometry(fn: str, x_shape: Tuple[int, ...], w_shape: Tuple[int, ...], stride: Any,
                  padding: Any, dilation: Any, groups: Any) -> Dict[str, int]:
    """Checked convolution geometry: strides, paddings, dilations, output size
    (a shared dict: do not modify it)."""
    if (type(stride) is int and type(dilation) is int and type(groups) is int
            and type(padding) in (int, str)):
        key = ("conv", fn, x_shape, w_shape, stride, padding, dilation, groups)
        g = _CHECKED.get(key)
        if g is None:
            g = _remember(key, _conv_geometry(fn, x_shape, w_shape, stride, padding, dilation,
                                              groups))
        return g
    return _conv_geometry(fn, x_shape, w_shape, stride, padding, dilation, groups)


def _conv_geometry(fn: str, x_shape: Tuple[int, ...], w_shape: Tuple[int, ...], stride: Any,
                   padding: Any, dilation: Any, groups: Any) -> Dict[str, int]:
    n, c, h, w = x_shape
    k, cg, r, s = w_shape
    groups = _int(groups, fn, "groups")
    if groups < 1:
        raise ValueError(f"{fn}: groups must be >= 1, got {groups}")
    if c < 1 or k < 1:
        raise ValueError(f"{fn}: need at least one input and one output channel, got "
                         f"x.shape={x_shape} and weight.shape={w_shape}")
    if c % groups or k % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the input channels ({c}) and the "
                         f"output channels ({k})")
    if cg != c // groups:
        raise ValueError(f"{fn}: weight.shape={w_shape} does not fit x.shape={x_shape} with "
                         f"groups={groups}: expected weight.shape[1] == {c // groups}")
    if r < 1 or s < 1:
        raise ValueError(f"{fn}: the kernel must be at least 1x1, got weight.shape={w_shape}")
    sh, sw = pair(stride, fn, "stride", 1)
    dh, dw = pair(dilation, fn, "dilation", 1)
    eh, ew = dh * (r - 1) + 1, dw * (s - 1) + 1
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            pt = pb = pl = pr = 0
        elif mode == "same":
            oh, ow = -(-h // sh), -(-w // sw)
            th, tw = max((oh - 1) * sh + eh - h, 0), max((ow - 1) * sw + ew - w, 0)
            pt, pl = th // 2, tw // 2
            pb, pr = th - pt, tw - pl
        else:
            raise ValueError(f"{fn}: padding must be an int, a pair, ((top, bottom), (left, "
                             f"right)), 'valid' or 'same'; got {padding!r}")
    else:
        pt, pb, pl, pr = _padding4(padding, fn)
    if h + pt + pb < eh or w + pl + pr < ew:
        raise ValueError(f"{fn}: the (dilated) kernel {eh}x{ew} is larger than the padded input "
                         f"{h + pt + pb}x{w + pl + pr} (x.shape={x_shape}, padding={padding!r}, "
                         f"dilation={dilation!r})")
    out_h = (h + pt + pb - eh) // sh + 1
    out_w = (w + pl + pr - ew) // sw + 1
    return dict(n=n, c=c, h=h, w=w, k=k, r=r, s=s, groups=groups, sh=sh, sw=sw, pt=pt, pb=pb,
                pl=pl, pr=pr, dh=dh, dw=dw, out_h=out_h, out_w=out_w)


def _pool_out(size: int, k: int, s: int, p0: int, p1: int, d: int, ceil_mode: bool) -> int:
    ext = d * (k - 1) + 1
    span = size + p0 + p1 - ext
    if span < 0:
        return 0
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p0:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def _every_window_reads_input(size: int, out: int, k: int, s: int, p0: int, d: int) -> bool:
    """True if every window's first in-range tap exists and lies inside."""
    if size >= 1 and (p0 == 0 or d == 1) and p0 < d * (k - 1) + 1:
        # Always true (and the common case; the numpy test below costs
        # microseconds): a window starting in the padding (p0 < the extent)
        # reaches position 0 at tap -start < k when d == 1, and without
        # padding tap 0 is at start >= 0; the last start is < size
        # (_pool_out: floor mode, since p1 < the extent, or the ceil rule).
        return True
    start = np.arange(out, dtype=np.int64) * s - p0
    first = np.where(start < 0, (-start + d - 1) // d, 0)  # first tap at position >= 0
    return bool(((first < k) & (start + first * d < size)).all())


def pool_geometry(fn: str, x_shape: Tuple[int, ...], kernel_size: Any, stride: Any,
                  padding: Any, dilation: Any, ceil_mode: Any) -> Dict[str, int]:
    """Checked pooling geometry (PyTorch sizes; padding may reach up to, not
    including, the dilated kernel extent, as in ONNX); a shared dict: do not
    modify it."""
    if (type(kernel_size) is int and (stride is None or type(stride) is int)
            and type(padding) is int and type(dilation) is int and type(ceil_mode) is bool):
        key = ("pool", fn, x_shape, kernel_size, stride, padding, dilation, ceil_mode)
        g = _CHECKED.get(key)
        if g is None:
            g = _remember(key, _pool_geometry(fn, x_shape, kernel_size, stride, padding,
                                              dilation, ceil_mode))
        return g
    return _pool_geometry(fn, x_shape, kernel_size, stride, padding, dilation, ceil_mode)


def _pool_geometry(fn: str, x_shape: Tuple[int, ...], kernel_size: Any, stride: Any,
                   padding: Any, dilation: Any, ceil_mode: Any) -> Dict[str, int]:
    n, c, h, w = x_shape
    kh, kw = pair(kernel_size, fn, "kernel_size", 1)
    sh, sw = pair(kernel_size if stride is None else stride, fn, "stride", 1)
    dh, dw = pair(dilation, fn, "dilation", 1)
    if isinstance(padding, str):
        raise ValueError(f"{fn}: padding must be an int, a pair or ((top, bottom), (left, "
                         f"right)), got {padding!r}")
    pt, pb, pl, pr = _padding4(padding, fn)
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if max(pt, pb) >= eh or max(pl, pr) >= ew:
        raise ValueError(f"{fn}: padding={padding!r} must be smaller than the (dilated) kernel "
                         f"extent {eh}x{ew}, or a window could lie wholly in the padding")
    ceil = bool(ceil_mode)
    out_h = _pool_out(h, kh, sh, pt, pb, dh, ceil)
    out_w = _pool_out(w, kw, sw, pl, pr, dw, ceil)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{fn}: the output would be empty ({out_h}x{out_w}): kernel_size="
                         f"{kernel_size!r} (dilation={dilation!r}) does not fit the padded "
                         f"input of x.shape={x_shape} with padding={padding!r}")
    if not (_every_window_reads_input(h, out_h, kh, sh, pt, dh)
            and _every_window_reads_input(w, out_w, kw, sw, pl, dw)):
        raise ValueError(f"{fn}: with kernel_size={kernel_size!r}, stride={stride!r}, "
                         f"padding={padding!r} and dilation={dilation!r}, some window reads "
                         f"no input element (only padding or dilation gaps)")
    return dict(n=n, c=c, h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, pt=pt, pb=pb, pl=pl, pr=pr,
                dh=dh, dw=dw, out_h=out_h, out_w=out_w)


def output_array(out: Any, fn: str, shape: Tuple[int, ...], dtype: np.dtype,
                 inputs: Tuple[Tuple[str, np.ndarray], ...]) -> np.ndarray:
    """A new C-contiguous array, or the user's ``out`` once checked: an
    ndarray of that shape and dtype, C-contiguous, aligned, writeable and not
    sharing memory with any input."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{fn}: out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{fn}: out has shape {out.shape}, expected {tuple(shape)}")
    if out.dtype != dtype:
        raise ValueError(f"{fn}: out has dtype {out.dtype}, expected {np.dtype(dtype)} (the "
                         f"inputs' dtype)")
    if not (out.flags.c_contiguous and out.flags.aligned and out.dtype.isnative):
        raise ValueError(f"{fn}: out must be C-contiguous and aligned; pass np.empty({shape}, "
                         f"dtype=np.{np.dtype(dtype).name}) or leave out=None")
    if not out.flags.writeable:
        raise ValueError(f"{fn}: out is not writeable; pass a writeable array")
    for name, x in inputs:
        if np.may_share_memory(out, x) and np.shares_memory(out, x, max_work=1 << 20):
            raise ValueError(f"{fn}: out overlaps input {name}; pass a separate array")
    return out
