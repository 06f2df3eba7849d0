"""Pooling layers (NCHW): MaxPool2D, AvgPool2D, GlobalAvgPool2D."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from pydl import ops
from pydl._pool import _max_pool2x2, _max_pool2x2_backward
from pydl._windows import pool_geometry
from pydl.layers.base import Layer, Shape, register


def _jsonable(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_jsonable(u) for u in v]
    return int(v) if isinstance(v, np.integer) else v


class _Pool2D(Layer):
    def __init__(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, bool(ceil_mode)
        # Check the window parameters now (on a large plane).
        self._window = pool_geometry(self.name, (1, 1, 1 << 20, 1 << 20), kernel_size, stride,
                                     padding, dilation, ceil_mode)
        self._shapes: Dict[Shape, Shape] = {}
        self._x_shape: Optional[Shape] = None

    def _window_args(self):
        return self.kernel_size, self.stride, self.padding

    def output_shape(self, input_shape: Shape) -> Shape:
        key = tuple(input_shape)
        if key not in self._shapes:
            if len(key) != 3:
                raise ValueError(f"{self.name}: expected per-sample input shape (C, H, W), got "
                                 f"{key}")
            g = pool_geometry(self.name, (1,) + key, self.kernel_size, self.stride,
                              self.padding, self.dilation, self.ceil_mode)
            self._shapes[key] = (key[0], g["out_h"], g["out_w"])
        return self._shapes[key]

    def get_config(self) -> Dict[str, Any]:
        return {"kernel_size": _jsonable(self.kernel_size), "stride": _jsonable(self.stride),
                "padding": _jsonable(self.padding), "dilation": _jsonable(self.dilation),
                "ceil_mode": self.ceil_mode}

    def _out(self, x: np.ndarray) -> np.ndarray:
        return self._buffer("y", (x.shape[0],) + self.output_shape(x.shape[1:]), x.dtype)


@register
class MaxPool2D(_Pool2D):
    """Max pooling, as torch.nn.MaxPool2d (see :func:`pydl.ops.max_pool2d`).

    Shapes: x (N, C, H, W) -> y (N, C, out_h, out_w).  In training the layer
    keeps the argmax indices (in a reused buffer) for ``backward``.
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        g = self._window
        # 2x2 windows at stride 2 without padding tile the input: then the
        # layer keeps a one-byte in-window code per output (pydl.h,
        # pydl_smaxpool2x2_fwd) instead of int64 indices, and runs a ReLU
        # before it (Sequential's fused step) in the same pass.  ceil_mode
        # only changes odd sizes: those take the general path.
        self._tiles2x2 = (g["kh"] == g["kw"] == g["sh"] == g["sw"] == 2
                          and g["dh"] == g["dw"] == 1
                          and g["pt"] == g["pb"] == g["pl"] == g["pr"] == 0)
        self._code: Optional[np.ndarray] = None
        self._idx: Optional[np.ndarray] = None

    def _uses_code(self, x_shape: Shape) -> bool:
        """Whether an input of x_shape takes the one-byte-code path."""
        return self._tiles2x2 and not (self.ceil_mode and (x_shape[2] % 2 or x_shape[3] % 2))

    def _coded_buffers(self, x_shape: Shape):
        """The reused float32 output and code buffers for an input of x_shape."""
        shape = (x_shape[0],) + self.output_shape(x_shape[1:])
        return self._buffer("y", shape, np.float32), self._buffer("code", shape, np.uint8)

    def _coded_forward_done(self, x_shape: Shape, code: np.ndarray, training: bool) -> None:
        """Record a forward pass made elsewhere (Conv2D._forward_relu_pool)
        for backward, as _pool records its own."""
        self._idx = self._relu_y = None
        self._x_shape, self._code = (tuple(x_shape), code) if training else (None, None)
        self._io_dtype = np.dtype(np.float32)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._pool(x, training, relu=False)

    def _forward_then_relu(self, x: Any, training: bool = False) -> np.ndarray:
        return self._pool(x, training, relu=True)

    def _pool(self, x: Any, training: bool, relu: bool) -> np.ndarray:
        x = self._input(x, 4, "(N, C, H, W)")
        y = self._out(x)
        self._x_shape = self._code = self._idx = self._relu_y = None
        if self._uses_code(x.shape):
            code = self._buffer("code", y.shape, np.uint8)
            _max_pool2x2(x, y, code, relu)
            if training:
                self._x_shape, self._code = x.shape, code
            return y
        args = (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        if training:
            idx = self._buffer("idx", y.shape, np.int64)
            ops.max_pool2d(x, *args, return_indices=True, out=y, indices_out=idx)
            self._x_shape, self._idx = x.shape, idx
        else:
            ops.max_pool2d(x, *args, out=y)
        if relu:
            ops.relu(y, out=y)
            self._relu_y = y if training else None
        return y

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        shape = self._saved("_x_shape")
        if self._code is not None:
            g = self._grad(grad_out, self._code.shape)
            gx = self._buffer("gx", shape, g.dtype)
            return _max_pool2x2_backward(g, self._code, gx)
        if self._relu_y is not None:
            g = self._grad(grad_out, self._relu_y.shape)
            masked = self._buffer("grad_relu", g.shape, g.dtype)
            grad_out = ops.relu_backward(g, self._relu_y, out=masked)
        g = self._grad(grad_out, self._idx.shape)
        gx = self._buffer("gx", shape, g.dtype)
        return ops.max_pool2d_backward(g, self._idx, shape, out=gx)

    def _backward_then_relu(self, grad_out: Any) -> Optional[np.ndarray]:
        # the ReLU's mask is in the code (or applied in backward)
        return self.backward(grad_out)


@register
class AvgPool2D(_Pool2D):
    """Average pooling, as torch.nn.AvgPool2d (see :func:`pydl.ops.avg_pool2d`).

    Shapes: x (N, C, H, W) -> y (N, C, out_h, out_w).
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def get_config(self) -> Dict[str, Any]:
        cfg = super().get_config()
        del cfg["dilation"]
        cfg["count_include_pad"] = self.count_include_pad
        return cfg

    def _args(self):
        return (self.kernel_size, self.stride, self.padding, 1, self.ceil_mode,
                self.count_include_pad)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._input(x, 4, "(N, C, H, W)")
        y = self._out(x)
        ops.avg_pool2d(x, *self._args(), out=y)
        self._x_shape = x.shape if training else None
        return y

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        shape = self._saved("_x_shape")
        g = self._grad(grad_out, (shape[0],) + self.output_shape(shape[1:]))
        gx = self._buffer("gx", shape, g.dtype)
        return ops.avg_pool2d_backward(g, shape, *self._args(), out=gx)


@register
class GlobalAvgPool2D(Layer):
    """Mean over each H x W plane: x (N, C, H, W) -> y (N, C).

    The output drops the two unit axes (as Keras' GlobalAveragePooling2D),
    so a Dense layer can follow directly.
    """

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: expected per-sample input shape (C, H, W), got "
                             f"{tuple(input_shape)}")
        return (input_shape[0],)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._input(x, 4, "(N, C, H, W)")
        self._x_shape = x.shape if training else None
        return ops.global_avg_pool2d(x).reshape(x.shape[:2])

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        shape = self._saved("_x_shape")
        g = self._grad(grad_out, shape[:2])
        gx = self._buffer("gx", shape, g.dtype)
        np.multiply(g[:, :, None, None], 1.0 / (shape[2] * shape[3]), out=gx)
        return gx
