"""Optimizers: fused in-place parameter updates on pydl's kernels, with
PyTorch's update rules (torch.optim).

``optimizer.step(pairs)`` updates each ``param`` (a C-contiguous float
array) in place from its ``grad``; per-parameter state (momentum, moments)
is created on the first step.  ``lr`` may be changed between steps (the
learning-rate callbacks do).  :func:`minimize` runs plain gradient descent
(or any optimizer) on a user function.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Tuple, Union

import numpy as np

from pydl import ops
from pydl._nn import _adam_update_many, _sgd_update_many


def _nonneg(value: Any, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    v = float(value)
    if not (v >= 0 and np.isfinite(v)):
        raise ValueError(f"{owner}: {name} must be finite and >= 0, got {value}")
    return v


class Optimizer:
    """Base class: holds ``lr`` and the per-parameter state."""

    name = "optimizer"

    def __init__(self, lr: float) -> None:
        self.lr = _nonneg(lr, "lr", type(self).__name__)
        self.state: Dict[int, Dict[str, Any]] = {}

    def step(self, pairs: Iterable[Tuple[np.ndarray, np.ndarray]]) -> None:
        """Update every (param, grad) pair in place."""
        items = []
        for param, grad in pairs:
            st = self.state.get(id(param))
            if st is None or st["param"] is not param:
                st = self.state[id(param)] = {"param": param, "step": 0}
            st["step"] += 1
            items.append((param, grad, st))
        self._update_all(items)

    def _update_all(self, items: List[Tuple[np.ndarray, np.ndarray, Dict[str, Any]]]) -> None:
        """Update each (param, grad, state) in order; subclasses may do it in
        one call."""
        for param, grad, st in items:
            self._update(param, grad, st)

    def _update(self, param: np.ndarray, grad: np.ndarray, st: Dict[str, Any]) -> None:
        raise NotImplementedError

    def get_config(self) -> Dict[str, Any]:
        return {"lr": self.lr}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum
    and (L2) weight decay, as torch.optim.SGD:
    g += wd * p; v = momentum * v + (1 - dampening) * g (v = g at step 1);
    p -= lr * (g + momentum * v if nesterov else v)."""

    name = "sgd"

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = _nonneg(momentum, "momentum", "SGD")
        self.dampening = _nonneg(dampening, "dampening", "SGD")
        self.weight_decay = _nonneg(weight_decay, "weight_decay", "SGD")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening == 0")

    def get_config(self):
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}

    def _velocity(self, param, st):
        if self.momentum == 0:
            return None
        vel = st.get("velocity")
        if vel is None:
            vel = st["velocity"] = np.zeros_like(param)
        return vel

    def _update_all(self, items):
        # one call for all parameters: the per-call checks of the scalars
        # and the Python call overhead once, not per parameter
        _sgd_update_many([p for p, _, _ in items], [g for _, g, _ in items],
                         [self._velocity(p, st) for p, _, st in items],
                         [st["step"] == 1 for _, _, st in items], self.lr, self.momentum,
                         self.dampening, self.nesterov, self.weight_decay)


class Adam(Optimizer):
    """Adam (Kingma & Ba), as torch.optim.Adam; weight_decay is L2 (added to
    the gradient)."""

    name = "adam"
    _decoupled = False

    def __init__(self, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        owner = type(self).__name__
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"{owner}: betas must be a pair of floats, got {betas!r}") from None
        self.betas = (_nonneg(b1, "betas[0]", owner), _nonneg(b2, "betas[1]", owner))
        if not (self.betas[0] < 1 and self.betas[1] < 1):
            raise ValueError(f"{owner}: betas must lie in [0, 1), got {betas!r}")
        self.eps = _nonneg(eps, "eps", owner)
        self.weight_decay = _nonneg(weight_decay, "weight_decay", owner)

    def get_config(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay}

    @staticmethod
    def _moments(param, st):
        if "exp_avg" not in st:
            st["exp_avg"] = np.zeros_like(param)
            st["exp_avg_sq"] = np.zeros_like(param)
        return st

    def _update_all(self, items):
        states = [self._moments(p, st) for p, _, st in items]
        _adam_update_many([p for p, _, _ in items], [g for _, g, _ in items],
                          [st["exp_avg"] for st in states], [st["exp_avg_sq"] for st in states],
                          [st["step"] for st in states], self.lr, self.betas[0], self.betas[1],
                          self.eps, self.weight_decay, self._decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as
    torch.optim.AdamW: p *= 1 - lr * weight_decay before the Adam step."""

    name = "adamw"
    _decoupled = True

    def __init__(self, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(lr, betas, eps, weight_decay)


class RMSProp(Optimizer):
    """RMSProp, as torch.optim.RMSprop (not centered)."""

    name = "rmsprop"

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0) -> None:
        super().__init__(lr)
        self.alpha = _nonneg(alpha, "alpha", "RMSProp")
        if self.alpha > 1:
            raise ValueError(f"RMSProp: alpha must lie in [0, 1], got {alpha}")
        self.eps = _nonneg(eps, "eps", "RMSProp")
        self.weight_decay = _nonneg(weight_decay, "weight_decay", "RMSProp")
        self.momentum = _nonneg(momentum, "momentum", "RMSProp")

    def get_config(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum}

    def _update(self, param, grad, st):
        if "square_avg" not in st:
            st["square_avg"] = np.zeros_like(param)
            st["momentum_buffer"] = np.zeros_like(param) if self.momentum else None
        ops.rmsprop_update(param, grad, st["square_avg"], lr=self.lr, alpha=self.alpha,
                           eps=self.eps, weight_decay=self.weight_decay,
                           momentum=self.momentum, momentum_buffer=st["momentum_buffer"])


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSProp}


def get(optimizer: Union[str, Optimizer], **kwargs: Any) -> Optimizer:
    """An Optimizer from an instance or a name ('sgd', 'adam', 'adamw',
    'rmsprop'); ``kwargs`` go to the constructor of a named one."""
    if isinstance(optimizer, Optimizer):
        if kwargs:
            raise TypeError(f"optimizer arguments {sorted(kwargs)} were given with an optimizer "
                            f"object ({optimizer!r}); set them on the object instead")
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in _BY_NAME:
        return _BY_NAME[optimizer.lower()](**kwargs)
    raise ValueError(f"unknown optimizer {optimizer!r}; pass a pydl.optimizers.Optimizer or one "
                     f"of {sorted(_BY_NAME)}")


@dataclass
class MinimizeResult:
    """What :func:`minimize` returns: the final point, its value, and the
    value before each step (``history[0]`` at x0)."""

    x: np.ndarray
    fun: float
    history: List[float] = field(default_factory=list)


def minimize(fun: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], Any], x0: Any,
             optimizer: Union[str, Optimizer] = "sgd", steps: int = 100,
             **optimizer_kwargs: Any) -> MinimizeResult:
    """Minimise ``fun`` by gradient steps from ``x0``.

    Parameters
    ----------
    fun : callable
        x -> float, the objective (recorded in ``history``).
    grad : callable
        x -> array of x's shape, its gradient.
    x0 : float or array_like
        Start point; the search runs in float64.
    optimizer : Optimizer or str
        E.g. ``SGD(lr=0.1)`` for plain gradient descent (default 'sgd' with
        ``optimizer_kwargs``, e.g. ``lr=0.1``).
    steps : int
        Number of gradient steps (>= 0).

    Returns
    -------
    MinimizeResult with x (same shape as x0), fun = fun(x), history.

    Examples
    --------
    >>> r = minimize(lambda x: float((x - 3) ** 2), lambda x: 2 * (x - 3), 0.0,
    ...              SGD(lr=0.1), steps=100)
    >>> round(float(r.x), 6)
    3.0
    """
    if not callable(fun) or not callable(grad):
        raise TypeError("minimize: fun and grad must be callables taking x")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"minimize: steps must be an int >= 0, got {steps!r}")
    opt = get(optimizer, **optimizer_kwargs)
    x = np.array(x0, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("minimize: x0 must be finite")
    flat = x.reshape(-1)
    history = []
    for _ in range(int(steps)):
        history.append(float(fun(x)))
        g = np.asarray(grad(x), dtype=np.float64)
        if g.shape != x.shape:
            raise ValueError(f"minimize: grad(x) has shape {g.shape}, expected x's shape "
                             f"{x.shape}")
        opt.step([(flat, np.ascontiguousarray(g).reshape(-1))])
    return MinimizeResult(x=x, fun=float(fun(x)), history=history)
