"""A 5x5 image convolved with the 1x3 filter [1, 2, 1] (the seed's third
example), with pydl.ops.conv2d.

    python examples/convolution_5x5.py

Deep-learning "convolution" is cross-correlation without flipping the
filter: y[i, j] = sum_{u, v} w[u, v] * x[i + u, j + v], over the positions
where the filter fits entirely inside the image ("valid").  A 1x3 filter on
a 5x5 image fits at 5 rows x 3 columns, so the result is 5x3.

(The seed's version sized its output from the filter's *height* only --
5 - 1 + 1 = 5 columns as well as rows -- so its slices ran past the right
edge and it failed with a broadcasting error.)

The image holds 1..25 row by row, so each row is a, a+1, ..., a+4 and the
output is x[i, j] + 2 x[i, j+1] + x[i, j+2] = 4 x[i, j+1]:

    [[ 8. 12. 16.]
     [28. 32. 36.]
     [48. 52. 56.]
     [68. 72. 76.]
     [88. 92. 96.]]
"""
import json

import numpy as np

from pydl.ops import conv2d


def main() -> np.ndarray:
    image = np.arange(1.0, 26.0).reshape(5, 5)          # rows 1-5, 6-10, ..., 21-25
    kernel = np.array([[1.0, 2.0, 1.0]])                 # 1x3
    # conv2d works on NCHW batches: x (N=1, C=1, 5, 5), weight (out=1, in=1, 1, 3).
    y = conv2d(image[None, None], kernel[None, None])    # padding=0: "valid"
    result = y[0, 0]
    print("image:")
    print(image)
    print("filter:", kernel)
    print(f"valid cross-correlation, shape {result.shape}:")
    print(result)
    print("result:", json.dumps(result.tolist()))
    return result


if __name__ == "__main__":
    main()
