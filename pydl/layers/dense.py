"""Dense (fully connected) layer: y = x @ W.T + b."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from pydl import _random, ops
from pydl.layers import init
from pydl.layers.base import Layer, Shape, check_dtype, check_positive_int, register


@register
class Dense(Layer):
    """Fully connected layer, as torch.nn.Linear.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learn an additive bias (initialised to zero).
    weight_init : str
        An initialiser name from :mod:`pydl.layers.init` (default He uniform).
    seed : int, optional
        Seed of the initialiser; default: pydl's stream (:func:`pydl.seed`).
    dtype : float32 or float64

    Shapes
    ------
    x (N, in_features) -> y (N, out_features); weight (out_features,
    in_features), bias (out_features,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 weight_init: str = "he_uniform", seed: Optional[int] = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features", "Dense")
        self.out_features = check_positive_int(out_features, "out_features", "Dense")
        self.use_bias = bool(bias)
        self.weight_init = weight_init
        self._dtype = check_dtype(dtype, "Dense")
        shape = (self.out_features, self.in_features)
        w = init.get(weight_init)(shape, *init.fans(shape), _random.generator(seed))
        self.params["weight"] = np.ascontiguousarray(w, dtype=self._dtype)
        self.grads["weight"] = np.zeros(shape, self._dtype)
        if self.use_bias:
            self.params["bias"] = np.zeros(self.out_features, self._dtype)
            self.grads["bias"] = np.zeros(self.out_features, self._dtype)
        self._x: Optional[np.ndarray] = None

    def output_shape(self, input_shape: Shape) -> Shape:
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(f"{self.name}({self.in_features}->{self.out_features}): expected "
                             f"per-sample input shape ({self.in_features},), got "
                             f"{tuple(input_shape)}")
        return (self.out_features,)

    def get_config(self) -> Dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.use_bias, "weight_init": self.weight_init,
                "dtype": self.dtype.name}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._input(x, 2, f"(N, {self.in_features})")
        if x.shape[1] != self.in_features:
            raise ValueError(f"{self.name}({self.in_features}->{self.out_features}): expected "
                             f"input of shape (N, {self.in_features}), got {x.shape}")
        y = self._buffer("y", (x.shape[0], self.out_features), x.dtype)
        ops.gemm(x, self.params["weight"], trans_b=True, out=y)
        if self.use_bias:
            # added after the product, in place: a GEMM with beta = 1 would
            # first fill y with the broadcast bias and then read it back
            ops.bias_add(y, self.params["bias"], out=y)
        self._x = x if training else None
        return y

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        x = self._saved("_x")
        g = self._grad(grad_out, (x.shape[0], self.out_features))
        ops.gemm(g, x, trans_a=True, out=self.grads["weight"])
        if self.use_bias:
            ops.bias_grad(g, out=self.grads["bias"])
        if not self.needs_input_grad:
            return None
        gx = self._buffer("gx", x.shape, x.dtype)
        return ops.gemm(g, self.params["weight"], out=gx)
