"""Timing helpers shared by the benchmark suites.

Method (as in shared/reference/peers-measured.md): warm up, then take
`repeat` samples; a sample times back-to-back calls for at least
`min_sample_s` (or one call when a call is longer) and records the time per
call.  Candidates are sampled in turn (interleaved) so that machine noise hits
them alike; the median per candidate is reported.  Before each sample the
process sleeps `settle_s`: thread pools (OpenBLAS's pthreads, OpenMP) keep
spinning for a while after a call, and on a 2-core machine a peer's spinning
workers would otherwise steal the cores from the next candidate.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Dict, List


def _calls_for(fn: Callable[[], object], min_sample_s: float) -> int:
    """Number of back-to-back calls that take about min_sample_s."""
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_sample_s or calls >= 1 << 22:
            return calls
        calls = max(calls * 2, int(calls * min_sample_s / max(dt, 1e-9)))


def interleaved_medians(fns: Dict[str, Callable[[], object]], repeat: int = 7,
                        min_sample_s: float = 0.05, warmup_s: float = 0.2,
                        settle_s: float = 0.2) -> Dict[str, float]:
    """Median seconds per call of each function, sampled in turn."""
    calls = {}
    for name, fn in fns.items():
        time.sleep(settle_s)
        t_end = time.perf_counter() + warmup_s
        while time.perf_counter() < t_end:
            fn()
        calls[name] = _calls_for(fn, min_sample_s)
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            n = calls[name]
            time.sleep(settle_s)
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(s) for name, s in samples.items()}
