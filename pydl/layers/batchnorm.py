"""Batch normalisation over the batch (and spatial) axes, as
torch.nn.BatchNorm1d / BatchNorm2d."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from pydl import ops
from pydl.layers.base import Layer, Shape, check_dtype, check_positive_int, register


class _BatchNorm(Layer):
    _ndim = 2
    _layout = "(N, C)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features", self.name)
        if not eps > 0:
            raise ValueError(f"{self.name}: eps must be > 0, got {eps}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{self.name}: momentum must be in [0, 1], got {momentum}")
        self.eps, self.momentum, self.affine = float(eps), float(momentum), bool(affine)
        dt = check_dtype(dtype, self.name)
        self._dtype = dt
        c = self.num_features
        if self.affine:
            self.params["gamma"] = np.ones(c, dt)
            self.params["beta"] = np.zeros(c, dt)
            self.grads["gamma"] = np.zeros(c, dt)
            self.grads["beta"] = np.zeros(c, dt)
        self.state["running_mean"] = np.zeros(c, dt)
        self.state["running_var"] = np.ones(c, dt)
        self._x: Optional[np.ndarray] = None

    def get_config(self) -> Dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "dtype": self.dtype.name}

    @property
    def dtype(self) -> np.dtype:
        return self.state["running_mean"].dtype

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != self._ndim - 1 or input_shape[0] != self.num_features:
            raise ValueError(f"{self.name}({self.num_features}): expected per-sample input "
                             f"shape {self._layout.replace('N, ', '')} with C = "
                             f"{self.num_features}, got {tuple(input_shape)}")
        return tuple(input_shape)

    def _affine(self):
        if self.affine:
            return self.params["gamma"], self.params["beta"]
        c = self.num_features
        return self._buffer("ones", (c,), self.dtype), self._buffer("zeros", (c,), self.dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._input(x, self._ndim, self._layout)
        self.output_shape(x.shape[1:])
        gamma, beta = self._affine()
        if not self.affine:
            gamma.fill(1)
            beta.fill(0)
        y = self._buffer("y", x.shape, x.dtype)
        _, mean, invstd = ops.batch_norm_forward(
            x, gamma, beta, self.state["running_mean"], self.state["running_var"],
            bool(training), momentum=self.momentum, eps=self.eps, out=y)
        if training:
            self._x, self._mean, self._invstd = x, mean, invstd
        else:
            self._x = None
        return y

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        x = self._saved("_x")
        g = self._grad(grad_out, x.shape)
        gamma, _ = self._affine()
        gx = self._buffer("gx", x.shape, x.dtype)
        _, ggamma, gbeta = ops.batch_norm_backward(g, x, gamma, self._mean, self._invstd,
                                                   out=gx)
        if self.affine:
            self.grads["gamma"][...] = ggamma
            self.grads["beta"][...] = gbeta
        return gx


@register
class BatchNorm1D(_BatchNorm):
    """Batch norm of (N, C) features; statistics per feature over N.

    Parameters: num_features (C), eps, momentum (running-statistics update
    rate, PyTorch's convention), affine (learn gamma and beta), dtype.
    """

    _ndim = 2
    _layout = "(N, C)"


@register
class BatchNorm2D(_BatchNorm):
    """Batch norm of (N, C, H, W) images; statistics per channel over N, H, W.

    Parameters as :class:`BatchNorm1D`.
    """

    _ndim = 4
    _layout = "(N, C, H, W)"
