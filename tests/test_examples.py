"""The seed's four examples (examples/*.py) run and print the right answers.

Each script runs as a subprocess; its last ``result: <json>`` line is compared
with values computed here independently (plain numpy loops / closed forms).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
IMAGE = np.arange(1.0, 26.0).reshape(5, 5)     # rows 1-5, 6-10, ..., 21-25


def run_example(name: str):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    lines = [l for l in proc.stdout.splitlines() if l.startswith("result: ")]
    assert len(lines) == 1, f"{name} printed no single 'result:' line:\n{proc.stdout}"
    return json.loads(lines[0][len("result: "):]), proc.stdout


def test_gradient_descent():
    x, out = run_example("gradient_descent.py")
    # theta <- theta - 0.1 * 2 theta = 0.8 theta, 100 times, from [1, 2].
    theta = np.array([1.0, 2.0])
    for _ in range(100):
        theta = theta - 0.1 * (2 * theta)
    np.testing.assert_allclose(x, theta, rtol=1e-12, atol=0)
    np.testing.assert_allclose(x, [0.8 ** 100, 2 * 0.8 ** 100], rtol=1e-9)


def test_convolution_5x5():
    y, out = run_example("convolution_5x5.py")
    w = [1.0, 2.0, 1.0]
    expected = np.zeros((5, 3))
    for i in range(5):
        for j in range(3):
            expected[i, j] = sum(w[v] * IMAGE[i, j + v] for v in range(3))
    assert np.shape(y) == (5, 3)
    np.testing.assert_array_equal(y, expected)
    # Same thing another way: row-wise np.correlate in 'valid' mode.
    np.testing.assert_array_equal(y, [np.correlate(row, w, mode="valid") for row in IMAGE])
    assert y[0] == [8.0, 12.0, 16.0] and y[4] == [88.0, 92.0, 96.0]


def test_max_pooling():
    p, out = run_example("max_pooling.py")
    expected = np.array([[IMAGE[i:i + 2, j:j + 2].max() for j in range(4)] for i in range(4)])
    assert np.shape(p) == (4, 4)
    np.testing.assert_array_equal(p, expected)
    np.testing.assert_array_equal(p, IMAGE[1:, 1:])   # increasing image: bottom-right pixel


def test_backprop_network():
    res, out = run_example("backprop_network.py")
    xor = [a ^ b for a in (0, 1) for b in (0, 1)]
    assert res["predictions"] == xor == [0, 1, 1, 0]
    assert res["final_loss"] < 0.05
    assert res["grad_check_max_rel_error"] < 1e-5


@pytest.mark.parametrize("name", ["gradient_descent.py", "backprop_network.py",
                                  "convolution_5x5.py", "max_pooling.py"])
def test_example_has_docstring_and_main(name):
    with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
        src = f.read()
    assert src.startswith('"""') and 'if __name__ == "__main__":' in src
