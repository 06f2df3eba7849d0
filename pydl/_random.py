"""The process-wide random stream behind :func:`pydl.seed`.

Initialisers, shuffling and dropout draw from one numpy Generator unless
they are given a ``seed=`` of their own, so ``pydl.seed(n)`` before building
and training a model makes the run repeatable, bitwise, on any thread count.
"""
from __future__ import annotations

import operator
from typing import Optional

import numpy as np

_generator = np.random.default_rng()


def seed(n: int) -> None:
    """Reseed pydl's random stream (initialisers, shuffling, dropout).

    Parameters
    ----------
    n : int
        A non-negative integer.
    """
    global _generator
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"seed: expected a non-negative int, got {type(n).__name__}") from None
    if n < 0:
        raise ValueError(f"seed: expected a non-negative int, got {n}")
    _generator = np.random.default_rng(n)


def generator(seed: Optional[int] = None) -> np.random.Generator:
    """A Generator seeded with ``seed``, or pydl's stream when it is None."""
    if seed is None:
        return _generator
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be None or a non-negative int, got "
                        f"{type(seed).__name__}") from None
    if seed < 0:
        raise ValueError(f"seed must be None or a non-negative int, got {seed}")
    return np.random.default_rng(seed)


def draw_seed(rng: Optional[np.random.Generator] = None) -> int:
    """A 63-bit integer seed drawn from ``rng`` (default: pydl's stream)."""
    return int((rng if rng is not None else _generator).integers(0, 2**63 - 1))
