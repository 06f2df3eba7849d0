"""`pydl bench pool`: pydl's max-pool forward and backward against
onnxruntime and PyTorch (when installed), interleaved in one process.

    pydl bench pool [--threads N] [--repeat N]
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional

import numpy as np

import pydl
from pydl.benchmarks._peers import onnx_session, torch_module
from pydl.benchmarks._timing import interleaved_medians

SHAPE = (16, 64, 112, 112)
CASES = [("2x2 s2", 2, 2, 0), ("3x3 s2 p1", 3, 2, 1)]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="only the 2x2 case")
    args = parser.parse_args(argv)
    pydl.set_num_threads(args.threads)
    torch = torch_module(args.threads)
    print(f"pydl {pydl.__version__}, threads {args.threads}, input {SHAPE} float32; "
          f"GB/s = (input + output bytes) / time; ratio = peer time / pydl time; outputs "
          f"preallocated for pydl (out=) and onnxruntime (I/O binding), not for torch\n")
    head = (f"{'max-pool':<12}{'pass':<9}{'pydl GB/s':>10}{'torch':>8}{'ort':>8}"
            f"{'vs torch':>9}{'vs ort':>8}")
    print(head)
    print("-" * len(head))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    for name, k, s, p in CASES[:1] if args.quick else CASES:
        y, idx = pydl.ops.max_pool2d(x, k, s, p, return_indices=True)
        gy = rng.standard_normal(y.shape, dtype=np.float32)
        nbytes = x.nbytes + y.nbytes
        y_out, gx_out = np.empty_like(y), np.empty_like(x)
        fwd: Dict[str, object] = {"pydl": lambda: pydl.ops.max_pool2d(x, k, s, p, out=y_out)}
        bwd: Dict[str, object] = {
            "pydl": lambda: pydl.ops.max_pool2d_backward(gy, idx, SHAPE, out=gx_out)}
        if torch is not None:
            tx, tgy = torch.from_numpy(x), torch.from_numpy(gy)
            _, tidx = torch.nn.functional.max_pool2d(tx, k, s, p, return_indices=True)
            fwd["torch"] = lambda: torch.nn.functional.max_pool2d(tx, k, s, p)
            bwd["torch"] = lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                tgy, tx, [k, k], [s, s], [p, p], [1, 1], False, tidx)
        ort_run = _ort_pool(x, k, s, p, y.shape, args.threads)
        if ort_run is not None:
            fwd["ort"] = ort_run
        for label, fns in (("forward", fwd), ("backward", bwd)):
            t = interleaved_medians(fns, repeat=args.repeat)  # type: ignore[arg-type]
            cols = "".join(f"{nbytes / t[n] / 1e9:>8.1f}" if n in t else f"{'-':>8}"
                           for n in ("torch", "ort"))
            ratios = "".join(f"{t[n] / t['pydl']:>{w}.2f}" if n in t else f"{'-':>{w}}"
                             for n, w in (("torch", 9), ("ort", 8)))
            print(f"{name:<12}{label:<9}{nbytes / t['pydl'] / 1e9:>10.1f}{cols}{ratios}")
            sys.stdout.flush()
    return 0


def _ort_pool(x, k, s, p, out_shape, threads: int):
    try:
        from onnx import helper
    except ImportError:
        return None
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[k, k], strides=[s, s],
                            pads=[p] * 4)
    return onnx_session(node, {"x": x}, tuple(out_shape), threads, optimize="basic")


if __name__ == "__main__":
    sys.exit(main())
