"""Gradient descent on a quadratic (the seed's first example), with pydl.

    python examples/gradient_descent.py

Minimise J(theta) = sum(theta**2) from theta0 = [1, 2] with plain gradient
descent, theta <- theta - lr * grad J(theta), grad J = 2 * theta, lr = 0.1,
100 steps -- :func:`pydl.optimizers.minimize` with ``SGD(lr=0.1)`` (no
momentum) is exactly that update.  Each step multiplies theta by
(1 - 2 * lr) = 0.8, so after k steps theta = 0.8**k * theta0: the printed
result is checked against that closed form.
"""
import json

import numpy as np

from pydl.optimizers import SGD, minimize


def loss(theta: np.ndarray) -> float:
    return float(np.sum(theta ** 2))


def gradient(theta: np.ndarray) -> np.ndarray:
    return 2.0 * theta


def main() -> np.ndarray:
    theta0 = np.array([1.0, 2.0])
    lr, steps = 0.1, 100
    res = minimize(loss, gradient, theta0, SGD(lr=lr), steps=steps)
    closed_form = (1.0 - 2.0 * lr) ** steps * theta0
    print(f"J(theta) = sum(theta**2), theta0 = {theta0.tolist()}, lr = {lr}, {steps} steps")
    for k in (0, 1, 2, 10, 50):
        print(f"  step {k:>3}: J = {res.history[k]:.6e}")
    print(f"  final   : J = {res.fun:.6e}")
    print(f"theta after {steps} steps: {res.x}  (closed form 0.8**{steps} * theta0 = "
          f"{closed_form}; the minimum is at [0, 0])")
    print("result:", json.dumps(res.x.tolist()))
    return res.x


if __name__ == "__main__":
    main()
