"""A small network trained by backpropagation (the seed's second example),
with pydl.Sequential: XOR.

    python examples/backprop_network.py

XOR is the classic problem a single neuron cannot solve (it is not linearly
separable) and one hidden layer can.  The network is 2 -> 8 (tanh) -> 1, its
output a logit; the loss is binary cross-entropy of sigmoid(logit) against the
targets 0, 1, 1, 0.  Each step of ``fit`` is one forward pass, the loss and its
gradient dL/dlogit = sigmoid(logit) - target, a backward pass through the
layers (dL/dW = x^T dL/dz, dL/db = sum of dL/dz over the batch, dL/dx =
dL/dz W^T, times tanh' = 1 - tanh^2 at the hidden layer), then an SGD update.

(The seed's version mixed up shapes -- x (1, 2) times weights (3, 2) -- took
dL/da = a - L, and never trained; it printed None.)

The script also checks backpropagation itself: on the trained network, in
float64, the gradient of the loss with respect to every weight as computed by
``model.backward`` is compared with central finite differences.
"""
import json

import numpy as np

import pydl
from pydl.layers import Dense, Tanh
from pydl.losses import BinaryCrossEntropy
from pydl.optimizers import SGD

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=np.float32)
Y = np.array([[0.0], [1.0], [1.0], [0.0]], dtype=np.float32)


def gradient_check(model: pydl.Sequential, x: np.ndarray, y: np.ndarray,
                   eps: float = 1e-6) -> float:
    """Max relative error between backprop and finite-difference gradients."""
    loss = BinaryCrossEntropy()
    out = model.forward(x, training=True)
    loss_value, grad = loss(out, y)
    model.backward(grad)
    worst = 0.0
    for param, analytic in model.parameters():
        analytic = analytic.copy()
        numeric = np.empty_like(param)
        flat, nflat = param.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            up = loss(model.forward(x), y)[0]
            flat[i] = saved - eps
            down = loss(model.forward(x), y)[0]
            flat[i] = saved
            nflat[i] = (up - down) / (2 * eps)
        scale = np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)
        worst = max(worst, float(np.max(np.abs(analytic - numeric) / scale)))
    return worst


def main() -> dict:
    pydl.seed(0)
    model = pydl.Sequential([Dense(2, 8), Tanh(), Dense(8, 1)], input_shape=(2,))
    hist = model.fit(X, Y, epochs=300, batch_size=4, loss=BinaryCrossEntropy(),
                     optimizer=SGD(lr=0.5, momentum=0.9), verbose=0, seed=0)
    logits = model.predict(X)
    prob = 1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float64)))
    pred = (prob > 0.5).astype(int)
    print("XOR, network 2 -> 8 (tanh) -> 1, binary cross-entropy, SGD(lr=0.5, momentum=0.9)")
    print(f"loss: epoch 1 {hist['loss'][0]:.4f} -> epoch {len(hist.epochs)} "
          f"{hist['loss'][-1]:.6f}")
    for (a, b), t, p, c in zip(X.astype(int), Y[:, 0].astype(int), prob, pred):
        print(f"  {a} xor {b} = {t}   network: p(1) = {p:.4f} -> {c}")
    model.astype(np.float64)
    err = gradient_check(model, X.astype(np.float64), Y.astype(np.float64))
    print(f"backprop vs finite differences (float64): max relative error {err:.2e}")
    result = {"predictions": pred.tolist(), "final_loss": hist["loss"][-1],
              "grad_check_max_rel_error": err}
    print("result:", json.dumps(result))
    return result


if __name__ == "__main__":
    main()
