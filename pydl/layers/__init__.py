"""Layers: each a forward/backward pair on pydl's kernels (contract:
:mod:`pydl.layers.base`).

Dense, Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, ReLU,
LeakyReLU, Sigmoid, Tanh, Softmax, Dropout, BatchNorm1D, BatchNorm2D.
Initialisers: :mod:`pydl.layers.init`.
"""
from pydl.layers import init
from pydl.layers.activation import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from pydl.layers.base import REGISTRY, Layer, register
from pydl.layers.batchnorm import BatchNorm1D, BatchNorm2D
from pydl.layers.conv import Conv2D
from pydl.layers.dense import Dense
from pydl.layers.dropout import Dropout
from pydl.layers.pool import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from pydl.layers.reshape import Flatten

__all__ = [
    "Layer", "register", "REGISTRY", "init",
    "Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Flatten",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Dropout",
    "BatchNorm1D", "BatchNorm2D",
]
