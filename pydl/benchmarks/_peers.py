"""Optional peers for the benchmarks: PyTorch and onnxruntime, when installed.

Neither is a dependency of pydl: every helper returns None (and the suite
prints "-") when its peer is missing.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import numpy as np


def torch_module(threads: int) -> Optional[Any]:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def onnx_session(node: Any, inputs: Dict[str, np.ndarray], output_shape: tuple,
                 threads: int, optimize: str = "all") -> Optional[Callable[[], None]]:
    """A callable running a one-node ONNX model with preallocated I/O
    (run_with_iobinding), or None without onnx/onnxruntime."""
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    dtype = next(iter(inputs.values())).dtype
    etype = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    graph = helper.make_graph(
        [node], "bench",
        [helper.make_tensor_value_info(name, etype, list(a.shape)) for name, a in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], etype, list(output_shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize == "all"
                                     else ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    binding = sess.io_binding()
    keep: List[Any] = []
    for name, a in inputs.items():
        value = ort.OrtValue.ortvalue_from_numpy(a)
        keep.append(value)
        binding.bind_ortvalue_input(name, value)
    out = ort.OrtValue.ortvalue_from_numpy(np.empty(output_shape, dtype))
    keep.append(out)
    binding.bind_ortvalue_output(node.output[0], out)

    def run() -> None:
        sess.run_with_iobinding(binding)

    run.keep = keep  # type: ignore[attr-defined]
    return run
