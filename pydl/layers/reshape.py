"""Flatten: (N, *dims) -> (N, prod(dims)), a view with no copy."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from pydl.layers.base import Layer, Shape, register


@register
class Flatten(Layer):
    """Flatten all axes but the first: x (N, d1, d2, ...) -> y (N, d1*d2*...)."""

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._input(x, None, "")
        if x.ndim < 1:
            raise ValueError(f"{self.name}: expected an input of shape (N, ...), got a scalar")
        self._x_shape = x.shape if training else None
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        shape = self._saved("_x_shape")
        g = self._grad(grad_out, (shape[0], math.prod(shape[1:])))
        return g.reshape(shape)
