"""Data preparation on numpy arrays: cleaning, scaling, splitting, batching and
image augmentation.

Everything here is plain vectorised numpy (no Python loop over samples) and
accepts ``np.memmap`` arrays as well as in-memory arrays.

- Cleaning: :func:`find_missing`, :func:`drop_missing`, :class:`SimpleImputer`.
- Scaling: :class:`StandardScaler`, :class:`MinMaxScaler`.
- Labels and splits: :func:`one_hot`, :func:`train_test_split`, :class:`KFold`,
  :class:`StratifiedKFold`.
- Batches: :func:`batches` streams slices of one or more arrays, reading a
  memmap one batch at a time.
- Augmentation of NCHW image batches: :func:`random_flip`,
  :func:`random_shift`, :func:`gaussian_noise` and the :class:`Augment`
  pipeline.

Samples are always along axis 0.  The estimators (imputer and scalers) treat
every element of the trailing axes as one feature: an array of shape
``(N, C, H, W)`` has ``C * H * W`` features and its fitted statistics have
shape ``(C, H, W)``.  For 2-D input ``(N, F)`` the statistics have shape
``(F,)``, as in scikit-learn.

Random functions take ``seed``: ``None`` (fresh entropy), a non-negative int
(reproducible) or a ``numpy.random.Generator`` (used as is, and advanced).
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "NotFittedError",
    "find_missing",
    "drop_missing",
    "SimpleImputer",
    "StandardScaler",
    "MinMaxScaler",
    "one_hot",
    "train_test_split",
    "KFold",
    "StratifiedKFold",
    "batches",
    "BatchIterator",
    "random_flip",
    "random_shift",
    "gaussian_noise",
    "Augment",
]

# Rows per chunk when the estimators stream statistics over a large (memmap) array:
# about this many elements are converted to float64 at a time.
_CHUNK_ELEMENTS = 1 << 22


class NotFittedError(ValueError, AttributeError):
    """Raised when ``transform`` (or ``inverse_transform``) is called on an
    estimator before ``fit``."""


# --------------------------------------------------------------------------
# Validation helpers (shared with pydl.metrics and pydl.model_selection)
# --------------------------------------------------------------------------
def _as_array(x, func: str, name: str = "x", *, ndim=None, min_ndim: int = 0,
              kinds: str = "biuf") -> np.ndarray:
    """``x`` as an ndarray (a memmap or an ndarray is kept, not copied).

    ``kinds`` are the allowed dtype kinds (numpy ``dtype.kind`` letters);
    ``ndim`` an int or a tuple of allowed ranks.
    """
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{func}: expected {name} to be a numpy array (or array-like), "
                        f"got {type(x).__name__}")
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{func}: could not convert {name} to a numpy array ({exc}); "
                            f"pass a rectangular array") from None
    if x.dtype.kind not in kinds:
        wanted = {"b": "bool", "i": "integer", "u": "unsigned integer", "f": "float",
                  "U": "str", "S": "bytes"}
        names = " or ".join(dict.fromkeys(wanted.get(k, k) for k in kinds))
        hint = ""
        if x.dtype.kind == "O":
            hint = " (a ragged list or mixed types gives dtype object)"
        elif x.dtype.kind == "f" and "f" not in kinds:
            hint = f"; convert it first, e.g. {name}.astype(np.int64)"
        elif x.dtype.kind == "c":
            hint = f"; take {name}.real or np.abs({name}) first"
        raise TypeError(f"{func}: expected {name} of {names} dtype, got dtype "
                        f"{x.dtype}{hint}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            wanted = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{func}: expected {name} to be {wanted}, got {x.ndim}-D with "
                             f"shape {x.shape}")
    if x.ndim < min_ndim:
        raise ValueError(f"{func}: expected {name} with at least {min_ndim} dimension(s) "
                         f"(samples along axis 0), got {x.ndim}-D with shape {x.shape}")
    return x


def _check_int(value, func: str, name: str, *, minimum: Optional[int] = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: expected {name} to be an int, got "
                        f"{type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{func}: expected {name} >= {minimum}, got {value}")
    return value


def _check_real(value, func: str, name: str, *, minimum: Optional[float] = None,
                maximum: Optional[float] = None) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: expected {name} to be a real number, got "
                        f"{type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{func}: expected {name} to be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{func}: expected {name} >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{func}: expected {name} <= {maximum}, got {value}")
    return value


def _check_bool(value, func: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: expected {name} to be True or False, got "
                        f"{type(value).__name__} {value!r}")
    return bool(value)


def _as_rng(seed, func: str) -> np.random.Generator:
    """A Generator from ``seed`` (None, a non-negative int or a Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{func}: expected seed to be None, an int or a numpy.random.Generator, "
                        f"got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"{func}: expected seed >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def _num_samples(arrays: Sequence[np.ndarray], func: str, names: Sequence[str]) -> int:
    n = arrays[0].shape[0]
    for a, name in zip(arrays[1:], names[1:]):
        if a.shape[0] != n:
            lengths = ", ".join(f"{nm}: {b.shape[0]}" for b, nm in zip(arrays, names))
            raise ValueError(f"{func}: all arrays must have the same number of samples "
                             f"(length of axis 0); got {lengths}")
    return n


def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[idx]`` as an in-memory ndarray.  A memmap is read in increasing file
    order (sorted indices) and the rows are then put in ``idx``'s order."""
    if isinstance(a, np.memmap):
        order = np.argsort(idx, kind="stable")
        rows = np.asarray(a[idx[order]])
        out = np.empty_like(rows)
        out[order] = rows
        return out
    return a[idx]


def _float_dtype(x: np.ndarray) -> np.dtype:
    """The dtype of a transform's output: x's float dtype, else float64."""
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


def _row_chunks(n: int, features: int) -> Iterator[Tuple[int, int]]:
    step = max(1, _CHUNK_ELEMENTS // max(features, 1))
    for start in range(0, n, step):
        yield start, min(n, start + step)


def _feature_stats(x2: np.ndarray):
    """Per-column (count, mean, var, min, max) of the finite values of the 2-D
    ``x2``, in float64, streamed over row chunks (Chan et al.'s pairwise update),
    so a memmap is never loaded whole.  Columns without a finite value get
    count 0, mean 0, var 0, min +inf, max -inf."""
    f = x2.shape[1]
    count = np.zeros(f)
    mean = np.zeros(f)
    m2 = np.zeros(f)
    lo = np.full(f, np.inf)
    hi = np.full(f, -np.inf)
    for start, stop in _row_chunks(x2.shape[0], f):
        c = np.asarray(x2[start:stop], dtype=np.float64)
        fin = np.isfinite(c)
        c_count = fin.sum(axis=0).astype(np.float64)
        c_sum = np.where(fin, c, 0.0).sum(axis=0)
        c_mean = np.divide(c_sum, c_count, out=np.zeros(f), where=c_count > 0)
        c_m2 = np.square(np.where(fin, c - c_mean, 0.0)).sum(axis=0)
        lo = np.minimum(lo, np.where(fin, c, np.inf).min(axis=0))
        hi = np.maximum(hi, np.where(fin, c, -np.inf).max(axis=0))
        total = count + c_count
        delta = c_mean - mean
        frac = np.divide(c_count, total, out=np.zeros(f), where=total > 0)
        mean = mean + delta * frac
        m2 = m2 + c_m2 + np.square(delta) * count * frac
        count = total
    var = np.divide(m2, count, out=np.zeros(f), where=count > 0)
    return count, mean, var, lo, hi


class _Estimator:
    """Shared fit/transform plumbing: input checks and the fitted feature shape."""

    _fitted_attr = ""

    def _check_fit_input(self, x, func: str) -> np.ndarray:
        x = _as_array(x, func, "x", min_ndim=2)
        if x.shape[0] == 0:
            raise ValueError(f"{func}: x has no samples (shape {x.shape}); fit needs at least one")
        return x

    def _check_fitted(self, func: str) -> None:
        if getattr(self, self._fitted_attr, None) is None:
            name = type(self).__name__
            raise NotFittedError(f"{func}: this {name} is not fitted yet; call fit(x_train) "
                                 f"(or fit_transform) first")

    def _check_transform_input(self, x, func: str) -> np.ndarray:
        self._check_fitted(func)
        x = _as_array(x, func, "x", min_ndim=2)
        if x.shape[1:] != self.feature_shape_:
            raise ValueError(f"{func}: x has feature shape {x.shape[1:]} (shape {x.shape}) but "
                             f"this {type(self).__name__} was fitted on feature shape "
                             f"{self.feature_shape_}; pass arrays shaped (N, "
                             f"{', '.join(map(str, self.feature_shape_))})")
        return x

    def _set_shape(self, x: np.ndarray) -> None:
        self.feature_shape_ = tuple(x.shape[1:])
        self.n_features_in_ = int(np.prod(self.feature_shape_, dtype=np.int64))

    def fit_transform(self, x) -> np.ndarray:
        """Fit on ``x``, then transform ``x``.

        Parameters
        ----------
        x : array of shape (N, ...)

        Returns
        -------
        ndarray of shape (N, ...)
        """
        return self.fit(x).transform(x)


# --------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------
def find_missing(x) -> np.ndarray:
    """Boolean mask of the missing values of ``x``: NaN, +inf and -inf.

    Parameters
    ----------
    x : array of any shape, bool, integer or float dtype (np.memmap allowed)

    Returns
    -------
    ndarray of bool, same shape as ``x``
        True where ``x`` is not finite.  Integer and bool arrays have no
        missing values (all False).
    """
    x = _as_array(x, "find_missing")
    if x.dtype.kind == "f":
        return np.asarray(~np.isfinite(x))
    return np.zeros(x.shape, dtype=bool)


def drop_missing(x, y=None):
    """Drop the samples (rows along axis 0) that hold a missing value.

    A sample is dropped when any of its values in ``x`` is NaN or +-inf, or
    when its target ``y`` is (a sample without a target cannot be used).

    Parameters
    ----------
    x : array of shape (N, ...)
    y : array of shape (N, ...), optional

    Returns
    -------
    x_clean : ndarray of shape (M, ...)
        The kept rows, in their original order (M <= N); always a new array.
    y_clean : ndarray of shape (M, ...)
        Only when ``y`` is given: ``(x_clean, y_clean)``.
    """
    func = "drop_missing"
    x = _as_array(x, func, "x", min_ndim=1)
    arrays, names = [x], ["x"]
    if y is not None:
        y = _as_array(y, func, "y", min_ndim=1, kinds="biufUS")
        arrays.append(y)
        names.append("y")
    n = _num_samples(arrays, func, names)
    keep = np.ones(n, dtype=bool)
    for a in arrays:
        if a.dtype.kind != "f":
            continue
        a2 = a.reshape(n, int(np.prod(a.shape[1:], dtype=np.int64)))
        for start, stop in _row_chunks(n, a2.shape[1]):
            keep[start:stop] &= np.isfinite(np.asarray(a2[start:stop])).all(axis=1)
    idx = np.flatnonzero(keep)
    out = tuple(np.asarray(a[idx]) for a in arrays)
    return out if y is not None else out[0]


class SimpleImputer(_Estimator):
    """Replace missing values (NaN, +-inf) feature by feature.

    The statistics come from the data given to :meth:`fit` only (they ignore
    its missing values) and are applied unchanged by :meth:`transform`, so
    fit on the training set and transform the training and test sets.

    Parameters
    ----------
    strategy : {'mean', 'median', 'constant'}, default 'mean'
        ``'mean'`` and ``'median'`` use each feature's finite training values;
        ``'constant'`` uses ``fill_value`` everywhere.
    fill_value : float, default 0.0
        The value for ``'constant'``, and for a feature that has no finite
        value at all in the training data (with a warning).

    Attributes
    ----------
    statistics_ : ndarray of float64, shape feature_shape_
        The fill value of each feature.
    feature_shape_ : tuple
        ``x.shape[1:]`` of the training data.
    n_features_in_ : int
        ``prod(feature_shape_)``.

    Notes
    -----
    ``'mean'`` streams over the rows, so a memmap is never loaded whole;
    ``'median'`` needs all training values in memory.
    """

    _fitted_attr = "statistics_"
    _STRATEGIES = ("mean", "median", "constant")

    def __init__(self, strategy: str = "mean", fill_value: float = 0.0):
        func = "SimpleImputer"
        if not isinstance(strategy, str) or strategy not in self._STRATEGIES:
            raise ValueError(f"{func}: expected strategy to be one of "
                             f"{', '.join(map(repr, self._STRATEGIES))}, got {strategy!r}")
        self.strategy = strategy
        self.fill_value = _check_real(fill_value, func, "fill_value")
        self.statistics_ = None

    def __repr__(self) -> str:
        return f"SimpleImputer(strategy={self.strategy!r}, fill_value={self.fill_value!r})"

    def fit(self, x) -> "SimpleImputer":
        """Compute the fill value of each feature from ``x``.

        Parameters
        ----------
        x : array of shape (N, ...), N >= 1

        Returns
        -------
        self
        """
        x = self._check_fit_input(x, "SimpleImputer.fit")
        n = x.shape[0]
        x2 = x.reshape(n, -1)
        f = x2.shape[1]
        if self.strategy == "constant":
            stats = np.full(f, self.fill_value)
        elif self.strategy == "mean":
            count, stats, _, _, _ = _feature_stats(x2)
            stats = np.where(count > 0, stats, np.nan)
        else:
            v = np.array(x2, dtype=np.float64)
            v[~np.isfinite(v)] = np.nan
            empty = np.isnan(v).all(axis=0)
            v[:, empty] = 0.0  # keeps nanmedian quiet; replaced below
            stats = np.nanmedian(v, axis=0)
            stats[empty] = np.nan
        empty = np.isnan(stats)
        if empty.any():
            warnings.warn(f"SimpleImputer.fit: {int(empty.sum())} feature(s) have no finite "
                          f"value in the training data (first at flat index "
                          f"{int(np.flatnonzero(empty)[0])}); they are filled with "
                          f"fill_value={self.fill_value}", RuntimeWarning, stacklevel=2)
            stats[empty] = self.fill_value
        self._set_shape(x)
        self.statistics_ = stats.reshape(self.feature_shape_)
        return self

    def transform(self, x) -> np.ndarray:
        """Replace the missing values of ``x`` with the fitted statistics.

        Parameters
        ----------
        x : array of shape (N, \\*feature_shape_)

        Returns
        -------
        ndarray of shape (N, \\*feature_shape_)
            A new array, of ``x``'s float dtype (float64 for integer input).
        """
        x = self._check_transform_input(x, "SimpleImputer.transform")
        out = np.array(x, dtype=_float_dtype(x))
        missing = ~np.isfinite(out)
        if missing.any():
            filled = np.broadcast_to(self.statistics_.astype(out.dtype), out.shape)
            out[missing] = filled[missing]
        return out


# --------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------
class StandardScaler(_Estimator):
    """Standardise features: ``z = (x - mean_) / scale_``.

    Statistics are per feature over axis 0 (every element of ``x.shape[1:]``
    is one feature), from the finite values of the training data: NaN and
    +-inf are ignored by :meth:`fit` and passed through by :meth:`transform`.
    They are computed in float64, streaming over the rows (a memmap is never
    loaded whole).

    Parameters
    ----------
    with_mean : bool, default True
        Subtract the mean.
    with_std : bool, default True
        Divide by the standard deviation (population, ``ddof=0``).

    Attributes
    ----------
    mean_, var_, scale_ : ndarray of float64, shape feature_shape_
        Mean, variance and standard deviation of each feature.  A constant
        feature (all its training values equal) has ``var_ == 0`` and
        ``scale_ == 1``, so it is centred but never divided by zero.
    n_samples_seen_ : ndarray of int64, shape feature_shape_
        Finite training values per feature.
    feature_shape_ : tuple
    n_features_in_ : int
    """

    _fitted_attr = "mean_"

    def __init__(self, with_mean: bool = True, with_std: bool = True):
        self.with_mean = _check_bool(with_mean, "StandardScaler", "with_mean")
        self.with_std = _check_bool(with_std, "StandardScaler", "with_std")
        self.mean_ = None

    def __repr__(self) -> str:
        return f"StandardScaler(with_mean={self.with_mean}, with_std={self.with_std})"

    def fit(self, x) -> "StandardScaler":
        """Compute the mean and standard deviation of each feature of ``x``.

        Parameters
        ----------
        x : array of shape (N, ...), N >= 1

        Returns
        -------
        self
        """
        x = self._check_fit_input(x, "StandardScaler.fit")
        count, mean, var, lo, hi = _feature_stats(x.reshape(x.shape[0], -1))
        _warn_empty(count, "StandardScaler.fit", "mean 0 and scale 1")
        constant = ~(hi > lo)  # also true for features without finite values
        var = np.where(constant, 0.0, var)
        scale = np.where(constant, 1.0, np.sqrt(var))
        self._set_shape(x)
        shape = self.feature_shape_
        self.n_samples_seen_ = count.astype(np.int64).reshape(shape)
        self.mean_ = mean.reshape(shape)
        self.var_ = var.reshape(shape)
        self.scale_ = scale.reshape(shape)
        return self

    def transform(self, x) -> np.ndarray:
        """Standardise ``x`` with the fitted statistics.

        Parameters
        ----------
        x : array of shape (N, \\*feature_shape_)

        Returns
        -------
        ndarray of shape (N, \\*feature_shape_)
            A new array of ``x``'s float dtype (float64 for integer input).
        """
        x = self._check_transform_input(x, "StandardScaler.transform")
        out = np.asarray(x, dtype=np.float64)
        if self.with_mean:
            out = out - self.mean_
        if self.with_std:
            out = out / self.scale_
        return np.asarray(out, dtype=_float_dtype(x))

    def inverse_transform(self, z) -> np.ndarray:
        """Undo :meth:`transform`: ``x = z * scale_ + mean_``.

        Parameters
        ----------
        z : array of shape (N, \\*feature_shape_)

        Returns
        -------
        ndarray of shape (N, \\*feature_shape_)
            Equal to the original ``x`` up to floating-point rounding.
        """
        z = self._check_transform_input(z, "StandardScaler.inverse_transform")
        out = np.asarray(z, dtype=np.float64)
        if self.with_std:
            out = out * self.scale_
        if self.with_mean:
            out = out + self.mean_
        return np.asarray(out, dtype=_float_dtype(z))


def _warn_empty(count: np.ndarray, func: str, what: str) -> None:
    empty = count == 0
    if empty.any():
        warnings.warn(f"{func}: {int(empty.sum())} feature(s) have no finite value in the "
                      f"training data (first at flat index {int(np.flatnonzero(empty)[0])}); "
                      f"they get {what}", RuntimeWarning, stacklevel=3)


class MinMaxScaler(_Estimator):
    """Scale each feature linearly so its training range maps onto ``feature_range``.

    ``z = (x - data_min_) * scale_ + feature_range[0]`` with
    ``scale_ = (hi - lo) / (data_max_ - data_min_)``.  Statistics are per
    feature over axis 0 from the finite training values (NaN and +-inf are
    ignored by :meth:`fit` and passed through by :meth:`transform`).  Values
    outside the training range map outside ``feature_range`` (no clipping).

    Parameters
    ----------
    feature_range : (float, float), default (0, 1)
        ``(lo, hi)`` with ``lo < hi``.

    Attributes
    ----------
    data_min_, data_max_, data_range_ : ndarray of float64, shape feature_shape_
    scale_ : ndarray of float64, shape feature_shape_
        A constant feature (``data_range_ == 0``) gets ``scale_ = hi - lo``
        (as if its range were 1): it maps to ``lo`` and is never divided by zero.
    min_ : ndarray of float64, shape feature_shape_
        ``lo - data_min_ * scale_``, so that ``z = x * scale_ + min_``.
    feature_shape_ : tuple
    n_features_in_ : int
    """

    _fitted_attr = "scale_"

    def __init__(self, feature_range: Tuple[float, float] = (0, 1)):
        func = "MinMaxScaler"
        if not isinstance(feature_range, (tuple, list)) or len(feature_range) != 2:
            raise TypeError(f"{func}: expected feature_range to be a pair (lo, hi), got "
                            f"{type(feature_range).__name__} {feature_range!r}")
        lo = _check_real(feature_range[0], func, "feature_range[0]")
        hi = _check_real(feature_range[1], func, "feature_range[1]")
        if not lo < hi:
            raise ValueError(f"{func}: expected feature_range (lo, hi) with lo < hi, got "
                             f"{tuple(feature_range)}")
        self.feature_range = (lo, hi)
        self.scale_ = None

    def __repr__(self) -> str:
        return f"MinMaxScaler(feature_range={self.feature_range})"

    def fit(self, x) -> "MinMaxScaler":
        """Compute the minimum and maximum of each feature of ``x``.

        Parameters
        ----------
        x : array of shape (N, ...), N >= 1

        Returns
        -------
        self
        """
        x = self._check_fit_input(x, "MinMaxScaler.fit")
        count, _, _, dmin, dmax = _feature_stats(x.reshape(x.shape[0], -1))
        _warn_empty(count, "MinMaxScaler.fit", "data_min_ = data_max_ = 0")
        dmin = np.where(count > 0, dmin, 0.0)
        dmax = np.where(count > 0, dmax, 0.0)
        lo, hi = self.feature_range
        drange = dmax - dmin
        scale = (hi - lo) / np.where(drange > 0, drange, 1.0)
        self._set_shape(x)
        shape = self.feature_shape_
        self.data_min_ = dmin.reshape(shape)
        self.data_max_ = dmax.reshape(shape)
        self.data_range_ = drange.reshape(shape)
        self.scale_ = scale.reshape(shape)
        self.min_ = lo - self.data_min_ * self.scale_
        return self

    def transform(self, x) -> np.ndarray:
        """Scale ``x`` with the fitted range.

        Parameters
        ----------
        x : array of shape (N, \\*feature_shape_)

        Returns
        -------
        ndarray of shape (N, \\*feature_shape_)
            A new array of ``x``'s float dtype (float64 for integer input).
        """
        x = self._check_transform_input(x, "MinMaxScaler.transform")
        out = (np.asarray(x, dtype=np.float64) - self.data_min_) * self.scale_
        out += self.feature_range[0]
        return np.asarray(out, dtype=_float_dtype(x))

    def inverse_transform(self, z) -> np.ndarray:
        """Undo :meth:`transform`: ``x = (z - lo) / scale_ + data_min_``.

        Parameters
        ----------
        z : array of shape (N, \\*feature_shape_)

        Returns
        -------
        ndarray of shape (N, \\*feature_shape_)
            Equal to the original ``x`` up to floating-point rounding
            (a constant feature comes back as its training value).
        """
        z = self._check_transform_input(z, "MinMaxScaler.inverse_transform")
        out = (np.asarray(z, dtype=np.float64) - self.feature_range[0]) / self.scale_
        out += self.data_min_
        return np.asarray(out, dtype=_float_dtype(z))


# --------------------------------------------------------------------------
# Labels and splits
# --------------------------------------------------------------------------
def one_hot(labels, num_classes: Optional[int] = None, dtype=np.float32) -> np.ndarray:
    """One-hot encode integer class labels.

    Parameters
    ----------
    labels : array of int, any shape (...)
        Class indices in ``[0, num_classes)``.
    num_classes : int, optional
        Number of classes C; default ``labels.max() + 1`` (0 for empty labels).
    dtype : numpy dtype, default np.float32
        The output dtype (any numeric dtype).

    Returns
    -------
    ndarray of shape (..., C)
        ``out[..., k] == 1`` where ``labels == k``, else 0.
    """
    func = "one_hot"
    labels = _as_array(labels, func, "labels", kinds="biu")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{func}: expected dtype to be a numpy dtype, got {dtype!r}") from None
    if dtype.kind not in "biufc":
        raise TypeError(f"{func}: expected a numeric dtype, got {dtype}")
    lab = np.asarray(labels).astype(np.int64, copy=False)
    if lab.size and lab.min() < 0:
        raise ValueError(f"{func}: labels must be >= 0, got a minimum of {int(lab.min())}")
    top = int(lab.max()) + 1 if lab.size else 0
    if num_classes is None:
        num_classes = top
    else:
        num_classes = _check_int(num_classes, func, "num_classes", minimum=1)
        if top > num_classes:
            raise ValueError(f"{func}: labels must be < num_classes={num_classes}, got a "
                             f"maximum of {top - 1}; pass num_classes={top} or more")
    out = np.zeros(lab.shape + (num_classes,), dtype=dtype)
    if lab.size:
        np.put_along_axis(out, lab[..., None], 1, axis=-1)
    return out


def _as_arrays(arrays, func: str) -> Tuple[list, list]:
    if not arrays:
        raise ValueError(f"{func}: expected at least one array")
    names = [f"arrays[{i}]" for i in range(len(arrays))]
    out = [_as_array(a, func, nm, min_ndim=1, kinds="biufUS") for a, nm in zip(arrays, names)]
    return out, names


def _class_codes(y, func: str, name: str, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """(classes, codes) of the 1-D label array ``y`` of length ``n``."""
    y = _as_array(y, func, name, ndim=1, kinds="biufUS")
    if y.shape[0] != n:
        raise ValueError(f"{func}: {name} must have one label per sample ({n}), got "
                         f"length {y.shape[0]}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{func}: {name} holds NaN or inf; drop those samples first "
                         f"(pydl.data.drop_missing)")
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    return classes, codes.reshape(-1)


def _within_class_rank(codes: np.ndarray, rng: Optional[np.random.Generator]):
    """(order, rank): samples grouped by class (random order within a class when
    ``rng`` is given, else their original order), and each sample's position
    within its class in that grouping."""
    n = codes.shape[0]
    perm = rng.permutation(n) if rng is not None else np.arange(n)
    order = perm[np.argsort(codes[perm], kind="stable")]
    counts = np.bincount(codes)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    return order, rank


def _stratified_test_counts(counts: np.ndarray, n_test: int) -> np.ndarray:
    """Per-class test counts summing to ``n_test``, proportional to ``counts``
    (largest remainder; ties go to the larger class, then the lower class)."""
    exact = counts * (n_test / counts.sum())
    take = np.floor(exact).astype(np.int64)
    left = n_test - int(take.sum())
    if left > 0:
        frac = exact - take
        best = np.lexsort((np.arange(len(counts)), -counts, -frac))[:left]
        take[best] += 1
    return take


def train_test_split(*arrays, test_size=0.25, shuffle: bool = True, seed=None, stratify=None):
    """Split arrays into a training part and a test part, sample by sample.

    Parameters
    ----------
    *arrays : arrays of shape (N, ...)
        One or more arrays with the same length N (np.memmap allowed: only
        the selected rows are read, in file order).
    test_size : float or int, default 0.25
        A float in (0, 1) is the fraction of samples in the test part
        (``ceil(test_size * N)`` samples); an int is the number of test samples.
        Both parts must get at least one sample.
    shuffle : bool, default True
        Shuffle before splitting.  With ``shuffle=False`` the test part is the
        last samples, in order.
    seed : None, int or numpy.random.Generator
    stratify : array of shape (N,), optional
        Class labels: each class gets (as nearly as integers allow) the same
        share of test samples.  Needs ``shuffle=True`` and at least two
        samples of every class.

    Returns
    -------
    list of ndarray, length 2 * len(arrays)
        ``[a_train, a_test, b_train, b_test, ...]``, new in-memory arrays
        (the order scikit-learn uses).
    """
    func = "train_test_split"
    arrays, names = _as_arrays(arrays, func)
    n = _num_samples(arrays, func, names)
    shuffle = _check_bool(shuffle, func, "shuffle")
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"{func}: expected test_size to be a float in (0, 1) or an int, got "
                        f"{type(test_size).__name__} {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(f"{func}: test_size={n_test} samples leaves no training or no test "
                             f"sample out of {n}; expected 1 <= test_size <= {n - 1}")
    else:
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"{func}: expected a float test_size in (0, 1), got {test_size}")
        n_test = int(math.ceil(test_size * n))
        if not 1 <= n_test <= n - 1:
            raise ValueError(f"{func}: test_size={test_size} of {n} samples gives {n_test} test "
                             f"and {n - n_test} training samples; both need at least one")
    rng = _as_rng(seed, func)
    if stratify is not None:
        if not shuffle:
            raise ValueError(f"{func}: stratify needs shuffle=True (an unshuffled split takes "
                             f"the last samples and cannot keep class shares)")
        classes, codes = _class_codes(stratify, func, "stratify", n)
        counts = np.bincount(codes)
        if counts.min() < 2:
            rare = classes[np.argmin(counts)].item()
            raise ValueError(f"{func}: every class in stratify needs at least 2 samples; class "
                             f"{rare!r} has {counts.min()}")
        take = _stratified_test_counts(counts, n_test)
        _, rank = _within_class_rank(codes, rng)
        is_test = rank < take[codes]
        test_idx = rng.permutation(np.flatnonzero(is_test))
        train_idx = rng.permutation(np.flatnonzero(~is_test))
    elif shuffle:
        perm = rng.permutation(n)
        train_idx, test_idx = perm[:n - n_test], perm[n - n_test:]
    else:
        train_idx, test_idx = np.arange(n - n_test), np.arange(n - n_test, n)
    out = []
    for a in arrays:
        out += [_take(a, train_idx), _take(a, test_idx)]
    return out


class KFold:
    """K-fold cross-validation splitter.

    The samples are cut into ``n_splits`` consecutive folds (after an
    optional shuffle); each fold is the test set once while the others train.
    The first ``N % n_splits`` folds have one sample more than the others.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds, >= 2.
    shuffle : bool, default False
        Shuffle the samples before cutting them into folds.
    seed : None, int or numpy.random.Generator
        Only with ``shuffle=True``.  With an int every call of :meth:`split`
        gives the same folds; with None each call gives new ones.
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed=None):
        name = type(self).__name__
        self.n_splits = _check_int(n_splits, name, "n_splits", minimum=2)
        self.shuffle = _check_bool(shuffle, name, "shuffle")
        if seed is not None and not shuffle:
            raise ValueError(f"{name}: seed has no effect with shuffle=False; pass "
                             f"shuffle=True or leave seed=None")
        _as_rng(seed, name)  # validate now
        self.seed = seed

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_splits={self.n_splits}, shuffle={self.shuffle}, "
                f"seed={self.seed!r})")

    def get_n_splits(self, x=None, y=None) -> int:
        """The number of folds, ``n_splits``."""
        return self.n_splits

    def _rng(self) -> Optional[np.random.Generator]:
        if not self.shuffle:
            return None
        if isinstance(self.seed, np.random.Generator):
            return self.seed
        return np.random.default_rng(self.seed)

    def _n_samples(self, x, func: str) -> int:
        x = _as_array(x, func, "x", min_ndim=1, kinds="biufUS")
        n = x.shape[0]
        if n < self.n_splits:
            raise ValueError(f"{func}: cannot make n_splits={self.n_splits} folds of "
                             f"{n} samples; use n_splits <= {n}")
        return n

    def _fold_of(self, x, y, func: str) -> np.ndarray:
        n = self._n_samples(x, func)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[:n % self.n_splits] += 1
        fold = np.repeat(np.arange(self.n_splits), sizes)
        rng = self._rng()
        if rng is not None:
            fold = fold[np.argsort(rng.permutation(n))]
        return fold

    def split(self, x, y=None) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` for each fold.

        Parameters
        ----------
        x : array of shape (N, ...)
            Only its length is used.
        y : array of shape (N,), optional
            Class labels (needed by :class:`StratifiedKFold`, ignored here).

        Yields
        ------
        train_idx : ndarray of int64, shape (N - N_k,)
        test_idx : ndarray of int64, shape (N_k,)
            Sorted sample indices; the test sets of the folds partition
            ``range(N)``.
        """
        fold = self._fold_of(x, y, f"{type(self).__name__}.split")
        for k in range(self.n_splits):
            test = fold == k
            yield np.flatnonzero(~test), np.flatnonzero(test)


class StratifiedKFold(KFold):
    """K-fold splitter that keeps each class's share in every fold.

    The samples of each class are dealt out to the folds in turn (after an
    optional shuffle within the class), so every fold gets the same number
    of samples of a class, give or take one, and the fold sizes differ by at
    most one.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds, >= 2.  A class with fewer than ``n_splits`` samples
        is missing from some test folds (with a warning).
    shuffle : bool, default False
    seed : None, int or numpy.random.Generator
        As for :class:`KFold`.
    """

    def _fold_of(self, x, y, func: str) -> np.ndarray:
        n = self._n_samples(x, func)
        if y is None:
            raise ValueError(f"{func}: StratifiedKFold needs the class labels; call "
                             f"split(x, y)")
        classes, codes = _class_codes(y, func, "y", n)
        counts = np.bincount(codes)
        if counts.min() < self.n_splits:
            warnings.warn(f"{func}: the smallest class ({classes[np.argmin(counts)].item()!r}) has "
                          f"only {counts.min()} samples, fewer than n_splits={self.n_splits}",
                          UserWarning, stacklevel=3)
        order, _ = _within_class_rank(codes, self._rng())
        fold = np.empty(n, dtype=np.int64)
        fold[order] = np.arange(n) % self.n_splits
        return fold


# --------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------
class BatchIterator:
    """Iterator over batches of one or more arrays; made by :func:`batches`.

    ``len()`` is the number of batches of a full pass.
    """

    def __init__(self, arrays, batch_size: int, order: Optional[np.ndarray], drop_last: bool):
        self._arrays = arrays
        self._n = arrays[0].shape[0]
        self.batch_size = batch_size
        self._order = order
        self._drop_last = drop_last
        self._start = 0

    def __len__(self) -> int:
        if self._drop_last:
            return self._n // self.batch_size
        return -(-self._n // self.batch_size)

    def __iter__(self) -> "BatchIterator":
        return self

    def __next__(self) -> tuple:
        start, stop = self._start, min(self._start + self.batch_size, self._n)
        if start >= self._n or (self._drop_last and stop - start < self.batch_size):
            raise StopIteration
        self._start = stop
        if self._order is None:
            return tuple(a[start:stop] for a in self._arrays)
        idx = np.sort(self._order[start:stop])
        return tuple(np.asarray(a[idx]) for a in self._arrays)


def batches(*arrays, batch_size: int, shuffle: bool = False, seed=None,
            drop_last: bool = False) -> BatchIterator:
    """Iterate over the same batches of samples of several arrays.

    Only one batch is read at a time, so arrays on disk (``np.memmap``) are
    streamed, never loaded whole.

    Parameters
    ----------
    *arrays : arrays of shape (N, ...)
        One or more arrays with the same length N.
    batch_size : int
        Samples per batch (keyword-only); the last batch may be shorter.
    shuffle : bool, default False
        Visit the samples in a random order.  Each batch's indices are sorted
        before indexing, so a memmap is read in file order; the order of the
        samples inside a batch is therefore increasing.
    seed : None, int or numpy.random.Generator
        For ``shuffle=True``.
    drop_last : bool, default False
        Skip the last batch when it is shorter than ``batch_size``.

    Returns
    -------
    BatchIterator
        Yields tuples ``(a_batch, b_batch, ...)`` with shapes
        ``(B, ...)``.  Without shuffle they are views (slices) of the inputs;
        with shuffle, new arrays.  ``len()`` gives the number of batches.
    """
    func = "batches"
    arrays, names = _as_arrays(arrays, func)
    _num_samples(arrays, func, names)
    batch_size = _check_int(batch_size, func, "batch_size", minimum=1)
    shuffle = _check_bool(shuffle, func, "shuffle")
    drop_last = _check_bool(drop_last, func, "drop_last")
    rng = _as_rng(seed, func)
    order = rng.permutation(arrays[0].shape[0]) if shuffle else None
    return BatchIterator(arrays, batch_size, order, drop_last)


# --------------------------------------------------------------------------
# Augmentation (NCHW)
# --------------------------------------------------------------------------
def _check_images(x, func: str, kinds: str = "biuf") -> np.ndarray:
    x = _as_array(x, func, "x", kinds=kinds)
    if x.ndim != 4:
        hint = "; for (N, H, W) images use x[:, None]" if x.ndim == 3 else ""
        raise ValueError(f"{func}: expected x to be a 4-D image batch (N, C, H, W), got "
                         f"{x.ndim}-D with shape {x.shape}{hint}")
    return x


def random_flip(x, p: float = 0.5, seed=None) -> np.ndarray:
    """Flip each image of a batch left-right with probability ``p``.

    Parameters
    ----------
    x : array of shape (N, C, H, W)
    p : float in [0, 1], default 0.5
        Probability that an image is flipped (drawn independently per image).
    seed : None, int or numpy.random.Generator

    Returns
    -------
    ndarray of shape (N, C, H, W)
        A new array of ``x``'s dtype; ``x`` is not modified.
    """
    func = "random_flip"
    x = _check_images(x, func)
    p = _check_real(p, func, "p", minimum=0.0, maximum=1.0)
    rng = _as_rng(seed, func)
    flip = rng.random(x.shape[0]) < p
    return np.where(flip[:, None, None, None], x[..., ::-1], x)


_SHIFT_MODES = ("constant", "edge", "reflect", "wrap")


def random_shift(x, max_shift=2, seed=None, mode: str = "constant") -> np.ndarray:
    """Shift each image of a batch by its own random offset (pad and crop).

    Image ``n`` moves by ``(dy_n, dx_n)``, drawn uniformly from
    ``[-max_shift, max_shift]`` on each axis: ``out[n, c, i, j] = x[n, c, i -
    dy_n, j - dx_n]``, with the pixels that come from outside the image given
    by ``mode``.  It runs as one strided gather from a padded copy.

    Parameters
    ----------
    x : array of shape (N, C, H, W)
    max_shift : int or (int, int), default 2
        Largest shift in pixels, or ``(max_dy, max_dx)``; each >= 0.
    seed : None, int or numpy.random.Generator
    mode : {'constant', 'edge', 'reflect', 'wrap'}, default 'constant'
        How the border is filled (as ``np.pad``): zeros, the edge pixel, a
        mirror image (without repeating the edge), or the opposite side (a
        cyclic roll).

    Returns
    -------
    ndarray of shape (N, C, H, W)
        A new array of ``x``'s dtype.
    """
    func = "random_shift"
    x = _check_images(x, func)
    if isinstance(max_shift, (tuple, list)):
        if len(max_shift) != 2:
            raise ValueError(f"{func}: expected max_shift to be an int or a pair (max_dy, "
                             f"max_dx), got {max_shift!r}")
        my = _check_int(max_shift[0], func, "max_shift[0]", minimum=0)
        mx = _check_int(max_shift[1], func, "max_shift[1]", minimum=0)
    else:
        my = mx = _check_int(max_shift, func, "max_shift", minimum=0)
    if not isinstance(mode, str) or mode not in _SHIFT_MODES:
        raise ValueError(f"{func}: expected mode to be one of "
                         f"{', '.join(map(repr, _SHIFT_MODES))}, got {mode!r}")
    n, c, h, w = x.shape
    rng = _as_rng(seed, func)
    dy = rng.integers(-my, my + 1, size=n)
    dx = rng.integers(-mx, mx + 1, size=n)
    if (my == 0 and mx == 0) or x.size == 0:
        return np.array(x)
    padded = np.pad(np.asarray(x), ((0, 0), (0, 0), (my, my), (mx, mx)), mode=mode)
    # windows[n, c, a, b] is the (H, W) crop of image n starting at row a, column b.
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
    return np.ascontiguousarray(windows[np.arange(n), :, my - dy, mx - dx])


def gaussian_noise(x, std: float = 0.1, seed=None) -> np.ndarray:
    """Add independent normal noise of standard deviation ``std`` to every value.

    Parameters
    ----------
    x : array of float dtype, any shape (for images (N, C, H, W))
    std : float >= 0, default 0.1
    seed : None, int or numpy.random.Generator

    Returns
    -------
    ndarray of the same shape and dtype as ``x``
        ``x + std * z`` with ``z`` standard normal (drawn in ``x``'s dtype
        for float32 and float64).
    """
    func = "gaussian_noise"
    x = _as_array(x, func, "x", kinds="f")
    std = _check_real(std, func, "std", minimum=0.0)
    rng = _as_rng(seed, func)
    gen_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    noise = rng.standard_normal(x.shape, dtype=gen_dtype)
    noise *= std
    return (np.asarray(x) + noise).astype(x.dtype, copy=False)


class Augment:
    """A random augmentation pipeline for NCHW image batches.

    Calling it on a batch applies, in order, :func:`random_flip`,
    :func:`random_shift` and :func:`gaussian_noise` (each one only when
    enabled), drawing fresh randomness from one generator on every call: the
    sequence of augmented batches is reproducible from ``seed``.

    Parameters
    ----------
    flip : bool or float, default True
        Flip probability; True means 0.5 and False (or 0) no flipping.
    shift : int or (int, int), default 0
        ``max_shift`` of :func:`random_shift`; 0 turns shifting off.
    noise : float, default 0.0
        ``std`` of :func:`gaussian_noise` (float input only); 0 turns it off.
    seed : None, int or numpy.random.Generator
    shift_mode : str, default 'constant'
        ``mode`` of :func:`random_shift`.

    Examples
    --------
    >>> aug = Augment(flip=True, shift=2, noise=0.05, seed=0)
    >>> for xb, yb in batches(x, y, batch_size=64, shuffle=True, seed=1):
    ...     xb = aug(xb)
    """

    def __init__(self, flip=True, shift=0, noise: float = 0.0, seed=None,
                 shift_mode: str = "constant"):
        func = "Augment"
        if isinstance(flip, (bool, np.bool_)):
            self.flip = 0.5 if flip else 0.0
        else:
            self.flip = _check_real(flip, func, "flip", minimum=0.0, maximum=1.0)
        if isinstance(shift, (tuple, list)):
            if len(shift) != 2:
                raise ValueError(f"{func}: expected shift to be an int or a pair, got {shift!r}")
            self.shift = (_check_int(shift[0], func, "shift[0]", minimum=0),
                          _check_int(shift[1], func, "shift[1]", minimum=0))
        else:
            self.shift = _check_int(shift, func, "shift", minimum=0)
        self.noise = _check_real(noise, func, "noise", minimum=0.0)
        if not isinstance(shift_mode, str) or shift_mode not in _SHIFT_MODES:
            raise ValueError(f"{func}: expected shift_mode to be one of "
                             f"{', '.join(map(repr, _SHIFT_MODES))}, got {shift_mode!r}")
        self.shift_mode = shift_mode
        self.seed = seed
        self._rng = _as_rng(seed, func)

    def __repr__(self) -> str:
        return (f"Augment(flip={self.flip}, shift={self.shift}, noise={self.noise}, "
                f"seed={self.seed!r}, shift_mode={self.shift_mode!r})")

    def __call__(self, x) -> np.ndarray:
        """Augment one batch.

        Parameters
        ----------
        x : array of shape (N, C, H, W)
            Float dtype when ``noise > 0``.

        Returns
        -------
        ndarray of shape (N, C, H, W)
            A new array of ``x``'s dtype (``x`` itself is never modified).
        """
        func = "Augment"
        x = _check_images(x, func, kinds="f" if self.noise > 0 else "biuf")
        out = np.array(x)
        if self.flip > 0:
            out = random_flip(out, self.flip, seed=self._rng)
        if self.shift != 0 and self.shift != (0, 0):
            out = random_shift(out, self.shift, seed=self._rng, mode=self.shift_mode)
        if self.noise > 0:
            out = gaussian_noise(out, self.noise, seed=self._rng)
        return out
