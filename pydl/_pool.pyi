from typing import Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Float = Union[np.float32, np.float64]
_Array = npt.NDArray[_Float]
_IntOrPair = Union[int, Tuple[int, int]]
_Padding = Union[int, Tuple[int, int], Tuple[Tuple[int, int], Tuple[int, int]]]

def max_pool2d(
    x: _Array,
    kernel_size: _IntOrPair,
    stride: Optional[_IntOrPair] = ...,
    padding: _Padding = ...,
    dilation: _IntOrPair = ...,
    ceil_mode: bool = ...,
    return_indices: bool = ...,
    *,
    out: Optional[_Array] = ...,
    indices_out: Optional[npt.NDArray[np.int64]] = ...,
) -> Union[_Array, Tuple[_Array, npt.NDArray[np.int64]]]: ...
def max_pool2d_backward(
    grad_y: _Array,
    indices: npt.NDArray[np.integer],
    input_shape: Sequence[int],
    *,
    out: Optional[_Array] = ...,
) -> _Array: ...
def avg_pool2d(
    x: _Array,
    kernel_size: _IntOrPair,
    stride: Optional[_IntOrPair] = ...,
    padding: _Padding = ...,
    dilation: _IntOrPair = ...,
    ceil_mode: bool = ...,
    count_include_pad: bool = ...,
    *,
    out: Optional[_Array] = ...,
) -> _Array: ...
def avg_pool2d_backward(
    grad_y: _Array,
    input_shape: Sequence[int],
    kernel_size: _IntOrPair,
    stride: Optional[_IntOrPair] = ...,
    padding: _Padding = ...,
    dilation: _IntOrPair = ...,
    ceil_mode: bool = ...,
    count_include_pad: bool = ...,
    *,
    out: Optional[_Array] = ...,
) -> _Array: ...
def global_avg_pool2d(x: _Array) -> _Array: ...
def global_max_pool2d(x: _Array) -> _Array: ...
def _max_pool2x2(x: _Array, y: _Array, code: npt.NDArray[np.uint8], relu: bool) -> _Array: ...
def _max_pool2x2_backward(
    grad_y: _Array, code: npt.NDArray[np.uint8], grad_x: _Array
) -> _Array: ...
