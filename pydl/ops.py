"""Functional ops on numpy arrays, each backed by a pydl C kernel.

Every op validates its inputs (TypeError for dtypes, ValueError for shapes and
``out``), releases the GIL while the kernel runs and gives the same result on
any number of threads.
"""
from pydl._gemm import gemm, matmul

__all__ = ["gemm", "matmul"]
