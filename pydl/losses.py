"""Loss functions: each maps (model output, target) to (mean loss, dL/doutput).

- :class:`CrossEntropy`: softmax + cross-entropy from logits (N, C) and
  integer labels (N,), fused and stable (``pydl.ops.softmax_cross_entropy``).
- :class:`MSE`: mean squared error; target of the output's shape.
- :class:`BinaryCrossEntropy`: sigmoid + binary cross-entropy from logits;
  targets in [0, 1] of the output's shape ((N,) targets fit an (N, 1) output).

The gradient is returned in a buffer the loss reuses on its next call.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple, Union

import numpy as np

from pydl import ops


class Loss:
    """Base class: ``loss(output, target) -> (value, grad)``."""

    name = "loss"

    def __init__(self) -> None:
        self._grad: Dict[Tuple, np.ndarray] = {}

    def _grad_buffer(self, output: np.ndarray) -> np.ndarray:
        key = (output.shape, output.dtype)
        buf = self._grad.get(key)
        if buf is None:
            self._grad.clear()
            buf = self._grad[key] = np.empty(output.shape, output.dtype)
        return buf

    def __call__(self, output: np.ndarray, target: np.ndarray) -> Tuple[float, np.ndarray]:
        raise NotImplementedError

    def check_target(self, target: np.ndarray, output_shape: Tuple[int, ...]) -> np.ndarray:
        """Validate a whole target array once (before training); returns it
        in the form ``__call__`` expects."""
        return target

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropy(Loss):
    """Mean cross-entropy of softmax(logits) against integer class labels.

    output (N, C) logits; target (N,) integers in [0, C).  Gradient
    (softmax(logits) - onehot(target)) / N.
    """

    name = "cross_entropy"

    def check_target(self, target, output_shape):
        y = np.asarray(target)
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise ValueError(f"CrossEntropy: expected integer class labels of shape (N,), got "
                             f"an array of shape {y.shape} and dtype {y.dtype}; convert one-hot "
                             f"targets with y.argmax(axis=1)")
        if len(output_shape) != 1:
            raise ValueError(f"CrossEntropy: the model must output (N, C) logits, but its "
                             f"per-sample output shape is {tuple(output_shape)}")
        c = output_shape[0]
        if y.size and (y.min() < 0 or y.max() >= c):
            bad = y[(y < 0) | (y >= c)][0]
            raise ValueError(f"CrossEntropy: label {bad} is out of range for a model with {c} "
                             f"outputs; labels must lie in [0, {c})")
        return y

    def __call__(self, output, target):
        return ops.softmax_cross_entropy(output, target, grad_out=self._grad_buffer(output))


def _like_output(target: Any, output: np.ndarray) -> np.ndarray:
    """target in output's dtype; (N,) targets of an (N, 1) output become
    (N, 1).  Other shapes must match (the loss kernel checks)."""
    t = np.asarray(target)
    if t.ndim == 1 and output.shape == (t.size, 1):
        t = t.reshape(output.shape)
    return t if t.dtype == output.dtype else t.astype(output.dtype)


class MSE(Loss):
    """Mean over all elements of (output - target)^2."""

    name = "mse"

    def check_target(self, target, output_shape):
        y = np.asarray(target)
        if y.shape[1:] != tuple(output_shape):
            if y.ndim == 1 and tuple(output_shape) == (1,):
                return y.reshape(-1, 1)
            raise ValueError(f"{type(self).__name__}: targets have per-sample shape {y.shape[1:]} "
                             f"but the model outputs {tuple(output_shape)}")
        return y

    def __call__(self, output, target):
        return ops.mse_loss(output, _like_output(target, output),
                            grad_out=self._grad_buffer(output))


class BinaryCrossEntropy(Loss):
    """Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1]."""

    name = "binary_cross_entropy"

    def check_target(self, target, output_shape):
        y = MSE.check_target(self, target, output_shape)
        if y.size and (np.min(y) < 0 or np.max(y) > 1):
            raise ValueError("BinaryCrossEntropy: targets must lie in [0, 1]")
        return y

    def __call__(self, output, target):
        return ops.binary_cross_entropy_with_logits(output, _like_output(target, output),
                                                    grad_out=self._grad_buffer(output))


_BY_NAME = {"cross_entropy": CrossEntropy, "crossentropy": CrossEntropy, "ce": CrossEntropy,
            "mse": MSE, "binary_cross_entropy": BinaryCrossEntropy, "bce": BinaryCrossEntropy}


def get(loss: Union[str, Loss]) -> Loss:
    """A Loss object from an instance or a name ('cross_entropy', 'mse',
    'binary_cross_entropy')."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss.lower() in _BY_NAME:
        return _BY_NAME[loss.lower()]()
    raise ValueError(f"unknown loss {loss!r}; pass a pydl.losses.Loss or one of "
                     f"'cross_entropy', 'mse', 'binary_cross_entropy'")
