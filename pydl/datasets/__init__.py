"""Data sets, read from local files only (nothing is ever downloaded).

- :func:`load_digits`: the UCI handwritten digits (1,797 8x8 images, 10
  classes), shipped inside pydl.
- :func:`load_idx` and :func:`save_idx`: the IDX file format of MNIST.
- :func:`load_mnist`: MNIST (or any data set in its four-file layout) from a
  directory.
- :func:`load_fashion_mnist`: Fashion-MNIST, by default from Debian's
  ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``).
"""
from pydl.datasets._digits import Bunch, load_digits
from pydl.datasets._idx import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    load_fashion_mnist,
    load_idx,
    load_mnist,
    save_idx,
)

__all__ = [
    "Bunch",
    "load_digits",
    "load_idx",
    "save_idx",
    "load_mnist",
    "load_fashion_mnist",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
]
