"""Model evaluation: K-fold cross-validation of any model with ``fit`` and
``predict``.

The splitters themselves (:class:`~pydl.data.KFold`,
:class:`~pydl.data.StratifiedKFold`, :func:`~pydl.data.train_test_split`)
live in :mod:`pydl.data` and are re-exported here.
"""
from __future__ import annotations

import functools
import time
from typing import Callable, Dict, List, Tuple

import numpy as np

from pydl import metrics as _metrics
from pydl.data import KFold, StratifiedKFold, _as_array, _check_int, _take, train_test_split

__all__ = ["cross_validate", "METRICS", "KFold", "StratifiedKFold", "train_test_split"]


def _named_metrics() -> Dict[str, Callable]:
    table = {"accuracy": _metrics.accuracy_score}
    for name, fn in (("precision", _metrics.precision_score), ("recall", _metrics.recall_score),
                     ("f1", _metrics.f1_score)):
        table[name] = fn  # binary, pos_label=1
        for avg in ("micro", "macro", "weighted"):
            table[f"{name}_{avg}"] = functools.partial(fn, average=avg)
    return table


#: The metric names :func:`cross_validate` knows, each a function (y_true, y_pred) -> float.
METRICS: Dict[str, Callable] = _named_metrics()


def _resolve_metrics(metrics, func: str) -> List[Tuple[str, Callable]]:
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    if isinstance(metrics, dict):
        items = list(metrics.items())
    else:
        try:
            items = [(None, m) for m in metrics]
        except TypeError:
            raise TypeError(f"{func}: expected metrics to be a name, a callable, or a sequence "
                            f"or dict of them, got {type(metrics).__name__}") from None
    if not items:
        raise ValueError(f"{func}: metrics is empty; give at least one, e.g. ('accuracy',)")
    out = []
    for key, m in items:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"{func}: unknown metric {m!r}; expected one of "
                                 f"{', '.join(sorted(METRICS))}, or a callable "
                                 f"(y_true, y_pred) -> float")
            out.append((key if key is not None else m, METRICS[m]))
        elif callable(m):
            name = key if key is not None else getattr(m, "__name__", None)
            if not name or name == "<lambda>":
                name = f"metric_{len(out)}"
            out.append((str(name), m))
        else:
            raise TypeError(f"{func}: expected each metric to be a name or a callable "
                            f"(y_true, y_pred) -> float, got {type(m).__name__} {m!r}")
    names = [n for n, _ in out]
    for reserved in ("folds", "n_splits", "fit_time", "predict_time"):
        if reserved in names:
            raise ValueError(f"{func}: a metric may not be named {reserved!r}; use a dict "
                             f"{{'my_name': fn}} to rename it")
    if len(set(names)) != len(names):
        raise ValueError(f"{func}: metric names repeat ({names}); use a dict {{name: fn}} to "
                         f"give them distinct names")
    return out


def _labels_from_prediction(pred, n: int, func: str) -> np.ndarray:
    pred = np.asarray(pred)
    if pred.ndim == 2 and pred.shape[1] > 1:
        pred = pred.argmax(axis=1)
    elif pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.ndim != 1 or pred.shape[0] != n:
        raise ValueError(f"{func}: model.predict(x_test) must return labels of shape ({n},) "
                         f"or class scores of shape ({n}, C); got shape {pred.shape}")
    return pred


def cross_validate(build_model, x, y, cv=5, fit_kwargs=None, metrics=("accuracy",),
                   stratified: bool = True, seed=0, verbose: int = 0) -> dict:
    """Evaluate a model by K-fold cross-validation.

    For each fold, a fresh model from ``build_model()`` is fitted on the
    other folds and scored on this one.  Folds run one after another in this
    process (pydl's thread pools are not fork-safe).

    Parameters
    ----------
    build_model : callable
        ``build_model()`` returns a new, untrained model with
        ``fit(x, y, **fit_kwargs)`` and ``predict(x)``.  ``predict`` returns
        labels of shape (N,), or class scores of shape (N, C) whose argmax
        along axis 1 is taken (column j is class j, so then y must hold the
        labels 0..C-1).
    x : array of shape (N, ...)
        Inputs (np.memmap allowed: each fold reads its rows in file order).
    y : array of shape (N,)
        Class labels.
    cv : int or splitter, default 5
        The number of folds K >= 2, which makes a shuffled
        :class:`~pydl.data.StratifiedKFold` (or :class:`~pydl.data.KFold`
        when ``stratified=False``) seeded with ``seed``; or any object with
        ``split(x, y)`` yielding ``(train_idx, test_idx)``, such as a
        ``KFold`` (then ``stratified`` and ``seed`` are not used).
    fit_kwargs : dict, optional
        Extra keyword arguments of ``fit`` (epochs, batch size, ...).
    metrics : str, callable, or a sequence or dict of them, default ('accuracy',)
        Names from :data:`METRICS` (``'accuracy'``, ``'precision_macro'``,
        ``'recall_macro'``, ``'f1_macro'``, ``'f1_weighted'``, ``'f1_micro'``,
        the binary ``'precision'``, ``'recall'``, ``'f1'``, ...) or callables
        ``(y_true, y_pred) -> float``, named by their ``__name__`` (or by the
        dict key).
    stratified : bool, default True
        For an int ``cv``: keep each class's share in every fold.
    seed : None, int or numpy.random.Generator, default 0
        Shuffles the samples into folds, for an int ``cv``.
    verbose : int, default 0
        1 prints one line per fold, with its scores and times.

    Returns
    -------
    dict
        With ``K`` folds and, for every metric ``m``:

        - ``'n_splits'`` : int, K;
        - ``'folds'`` : list of K dicts, one per fold, with ``'fold'`` (0-based),
          ``'train_size'``, ``'test_size'``, ``'fit_time'`` and
          ``'predict_time'`` (seconds) and each metric's score;
        - ``m`` : ndarray of float64, shape (K,), the per-fold scores;
        - ``m + '_mean'``, ``m + '_std'`` : float, their mean and standard
          deviation (population, ``ddof=0``);
        - ``'fit_time'``, ``'predict_time'`` : ndarray of float64, shape (K,).

    Examples
    --------
    >>> res = cross_validate(make_model, x, y, cv=5, fit_kwargs={"epochs": 10},
    ...                      metrics=("accuracy", "f1_macro"))
    >>> print(f"{res['accuracy_mean']:.3f} +- {res['accuracy_std']:.3f}")
    """
    func = "cross_validate"
    if not callable(build_model):
        raise TypeError(f"{func}: expected build_model to be a callable returning a new model, "
                        f"got {type(build_model).__name__}; pass e.g. lambda: MyModel()")
    x = _as_array(x, func, "x", min_ndim=1)
    y = _as_array(y, func, "y", kinds="biufUS")
    if y.ndim != 1:
        raise ValueError(f"{func}: expected y to be a 1-D array of class labels, got shape "
                         f"{y.shape}; for one-hot targets pass y.argmax(axis=1)")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{func}: x and y must have the same number of samples, got "
                         f"{x.shape[0]} and {y.shape[0]}")
    if fit_kwargs is None:
        fit_kwargs = {}
    elif not isinstance(fit_kwargs, dict):
        raise TypeError(f"{func}: expected fit_kwargs to be a dict or None, got "
                        f"{type(fit_kwargs).__name__}")
    scorers = _resolve_metrics(metrics, func)
    verbose = _check_int(verbose, func, "verbose", minimum=0)
    if isinstance(cv, (bool, np.bool_)):
        raise TypeError(f"{func}: expected cv to be an int >= 2 or a splitter, got {cv!r}")
    if isinstance(cv, (int, np.integer)):
        k = _check_int(cv, func, "cv", minimum=2)
        if not isinstance(stratified, (bool, np.bool_)):
            raise TypeError(f"{func}: expected stratified to be True or False, got "
                            f"{stratified!r}")
        cls = StratifiedKFold if stratified else KFold
        splitter = cls(k, shuffle=True, seed=seed)
    elif not isinstance(cv, (str, bytes)) and callable(getattr(cv, "split", None)):
        splitter = cv
    else:
        raise TypeError(f"{func}: expected cv to be an int >= 2 or a splitter with "
                        f".split(x, y) (e.g. pydl.data.KFold), got {type(cv).__name__}")
    y = np.asarray(y)
    folds = []
    for i, (train_idx, test_idx) in enumerate(splitter.split(x, y)):
        train_idx = np.asarray(train_idx, dtype=np.int64)
        test_idx = np.asarray(test_idx, dtype=np.int64)
        model = build_model()
        for method in ("fit", "predict"):
            if not callable(getattr(model, method, None)):
                raise TypeError(f"{func}: build_model() returned an object of type "
                                f"{type(model).__name__} that has no {method}() method; the "
                                f"model needs fit(x, y) and predict(x)")
        start = time.perf_counter()
        model.fit(_take(x, train_idx), y[train_idx], **fit_kwargs)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        pred = model.predict(_take(x, test_idx))
        predict_time = time.perf_counter() - start
        pred = _labels_from_prediction(pred, test_idx.shape[0], func)
        y_test = y[test_idx]
        record = {"fold": i, "train_size": int(train_idx.shape[0]),
                  "test_size": int(test_idx.shape[0]), "fit_time": fit_time,
                  "predict_time": predict_time}
        for name, scorer in scorers:
            record[name] = float(scorer(y_test, pred))
        folds.append(record)
        if verbose:
            scores = "  ".join(f"{name}={record[name]:.4f}" for name, _ in scorers)
            print(f"fold {i + 1}: {scores}  (fit {fit_time:.2f} s, predict "
                  f"{predict_time:.2f} s, {record['train_size']} train / "
                  f"{record['test_size']} test)", flush=True)
    if not folds:
        raise ValueError(f"{func}: the splitter yielded no folds")
    result = {"n_splits": len(folds), "folds": folds}
    for name, _ in scorers:
        values = np.array([f[name] for f in folds], dtype=np.float64)
        result[name] = values
        result[f"{name}_mean"] = float(values.mean())
        result[f"{name}_std"] = float(values.std())
    result["fit_time"] = np.array([f["fit_time"] for f in folds])
    result["predict_time"] = np.array([f["predict_time"] for f in folds])
    if verbose:
        print("  ".join(f"{name}: {result[name + '_mean']:.4f} +- {result[name + '_std']:.4f}"
                        for name, _ in scorers), flush=True)
    return result
