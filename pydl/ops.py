"""Functional ops on numpy arrays, each backed by a pydl C kernel.

Every op validates its inputs (TypeError for dtypes, ValueError for shapes,
sizes and ``out``), releases the GIL while the kernel runs and gives the same
result on any number of threads.

- GEMM: :func:`gemm`, :func:`matmul`.
- Convolution (NCHW): :func:`conv2d`, :func:`conv2d_backward`.
- Pooling (NCHW): :func:`max_pool2d`, :func:`max_pool2d_backward`,
  :func:`avg_pool2d`, :func:`avg_pool2d_backward`, :func:`global_avg_pool2d`,
  :func:`global_max_pool2d`.
"""
from pydl._conv import conv2d, conv2d_backward
from pydl._gemm import gemm, matmul
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
]
