"""Dropout: zero each element with probability p in training and scale the
survivors by 1 / (1 - p) (inverted dropout, as torch.nn.Dropout); the
identity in inference."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from pydl import _random, ops
from pydl.layers.base import Layer, register


@register
class Dropout(Layer):
    """Inverted dropout.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of zeroing an element.
    seed : int, optional
        Seed of this layer's masks; default: pydl's stream, so
        :func:`pydl.seed` makes the masks repeatable.  Each training step
        draws a fresh mask; the mask generator is counter-based, so it does
        not depend on the thread count.

    Shapes: any; y has x's shape.
    """

    def __init__(self, p: float = 0.5, seed: Optional[int] = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)):
            raise TypeError(f"Dropout: p must be a float in [0, 1), got {p!r}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)
        self._rng = np.random.default_rng(_random.draw_seed(_random.generator(seed)))
        self._mask: Optional[np.ndarray] = None
        self._x_shape: Optional[tuple] = None

    def get_config(self) -> Dict[str, Any]:
        return {"p": self.p}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._input(x, None, "")
        self._mask = None
        self._x_shape = x.shape if training else None
        if not training or self.p == 0.0:
            return x
        y = self._buffer("y", x.shape, x.dtype)
        mask = self._buffer("mask", x.shape, np.uint8)
        ops.dropout(x, self.p, _random.draw_seed(self._rng), out=y, mask_out=mask)
        self._mask = mask
        return y

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        shape = self._saved("_x_shape")
        if self._mask is None:  # p == 0: the identity
            return self._grad(grad_out, shape)
        g = self._grad(grad_out, shape)
        gx = self._buffer("gx", g.shape, g.dtype)
        return ops.dropout_backward(g, self._mask, self.p, out=gx)
