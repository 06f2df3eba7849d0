"""Kernel path (ISA) selection: which SIMD kernels pydl runs."""
from __future__ import annotations

import os
import warnings

from pydl._core import best_isa, get_isa, isa_names, set_isa, supported_isas

__all__ = ["get_isa", "set_isa", "best_isa", "isa_names", "supported_isas"]


def _apply_environment() -> None:
    """Honour PYDL_ISA at import.  An unknown or unsupported value warns and
    keeps the best path: importing pydl never fails because of it."""
    value = os.environ.get("PYDL_ISA", "").strip()
    if not value:
        return
    try:
        set_isa(value)
    except (ValueError, RuntimeError) as exc:
        warnings.warn(f"pydl: ignoring PYDL_ISA={value!r} ({exc}); using {get_isa()!r}",
                      RuntimeWarning, stacklevel=3)
