"""Training callbacks for :meth:`pydl.Sequential.fit`.

A callback is a :class:`Callback` (hooks below) or any callable
``fn(epoch, logs)``, called after each epoch with that epoch's logs
(``{'loss': ..., 'accuracy': ..., 'val_loss': ..., 'lr': ...}``).  A hook
may set ``model.stop_training = True`` to end training after the epoch.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional

import numpy as np


class Callback:
    """Hooks, each optional: on_train_begin(model), on_epoch_begin(epoch,
    model), on_epoch_end(epoch, logs, model), on_train_end(model)."""

    def on_train_begin(self, model: Any) -> None:
        pass

    def on_epoch_begin(self, epoch: int, model: Any) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Dict[str, float], model: Any) -> None:
        pass

    def on_train_end(self, model: Any) -> None:
        pass


class LambdaCallback(Callback):
    """Wraps a user callable ``fn(epoch, logs)`` run after each epoch."""

    def __init__(self, fn: Callable[[int, Dict[str, float]], Any]) -> None:
        if not callable(fn):
            raise TypeError(f"LambdaCallback: expected a callable fn(epoch, logs), got {fn!r}")
        self.fn = fn

    def on_epoch_end(self, epoch, logs, model):
        self.fn(epoch, logs)


def as_callback(cb: Any) -> Callback:
    if isinstance(cb, Callback):
        return cb
    if callable(cb):
        return LambdaCallback(cb)
    raise TypeError(f"callbacks: expected Callback objects or callables fn(epoch, logs), got "
                    f"{cb!r}")


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs in a row (Keras' rule: with patience=2, the second
    epoch without improvement is the last one).

    Parameters
    ----------
    monitor : str
        A key of the epoch logs (default 'val_loss', falling back to 'loss'
        when there is no validation data).
    patience : int
    min_delta : float
    mode : 'min', 'max' or 'auto' ('max' for accuracy-like keys).
    restore_best_weights : bool
        At the end, put back the parameters of the best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(float(min_delta))
        self.mode, self.restore_best_weights = mode, bool(restore_best_weights)

    def on_train_begin(self, model):
        self.best: Optional[float] = None
        self.best_epoch = -1
        self.wait = 0
        self.stopped_epoch: Optional[int] = None
        self._best_weights = None

    def _key(self, logs):
        if self.monitor in logs:
            return self.monitor
        if self.monitor.startswith("val_") and self.monitor[4:] in logs:
            return self.monitor[4:]
        raise KeyError(f"EarlyStopping: monitor={self.monitor!r} is not in the epoch logs "
                       f"{sorted(logs)}")

    def on_epoch_end(self, epoch, logs, model):
        key = self._key(logs)
        value = float(logs[key])
        maximize = self.mode == "max" or (self.mode == "auto" and "acc" in key)
        score = value if maximize else -value
        if self.best is None or score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self._best_weights = model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                model.stop_training = True

    def on_train_end(self, model):
        if self.restore_best_weights and self._best_weights is not None:
            model.set_weights(self._best_weights)


class LearningRateScheduler(Callback):
    """Set the optimizer's lr before each epoch to ``schedule(epoch, lr0)``,
    where lr0 is the lr when training began."""

    def __init__(self, schedule: Callable[[int, float], float]) -> None:
        if not callable(schedule):
            raise TypeError("LearningRateScheduler: schedule must be a callable (epoch, lr0)")
        self.schedule = schedule

    def on_train_begin(self, model):
        self.lr0 = model.optimizer.lr

    def on_epoch_begin(self, epoch, model):
        lr = float(self.schedule(epoch, self.lr0))
        if not (lr >= 0 and np.isfinite(lr)):
            raise ValueError(f"LearningRateScheduler: the schedule gave lr={lr} at epoch {epoch}")
        model.optimizer.lr = lr


class StepLR(LearningRateScheduler):
    """lr = lr0 * gamma ** (epoch // step_size), as torch's StepLR."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be an int >= 1, got {step_size!r}")
        self.step_size, self.gamma = step_size, float(gamma)
        super().__init__(lambda e, lr0: lr0 * self.gamma ** (e // self.step_size))


class CosineAnnealingLR(LearningRateScheduler):
    """lr = eta_min + (lr0 - eta_min) * (1 + cos(pi * epoch / T_max)) / 2,
    as torch's CosineAnnealingLR (held at eta_min after T_max)."""

    def __init__(self, T_max: int, eta_min: float = 0.0) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be an int >= 1, got {T_max!r}")
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(lambda e, lr0: self.eta_min + (lr0 - self.eta_min) * 0.5 * (
            1 + math.cos(math.pi * min(e, self.T_max) / self.T_max)))
