"""pydl basics: gemm, matmul, threads and kernel paths.

    python examples/gemm_basics.py

Run it with pydl installed (`pip install .`).
"""
import numpy as np

import pydl
from pydl.ops import gemm, matmul

rng = np.random.default_rng(0)
print(f"pydl {pydl.__version__}: kernel path {pydl.get_isa()!r}, "
      f"{pydl.get_num_threads()} threads")

# --------------------------------------------------------------------------
# gemm: alpha * op(a) @ op(b) + beta * c
# --------------------------------------------------------------------------
# A dense layer, y = x @ w.T + bias: w is stored (out_features, in_features),
# so ask for its transpose instead of copying it.
x = rng.standard_normal((64, 784), dtype=np.float32)
w = rng.standard_normal((256, 784), dtype=np.float32)
bias = rng.standard_normal(256, dtype=np.float32)        # broadcast to (64, 256)
y = gemm(x, w, bias, beta=1.0, trans_b=True)
print("dense layer:", y.shape, y.dtype,
      "| max |pydl - numpy| =", float(np.max(np.abs(y - (x @ w.T + bias)))))

# alpha and beta, accumulating in place into a preallocated buffer (out=c).
acc = np.zeros((64, 256), dtype=np.float32)
for _ in range(3):
    gemm(x, w, acc, alpha=0.5, beta=1.0, trans_b=True, out=acc)
print("acc == 1.5 * x @ w.T:", np.allclose(acc, 1.5 * (x @ w.T), rtol=1e-4, atol=1e-2))

# --------------------------------------------------------------------------
# matmul: 2-D, and 3-D batches (a 2-D operand is broadcast over the batch)
# --------------------------------------------------------------------------
a = rng.standard_normal((8, 32, 16))                     # float64 batch
b = rng.standard_normal((16, 4))
print("matmul 2-D:", matmul(a[0], b).shape, "| batched:", matmul(a, b).shape,
      "| equal to numpy:", np.allclose(matmul(a, b), a @ b))

# Errors name the argument, what was expected and how to fix it.
for bad in (lambda: matmul(x, w.astype(np.float64)),    # mixed dtypes
            lambda: gemm(x, w),                          # (64x784) @ (256x784)
            lambda: gemm(x.astype(np.int32), w.T)):      # not a float dtype
    try:
        bad()
    except (TypeError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}")

# --------------------------------------------------------------------------
# Threads: results are bitwise identical on any number of threads
# --------------------------------------------------------------------------
p = rng.standard_normal((300, 500), dtype=np.float32)
q = rng.standard_normal((500, 700), dtype=np.float32)
with pydl.num_threads(1):
    one = matmul(p, q)
pydl.set_num_threads(2)
two = matmul(p, q)
print("1 thread vs 2 threads bitwise equal:", np.array_equal(one, two))

# --------------------------------------------------------------------------
# Kernel paths (ISA): force one with pydl.set_isa or PYDL_ISA=generic|avx2|avx512
# --------------------------------------------------------------------------
print("kernel paths: known", pydl.isa_names(), "| supported", pydl.supported_isas())
for name in pydl.isa_names():
    try:
        pydl.set_isa(name)
    except RuntimeError as exc:
        print(f"  {name:8s} not available: {exc}")
        continue
    r = matmul(p, q)
    print(f"  {name:8s} max |diff| from numpy: {float(np.max(np.abs(r - p @ q))):.2e}")
pydl.set_isa("best")
print("back to", pydl.get_isa())
