"""pydl: fast deep-learning kernels for the CPU.

Functional ops live in :mod:`pydl.ops` (``pydl.ops.matmul``, ``pydl.ops.gemm``).
Threads: :func:`set_num_threads`, :func:`get_num_threads`, :func:`num_threads`.
Kernel path: :func:`get_isa`, :func:`set_isa` (or the PYDL_ISA variable).
Build and runtime facts: :func:`show_config` (or ``python -m pydl info``).
"""
from pydl import ops
from pydl import callbacks, layers, losses, optimizers
from pydl import data, datasets, metrics, model_selection
from pydl._random import seed
from pydl._serialize import load_model
from pydl.model import History, Sequential
from pydl._config import config, show_config
from pydl._isa import best_isa, get_isa, isa_names, set_isa, supported_isas
from pydl._threads import get_num_threads, num_threads, set_num_threads
from pydl._version import __version__


def get_include() -> str:
    """Directory holding ``pydl.h``, the C API of the kernel library
    (``libpydl.so``, installed next to pydl's compiled modules)."""
    import os

    from pydl import _core

    # The compiled files' directory (not this file's: editable installs keep
    # Python sources and compiled files apart).
    return os.path.join(os.path.dirname(_core.__file__), "include")


__all__ = [
    "__version__",
    "Sequential",
    "History",
    "load_model",
    "seed",
    "layers",
    "losses",
    "optimizers",
    "callbacks",
    "get_include",
    "ops",
    "data",
    "datasets",
    "metrics",
    "model_selection",
    "config",
    "show_config",
    "get_isa",
    "set_isa",
    "best_isa",
    "isa_names",
    "supported_isas",
    "get_num_threads",
    "set_num_threads",
    "num_threads",
]


def _apply_environment() -> None:
    from pydl import _isa, _threads

    _isa._apply_environment()
    _threads._apply_environment()


_apply_environment()
del _apply_environment
