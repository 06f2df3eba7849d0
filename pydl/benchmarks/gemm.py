"""`pydl bench gemm`: pydl's GEMM against numpy (OpenBLAS) in one process.

Run through `pydl bench gemm` (which removes OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE first) or directly with those variables unset:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m pydl.benchmarks.gemm
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

import pydl
from pydl.benchmarks._timing import interleaved_medians

# Peak fp32 / fp64 FMA throughput per core in FLOP/cycle for each kernel path.
_FLOP_PER_CYCLE = {"avx512": (64, 32), "avx2": (32, 16), "generic": (8, 4)}


def _flop_per_cycle(isa: str) -> Tuple[int, int]:
    """Peak FLOP/cycle per core; AMD Zen 4 (family 0x19 with AVX-512) runs
    each 512-bit FMA as two 256-bit halves, so its AVX-512 peak is AVX2's."""
    if isa == "avx512":
        try:
            with open("/proc/cpuinfo") as f:
                info = f.read(4096)
        except OSError:
            info = ""
        if "AuthenticAMD" in info and re.search(r"^cpu family\s*:\s*25$", info, re.M):
            return _FLOP_PER_CYCLE["avx2"]
    return _FLOP_PER_CYCLE[isa]


@dataclass
class Case:
    name: str
    m: int
    n: int
    k: int
    dtype: type = np.float32
    trans_a: bool = False
    trans_b: bool = False
    overhead: bool = False  # time the plain call (allocating), not out=


def cases(quick: bool) -> List[Case]:
    square = [64, 128, 256, 512, 1024] if quick else [64, 128, 256, 512, 1024, 2048, 4096]
    out = [Case(f"square N={n}", n, n, n) for n in square]
    out += [
        Case("64x784 . 784x256", 64, 256, 784),
        Case("64x256 . 256x10", 64, 10, 256),
        Case("(64x256) . (784x256)^T", 64, 784, 256, trans_b=True),
        Case("(64x784)^T . (64x256)", 784, 256, 64, trans_a=True),
    ]
    if not quick:
        out += [
            Case("256x4608 . 4608x3136", 256, 3136, 4608),
            Case("64x576 . 576x100352", 64, 100352, 576),
        ]
    out += [Case(f"float64 N={n}", n, n, n, dtype=np.float64)
            for n in ([1024] if quick else [1024, 4096])]
    out.append(Case("overhead 8x8 (a @ b)", 8, 8, 8, overhead=True))
    return out


def clock_ghz() -> Optional[float]:
    """Nominal clock from /proc/cpuinfo (boost clocks run higher)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1000.0
    except OSError:
        pass
    return None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ghz", type=float, default=None,
                        help="clock for the %%-of-peak column (default: measured)")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_info, threadpool_limits

    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    isa = pydl.get_isa()
    ghz = args.ghz or _measure_ghz()
    f32, f64 = _flop_per_cycle(isa)
    print(f"pydl {pydl.__version__}, kernel path {isa}, threads {args.threads}")
    for i in blas:
        print(f"numpy {np.__version__}: {i.get('internal_api')} {i.get('version')} "
              f"kernel {i.get('architecture')} ({i.get('threading_layer')})")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"WARNING: {var}={os.environ[var]} is set: numpy runs a forced kernel")
    print(f"peak = {args.threads} threads x {f32} (fp32) / {f64} (fp64) FLOP/cycle x "
          f"{ghz:.2f} GHz")
    print(f"median of {args.repeat} interleaved samples; ratio = numpy time / pydl time\n")
    head = f"{'case':<26}{'pydl GF/s':>11}{'numpy GF/s':>12}{'ratio':>8}{'% peak':>8}"
    print(head)
    print("-" * len(head))
    rng = np.random.default_rng(0)
    worst = None
    pydl.set_num_threads(args.threads)
    with threadpool_limits(args.threads, user_api="blas"):
        for case in cases(args.quick):
            ratio = _run_case(case, rng, args.repeat, ghz, f32, f64, args.threads)
            worst = ratio if worst is None else min(worst, ratio)
    print(f"\nlowest ratio: {worst:.2f}")
    return 0


def _measure_ghz() -> float:
    """Effective clock (dependent-add chain in C), else the nominal clock."""
    from pydl import _core

    return max(_core.cpu_clock_ghz() for _ in range(3)) or clock_ghz() or 3.0


def _run_case(case: Case, rng, repeat: int, ghz: float, f32: int, f64: int,
              threads: int) -> float:
    dt = case.dtype
    a = rng.standard_normal((case.k, case.m) if case.trans_a else (case.m, case.k)).astype(dt)
    b = rng.standard_normal((case.n, case.k) if case.trans_b else (case.k, case.n)).astype(dt)
    c1 = np.empty((case.m, case.n), dt)
    c2 = np.empty((case.m, case.n), dt)
    opa = a.T if case.trans_a else a
    opb = b.T if case.trans_b else b
    if case.overhead:
        fns = {"pydl": lambda: pydl.ops.matmul(a, b), "numpy": lambda: a @ b}
    else:
        def run_pydl() -> None:
            pydl.ops.gemm(a, b, trans_a=case.trans_a, trans_b=case.trans_b, out=c1)

        def run_numpy() -> None:
            np.matmul(opa, opb, out=c2)

        fns = {"pydl": run_pydl, "numpy": run_numpy}
    flop = 2.0 * case.m * case.n * case.k
    big = flop > 5e10
    t = interleaved_medians(fns, repeat=min(repeat, 5) if big else repeat,
                            min_sample_s=0.05)
    ratio = t["numpy"] / t["pydl"]
    peak = threads * (f32 if dt == np.float32 else f64) * ghz * 1e9
    if case.overhead:
        print(f"{case.name:<26}{t['pydl'] * 1e6:>9.2f}us{t['numpy'] * 1e6:>10.2f}us"
              f"{ratio:>8.2f}{'':>8}")
    else:
        print(f"{case.name:<26}{flop / t['pydl'] / 1e9:>11.1f}{flop / t['numpy'] / 1e9:>12.1f}"
              f"{ratio:>8.2f}{100 * flop / t['pydl'] / peak:>7.0f}%")
    sys.stdout.flush()
    return ratio


if __name__ == "__main__":
    sys.exit(main())
