"""The Layer contract, shared by every layer in pydl.layers.

A layer maps a batch ``x`` of shape (N, *input_shape) to ``y`` of shape
(N, *output_shape):

- ``forward(x, training=False) -> y`` computes the output and, when
  ``training`` is true, keeps what ``backward`` needs (usually x or y).
- ``backward(grad_out) -> grad_in`` takes dL/dy, fills ``grads`` (one array
  per entry of ``params``, same shape) and returns dL/dx.  A layer whose
  ``needs_input_grad`` is False (the first layer of a model) may return None.
- ``params`` holds the trainable arrays by name, ``state`` the other arrays
  that are saved with the model (batch-norm running statistics).
- ``output_shape(input_shape)`` checks a per-sample input shape and returns
  the per-sample output shape; models call it to check a network before it
  runs and for ``summary()``.
- ``get_config()`` returns the constructor arguments, JSON-serialisable, so
  that ``type(layer)(**layer.get_config())`` rebuilds the layer.

Arrays returned by ``forward`` and ``backward`` may be buffers the layer
reuses on its next call with the same shapes (no page faults per step) or
views of the layer's input (Flatten, Dropout in inference); copy one to
keep it.  A layer object may appear only once in a model.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from pydl import ops

Shape = Tuple[int, ...]

#: Layer classes by name; model files may only name these.
REGISTRY: Dict[str, type] = {}

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def register(cls: type) -> type:
    """Class decorator: make a layer loadable from a model file."""
    REGISTRY[cls.__name__] = cls
    return cls


def check_dtype(dtype: Any, owner: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{owner}: dtype must be float32 or float64, got {dt}")
    return dt


def check_positive_int(value: Any, name: str, owner: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value}")
    return int(value)


class Layer:
    """Base class; see the module docstring for the contract."""

    def __init__(self) -> None:
        self.params: Dict[str, np.ndarray] = {}
        self.grads: Dict[str, np.ndarray] = {}
        self.state: Dict[str, np.ndarray] = {}
        self.needs_input_grad = True
        self.name = type(self).__name__
        self._buffers: Dict[str, np.ndarray] = {}

    # -- to be provided by each layer ------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> Optional[np.ndarray]:
        raise NotImplementedError

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def get_config(self) -> Dict[str, Any]:
        return {}

    # -- shared machinery ------------------------------------------------
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    @property
    def dtype(self) -> np.dtype:
        for p in self.params.values():
            return p.dtype
        return np.dtype(getattr(self, "_dtype", np.float32))

    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def astype(self, dtype: Any) -> "Layer":
        """Convert parameters, gradients and state to ``dtype`` in place."""
        dt = check_dtype(dtype, self.name)
        self._dtype = dt
        for d in (self.params, self.grads, self.state):
            for k in d:
                d[k] = np.ascontiguousarray(d[k], dtype=dt)
        self._buffers.clear()
        return self

    def _buffer(self, key: str, shape: Shape, dtype: Any) -> np.ndarray:
        """A reused C-contiguous array of that shape and dtype."""
        buf = self._buffers.get(key)
        if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
            buf = np.empty(shape, dtype=dtype)
            self._buffers[key] = buf
        return buf

    def _input(self, x: Any, ndim: Optional[int], what: str) -> np.ndarray:
        """x as a C-contiguous array of this layer's dtype, with its ndim checked."""
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"{self.name}: expected input of shape {what}, got an array of "
                             f"shape {x.shape}")
        dt = self.dtype
        if not self.params and not self.state and x.dtype in _FLOAT_DTYPES:
            dt = x.dtype  # a layer without arrays computes in its input's float dtype
        self._io_dtype = dt
        if x.dtype != dt or not x.flags.c_contiguous:
            if x.dtype.kind not in "fiub":
                raise TypeError(f"{self.name}: expected a numeric array, got dtype {x.dtype}")
            x = np.ascontiguousarray(x, dtype=dt)
        return x

    def _grad(self, g: Any, shape: Shape) -> np.ndarray:
        g = np.asarray(g)
        if g.shape != tuple(shape):
            raise ValueError(f"{self.name}: grad_out has shape {g.shape}, expected {tuple(shape)} "
                             f"(the shape of this layer's last forward output)")
        dt = self.dtype if (self.params or self.state) else getattr(self, "_io_dtype", self.dtype)
        if g.dtype != dt or not g.flags.c_contiguous:
            g = np.ascontiguousarray(g, dtype=dt)
        return g

    # Sequential runs some layers and a ReLU as one step with these two
    # (model._steps): the ReLU in place on this layer's output.  Only for
    # layers whose backward does not read their own output.
    def _forward_then_relu(self, x: Any, training: bool = False) -> np.ndarray:
        y = self.forward(x, training)
        ops.relu(y, out=y)
        self._relu_y = y if training else None
        return y

    def _backward_then_relu(self, grad_out: Any) -> Optional[np.ndarray]:
        y = self._saved("_relu_y")
        g = self._grad(grad_out, y.shape)
        masked = self._buffer("grad_relu", y.shape, y.dtype)
        ops.relu_backward(g, y, out=masked)
        return self.backward(masked)

    def _saved(self, attr: str) -> Any:
        v = getattr(self, attr, None)
        if v is None:
            raise RuntimeError(f"{self.name}: backward called before forward(x, training=True)")
        return v
