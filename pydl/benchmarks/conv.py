"""`pydl bench conv`: pydl's conv2d forward and backward against PyTorch and
onnxruntime (when installed), interleaved in one process.

    pydl bench conv [--threads N] [--repeat N] [--quick]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

import pydl
from pydl.benchmarks._peers import onnx_session, torch_module
from pydl.benchmarks._timing import interleaved_medians


@dataclass
class Layer:
    name: str
    n: int
    c: int
    k: int
    hw: int
    ks: int
    stride: int = 1
    pad: int = 0

    @property
    def out(self) -> int:
        return (self.hw + 2 * self.pad - self.ks) // self.stride + 1

    @property
    def flop(self) -> float:
        return 2.0 * self.n * self.k * self.out * self.out * self.c * self.ks * self.ks


LAYERS = [
    Layer("a LeNet conv1", 64, 1, 6, 28, 5),
    Layer("b LeNet conv2", 64, 6, 16, 12, 5),
    Layer("c VGG-like", 16, 64, 64, 56, 3, 1, 1),
    Layer("d ResNet-like", 16, 128, 128, 28, 3, 1, 1),
    Layer("e stride 2", 16, 64, 128, 56, 3, 2, 1),
    Layer("f pointwise", 16, 256, 64, 56, 1),
]


def _fmt(flop: float, t: Optional[float]) -> str:
    return f"{flop / t / 1e9:>9.1f}" if t else f"{'-':>9}"


def _ratio(t_peer: Optional[float], t_pydl: float) -> str:
    return f"{t_peer / t_pydl:>7.2f}" if t_peer else f"{'-':>7}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    pydl.set_num_threads(args.threads)
    torch = torch_module(args.threads)
    print(f"pydl {pydl.__version__}, kernel path {pydl.get_isa()}, threads {args.threads}; "
          f"peers: torch {getattr(torch, '__version__', 'not installed')}, onnxruntime "
          f"{_ort_version()}")
    print("GFLOP/s = 2*N*K*Ho*Wo*C*R*S per pass (backward = data + weights = 2 passes); "
          f"ratio = peer time / pydl time; median of {args.repeat} interleaved samples; "
          "outputs preallocated for pydl (out=, forward and backward) and onnxruntime (I/O "
          "binding); torch allocates its outputs (no out= in its API)\n")
    head = (f"{'layer':<16}{'pass':<9}{'pydl':>9}{'torch':>9}{'ort':>9}"
            f"{'vs torch':>9}{'vs ort':>8}")
    print(head)
    print("-" * len(head))
    rng = np.random.default_rng(0)
    layers = LAYERS[:2] + LAYERS[3:4] if args.quick else LAYERS
    for layer in layers:
        _run_layer(layer, rng, args.repeat, args.threads, torch)
    return 0


def _ort_version() -> str:
    try:
        import onnxruntime

        return onnxruntime.__version__
    except ImportError:
        return "not installed"


def _run_layer(L: Layer, rng, repeat: int, threads: int, torch) -> None:
    x = rng.standard_normal((L.n, L.c, L.hw, L.hw), dtype=np.float32)
    w = rng.standard_normal((L.k, L.c, L.ks, L.ks), dtype=np.float32) * 0.1
    b = rng.standard_normal(L.k, dtype=np.float32)
    gy = rng.standard_normal((L.n, L.k, L.out, L.out), dtype=np.float32)
    y = np.empty((L.n, L.k, L.out, L.out), dtype=np.float32)
    grads = (np.empty_like(x), np.empty_like(w), None)
    fwd: Dict[str, object] = {
        "pydl": lambda: pydl.ops.conv2d(x, w, b, L.stride, L.pad, out=y)}
    bwd: Dict[str, object] = {
        "pydl": lambda: pydl.ops.conv2d_backward(gy, x, w, L.stride, L.pad,
                                                 needs=(True, True, False), out=grads)}
    if torch is not None:
        tx, tw, tb, tgy = (torch.from_numpy(a) for a in (x, w, b, gy))
        fwd["torch"] = lambda: _no_grad(torch, lambda: torch.nn.functional.conv2d(
            tx, tw, tb, L.stride, L.pad))
        bwd["torch"] = lambda: torch.ops.aten.convolution_backward(
            tgy, tx, tw, [L.k], [L.stride] * 2, [L.pad] * 2, [1, 1], False, [0, 0], 1,
            [True, True, False])
    ort_run = _ort_conv(L, x, w, b, threads)
    if ort_run is not None:
        fwd["ort"] = ort_run
    for label, fns, flop in (("forward", fwd, L.flop), ("backward", bwd, 2 * L.flop)):
        t = interleaved_medians(fns, repeat=repeat)  # type: ignore[arg-type]
        print(f"{L.name:<16}{label:<9}{_fmt(flop, t['pydl'])}{_fmt(flop, t.get('torch'))}"
              f"{_fmt(flop, t.get('ort'))}{_ratio(t.get('torch'), t['pydl']):>9}"
              f"{_ratio(t.get('ort'), t['pydl'])}")
        sys.stdout.flush()


def _no_grad(torch, fn):
    with torch.no_grad():
        return fn()


def _ort_conv(L: Layer, x, w, b, threads: int):
    try:
        from onnx import helper
    except ImportError:
        return None
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[L.ks, L.ks],
                            strides=[L.stride] * 2, pads=[L.pad] * 4)
    return onnx_session(node, {"x": x, "w": w, "b": b}, (L.n, L.k, L.out, L.out), threads)


if __name__ == "__main__":
    sys.exit(main())
