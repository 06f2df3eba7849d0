"""Functional ops on numpy arrays, each backed by a pydl C kernel.

Every op validates its inputs (TypeError for dtypes, ValueError for shapes,
sizes and ``out``), releases the GIL while the kernel runs and gives the same
result on any number of threads.

- GEMM: :func:`gemm`, :func:`matmul`.
- Convolution (NCHW): :func:`conv2d`, :func:`conv2d_backward`.
- Pooling (NCHW): :func:`max_pool2d`, :func:`max_pool2d_backward`,
  :func:`avg_pool2d`, :func:`avg_pool2d_backward`, :func:`global_avg_pool2d`,
  :func:`global_max_pool2d`.
- Activations (any shape; backward from the output, leaky ReLU from the
  input): :func:`relu`, :func:`relu_backward`, :func:`leaky_relu`,
  :func:`leaky_relu_backward`, :func:`sigmoid`, :func:`sigmoid_backward`,
  :func:`tanh`, :func:`tanh_backward`.
- Softmax over the last axis: :func:`softmax`, :func:`softmax_backward`,
  :func:`log_softmax`, :func:`log_softmax_backward`.
- Losses, mean-reduced, each returning ``(loss, grad)``:
  :func:`softmax_cross_entropy`, :func:`mse_loss`,
  :func:`binary_cross_entropy_with_logits`.
- Bias over axis 1: :func:`bias_add`, :func:`bias_grad`.
- Dropout (counter-based random stream): :func:`dropout`, :func:`dropout_backward`.
- Batch normalisation (N, C) / (N, C, H, W): :func:`batch_norm_forward`,
  :func:`batch_norm_backward`.
- Optimizer steps in place, PyTorch's algorithms: :func:`sgd_update`,
  :func:`adam_update` (and AdamW), :func:`rmsprop_update`.
"""
from pydl._conv import conv2d, conv2d_backward
from pydl._gemm import gemm, matmul
from pydl._nn import (
    adam_update,
    batch_norm_backward,
    batch_norm_forward,
    bias_add,
    bias_grad,
    binary_cross_entropy_with_logits,
    dropout,
    dropout_backward,
    leaky_relu,
    leaky_relu_backward,
    log_softmax,
    log_softmax_backward,
    mse_loss,
    relu,
    relu_backward,
    rmsprop_update,
    sgd_update,
    sigmoid,
    sigmoid_backward,
    softmax,
    softmax_backward,
    softmax_cross_entropy,
    tanh,
    tanh_backward,
)
from pydl._pool import (
    avg_pool2d,
    avg_pool2d_backward,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
    max_pool2d_backward,
)

__all__ = [
    "gemm",
    "matmul",
    "conv2d",
    "conv2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "global_avg_pool2d",
    "global_max_pool2d",
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "softmax_cross_entropy",
    "mse_loss",
    "binary_cross_entropy_with_logits",
    "bias_add",
    "bias_grad",
    "dropout",
    "dropout_backward",
    "batch_norm_forward",
    "batch_norm_backward",
    "sgd_update",
    "adam_update",
    "rmsprop_update",
]
