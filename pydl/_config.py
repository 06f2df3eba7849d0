"""Build and runtime information: pydl.show_config() and `pydl info`."""
from __future__ import annotations

import os
import platform
import sys
from typing import Any, Dict

from pydl import _core
from pydl._version import __version__


def config() -> Dict[str, Any]:
    """Build and runtime facts as a dict (what show_config prints)."""
    omp = _core.openmp_version()
    return {
        "pydl": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "compiler": _core.compiler(),
        "openmp": f"{omp} ({_core.openmp_library() or 'runtime unknown'})" if omp
        else "no (serial build)",
        "cpu": platform.processor() or platform.machine(),
        "cpu_features": _core.cpu_features() or "(none detected)",
        "kernel_paths_supported": ", ".join(_core.supported_isas()),
        "kernel_path": _core.get_isa(),
        "threads": _core.get_num_threads(),
        "PYDL_ISA": os.environ.get("PYDL_ISA", ""),
        "PYDL_NUM_THREADS": os.environ.get("PYDL_NUM_THREADS", ""),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
    }


def show_config() -> None:
    """Print the version, compiler, OpenMP runtime, CPU features, kernel path
    and thread count."""
    info = config()
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}} : {value}")
