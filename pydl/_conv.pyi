from typing import Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Float = Union[np.float32, np.float64]
_Array = npt.NDArray[_Float]
_IntOrPair = Union[int, Tuple[int, int]]
_Padding = Union[int, Tuple[int, int], Tuple[Tuple[int, int], Tuple[int, int]], str]

def conv2d(
    x: _Array,
    weight: _Array,
    bias: Optional[_Array] = ...,
    stride: _IntOrPair = ...,
    padding: _Padding = ...,
    dilation: _IntOrPair = ...,
    groups: int = ...,
    *,
    out: Optional[_Array] = ...,
) -> _Array: ...
def conv2d_backward(
    grad_y: _Array,
    x: _Array,
    weight: _Array,
    stride: _IntOrPair = ...,
    padding: _Padding = ...,
    dilation: _IntOrPair = ...,
    groups: int = ...,
    needs: Sequence[bool] = ...,
    *,
    out: Optional[Tuple[Optional[_Array], Optional[_Array], Optional[_Array]]] = ...,
) -> Tuple[Optional[_Array], Optional[_Array], Optional[_Array]]: ...
def _conv2d_maxpool2x2(
    x: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    bias: Optional[npt.NDArray[np.float32]],
    stride: _IntOrPair,
    padding: _Padding,
    dilation: _IntOrPair,
    y: npt.NDArray[np.float32],
    code: npt.NDArray[np.uint8],
    relu: bool,
) -> bool: ...
def _conv2d_backward_maxpool2x2(
    grad_y: npt.NDArray[np.float32],
    code: npt.NDArray[np.uint8],
    x: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    stride: _IntOrPair,
    padding: _Padding,
    dilation: _IntOrPair,
    out: Tuple[Optional[npt.NDArray[np.float32]], Optional[npt.NDArray[np.float32]],
               Optional[npt.NDArray[np.float32]]],
) -> bool: ...
