"""Weight initialisers: He (Kaiming) and Glorot (Xavier), uniform and normal,
and zeros.

Each takes the weight shape and its fans and returns a float64 array that
the layer casts to its dtype.  For a Dense weight (out, in), fan_in = in and
fan_out = out; for a Conv2D weight (K, C/groups, R, S), fan_in = C/groups*R*S
and fan_out = K*R*S (PyTorch's convention).
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np


def he_uniform(shape, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-b, b) with b = sqrt(6 / fan_in): variance 2 / fan_in (for ReLU)."""
    bound = np.sqrt(6.0 / max(fan_in, 1))
    return rng.uniform(-bound, bound, size=shape)


def he_normal(shape, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / fan_in)."""
    return rng.normal(0.0, np.sqrt(2.0 / max(fan_in, 1)), size=shape)


def glorot_uniform(shape, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-b, b) with b = sqrt(6 / (fan_in + fan_out))."""
    bound = np.sqrt(6.0 / max(fan_in + fan_out, 1))
    return rng.uniform(-bound, bound, size=shape)


def glorot_normal(shape, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, np.sqrt(2.0 / max(fan_in + fan_out, 1)), size=shape)


def zeros(shape, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """All zeros."""
    return np.zeros(shape)


INITIALIZERS: Dict[str, Callable[..., np.ndarray]] = {
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "zeros": zeros,
}


def get(name: str) -> Callable[..., np.ndarray]:
    """The initialiser called ``name`` (a key of INITIALIZERS)."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown initialiser {name!r}; expected one of "
                         f"{sorted(INITIALIZERS)}") from None


def fans(shape: Tuple[int, ...]) -> Tuple[int, int]:
    """(fan_in, fan_out) of a Dense (out, in) or Conv2D (K, C/g, R, S) weight."""
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return int(shape[1]) * receptive, int(shape[0]) * receptive
