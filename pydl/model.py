"""Sequential models: a stack of layers trained by backpropagation.

A training step runs each layer's forward (training=True; a ReLU fused
with its neighbour where that is exact and cheaper, see _steps), the loss
and its gradient, each layer's backward in reverse, then one fused optimizer
update per parameter -- every heavy step a pydl kernel, no Python loop over
samples or elements.  Activations and gradients live in buffers the layers
reuse from step to step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from pydl import _random, losses as _losses, optimizers as _optimizers
from pydl._nn import _gather_rows
from pydl._progress import progress_bar
from pydl.callbacks import Callback, as_callback
from pydl.layers.activation import ReLU
from pydl.layers.base import Layer
from pydl.layers.batchnorm import _BatchNorm
from pydl.layers.conv import Conv2D
from pydl.layers.dense import Dense
from pydl.layers.pool import MaxPool2D

Shape = Tuple[int, ...]


@dataclass
class History:
    """What fit() returns: per-epoch logs (``history['loss']`` is the list of
    training losses, one per epoch) and the epochs run."""

    history: Dict[str, List[float]] = field(default_factory=dict)
    epochs: List[int] = field(default_factory=list)

    def append(self, epoch: int, logs: Dict[str, float]) -> None:
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key: str) -> List[float]:
        return self.history[key]


def _steps(layers: Sequence[Layer]) -> List[Tuple[Any, bool]]:
    """How Sequential runs its layers: (layer, with_relu) steps, with_relu
    meaning the layer then a ReLU in place on its output (one step for two
    layers, the ReLU layer's own forward and backward not called):

    - ReLU then MaxPool2D runs as the pool then ReLU (max and ReLU commute:
      the same outputs and gradients bit for bit, on a quarter of the data
      for 2x2 windows; but for the sign of a zero: a window whose largest
      input is -0.0, after a negative one, gives -0.0 where ReLU first gives
      +0.0, with the same +0 gradient);
    - Dense or Conv2D then ReLU (not itself followed by a MaxPool2D) runs
      the ReLU on the layer's own output buffer;
    - Conv2D, ReLU, MaxPool2D runs as one step (a _ConvReluPool in place of
      the layer): in one pass where the kernels allow it, the convolution's
      own output never written (Conv2D._forward_relu_pool), else as the
      conv and then the pool-then-ReLU step above.

    Only these exact classes: their backward does not read their output.
    """
    steps, i, n = [], 0, len(layers)
    while i < n:
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < n else None
        if (type(layer) is Conv2D and type(nxt) is ReLU and i + 2 < n
                and type(layers[i + 2]) is MaxPool2D):
            steps.append((_ConvReluPool(layer, layers[i + 2]), False))
            i += 3
        elif type(layer) is ReLU and type(nxt) is MaxPool2D:
            steps.append((nxt, True))
            i += 2
        elif (type(layer) in (Dense, Conv2D) and type(nxt) is ReLU
              and not (i + 2 < n and type(layers[i + 2]) is MaxPool2D)):
            steps.append((layer, True))
            i += 2
        else:
            steps.append((layer, False))
            i += 1
    return steps


class _ConvReluPool:
    """A Conv2D, a ReLU and a MaxPool2D as one step of Sequential: forward
    through Conv2D._forward_relu_pool, backward through the pool (whose
    codes hold the ReLU's mask) and then the convolution, both in one pass
    where the kernels take the layer."""

    def __init__(self, conv: Conv2D, pool: MaxPool2D) -> None:
        self.conv, self.pool = conv, pool
        self._one_pass = False

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        y, self._one_pass = self.conv._forward_relu_pool(x, training, self.pool)
        return y

    def backward(self, grad: Any) -> Optional[np.ndarray]:
        if self._one_pass and self.pool._code is not None:
            gx = self.conv._backward_from_pool(grad, self.pool)
            if gx is not False:
                return gx
        return self.conv.backward(self.pool._backward_then_relu(grad))


def _check_batch_size(batch_size: Any, fn: str) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"{fn}: batch_size must be a positive int, got {batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"{fn}: batch_size must be a positive int, got {batch_size}")
    return int(batch_size)


def _check_finite(x: np.ndarray, fn: str, name: str) -> None:
    """Raise if x holds NaN or inf; scans in blocks (x may be a memmap)."""
    if x.dtype.kind != "f":
        return
    rows = max(1, (1 << 22) // max(1, int(np.prod(x.shape[1:]))))
    for i in range(0, len(x), rows):
        block = np.asarray(x[i:i + rows])
        if not np.isfinite(block).all():
            bad = i + int(np.argwhere(~np.isfinite(block.reshape(len(block), -1)))[0, 0])
            raise ValueError(f"{fn}: {name} contains NaN or inf (first at sample {bad}); clean "
                             f"the data first, e.g. with pydl.data.SimpleImputer")


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : sequence of Layer
    input_shape : tuple of int, optional
        Per-sample input shape, e.g. (1, 28, 28).  Given, the network is
        checked at once; otherwise at the first fit / predict.

    Examples
    --------
    >>> import pydl
    >>> from pydl.layers import Dense, ReLU
    >>> model = pydl.Sequential([Dense(4, 8), ReLU(), Dense(8, 3)])
    """

    def __init__(self, layers: Sequence[Layer], input_shape: Optional[Shape] = None) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential: expected a non-empty list of layers")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {i} is {type(layer).__name__}, not a "
                                f"pydl.layers.Layer")
            for j in range(i):
                if layers[j] is layer:
                    raise ValueError(f"Sequential: items {j} and {i} are the same {layer.name} "
                                     f"object; a layer keeps its buffers and saved inputs, so "
                                     f"each position needs its own instance (e.g. ReLU() twice)")
        self.layers = layers
        for i, layer in enumerate(layers):
            layer.needs_input_grad = i > 0
        self.input_shape: Optional[Shape] = None
        self.output_shapes: List[Shape] = []
        self.loss: Optional[_losses.Loss] = None
        self.optimizer: Optional[_optimizers.Optimizer] = None
        self.stop_training = False
        if input_shape is not None:
            self.build(input_shape)

    # -- structure --------------------------------------------------------
    def build(self, input_shape: Shape) -> "Sequential":
        """Check the network on a per-sample input shape and record every
        layer's output shape."""
        shape = tuple(int(s) for s in input_shape)
        if shape == self.input_shape:
            return self
        shapes = []
        cur = shape
        for i, layer in enumerate(self.layers):
            try:
                cur = tuple(layer.output_shape(cur))
            except ValueError as e:
                raise ValueError(f"layer {i} ({layer.name}) does not fit its input: {e}") from None
            shapes.append(cur)
        self.input_shape, self.output_shapes = shape, shapes
        return self

    def parameters(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """Every (param, grad) pair, in layer order."""
        return [(layer.params[k], layer.grads[k]) for layer in self.layers for k in layer.params]

    def num_params(self) -> int:
        return sum(layer.num_params() for layer in self.layers)

    def get_weights(self) -> List[np.ndarray]:
        """Copies of every parameter and state array, in layer order."""
        return [a.copy() for layer in self.layers
                for d in (layer.params, layer.state) for a in d.values()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy arrays from get_weights() back into the layers."""
        targets = [a for layer in self.layers for d in (layer.params, layer.state)
                   for a in d.values()]
        if len(weights) != len(targets):
            raise ValueError(f"set_weights: expected {len(targets)} arrays, got {len(weights)}")
        for t, w in zip(targets, weights):
            w = np.asarray(w)
            if w.shape != t.shape:
                raise ValueError(f"set_weights: array of shape {w.shape} where {t.shape} is "
                                 f"expected")
            t[...] = w

    def astype(self, dtype: Any) -> "Sequential":
        """Convert every layer to float32 or float64 (in place)."""
        for layer in self.layers:
            layer.astype(dtype)
        if self.optimizer is not None:
            self.optimizer.state.clear()
        return self

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].dtype if self.layers[0].params else next(
            (l.dtype for l in self.layers if l.params), np.dtype(np.float32))

    def summary(self, input_shape: Optional[Shape] = None, print_fn: Any = print) -> str:
        """A table of layers, output shapes and parameter counts (printed
        with ``print_fn`` unless it is None; also returned)."""
        if input_shape is not None:
            self.build(input_shape)
        lines = [f"{'#':>3}  {'layer':<34}{'output shape':<22}{'params':>10}", "-" * 69]
        for i, layer in enumerate(self.layers):
            shape = (("N",) + self.output_shapes[i]) if self.output_shapes else "?"
            shape_s = "(" + ", ".join(str(s) for s in shape) + ")" if shape != "?" else "?"
            lines.append(f"{i:>3}  {repr(layer)[:33]:<34}{shape_s:<22}{layer.num_params():>10,}")
        lines.append("-" * 69)
        inp = "?" if self.input_shape is None else str(("N",) + self.input_shape).replace("'", "")
        lines.append(f"input {inp}; total parameters: {self.num_params():,}")
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # -- forward and backward ---------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The network's output (a reused buffer: copy it to keep it).

        A ReLU runs fused with its neighbour where that gives the same
        numbers for less work: a ReLU then a MaxPool2D as the pool then ReLU
        on the pooled values, a Dense or Conv2D then a ReLU with the ReLU in
        place on the layer's output, a Conv2D, ReLU and 2x2 MaxPool2D in one
        pass where the kernels allow it (see ``_steps``); the fused ReLU
        layer's own forward and backward are then not called."""
        for layer, with_relu in self._run_steps():
            x = layer._forward_then_relu(x, training) if with_relu else layer.forward(x, training)
        return x

    def _run_steps(self) -> List[Tuple[Any, bool]]:
        """_steps(self.layers), worked out again only when the layers change."""
        layers = tuple(self.layers)
        cached = getattr(self, "_steps_cache", None)
        if cached is None or len(cached[0]) != len(layers) or any(
                a is not b for a, b in zip(cached[0], layers)):
            cached = self._steps_cache = (layers, _steps(layers))
        return cached[1]

    def backward(self, grad: np.ndarray) -> Optional[np.ndarray]:
        """Backpropagate dL/doutput through every layer (fills the grads);
        returns dL/dx, or None while ``layers[0].needs_input_grad`` is False
        (the default: nothing upstream needs it)."""
        for layer, with_relu in reversed(self._run_steps()):
            grad = layer._backward_then_relu(grad) if with_relu else layer.backward(grad)
        return grad

    def _prepare_x(self, x: Any, fn: str) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{fn}: x must be a numeric array, got dtype {x.dtype}")
        if x.ndim < 2:
            raise ValueError(f"{fn}: x must have shape (N, ...) with at least 2 axes, got "
                             f"{x.shape}")
        if len(x) == 0:
            raise ValueError(f"{fn}: x is empty (shape {x.shape}); pass at least one sample")
        self.build(x.shape[1:])
        return x

    def _prepare(self, x, y, loss, fn):
        x = self._prepare_x(x, fn)
        y = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if y.ndim == 0:
            raise ValueError(f"{fn}: y must have one target per sample (shape (N, ...)), got a "
                             f"scalar")
        if len(y) != len(x):
            raise ValueError(f"{fn}: x has {len(x)} samples but y has {len(y)}; they must match")
        return x, loss.check_target(y, self.output_shapes[-1])

    def _set_training(self, loss: Any, optimizer: Any, fn: str) -> None:
        # A name that matches the current object keeps it (and its state:
        # momentum, Adam's moments) across calls.
        if loss is not None and not (isinstance(loss, str) and self.loss is not None
                                     and loss.lower() == self.loss.name):
            self.loss = _losses.get(loss)
        if optimizer is not None and not (isinstance(optimizer, str) and self.optimizer is not None
                                          and optimizer.lower() == self.optimizer.name):
            self.optimizer = _optimizers.get(optimizer)
        if self.loss is None or self.optimizer is None:
            raise ValueError(f"{fn}: pass loss= and optimizer= (objects or names such as "
                             f"'cross_entropy' and 'sgd')")

    def _step(self, xb: np.ndarray, yb: np.ndarray) -> Tuple[float, np.ndarray]:
        out = self.forward(xb, training=True)
        value, grad = self.loss(out, yb)
        self.backward(grad)
        self.optimizer.step(self.parameters())
        return value, out

    def train_on_batch(self, x: Any, y: Any, loss: Any = None, optimizer: Any = None) -> float:
        """One forward, backward and update step on (x, y); returns the loss.

        loss and optimizer: objects or names; once given they are kept for
        later calls.
        """
        self._set_training(loss, optimizer, "train_on_batch")
        x, y = self._prepare(x, y, self.loss, "train_on_batch")
        _check_finite(x, "train_on_batch", "x")
        return float(self._step(np.ascontiguousarray(x, dtype=self.dtype), y)[0])

    # -- fit / evaluate / predict -----------------------------------------
    def fit(self, x: Any, y: Any, *, epochs: int = 1, batch_size: int = 32,
            loss: Any = None, optimizer: Any = None,
            validation_data: Optional[Tuple[Any, Any]] = None, validation_split: float = 0.0,
            shuffle: bool = True, callbacks: Iterable[Any] = (), verbose: int = 1,
            seed: Optional[int] = None, augment: Any = None) -> History:
        """Train for ``epochs`` passes over (x, y) in mini-batches.

        Parameters
        ----------
        x : ndarray (N, *input_shape); converted once to the model's dtype
            if needed; may be an np.memmap (batches are gathered from it, it
            is never loaded whole)
        y : targets as the loss expects: (N,) integer labels for
            CrossEntropy, (N, *output_shape) for MSE / BinaryCrossEntropy
        epochs, batch_size : int
        loss, optimizer : objects (``pydl.losses.CrossEntropy()``,
            ``pydl.optimizers.SGD(lr=0.05, momentum=0.9)``) or names
        validation_data : (x_val, y_val), optional
        validation_split : float in [0, 1)
            Hold out this fraction of the samples (the last ones, before
            shuffling) for validation, when validation_data is not given.
        shuffle : bool
            Reshuffle the samples every epoch.
        callbacks : Callback objects or callables fn(epoch, logs)
        verbose : 0 silent, 1 a progress bar per epoch (tqdm when installed)
        seed : int, optional
            Seed of the shuffling; default pydl's stream (:func:`pydl.seed`).
        augment : callable, optional
            Applied to each training batch of x (e.g. ``pydl.data.Augment``).

        Returns
        -------
        History with one entry per epoch of 'loss', the metrics ('accuracy'
        for cross-entropy), 'val_*' with validation data, 'lr', 'time' and
        'samples_per_s'.
        """
        fn = "fit"
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"{fn}: epochs must be a positive int, got {epochs!r}")
        batch_size = _check_batch_size(batch_size, fn)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"{fn}: validation_split must be in [0, 1), got {validation_split}")
        self._set_training(loss, optimizer, fn)
        x, y = self._prepare(x, y, self.loss, fn)
        _check_finite(x, fn, "x")
        if validation_data is None and validation_split > 0:
            n_val = int(round(len(x) * validation_split))
            if n_val == 0 or n_val == len(x):
                raise ValueError(f"{fn}: validation_split={validation_split} leaves "
                                 f"{len(x) - n_val} training and {n_val} validation samples")
            validation_data = (x[len(x) - n_val:], y[len(x) - n_val:])
            x, y = x[:len(x) - n_val], y[:len(x) - n_val]
        if validation_data is not None:
            try:
                xv, yv = validation_data
            except (TypeError, ValueError):
                raise TypeError(f"{fn}: validation_data must be a pair (x_val, y_val)") from None
            xv, yv = self._prepare(xv, yv, self.loss, fn)
            _check_finite(xv, fn, "the validation x")
        if len(x) % batch_size == 1 and batch_size > 1 and any(
                isinstance(layer, _BatchNorm) for layer in self.layers):
            raise ValueError(f"{fn}: {len(x)} training samples in batches of {batch_size} leave "
                             f"a last batch of one sample, on which batch normalisation has no "
                             f"variance; pick another batch_size (e.g. {batch_size + 1})")
        cbs = [as_callback(c) for c in callbacks]
        rng = _random.generator(seed)
        history = History()
        n = len(x)
        self.stop_training = False
        for cb in cbs:
            cb.on_train_begin(self)
        dt = self.dtype
        if not isinstance(x, np.memmap) and x.dtype != dt:
            x = x.astype(dt)  # once, not per batch (a memmap stays on disk)
        self._batch_buffers: Dict[int, np.ndarray] = {}
        for epoch in range(int(epochs)):
            for cb in cbs:
                cb.on_epoch_begin(epoch, self)
            order = rng.permutation(n) if shuffle else None
            bar = progress_bar(n, f"epoch {epoch + 1}/{epochs}") if verbose else None
            t0 = time.perf_counter()
            total_loss, correct = 0.0, 0.0
            for s in range(0, n, batch_size):
                xb, yb = self._gather(x, y, order, s, min(s + batch_size, n), dt)
                if augment is not None:
                    xb = np.ascontiguousarray(augment(xb), dtype=dt)
                value, out = self._step(xb, yb)
                total_loss += value * len(xb)
                correct += self._correct(out, yb)
                if bar is not None:
                    bar.update(len(xb))
                    bar.set_postfix({"loss": f"{total_loss / (s + len(xb)):.4f}"}, refresh=False)
            elapsed = time.perf_counter() - t0
            logs = {"loss": total_loss / n}
            if self._has_accuracy():
                logs["accuracy"] = correct / n
            if validation_data is not None:
                for k, v in self.evaluate(xv, yv, batch_size=max(batch_size, 256)).items():
                    logs["val_" + k] = v
            logs["lr"] = self.optimizer.lr
            logs["time"] = elapsed
            logs["samples_per_s"] = n / max(elapsed, 1e-12)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()
                                 if k in ("loss", "accuracy", "val_loss", "val_accuracy")})
                bar.close()
            history.append(epoch, logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs, self)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end(self)
        return history

    def _gather(self, x, y, order, s, e, dt):
        if order is None:
            return np.ascontiguousarray(x[s:e], dtype=dt), y[s:e]
        idx = np.sort(order[s:e])  # sorted: sequential reads from a memmap
        if x.dtype != dt or isinstance(x, np.memmap):
            return np.ascontiguousarray(x[idx], dtype=dt), y[idx]
        # a reused batch buffer per batch size: no fresh pages every step;
        # the rows copied on pydl's threads (random rows of a large x are
        # read at memory latency)
        buf = self._batch_buffers.get(e - s)
        if buf is None:
            buf = self._batch_buffers[e - s] = np.empty((e - s,) + x.shape[1:], dt)
        if x.flags.c_contiguous:
            return _gather_rows(x, idx.astype(np.int64, copy=False), buf), y[idx]
        return np.take(x, idx, axis=0, out=buf), y[idx]

    def _has_accuracy(self) -> bool:
        return isinstance(self.loss, (_losses.CrossEntropy, _losses.BinaryCrossEntropy))

    def _correct(self, out: np.ndarray, y: np.ndarray) -> float:
        """Correct predictions in the batch, in samples (for several binary
        outputs per sample, the fraction of them right, summed)."""
        if isinstance(self.loss, _losses.CrossEntropy):
            return int(np.count_nonzero(out.argmax(axis=1) == y))
        if isinstance(self.loss, _losses.BinaryCrossEntropy):
            right = np.count_nonzero((out > 0).reshape(len(y), -1)
                                     == (np.asarray(y) > 0.5).reshape(len(y), -1))
            return right / (out.size // len(y))
        return 0

    def evaluate(self, x: Any, y: Any, batch_size: int = 256, loss: Any = None) -> Dict[str, float]:
        """Mean loss (and accuracy for classification losses) on (x, y),
        in inference mode.  ``loss`` defaults to the one used in training."""
        fn = "evaluate"
        batch_size = _check_batch_size(batch_size, fn)
        lossf = _losses.get(loss) if loss is not None else self.loss
        if lossf is None:
            raise ValueError(f"{fn}: the model has no loss yet; pass loss=")
        saved, self.loss = self.loss, lossf
        try:
            x, y = self._prepare(x, y, lossf, fn)
            total, correct, n = 0.0, 0.0, len(x)
            for s in range(0, n, batch_size):
                xb = np.ascontiguousarray(x[s:s + batch_size], dtype=self.dtype)
                yb = y[s:s + batch_size]
                out = self.forward(xb, training=False)
                total += float(lossf(out, yb)[0]) * len(xb)
                correct += self._correct(out, yb)
            res = {"loss": total / n}
            if self._has_accuracy():
                res["accuracy"] = correct / n
            return res
        finally:
            self.loss = saved

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The network's outputs for x (N, *input_shape), in inference mode,
        batch by batch: an array of shape (N, *output_shape)."""
        batch_size = _check_batch_size(batch_size, "predict")
        x = self._prepare_x(x, "predict")
        n = len(x)
        result = np.empty((n,) + self.output_shapes[-1], dtype=self.dtype)
        for s in range(0, n, batch_size):
            xb = np.ascontiguousarray(x[s:s + batch_size], dtype=self.dtype)
            result[s:s + len(xb)] = self.forward(xb, training=False)
        return result

    def __call__(self, x: Any) -> np.ndarray:
        return self.predict(x)

    def __repr__(self) -> str:
        return "Sequential([" + ", ".join(repr(l) for l in self.layers) + "])"

    # -- files --------------------------------------------------------------
    def save(self, path: Any) -> None:
        """Write the model to one .npz file (JSON description plus arrays;
        no pickle).  Read it back with :func:`pydl.load_model`."""
        from pydl._serialize import save_model

        save_model(self, path)
