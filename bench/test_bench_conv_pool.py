"""pytest-benchmark: pydl's conv2d and max-pool against PyTorch (optional).

    pytest bench/test_bench_conv_pool.py --benchmark-only

Not collected by the default `pytest` run.  The layers are those of
`pydl bench conv` / `pydl bench pool` (issue 3's set); PyTorch rows appear
only when torch is installed.  For the ratios quoted in bench/README.md use
`pydl bench conv` and `pydl bench pool`, which interleave the libraries.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

import pydl  # noqa: E402
from pydl.benchmarks.conv import LAYERS, Layer  # noqa: E402
from pydl.benchmarks.pool import CASES as POOL_CASES, SHAPE as POOL_SHAPE  # noqa: E402

SETTLE_S = 0.2
LIBRARIES = ["pydl", "torch"]


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(pydl.get_num_threads())
    return torch


def _layer_arrays(L: Layer):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((L.n, L.c, L.hw, L.hw), dtype=np.float32)
    w = rng.standard_normal((L.k, L.c, L.ks, L.ks), dtype=np.float32) * 0.1
    gy = rng.standard_normal((L.n, L.k, L.out, L.out), dtype=np.float32)
    return x, w, gy


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("layer", LAYERS, ids=[L.name.split()[0] for L in LAYERS])
def test_conv(benchmark, layer: Layer, direction: str, library: str) -> None:
    x, w, gy = _layer_arrays(layer)
    if library == "pydl":
        if direction == "forward":
            def fn():
                return pydl.ops.conv2d(x, w, None, layer.stride, layer.pad)
        else:
            def fn():
                return pydl.ops.conv2d_backward(gy, x, w, layer.stride, layer.pad,
                                                needs=(True, True, False))
    else:
        torch = _torch()
        tx, tw, tgy = (torch.from_numpy(a) for a in (x, w, gy))
        if direction == "forward":
            def fn():
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, None, layer.stride, layer.pad)
        else:
            def fn():
                return torch.ops.aten.convolution_backward(
                    tgy, tx, tw, None, [layer.stride] * 2, [layer.pad] * 2, [1, 1], False,
                    [0, 0], 1, [True, True, False])
    benchmark.group = f"conv {layer.name} {direction}"
    benchmark.extra_info.update(threads=pydl.get_num_threads(), kernel_path=pydl.get_isa(),
                                flop=layer.flop * (2 if direction == "backward" else 1))
    time.sleep(SETTLE_S)
    benchmark(fn)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("case", POOL_CASES, ids=[c[0].replace(" ", "_") for c in POOL_CASES])
def test_max_pool_forward(benchmark, case, library: str) -> None:
    name, k, s, p = case
    x = np.random.default_rng(0).standard_normal(POOL_SHAPE, dtype=np.float32)
    if library == "pydl":
        def fn():
            return pydl.ops.max_pool2d(x, k, s, p)
    else:
        torch = _torch()
        tx = torch.from_numpy(x)

        def fn():
            return torch.nn.functional.max_pool2d(tx, k, s, p)
    benchmark.group = f"max-pool {name} forward"
    time.sleep(SETTLE_S)
    benchmark(fn)
