"""Thread control: how many threads pydl's OpenMP kernels use."""
from __future__ import annotations

import contextlib
import operator
import os
import warnings
from typing import Iterator

from pydl import _core

__all__ = ["get_num_threads", "set_num_threads", "num_threads"]


def _as_thread_count(n: object, fn: str) -> int:
    try:
        value = operator.index(n)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{fn}: expected an int >= 1, got {type(n).__name__} {n!r}") from None
    if value < 1:
        raise ValueError(f"{fn}: expected an int >= 1, got {value}")
    return value


def get_num_threads() -> int:
    """Number of threads pydl's kernels use for calls from this thread.

    The default is PYDL_NUM_THREADS if set, else OMP_NUM_THREADS, else all
    cores.  pydl runs on OpenMP, so threadpoolctl sees it, and a
    ``threadpool_limits`` block limits pydl's calls made inside it.  A build
    without OpenMP always reports 1.
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (an int >= 1) for pydl's kernels, from every thread."""
    _core.set_num_threads(_as_thread_count(n, "set_num_threads"))


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Context manager: ``set_num_threads(n)`` for the ``with`` block, then
    the previous state back (pydl's setting, or none, and this thread's
    OpenMP count, e.g. a threadpoolctl limit).

    Like ``set_num_threads``, the setting is process-wide while the block
    runs: other Python threads see it too.

    >>> with pydl.num_threads(1):
    ...     c = pydl.ops.matmul(a, b)
    """
    n = _as_thread_count(n, "num_threads")
    previous = _core._threads_state()
    _core.set_num_threads(n)
    try:
        yield
    finally:
        _core._threads_restore(*previous)


def _apply_environment() -> None:
    """Honour PYDL_NUM_THREADS at import (warn, never fail, on a bad value)."""
    value = os.environ.get("PYDL_NUM_THREADS", "").strip()
    if not value:
        return
    try:
        set_num_threads(int(value))
    except (TypeError, ValueError):
        warnings.warn(f"pydl: ignoring PYDL_NUM_THREADS={value!r}: expected an int >= 1",
                      RuntimeWarning, stacklevel=3)
