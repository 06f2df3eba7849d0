"""Classification metrics on label arrays: accuracy, precision, recall, F1,
the confusion matrix and a text report.

Labels may be integers, floats (finite), bools or strings; ``y_true`` and
``y_pred`` are 1-D arrays of the same length.  To score a model that outputs
class scores of shape (N, C), pass ``scores.argmax(axis=1)``.

Averages (the ``average`` argument of the precision / recall / F1 functions):

- ``'binary'`` (default): the score of the class ``pos_label`` only; the data
  must hold at most two classes.
- ``'micro'``: from the true positives, false positives and false negatives
  summed over the classes (for single-label data over all classes, all three
  scores equal the accuracy).
- ``'macro'``: the unweighted mean of the per-class scores.
- ``'weighted'``: the mean of the per-class scores weighted by support (the
  number of true samples of each class).
- ``None``: the per-class scores, as an array.

A score whose denominator is zero (precision of a class that is never
predicted, recall of a class that never occurs) is 0.0 and an
:class:`UndefinedMetricWarning` is issued, never NaN.
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence, Tuple

import numpy as np

from pydl.data import _as_array, _check_int

__all__ = [
    "UndefinedMetricWarning",
    "accuracy_score",
    "precision_score",
    "recall_score",
    "f1_score",
    "precision_recall_fscore_support",
    "confusion_matrix",
    "classification_report",
]

_AVERAGES = ("binary", "micro", "macro", "weighted", None)


class UndefinedMetricWarning(UserWarning):
    """A metric had a zero denominator and was set to 0.0."""


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------
def _check_labels(y, func: str, name: str) -> np.ndarray:
    y = _as_array(y, func, name, kinds="biufUS")
    if y.ndim != 1:
        hint = ""
        if y.ndim == 2 and y.shape[1] > 1:
            hint = (f"; if {name} holds class scores of shape (N, C), pass "
                    f"{name}.argmax(axis=1)")
        elif y.ndim == 2:
            hint = f"; pass {name}.ravel()"
        raise ValueError(f"{func}: expected {name} to be a 1-D array of labels, got "
                         f"{y.ndim}-D with shape {y.shape}{hint}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{func}: {name} holds NaN or inf; labels must be finite")
    return np.asarray(y)


def _is_text(a: np.ndarray) -> bool:
    return a.dtype.kind in "US"


def _check_pair(y_true, y_pred, func: str) -> Tuple[np.ndarray, np.ndarray]:
    yt = _check_labels(y_true, func, "y_true")
    yp = _check_labels(y_pred, func, "y_pred")
    if yt.shape[0] != yp.shape[0]:
        raise ValueError(f"{func}: y_true and y_pred must have the same length, got "
                         f"{yt.shape[0]} and {yp.shape[0]}")
    if yt.shape[0] == 0:
        raise ValueError(f"{func}: y_true and y_pred are empty; there is nothing to score")
    if _is_text(yt) != _is_text(yp):
        raise TypeError(f"{func}: y_true and y_pred mix label types (dtypes {yt.dtype} and "
                        f"{yp.dtype}); use strings for both or numbers for both")
    return yt, yp


def _check_label_list(labels, func: str, like: np.ndarray) -> np.ndarray:
    lab = _as_array(labels, func, "labels", ndim=1, kinds="biufUS")
    lab = np.asarray(lab)
    if lab.shape[0] == 0:
        raise ValueError(f"{func}: labels is empty; pass at least one label or labels=None")
    if _is_text(lab) != _is_text(like):
        raise TypeError(f"{func}: labels (dtype {lab.dtype}) and the targets (dtype "
                        f"{like.dtype}) mix label types; use the same kind for both")
    if np.unique(lab).shape[0] != lab.shape[0]:
        raise ValueError(f"{func}: labels must not repeat, got {lab.tolist()}")
    return lab


def _encode(yt: np.ndarray, yp: np.ndarray, labels: Optional[np.ndarray]):
    """(classes, t, p, sel): integer codes of y_true and y_pred in ``classes``
    (the sorted union of the present and the requested labels) and the
    positions of the reported labels in ``classes``."""
    both = np.concatenate([yt, yp]) if labels is None else np.concatenate([yt, yp, labels])
    classes, codes = np.unique(both, return_inverse=True)
    codes = codes.reshape(-1)
    n = yt.shape[0]
    t, p = codes[:n], codes[n:2 * n]
    if labels is None:
        sel = np.unique(codes[:2 * n])
    else:
        sel = codes[2 * n:]
    return classes, t, p, sel


def _counts(t: np.ndarray, p: np.ndarray, n_classes: int):
    """Per-class (tp, predicted, true) counts, by np.bincount."""
    tp = np.bincount(t[t == p], minlength=n_classes)
    pred = np.bincount(p, minlength=n_classes)
    true = np.bincount(t, minlength=n_classes)
    return tp, pred, true


def _ratio(num, den, what: str, func: str, names, warn: bool):
    """num / den, with 0.0 (and a warning) where den == 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    bad = den == 0
    out = np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=~bad)
    if warn and bad.any():
        if names is None:
            where = ""
        else:
            shown = [str(v) for v in np.asarray(names)[np.atleast_1d(bad)]]
            where = f" for label(s) {', '.join(shown[:10])}{', ...' if len(shown) > 10 else ''}"
        warnings.warn(f"{func}: {what}{where}; it is set to 0.0", UndefinedMetricWarning,
                      stacklevel=4)
    return out


_WHY = {
    "precision": "precision is ill-defined (no predicted samples)",
    "recall": "recall is ill-defined (no true samples)",
    "f1": "F1 is ill-defined (no true and no predicted samples)",
}


def _check_average(average, func: str):
    if average not in _AVERAGES or isinstance(average, bool):
        raise ValueError(f"{func}: expected average to be one of 'binary', 'micro', 'macro', "
                         f"'weighted' or None, got {average!r}")
    return average


def _scores(y_true, y_pred, labels, pos_label, average, func: str, want: Sequence[str]):
    """Precision, recall and F1 (those in ``want``; only they warn) and support."""
    yt, yp = _check_pair(y_true, y_pred, func)
    average = _check_average(average, func)
    if average == "binary":
        present = np.unique(np.concatenate([yt, yp]))
        if present.shape[0] > 2:
            shown = ", ".join(map(str, present[:10].tolist()))
            raise ValueError(f"{func}: average='binary' needs at most two classes, but the "
                             f"targets hold {present.shape[0]} ({shown}"
                             f"{', ...' if present.shape[0] > 10 else ''}); choose "
                             f"average='macro', 'micro', 'weighted' or None")
        pos = np.asarray([pos_label])
        if pos.dtype.kind not in "biufUS" or pos.ndim != 1:
            raise TypeError(f"{func}: expected pos_label to be a label (number or str), got "
                            f"{type(pos_label).__name__} {pos_label!r}")
        if _is_text(pos) != _is_text(present) or not np.isin(pos, present)[0]:
            if present.shape[0] == 2:
                raise ValueError(f"{func}: pos_label={pos_label!r} is not one of the labels "
                                 f"{present.tolist()}; pass pos_label= one of them")
            tp = pred = true = np.zeros(1, dtype=np.int64)  # the positive class is absent
        else:
            t, p = yt == pos_label, yp == pos_label
            tp = np.array([np.count_nonzero(t & p)])
            pred = np.array([np.count_nonzero(p)])
            true = np.array([np.count_nonzero(t)])
        names = np.asarray([pos_label])
    else:
        lab = None if labels is None else _check_label_list(labels, func, yt)
        classes, t, p, sel = _encode(yt, yp, lab)
        tp, pred, true = _counts(t, p, classes.shape[0])
        tp, pred, true = tp[sel], pred[sel], true[sel]
        names = classes[sel]
    fp, fn = pred - tp, true - tp
    if average == "micro":
        tp, pred, true, fp, fn = (np.array([v.sum()]) for v in (tp, pred, true, fp, fn))
        names = None
    prec = _ratio(tp, pred, _WHY["precision"], func, names, "precision" in want)
    rec = _ratio(tp, true, _WHY["recall"], func, names, "recall" in want)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn, _WHY["f1"], func, names, "f1" in want)
    if average in ("binary", "micro"):
        return float(prec[0]), float(rec[0]), float(f1[0]), None
    if average is None:
        return prec, rec, f1, true.astype(np.int64)
    if average == "macro":
        return float(prec.mean()), float(rec.mean()), float(f1.mean()), None
    total = true.sum()
    if total == 0:
        warnings.warn(f"{func}: the weighted average is ill-defined (no true samples of the "
                      f"requested labels); it is set to 0.0", UndefinedMetricWarning,
                      stacklevel=3)
        return 0.0, 0.0, 0.0, None
    w = true / total
    return float(prec @ w), float(rec @ w), float(f1 @ w), None


# --------------------------------------------------------------------------
# Public metrics
# --------------------------------------------------------------------------
def accuracy_score(y_true, y_pred) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Parameters
    ----------
    y_true : array of shape (N,)
    y_pred : array of shape (N,)

    Returns
    -------
    float in [0, 1]
    """
    yt, yp = _check_pair(y_true, y_pred, "accuracy_score")
    return float(np.count_nonzero(yt == yp) / yt.shape[0])


_SCORE_DOC = """
    Parameters
    ----------
    y_true : array of shape (N,)
    y_pred : array of shape (N,)
    average : {{'binary', 'micro', 'macro', 'weighted'}} or None, default 'binary'
        See :mod:`pydl.metrics`.
    pos_label : label, default 1
        The positive class for ``average='binary'`` (ignored otherwise).
    labels : array of shape (L,), optional
        The classes to score and average over, in this order (default: the
        sorted labels present in ``y_true`` or ``y_pred``).  A class given
        here but absent from the data scores 0.0 (with a warning); samples
        of classes not listed still count as false positives of the listed
        class they are predicted as.

    Returns
    -------
    float, or ndarray of float64 of shape (L,) when ``average=None``
        0.0 where {what} is undefined, with an :class:`UndefinedMetricWarning`.
"""


def precision_score(y_true, y_pred, average="binary", pos_label=1, labels=None):
    return _scores(y_true, y_pred, labels, pos_label, average, "precision_score",
                   ("precision",))[0]


def recall_score(y_true, y_pred, average="binary", pos_label=1, labels=None):
    return _scores(y_true, y_pred, labels, pos_label, average, "recall_score", ("recall",))[1]


def f1_score(y_true, y_pred, average="binary", pos_label=1, labels=None):
    return _scores(y_true, y_pred, labels, pos_label, average, "f1_score", ("f1",))[2]


precision_score.__doc__ = """Precision, tp / (tp + fp): the share of the samples predicted as a
    class that belong to it.
""" + _SCORE_DOC.format(what="a class is never predicted")
recall_score.__doc__ = """Recall, tp / (tp + fn): the share of the samples of a class that are
    predicted as it.
""" + _SCORE_DOC.format(what="a class never occurs in y_true")
f1_score.__doc__ = """F1 score, the harmonic mean of precision and recall:
    2 tp / (2 tp + fp + fn).
""" + _SCORE_DOC.format(what="a class neither occurs nor is predicted")


def precision_recall_fscore_support(y_true, y_pred, average=None, pos_label=1, labels=None):
    """Precision, recall, F1 and support in one pass.

    Parameters
    ----------
    y_true, y_pred, average, pos_label, labels
        As for :func:`precision_score`, but ``average`` defaults to None.

    Returns
    -------
    precision, recall, f1 : ndarray of float64 of shape (L,), or float
        Per class for ``average=None``, else the averages.
    support : ndarray of int64 of shape (L,), or None
        True samples per class (None when averaged).
    """
    return _scores(y_true, y_pred, labels, pos_label, average,
                   "precision_recall_fscore_support", ("precision", "recall", "f1"))


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """Count the samples of each (true class, predicted class) pair.

    Parameters
    ----------
    y_true : array of shape (N,)
    y_pred : array of shape (N,)
    labels : array of shape (L,), optional
        The classes of the rows and columns, in this order (default: the
        sorted labels present in ``y_true`` or ``y_pred``).  Samples whose
        true or predicted label is not listed are left out.

    Returns
    -------
    ndarray of int64, shape (L, L)
        ``cm[i, j]`` is the number of samples of class ``labels[i]``
        predicted as ``labels[j]``; rows sum to the class supports.
    """
    func = "confusion_matrix"
    yt, yp = _check_pair(y_true, y_pred, func)
    lab = None if labels is None else _check_label_list(labels, func, yt)
    classes, t, p, sel = _encode(yt, yp, lab)
    n_sel = sel.shape[0]
    # Position of each class of ``classes`` among the reported labels (-1: left out).
    where = np.full(classes.shape[0], -1, dtype=np.int64)
    where[sel] = np.arange(n_sel)
    ti, pi = where[t], where[p]
    keep = (ti >= 0) & (pi >= 0)
    flat = np.bincount(ti[keep] * n_sel + pi[keep], minlength=n_sel * n_sel)
    return flat.reshape(n_sel, n_sel).astype(np.int64)


def classification_report(y_true, y_pred, target_names=None, digits: int = 2,
                          labels=None) -> str:
    """A text table of precision, recall, F1 and support per class.

    Parameters
    ----------
    y_true : array of shape (N,)
    y_pred : array of shape (N,)
    target_names : sequence of str of length L, optional
        Row names (default: the labels themselves).
    digits : int >= 0, default 2
        Decimals of the scores.
    labels : array of shape (L,), optional
        The classes to report (default: the sorted labels present).

    Returns
    -------
    str
        One row per class, then ``accuracy`` (or ``micro avg`` when
        ``labels`` leaves some present class out), ``macro avg`` and
        ``weighted avg``.  Undefined per-class scores are 0.00, with an
        :class:`UndefinedMetricWarning`.  For example::

                      precision    recall  f1-score   support

                 cat       0.67      1.00      0.80         2
                 dog       1.00      0.50      0.67         2

            accuracy                           0.75         4
           macro avg       0.83      0.75      0.73         4
        weighted avg       0.83      0.75      0.73         4
    """
    func = "classification_report"
    digits = _check_int(digits, func, "digits", minimum=0)
    yt, yp = _check_pair(y_true, y_pred, func)
    lab = None if labels is None else _check_label_list(labels, func, yt)
    classes, t, p, sel = _encode(yt, yp, lab)
    prec, rec, f1, support = _scores(yt, yp, lab, 1, None, func, ("precision", "recall", "f1"))
    if target_names is None:
        names = [str(v) for v in classes[sel].tolist()]
    else:
        if isinstance(target_names, (str, bytes)) or not hasattr(target_names, "__len__"):
            raise TypeError(f"{func}: expected target_names to be a sequence of str, got "
                            f"{type(target_names).__name__}")
        names = [str(v) for v in target_names]
        if len(names) != sel.shape[0]:
            raise ValueError(f"{func}: target_names has {len(names)} names but there are "
                             f"{sel.shape[0]} labels ({classes[sel].tolist()}); pass one name "
                             f"per label")
    all_present = np.isin(np.unique(np.concatenate([t, p])), sel).all()
    total = int(support.sum())
    rows = [(n, prec[i], rec[i], f1[i], int(support[i])) for i, n in enumerate(names)]
    if all_present:
        acc = float(np.count_nonzero(yt == yp) / yt.shape[0])
        summary = [("accuracy", None, None, acc, total)]
    else:
        mp, mr, mf, _ = _scores(yt, yp, lab, 1, "micro", func, ())
        summary = [("micro avg", mp, mr, mf, total)]
    summary.append(("macro avg", float(prec.mean()), float(rec.mean()), float(f1.mean()),
                    total))
    if total > 0:
        w = support / total
        summary.append(("weighted avg", float(prec @ w), float(rec @ w), float(f1 @ w), total))
    else:
        summary.append(("weighted avg", 0.0, 0.0, 0.0, total))
    width = max([len(n) for n in names] + [len("weighted avg")])
    col = max(9, digits + 3)
    header = f"{'':>{width}}" + "".join(f" {h:>{col}}" for h in
                                         ("precision", "recall", "f1-score", "support"))

    def line(name, *values):
        cells = []
        for v in values[:3]:
            cells.append(" " * (col + 1) if v is None else f" {v:>{col}.{digits}f}")
        return f"{name:>{width}}" + "".join(cells) + f" {values[3]:>{col}}"

    out = [header, ""] + [line(*r) for r in rows] + [""] + [line(*r) for r in summary]
    return "\n".join(out) + "\n"
