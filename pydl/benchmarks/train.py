"""`pydl bench train`: training and inference speed of whole models, pydl
against the identical model in PyTorch (when installed), interleaved in one
process.

    pydl bench train [--threads N] [--repeat N] [--quick]

Cases (float32, batch on axis 0, softmax cross-entropy, SGD with momentum):
- LeNet-5 on 1x28x28 (pydl.train.build_model('lenet'): conv5x5 6 pad 2 ->
  relu -> maxpool2 -> conv5x5 16 -> relu -> maxpool2 -> dense 120 -> relu ->
  dense 84 -> relu -> dense 10), batch 64: training steps/s and inference;
- MLP 784-256-128-10, batch 64 and 1024: training steps/s; batch 64
  inference.
A training step is forward, loss, backward and the parameter update; both
libraries run the same step on the same data.  With Fashion-MNIST's files
present (Debian's dataset-fashion-mnist) and without --quick, one epoch of
LeNet-5 on its 60,000 images (batch 64) is timed too, three times in turn
per library (median), with test accuracy.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import pydl
from pydl.benchmarks._peers import torch_module
from pydl.benchmarks._timing import interleaved_medians
from pydl.layers import Dense, ReLU
from pydl.train import build_model

LR, MOMENTUM = 0.01, 0.9


def _pydl_model(kind: str) -> pydl.Sequential:
    if kind == "lenet":
        return build_model("lenet", (1, 28, 28), 10)
    return pydl.Sequential([Dense(784, 256), ReLU(), Dense(256, 128), ReLU(), Dense(128, 10)])


def _torch_model(torch: Any, model: pydl.Sequential) -> Any:
    """The same architecture in torch.nn, with pydl's initial weights."""
    nn = torch.nn
    mods = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Conv2D":
            m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                          stride=layer.stride, padding=layer.padding)
        elif name == "Dense":
            m = nn.Linear(layer.in_features, layer.out_features)
        elif name == "ReLU":
            m = nn.ReLU()
        elif name == "MaxPool2D":
            m = nn.MaxPool2d(layer.kernel_size, layer.stride)
        elif name == "Flatten":
            m = nn.Flatten()
        else:
            raise ValueError(f"no torch counterpart for {name}")
        if hasattr(m, "weight"):
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer.params["weight"]))
                m.bias.copy_(torch.from_numpy(layer.params["bias"]))
        mods.append(m)
    return nn.Sequential(*mods)


def _steps(kind: str, batch: int, torch: Any, rng: np.random.Generator
           ) -> Dict[str, Callable[[], None]]:
    shape = (batch, 1, 28, 28) if kind == "lenet" else (batch, 784)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, 10, batch)
    model = _pydl_model(kind)
    opt = pydl.optimizers.SGD(lr=LR, momentum=MOMENTUM)
    model.train_on_batch(x, y, loss="cross_entropy", optimizer=opt)
    fns: Dict[str, Callable[[], None]] = {"pydl": lambda: model._step(x, y)}
    if torch is not None:
        tm = _torch_model(torch, model)
        topt = torch.optim.SGD(tm.parameters(), lr=LR, momentum=MOMENTUM)
        lossf = torch.nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step() -> None:
            topt.zero_grad(set_to_none=True)
            lossf(tm(tx), ty).backward()
            topt.step()

        fns["torch"] = torch_step
    return fns


def _inference(kind: str, batch: int, torch: Any, rng: np.random.Generator
               ) -> Dict[str, Callable[[], None]]:
    shape = (batch, 1, 28, 28) if kind == "lenet" else (batch, 784)
    x = rng.standard_normal(shape, dtype=np.float32)
    model = _pydl_model(kind)
    model.build(shape[1:])
    fns: Dict[str, Callable[[], None]] = {"pydl": lambda: model.forward(x, training=False)}
    if torch is not None:
        tm = _torch_model(torch, model).eval()
        tx = torch.from_numpy(x)

        def torch_infer() -> None:
            with torch.inference_mode():
                tm(tx)

        fns["torch"] = torch_infer
    return fns


EPOCH_RUNS = 3


def _fashion_epoch(torch: Any, threads: int) -> Optional[List[str]]:
    """One LeNet-5 epoch on Fashion-MNIST in each library, EPOCH_RUNS times
    in turn (pydl, torch, pydl, ...), from the same initial weights and
    batch order each time: median seconds and the accuracy on the test
    set; None without the data files."""
    try:
        (xtr, ytr), (xte, yte) = pydl.datasets.load_fashion_mnist()
    except FileNotFoundError:
        return None
    xtr = (xtr.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    xte = (xte.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)

    def pydl_epoch() -> Tuple[float, float]:
        pydl.seed(0)
        model = _pydl_model("lenet")
        t0 = time.perf_counter()
        model.fit(xtr, ytr, epochs=1, batch_size=64, loss="cross_entropy",
                  optimizer=pydl.optimizers.SGD(lr=0.05, momentum=0.9), verbose=0, seed=0)
        return time.perf_counter() - t0, model.evaluate(xte, yte)["accuracy"]

    def torch_epoch() -> Tuple[float, float]:
        pydl.seed(0)
        tm = _torch_model(torch, _pydl_model("lenet"))
        topt = torch.optim.SGD(tm.parameters(), lr=0.05, momentum=0.9)
        lossf = torch.nn.CrossEntropyLoss()
        order = np.random.default_rng(0).permutation(len(xtr))
        t0 = time.perf_counter()
        for s in range(0, len(xtr), 64):
            idx = np.sort(order[s:s + 64])
            topt.zero_grad(set_to_none=True)
            lossf(tm(torch.from_numpy(xtr[idx])), torch.from_numpy(ytr[idx])).backward()
            topt.step()
        elapsed = time.perf_counter() - t0
        with torch.inference_mode():
            pred = tm.eval()(torch.from_numpy(xte)).argmax(1).numpy()
        return elapsed, float((pred == yte).mean())

    runs: Dict[str, List[Tuple[float, float]]] = {"pydl": [], "torch": []}
    for _ in range(EPOCH_RUNS):
        runs["pydl"].append(pydl_epoch())
        if torch is not None:
            runs["torch"].append(torch_epoch())
    t_pydl = statistics.median(t for t, _ in runs["pydl"])
    rows = [f"{'LeNet-5 Fashion-MNIST epoch':<34}{t_pydl:>9.2f}s acc {runs['pydl'][0][1]:.4f}"
            f"   (median of {EPOCH_RUNS} epochs, interleaved)"]
    if torch is not None:
        t_torch = statistics.median(t for t, _ in runs["torch"])
        rows.append(f"{'  torch':<34}{t_torch:>9.2f}s acc {runs['torch'][0][1]:.4f}   "
                    f"ratio torch/pydl {t_torch / t_pydl:.2f}")
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    pydl.set_num_threads(args.threads)
    torch = torch_module(args.threads)
    print(f"pydl {pydl.__version__}, kernel path {pydl.get_isa()}, threads {args.threads}; "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print(f"median of {args.repeat} interleaved samples; ratio = torch time / pydl time\n")
    print(f"{'case':<34}{'pydl /s':>10}{'torch /s':>10}{'ratio':>8}")
    print("-" * 62)
    rng = np.random.default_rng(0)
    cases: List[Tuple[str, Callable[[], Dict[str, Callable[[], None]]]]] = [
        ("LeNet-5 train, batch 64", lambda: _steps("lenet", 64, torch, rng)),
        ("MLP train, batch 64", lambda: _steps("mlp", 64, torch, rng)),
        ("MLP train, batch 1024", lambda: _steps("mlp", 1024, torch, rng)),
        ("LeNet-5 inference, batch 64", lambda: _inference("lenet", 64, torch, rng)),
        ("MLP inference, batch 64", lambda: _inference("mlp", 64, torch, rng)),
    ]
    if args.quick:
        cases = cases[:2]
    worst = None
    for name, make in cases:
        t = interleaved_medians(make(), repeat=args.repeat)
        rate = {k: 1.0 / v for k, v in t.items()}
        ratio = t["torch"] / t["pydl"] if "torch" in t else None
        worst = ratio if worst is None or (ratio is not None and ratio < worst) else worst
        torch_s = f"{rate['torch']:>10.0f}" if "torch" in rate else f"{'-':>10}"
        ratio_s = f"{ratio:>8.2f}" if ratio is not None else f"{'-':>8}"
        print(f"{name:<34}{rate['pydl']:>10.0f}{torch_s}{ratio_s}", flush=True)
    if not args.quick:
        rows = _fashion_epoch(torch, args.threads)
        print()
        print("\n".join(rows) if rows else "Fashion-MNIST epoch: skipped (no data files; "
                                           "apt-get install dataset-fashion-mnist)")
    if worst is not None:
        print(f"\nlowest ratio: {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
