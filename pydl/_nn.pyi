# Type stubs for pydl/_nn.pyx (re-exported from pydl.ops).  Keep in sync with
# the .pyx.  Float arrays share one dtype, float32 or float64.
from typing import Any, Optional, Tuple, TypeVar, Union

import numpy as np
from numpy.typing import NDArray

_Float = TypeVar("_Float", np.float32, np.float64)
# A real number (bool is rejected at run time).
_Real = Union[float, int, np.integer[Any], np.floating[Any]]
_Int = Union[int, np.integer[Any]]

def relu(x: NDArray[_Float], out: Optional[NDArray[_Float]] = None) -> NDArray[_Float]: ...
def relu_backward(
    grad_y: NDArray[_Float], y: NDArray[_Float], out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def leaky_relu(
    x: NDArray[_Float], negative_slope: _Real = 0.01, out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def leaky_relu_backward(
    grad_y: NDArray[_Float],
    x: NDArray[_Float],
    negative_slope: _Real = 0.01,
    out: Optional[NDArray[_Float]] = None,
) -> NDArray[_Float]: ...
def sigmoid(x: NDArray[_Float], out: Optional[NDArray[_Float]] = None) -> NDArray[_Float]: ...
def sigmoid_backward(
    grad_y: NDArray[_Float], y: NDArray[_Float], out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def tanh(x: NDArray[_Float], out: Optional[NDArray[_Float]] = None) -> NDArray[_Float]: ...
def tanh_backward(
    grad_y: NDArray[_Float], y: NDArray[_Float], out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def softmax(x: NDArray[_Float], out: Optional[NDArray[_Float]] = None) -> NDArray[_Float]: ...
def log_softmax(x: NDArray[_Float], out: Optional[NDArray[_Float]] = None) -> NDArray[_Float]: ...
def softmax_backward(
    grad_y: NDArray[_Float], y: NDArray[_Float], out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def log_softmax_backward(
    grad_y: NDArray[_Float], y: NDArray[_Float], out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def softmax_cross_entropy(
    logits: NDArray[_Float],
    labels: NDArray[np.integer[Any]],
    grad_out: Optional[NDArray[_Float]] = None,
) -> Tuple[float, NDArray[_Float]]: ...
def mse_loss(
    pred: NDArray[_Float], target: NDArray[_Float], grad_out: Optional[NDArray[_Float]] = None
) -> Tuple[float, NDArray[_Float]]: ...
def binary_cross_entropy_with_logits(
    logits: NDArray[_Float],
    targets: NDArray[_Float],
    grad_out: Optional[NDArray[_Float]] = None,
) -> Tuple[float, NDArray[_Float]]: ...
def bias_add(
    x: NDArray[_Float], bias: NDArray[_Float], out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def bias_grad(
    grad_y: NDArray[_Float], out: Optional[NDArray[_Float]] = None
) -> NDArray[_Float]: ...
def dropout(
    x: NDArray[_Float],
    p: _Real,
    seed: _Int,
    out: Optional[NDArray[_Float]] = None,
    mask_out: Optional[NDArray[np.uint8]] = None,
) -> Tuple[NDArray[_Float], NDArray[np.uint8]]: ...
def dropout_backward(
    grad_y: NDArray[_Float],
    mask: Union[NDArray[np.uint8], NDArray[np.bool_]],
    p: _Real,
    out: Optional[NDArray[_Float]] = None,
) -> NDArray[_Float]: ...
def batch_norm_forward(
    x: NDArray[_Float],
    gamma: Optional[NDArray[_Float]],
    beta: Optional[NDArray[_Float]],
    running_mean: Optional[NDArray[_Float]],
    running_var: Optional[NDArray[_Float]],
    training: bool,
    momentum: _Real = 0.1,
    eps: _Real = 1e-5,
    out: Optional[NDArray[_Float]] = None,
) -> Tuple[NDArray[_Float], NDArray[_Float], NDArray[_Float]]: ...
def batch_norm_backward(
    grad_y: NDArray[_Float],
    x: NDArray[_Float],
    gamma: Optional[NDArray[_Float]],
    save_mean: NDArray[_Float],
    save_invstd: NDArray[_Float],
    out: Optional[NDArray[_Float]] = None,
) -> Tuple[NDArray[_Float], NDArray[_Float], NDArray[_Float]]: ...
def sgd_update(
    param: NDArray[_Float],
    grad: NDArray[_Float],
    velocity: Optional[NDArray[_Float]],
    lr: _Real,
    momentum: _Real = 0.0,
    dampening: _Real = 0.0,
    nesterov: bool = False,
    weight_decay: _Real = 0.0,
    first_step: bool = False,
) -> None: ...
def adam_update(
    param: NDArray[_Float],
    grad: NDArray[_Float],
    exp_avg: NDArray[_Float],
    exp_avg_sq: NDArray[_Float],
    step: _Int,
    lr: _Real = 1e-3,
    beta1: _Real = 0.9,
    beta2: _Real = 0.999,
    eps: _Real = 1e-8,
    weight_decay: _Real = 0.0,
    decoupled_weight_decay: bool = False,
) -> None: ...
def rmsprop_update(
    param: NDArray[_Float],
    grad: NDArray[_Float],
    square_avg: NDArray[_Float],
    lr: _Real = 1e-2,
    alpha: _Real = 0.99,
    eps: _Real = 1e-8,
    weight_decay: _Real = 0.0,
    momentum: _Real = 0.0,
    momentum_buffer: Optional[NDArray[_Float]] = None,
) -> None: ...
def _gather_rows(x: np.ndarray, index: NDArray[np.int64], out: np.ndarray) -> np.ndarray: ...
