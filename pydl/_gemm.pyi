# Type stubs for pydl/_gemm.pyx (re-exported as pydl.ops.gemm / pydl.ops.matmul).
# Keep in sync with the .pyx.  One signature per function: the operands and the
# result share one float dtype, float32 or float64.
from typing import Any, Optional, TypeVar, Union

import numpy as np
from numpy.typing import NDArray

_Float = TypeVar("_Float", np.float32, np.float64)
# alpha / beta: a real number (bool is rejected at run time).
_Real = Union[float, np.integer[Any], np.floating[Any]]

def gemm(
    a: NDArray[_Float],
    b: NDArray[_Float],
    c: Optional[NDArray[_Float]] = None,
    *,
    alpha: _Real = 1.0,
    beta: _Real = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
    out: Optional[NDArray[_Float]] = None,
) -> NDArray[_Float]: ...
def matmul(
    a: NDArray[_Float],
    b: NDArray[_Float],
    out: Optional[NDArray[_Float]] = None,
) -> NDArray[_Float]: ...
