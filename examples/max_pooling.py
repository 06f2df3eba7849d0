"""2x2 max pooling with stride 1 on the 5x5 image (the seed's fourth
example), with pydl.ops.max_pool2d.

    python examples/max_pooling.py

Each output is the maximum of a 2x2 window; with stride 1 the windows
overlap and there are 5 - 2 + 1 = 4 of them along each axis, so the result
is 4x4: p[i, j] = max(x[i:i+2, j:j+2]).  The image holds 1..25 row by row
and increases to the right and downwards, so each window's maximum is its
bottom-right pixel, x[i + 1, j + 1]:

    [[ 7.  8.  9. 10.]
     [12. 13. 14. 15.]
     [17. 18. 19. 20.]
     [22. 23. 24. 25.]]

(The more common setting for CNNs is stride 2, non-overlapping windows:
``max_pool2d(x, 2)`` gives 2x2 here.)
"""
import json

import numpy as np

from pydl.ops import max_pool2d


def main() -> np.ndarray:
    image = np.arange(1.0, 26.0).reshape(5, 5)          # rows 1-5, 6-10, ..., 21-25
    y = max_pool2d(image[None, None], kernel_size=2, stride=1)   # NCHW: (1, 1, 4, 4)
    result = y[0, 0]
    print("image:")
    print(image)
    print(f"2x2 max pooling, stride 1, shape {result.shape}:")
    print(result)
    print("result:", json.dumps(result.tolist()))
    return result


if __name__ == "__main__":
    main()
