"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax.

Each keeps its forward output (or, for LeakyReLU, its input) in training
and computes the gradient from it with the matching pydl.ops kernel.
Shapes: any; the output has the input's shape.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from pydl import ops
from pydl.layers.base import Layer, register


class _Elementwise(Layer):
    """y = f(x); grad_in = f'(.) * grad_out from the saved output."""

    def _fwd(self, x: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def _bwd(self, g: np.ndarray, saved: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def _keep(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._input(x, None, "")
        y = self._buffer("y", x.shape, x.dtype)
        self._fwd(x, y)
        self._kept = self._keep(x, y) if training else None
        return y

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        saved = self._saved("_kept")
        g = self._grad(grad_out, saved.shape)
        gx = self._buffer("gx", saved.shape, saved.dtype)
        self._bwd(g, saved, gx)
        return gx


@register
class ReLU(_Elementwise):
    """y = max(x, 0)."""

    def _fwd(self, x, out):
        ops.relu(x, out=out)

    def _bwd(self, g, y, out):
        ops.relu_backward(g, y, out=out)


@register
class LeakyReLU(_Elementwise):
    """y = x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if not isinstance(negative_slope, (int, float, np.floating)) or isinstance(
                negative_slope, bool):
            raise TypeError(f"LeakyReLU: negative_slope must be a number, got "
                            f"{negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def get_config(self) -> Dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def _keep(self, x, y):
        return x

    def _fwd(self, x, out):
        ops.leaky_relu(x, self.negative_slope, out=out)

    def _bwd(self, g, x, out):
        ops.leaky_relu_backward(g, x, self.negative_slope, out=out)


@register
class Sigmoid(_Elementwise):
    """y = 1 / (1 + exp(-x))."""

    def _fwd(self, x, out):
        ops.sigmoid(x, out=out)

    def _bwd(self, g, y, out):
        ops.sigmoid_backward(g, y, out=out)


@register
class Tanh(_Elementwise):
    """y = tanh(x)."""

    def _fwd(self, x, out):
        ops.tanh(x, out=out)

    def _bwd(self, g, y, out):
        ops.tanh_backward(g, y, out=out)


@register
class Softmax(_Elementwise):
    """Softmax over the last axis.  For classification, end the model with
    the logits and use :class:`pydl.losses.CrossEntropy`, which fuses the
    softmax into the loss (stabler and faster)."""

    def _fwd(self, x, out):
        ops.softmax(x, out=out)

    def _bwd(self, g, y, out):
        ops.softmax_backward(g, y, out=out)
