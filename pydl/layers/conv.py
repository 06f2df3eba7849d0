"""2-D convolution layer (NCHW), on pydl.ops.conv2d and conv2d_backward."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from pydl import _random, ops
from pydl._conv import _conv2d_backward_maxpool2x2, _conv2d_maxpool2x2
from pydl._windows import conv_geometry
from pydl.layers import init
from pydl.layers.base import Layer, Shape, check_dtype, check_positive_int, register


def _jsonable(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_jsonable(u) for u in v]
    return int(v) if isinstance(v, np.integer) else v


@register
class Conv2D(Layer):
    """2-D cross-correlation, as torch.nn.Conv2d.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, dilation : int or (int, int)
    padding : int, (int, int), ((top, bottom), (left, right)), 'valid' or 'same'
    groups : int
        in_channels and out_channels must both be divisible by it.
    bias : bool
    weight_init : str
        Initialiser name (default He uniform); the bias starts at zero.
    seed : int, optional
    dtype : float32 or float64

    Shapes
    ------
    x (N, in_channels, H, W) -> y (N, out_channels, out_h, out_w) with the
    sizes of :func:`pydl.ops.conv2d`; weight (out_channels,
    in_channels/groups, kh, kw), bias (out_channels,).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 weight_init: str = "he_uniform", seed: Optional[int] = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels", "Conv2D")
        self.out_channels = check_positive_int(out_channels, "out_channels", "Conv2D")
        self.groups = check_positive_int(groups, "groups", "Conv2D")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"Conv2D: in_channels={in_channels} and out_channels={out_channels} "
                             f"must both be divisible by groups={groups}")
        if isinstance(kernel_size, (int, np.integer)) and not isinstance(kernel_size, bool):
            kh = kw = kernel_size
        else:
            try:
                kh, kw = kernel_size
            except (TypeError, ValueError):
                raise TypeError(f"Conv2D: kernel_size must be an int or a pair of ints, got "
                                f"{kernel_size!r}") from None
        kh = check_positive_int(kh, "kernel_size", "Conv2D")
        kw = check_positive_int(kw, "kernel_size", "Conv2D")
        self.kernel_size = (kh, kw)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.use_bias = bool(bias)
        self.weight_init = weight_init
        self._dtype = check_dtype(dtype, "Conv2D")
        shape = (self.out_channels, self.in_channels // self.groups, kh, kw)
        w = init.get(weight_init)(shape, *init.fans(shape), _random.generator(seed))
        self.params["weight"] = np.ascontiguousarray(w, dtype=self._dtype)
        self.grads["weight"] = np.zeros(shape, self._dtype)
        if self.use_bias:
            self.params["bias"] = np.zeros(self.out_channels, self._dtype)
            self.grads["bias"] = np.zeros(self.out_channels, self._dtype)
        # Check stride / padding / dilation now rather than at the first batch.
        conv_geometry("Conv2D", (1, self.in_channels, 1 << 20, 1 << 20), shape, stride, padding,
                      dilation, self.groups)
        self._x: Optional[np.ndarray] = None
        self._shapes: Dict[Shape, Shape] = {}

    def output_shape(self, input_shape: Shape) -> Shape:
        key = tuple(input_shape)
        if key in self._shapes:
            return self._shapes[key]
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self.name}({self.in_channels}->{self.out_channels}): expected "
                             f"per-sample input shape ({self.in_channels}, H, W), got "
                             f"{tuple(input_shape)}")
        g = conv_geometry(self.name, (1,) + tuple(input_shape), self.params["weight"].shape,
                          self.stride, self.padding, self.dilation, self.groups)
        self._shapes[key] = (self.out_channels, g["out_h"], g["out_w"])
        return self._shapes[key]

    def get_config(self) -> Dict[str, Any]:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": _jsonable(self.stride),
                "padding": _jsonable(self.padding), "dilation": _jsonable(self.dilation),
                "groups": self.groups, "bias": self.use_bias, "weight_init": self.weight_init,
                "dtype": self.dtype.name}

    def _conv_args(self):
        return self.stride, self.padding, self.dilation, self.groups

    def _checked_input(self, x: Any) -> Tuple[np.ndarray, Shape]:
        """x as this layer's input, and the shape of its output."""
        x = self._input(x, 4, f"(N, {self.in_channels}, H, W)")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{self.name}({self.in_channels}->{self.out_channels}): expected "
                             f"input of shape (N, {self.in_channels}, H, W), got {x.shape}")
        n, _, h, w = x.shape
        return x, (n,) + self.output_shape((self.in_channels, h, w))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._conv(*self._checked_input(x), training)

    def _conv(self, x: np.ndarray, y_shape: Shape, training: bool) -> np.ndarray:
        y = self._buffer("y", y_shape, x.dtype)
        ops.conv2d(x, self.params["weight"], self.params.get("bias"), *self._conv_args(), out=y)
        self._x = x if training else None
        return y

    def _forward_relu_pool(self, x: Any, training: bool, pool: Any) -> Tuple[np.ndarray, bool]:
        """This layer, a ReLU and the MaxPool2D ``pool`` as one step
        (Sequential): in one pass (pydl_sconv2d_fwd_maxpool2x2) where the
        kernels take it, this layer's output never written; else this
        layer's forward and then the pool's ReLU step.  The same numbers
        either way, bit for bit.  Returns (y, whether in one pass)."""
        x, conv_shape = self._checked_input(x)
        if self.groups == 1 and x.dtype == np.float32 and pool._uses_code(conv_shape):
            y, code = pool._coded_buffers(conv_shape)
            if _conv2d_maxpool2x2(x, self.params["weight"], self.params.get("bias"),
                                  self.stride, self.padding, self.dilation, y, code, True):
                self._x = x if training else None
                pool._coded_forward_done(conv_shape, code, training)
                return y, True
        return pool._forward_then_relu(self._conv(x, conv_shape, training), training), False

    def _backward_from_pool(self, grad_out: Any, pool: Any) -> Any:
        """The gradients of a one-pass _forward_relu_pool from the pool's
        output gradient, in one pass (pydl_sconv2d_bwd_maxpool2x2): grad_x
        (or None), or False where the kernels do not take it."""
        x = self._saved("_x")
        if self.needs_input_grad:
            geom = conv_geometry(self.name, x.shape, self.params["weight"].shape, self.stride,
                                 self.padding, self.dilation, self.groups)
            if geom["sh"] != 1 or geom["sw"] != 1:
                return False  # the lanes kernels' data gradient is for stride 1 only
        g = pool._grad(grad_out, pool._code.shape)
        gx = self._buffer("gx", x.shape, x.dtype) if self.needs_input_grad else None
        if not _conv2d_backward_maxpool2x2(g, pool._code, x, self.params["weight"], self.stride,
                                           self.padding, self.dilation,
                                           (gx, self.grads["weight"], self.grads.get("bias"))):
            return False
        return gx

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        x = self._saved("_x")
        n, _, h, w = x.shape
        g = self._grad(grad_out, (n,) + self.output_shape((self.in_channels, h, w)))
        gx = self._buffer("gx", x.shape, x.dtype) if self.needs_input_grad else None
        gb = self.grads.get("bias")
        ops.conv2d_backward(g, x, self.params["weight"], *self._conv_args(),
                            needs=(gx is not None, True, gb is not None),
                            out=(gx, self.grads["weight"], gb))
        return gx
