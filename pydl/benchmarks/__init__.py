"""pydl's benchmark suites, run by `pydl bench SUITE`.

Each suite compares pydl with a peer measured in the same process, sample by
sample.  numpy's OpenBLAS is a peer: the environment of some machines sets
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which force a slower kernel, so suites
run in a child process with both variables removed (they must be unset before
numpy loads).
"""
from __future__ import annotations

import os
import subprocess
import sys
from typing import List

SUITES = ("gemm", "conv", "pool", "train")
_FORCING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def run(suite: str, threads: int = 2, quick: bool = False, repeat: int = 7) -> int:
    """Run a suite in a clean child process; returns its exit status."""
    if suite not in SUITES:
        raise ValueError(f"unknown benchmark suite {suite!r}; expected one of {SUITES}")
    env = {k: v for k, v in os.environ.items() if k not in _FORCING_VARS}
    argv: List[str] = [sys.executable, "-m", f"pydl.benchmarks.{suite}",
                       "--threads", str(threads), "--repeat", str(repeat)]
    if quick:
        argv.append("--quick")
    return subprocess.call(argv, env=env)
