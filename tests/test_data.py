"""pydl.data: cleaning, scalers, one_hot, splits, K-fold splitters, batches and
NCHW augmentation, on in-memory and np.memmap arrays."""
import warnings

import numpy as np
import pytest

from pydl import data
from pydl.data import (
    Augment,
    KFold,
    MinMaxScaler,
    NotFittedError,
    SimpleImputer,
    StandardScaler,
    StratifiedKFold,
    batches,
    drop_missing,
    find_missing,
    gaussian_noise,
    one_hot,
    random_flip,
    random_shift,
    train_test_split,
)


@pytest.fixture
def memmap_of(tmp_path):
    """memmap_of(array) -> a read-only np.memmap on disk with the same contents."""
    count = [0]

    def make(a):
        count[0] += 1
        path = tmp_path / f"m{count[0]}.dat"
        m = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
        m[...] = a
        m.flush()
        del m
        return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)

    return make


# --------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------
def test_find_missing():
    x = np.array([[1.0, np.nan], [np.inf, -np.inf], [0.0, 2.0]])
    np.testing.assert_array_equal(find_missing(x), [[False, True], [True, True], [False, False]])
    assert not find_missing(np.arange(6).reshape(2, 3)).any()
    assert find_missing([1.0, float("nan")]).tolist() == [False, True]


def test_drop_missing_x_and_y():
    x = np.array([[1.0, 2.0], [np.nan, 0.0], [3.0, 4.0], [5.0, np.inf]])
    y = np.array([0.0, 1.0, np.nan, 1.0])
    np.testing.assert_array_equal(drop_missing(x), [[1.0, 2.0], [3.0, 4.0]])
    xc, yc = drop_missing(x, y)
    np.testing.assert_array_equal(xc, [[1.0, 2.0]])
    np.testing.assert_array_equal(yc, [0.0])
    xi, yi = drop_missing(np.arange(6).reshape(3, 2), np.array([1, 2, 3]))  # ints: nothing missing
    assert xi.shape == (3, 2) and yi.tolist() == [1, 2, 3]


def test_drop_missing_nd_and_memmap(memmap_of):
    x = np.ones((5, 2, 3), np.float32)
    x[3, 1, 2] = np.nan
    got = drop_missing(memmap_of(x))
    assert type(got) is np.ndarray and got.shape == (4, 2, 3)
    assert drop_missing(np.empty((0, 3))).shape == (0, 3)
    xs, ys = drop_missing(np.array([1.0, np.nan, 2.0]), np.array(["a", "b", "c"]))
    assert ys.tolist() == ["a", "c"] and xs.tolist() == [1.0, 2.0]
    mask = find_missing(memmap_of(x))
    assert type(mask) is np.ndarray and mask.sum() == 1


@pytest.mark.parametrize("strategy, expected", [("mean", [2.0, 15.0]), ("median", [1.0, 15.0]),
                                                ("constant", [-1.0, -1.0])])
def test_imputer_uses_training_statistics(strategy, expected):
    train = np.array([[0.0, 10.0], [1.0, np.nan], [5.0, 20.0], [np.nan, np.inf]])
    test = np.array([[np.nan, np.nan], [100.0, 200.0]])
    imp = SimpleImputer(strategy, fill_value=-1.0).fit(train)
    np.testing.assert_allclose(imp.statistics_, expected)
    out = imp.transform(test)
    np.testing.assert_allclose(out, [expected, [100.0, 200.0]])
    assert np.isnan(test[0]).all()  # input untouched
    # Statistics stay those of the training data, whatever is transformed.
    imp.transform(np.full((3, 2), 1e6))
    np.testing.assert_allclose(imp.statistics_, expected)


def test_imputer_dtypes_nd_and_empty_feature():
    x = np.array([[[1.0, np.nan]], [[3.0, np.nan]]], np.float32)  # (2, 1, 2)
    with pytest.warns(RuntimeWarning, match="no finite value"):
        imp = SimpleImputer("mean", fill_value=7.0).fit(x)
    assert imp.statistics_.shape == (1, 2)
    out = imp.transform(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0, 1], [7.0, 7.0])
    assert SimpleImputer().fit_transform(np.arange(4).reshape(2, 2)).dtype == np.float64


def test_imputer_memmap(memmap_of, rng):
    x = rng.standard_normal((50, 4))
    x[rng.random(x.shape) < 0.2] = np.nan
    imp = SimpleImputer().fit(memmap_of(x))
    np.testing.assert_allclose(imp.statistics_, np.nanmean(x, axis=0))
    assert not find_missing(imp.transform(memmap_of(x))).any()


def test_imputer_errors():
    with pytest.raises(ValueError, match="strategy.*'mean', 'median', 'constant'.*'mode'"):
        SimpleImputer("mode")
    with pytest.raises(TypeError, match="fill_value to be a real number"):
        SimpleImputer(fill_value="x")
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        SimpleImputer().transform(np.ones((2, 2)))
    imp = SimpleImputer().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"feature shape \(3,\).*fitted on feature shape \(2,\)"):
        imp.transform(np.ones((3, 3)))
    with pytest.raises(ValueError, match="at least 2 dimension"):
        SimpleImputer().fit(np.ones(3))
    with pytest.raises(ValueError, match="no samples"):
        SimpleImputer().fit(np.ones((0, 3)))
    with pytest.raises(TypeError, match="dtype"):
        SimpleImputer().fit(np.array([["a", "b"]]))


# --------------------------------------------------------------------------
# Scalers
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_standard_scaler(rng, dtype):
    x = (rng.standard_normal((200, 5)) * [1, 10, 0.1, 3, 1] + [0, 5, -2, 100, 0]).astype(dtype)
    x[:, 4] = 3.3  # constant feature
    sc = StandardScaler()
    z = sc.fit_transform(x)
    assert z.dtype == dtype and z.shape == x.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(z[:, :4].mean(axis=0), 0, atol=tol * 10)
    np.testing.assert_allclose(z[:, :4].std(axis=0), 1, rtol=tol * 10)
    assert sc.var_[4] == 0 and sc.scale_[4] == 1 and np.all(np.isfinite(z))
    np.testing.assert_allclose(z[:, 4], 0, atol=tol)
    np.testing.assert_allclose(sc.mean_, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sc.scale_[:4], x[:, :4].astype(np.float64).std(axis=0),
                               rtol=1e-10)
    back = sc.inverse_transform(z)
    assert back.dtype == dtype
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(back, x, rtol=4 * eps, atol=4 * eps * np.abs(x).max())


def test_standard_scaler_options_and_nan():
    x = np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]])
    sc = StandardScaler(with_mean=False).fit(x)
    np.testing.assert_allclose(sc.mean_, [3.0, 4.0])
    np.testing.assert_allclose(sc.n_samples_seen_, [3, 2])
    z = sc.transform(x)
    np.testing.assert_allclose(z[:, 1], [2 / 2, np.nan, 6 / 2])
    z2 = StandardScaler(with_std=False).fit_transform(x)
    np.testing.assert_allclose(z2[:, 0], [-2.0, 0.0, 2.0])


def test_standard_scaler_streams_memmap_in_chunks(memmap_of, rng, monkeypatch):
    monkeypatch.setattr(data, "_CHUNK_ELEMENTS", 12)  # 4 rows of 3 features per chunk
    x = rng.standard_normal((41, 3)) * 5 + 1e4  # large offset: the update must stay accurate
    sc = StandardScaler().fit(memmap_of(x))
    np.testing.assert_allclose(sc.mean_, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(sc.var_, x.var(axis=0), rtol=1e-9)


def test_scalers_nd_per_element_features(rng):
    x = rng.standard_normal((10, 2, 3, 3)).astype(np.float32)
    for sc in (StandardScaler(), MinMaxScaler()):
        z = sc.fit_transform(x)
        assert sc.feature_shape_ == (2, 3, 3) and sc.n_features_in_ == 18
        ref = type(sc)(**({} if isinstance(sc, StandardScaler) else {})).fit(x.reshape(10, -1))
        np.testing.assert_allclose(z.reshape(10, -1), ref.transform(x.reshape(10, -1)),
                                   rtol=1e-6, atol=1e-6)
        with pytest.raises(ValueError, match="feature shape"):
            sc.transform(x.reshape(10, -1))


@pytest.mark.parametrize("feature_range", [(0, 1), (-1, 1), (2.5, 7)])
def test_minmax_scaler(rng, feature_range):
    x = rng.uniform(-50, 50, size=(30, 4))
    x[:, 2] = -4.0  # constant
    sc = MinMaxScaler(feature_range)
    z = sc.fit_transform(x)
    lo, hi = feature_range
    np.testing.assert_allclose(z[:, [0, 1, 3]].min(axis=0), lo, atol=1e-12)
    np.testing.assert_allclose(z[:, [0, 1, 3]].max(axis=0), hi, atol=1e-12)
    np.testing.assert_array_equal(z[:, 2], lo)
    np.testing.assert_allclose(sc.transform(x[:3]), x[:3] * sc.scale_ + sc.min_, atol=1e-12)
    back = sc.inverse_transform(z)
    np.testing.assert_allclose(back, x, rtol=4e-16 * 4, atol=1e-13)
    np.testing.assert_array_equal(back[:, 2], -4.0)
    # Training statistics only: new data outside the range is not clipped.
    assert sc.transform(x[:1] + 1000)[0, 0] > hi


def test_scaler_errors():
    with pytest.raises(TypeError, match="with_mean to be True or False"):
        StandardScaler(with_mean=1)
    with pytest.raises(ValueError, match="lo < hi"):
        MinMaxScaler((1, 0))
    with pytest.raises(TypeError, match="pair"):
        MinMaxScaler(1)
    with pytest.raises(ValueError, match="finite"):
        MinMaxScaler((0, np.inf))
    for sc in (StandardScaler(), MinMaxScaler()):
        with pytest.raises(NotFittedError, match=f"{type(sc).__name__}.transform: .*not fitted"):
            sc.transform(np.ones((2, 2)))
        with pytest.raises(NotFittedError, match="inverse_transform"):
            sc.inverse_transform(np.ones((2, 2)))
        with pytest.raises(ValueError, match=r"at least 2 dimension.*shape \(4,\)"):
            sc.fit(np.ones(4))
        with pytest.raises(TypeError, match="expected x to be a numpy array"):
            sc.fit(None)
    with pytest.warns(RuntimeWarning, match="no finite value"):
        sc = StandardScaler().fit(np.array([[np.nan, 1.0], [np.nan, 2.0]]))
    assert sc.scale_[0] == 1.0 and sc.mean_[0] == 0.0


# --------------------------------------------------------------------------
# one_hot
# --------------------------------------------------------------------------
def test_one_hot():
    out = one_hot([2, 0, 1, 2])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, np.eye(3)[[2, 0, 1, 2]])
    out = one_hot(np.array([[1], [0]], np.uint8), num_classes=4, dtype=np.int64)
    assert out.shape == (2, 1, 4) and out.dtype == np.int64 and out[0, 0, 1] == 1
    assert one_hot(np.array([], np.int64)).shape == (0, 0)
    assert one_hot(np.array([], np.int64), num_classes=3).shape == (0, 3)


def test_one_hot_errors():
    with pytest.raises(ValueError, match="< num_classes=2.*maximum of 2; pass num_classes=3"):
        one_hot([0, 2], num_classes=2)
    with pytest.raises(ValueError, match=">= 0"):
        one_hot([0, -1])
    with pytest.raises(TypeError, match=r"integer.*dtype float64.*astype\(np.int64\)"):
        one_hot([0.0, 1.0])
    with pytest.raises(TypeError, match="numeric dtype"):
        one_hot([0, 1], dtype=str)
    with pytest.raises(ValueError, match="num_classes >= 1"):
        one_hot([0], num_classes=0)


# --------------------------------------------------------------------------
# train_test_split
# --------------------------------------------------------------------------
def test_train_test_split_basic():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, seed=0)
    assert x_tr.shape == (7, 2) and x_te.shape == (3, 2)  # ceil(0.25 * 10) = 3
    np.testing.assert_array_equal(x_tr[:, 0] // 2, y_tr)  # rows stay paired
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(10))
    again = train_test_split(x, y, seed=0)
    for a, b in zip(again, (x_tr, x_te, y_tr, y_te)):
        np.testing.assert_array_equal(a, b)
    tr, te = train_test_split(y, test_size=4, shuffle=False)
    assert tr.tolist() == list(range(6)) and te.tolist() == [6, 7, 8, 9]
    tr, te = train_test_split(list(range(5)), test_size=0.2, seed=np.random.default_rng(1))
    assert len(tr) == 4 and len(te) == 1


def test_train_test_split_stratified_keeps_shares(rng):
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = rng.standard_normal((100, 3))
    _, _, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, seed=3)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    # Uneven shares: the counts still add up and stay within one of proportional.
    y = np.repeat(["a", "b", "c"], [7, 5, 3])
    tr, te = train_test_split(y, test_size=0.4, stratify=y, seed=0)
    assert len(te) == 6 and len(tr) == 9
    counts = {c: int((te == c).sum()) for c in "abc"}
    for c, n in zip("abc", (7, 5, 3)):
        assert abs(counts[c] - 0.4 * n) < 1


def test_train_test_split_memmap(memmap_of, rng):
    x = rng.standard_normal((40, 3, 2)).astype(np.float32)
    x_tr, x_te = train_test_split(memmap_of(x), seed=5)
    ref_tr, ref_te = train_test_split(x, seed=5)
    assert type(x_tr) is np.ndarray
    np.testing.assert_array_equal(x_tr, ref_tr)
    np.testing.assert_array_equal(x_te, ref_te)


def test_train_test_split_errors():
    x = np.arange(10)
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()
    with pytest.raises(ValueError, match=r"same number of samples.*\[0\]: 10, arrays\[1\]: 9"):
        train_test_split(x, x[:9])
    with pytest.raises(ValueError, match=r"float test_size in \(0, 1\), got 1.5"):
        train_test_split(x, test_size=1.5)
    with pytest.raises(ValueError, match="1 <= test_size <= 9"):
        train_test_split(x, test_size=10)
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(x, test_size="half")
    with pytest.raises(ValueError, match="both need at least one"):
        train_test_split(x[:2], test_size=0.99)
    with pytest.raises(ValueError, match="stratify needs shuffle=True"):
        train_test_split(x, stratify=x % 2, shuffle=False)
    with pytest.raises(ValueError, match="at least 2 samples; class 1 has 1"):
        train_test_split(x, stratify=(x == 9).astype(int))
    with pytest.raises(ValueError, match="one label per sample"):
        train_test_split(x, stratify=x[:5])
    with pytest.raises(TypeError, match="seed"):
        train_test_split(x, seed=1.5)
    with pytest.raises(ValueError, match="seed >= 0"):
        train_test_split(x, seed=-1)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        train_test_split(np.float64(3.0))


# --------------------------------------------------------------------------
# KFold / StratifiedKFold
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n, k, shuffle", [(10, 5, False), (11, 3, True), (7, 7, True),
                                           (100, 4, False)])
def test_kfold_partitions(n, k, shuffle):
    cv = KFold(k, shuffle=shuffle, seed=0 if shuffle else None)
    x = np.zeros((n, 2))
    folds = list(cv.split(x))
    assert len(folds) == k == cv.get_n_splits()
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(n))  # test folds partition the samples
    sizes = [len(te) for _, te in folds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    for tr, te in folds:
        assert tr.dtype == np.int64 and np.all(np.diff(tr) > 0) and np.all(np.diff(te) > 0)
        assert np.intersect1d(tr, te).size == 0 and len(tr) + len(te) == n
    if not shuffle:
        assert folds[0][1].tolist() == list(range(sizes[0]))  # consecutive blocks
    else:
        again = list(KFold(k, shuffle=True, seed=0).split(x))
        assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))


def test_stratified_kfold_keeps_class_shares(rng):
    y = rng.permutation(np.repeat([0, 1, 2, 3], [40, 25, 20, 15]))
    for shuffle in (False, True):
        cv = StratifiedKFold(5, shuffle=shuffle, seed=1 if shuffle else None)
        folds = list(cv.split(np.zeros((100, 1)), y))
        tests = np.concatenate([te for _, te in folds])
        assert sorted(tests.tolist()) == list(range(100))
        for tr, te in folds:
            assert np.bincount(y[te], minlength=4).tolist() == [8, 5, 4, 3]
            assert len(np.intersect1d(tr, te)) == 0
    # Class counts that do not divide evenly: per-class fold counts differ by at most 1.
    y = np.repeat(["a", "b"], [13, 7])
    folds = list(StratifiedKFold(3).split(y, y))
    a_counts = [int((y[te] == "a").sum()) for _, te in folds]
    b_counts = [int((y[te] == "b").sum()) for _, te in folds]
    assert sum(a_counts) == 13 and max(a_counts) - min(a_counts) <= 1
    assert sum(b_counts) == 7 and max(b_counts) - min(b_counts) <= 1
    sizes = [len(te) for _, te in folds]
    assert max(sizes) - min(sizes) <= 1


def test_kfold_errors():
    with pytest.raises(ValueError, match="n_splits >= 2"):
        KFold(1)
    with pytest.raises(TypeError, match="n_splits to be an int"):
        KFold(2.0)
    with pytest.raises(ValueError, match="seed has no effect with shuffle=False"):
        KFold(3, seed=0)
    with pytest.raises(ValueError, match="n_splits=5 folds of 3 samples"):
        list(KFold(5).split(np.zeros(3)))
    with pytest.raises(ValueError, match=r"needs the class labels; call split\(x, y\)"):
        list(StratifiedKFold(2).split(np.zeros(4)))
    with pytest.raises(ValueError, match="one label per sample"):
        list(StratifiedKFold(2).split(np.zeros(4), [0, 1]))
    with pytest.warns(UserWarning, match="smallest class"):
        list(StratifiedKFold(3).split(np.zeros(7), [0, 0, 0, 0, 0, 1, 1]))


# --------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------
def test_batches_in_order_are_views():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    it = batches(x, y, batch_size=4)
    assert len(it) == 3
    got = list(it)
    assert [len(b[1]) for b in got] == [4, 4, 2]
    assert all(np.shares_memory(b[0], x) for b in got)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), y)
    assert len(batches(x, batch_size=4, drop_last=True)) == 2
    assert [len(b[0]) for b in batches(x, batch_size=4, drop_last=True)] == [4, 4]
    assert isinstance(next(iter(batches(y, batch_size=3))), tuple)


def test_batches_shuffle_memmap(memmap_of, rng):
    x = rng.standard_normal((23, 3)).astype(np.float32)
    y = np.arange(23)
    mx, my = memmap_of(x), memmap_of(y)
    seen = []
    for xb, yb in batches(mx, my, batch_size=5, shuffle=True, seed=7):
        assert type(xb) is np.ndarray and np.all(np.diff(yb) > 0)  # sorted within a batch
        np.testing.assert_array_equal(xb, x[yb])  # rows stay paired
        seen.append(yb)
    assert sorted(np.concatenate(seen).tolist()) == list(range(23))
    first = [b[1] for b in batches(y, y, batch_size=5, shuffle=True, seed=7)]
    assert all(np.array_equal(a, b) for a, b in zip(first, seen))  # same seed, same batches
    # Without shuffle a memmap batch is a slice of the file (nothing loaded up front).
    xb, = next(iter(batches(mx, batch_size=4)))
    assert isinstance(xb, np.memmap)


def test_batches_errors():
    x = np.zeros(5)
    with pytest.raises(TypeError, match="batch_size"):
        batches(x)  # batch_size is keyword-only and required
    with pytest.raises(ValueError, match="batch_size >= 1"):
        batches(x, batch_size=0)
    with pytest.raises(TypeError, match="batch_size to be an int"):
        batches(x, batch_size=2.5)
    with pytest.raises(ValueError, match="same number of samples"):
        batches(x, np.zeros(4), batch_size=2)
    with pytest.raises(TypeError, match="shuffle to be True or False"):
        batches(x, batch_size=2, shuffle="yes")
    with pytest.raises(ValueError, match="at least one array"):
        batches(batch_size=2)


# --------------------------------------------------------------------------
# Augmentation
# --------------------------------------------------------------------------
def _images(rng, n=16, c=2, h=5, w=6, dtype=np.float32):
    return rng.standard_normal((n, c, h, w)).astype(dtype)


def test_random_flip(rng):
    x = _images(rng)
    out = random_flip(x, p=0.5, seed=3)
    assert out.shape == x.shape and out.dtype == x.dtype and not np.shares_memory(out, x)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped | kept) and flipped.any() and kept.any()
    np.testing.assert_array_equal(random_flip(x, p=1.0), x[..., ::-1])
    np.testing.assert_array_equal(random_flip(x, p=0.0), x)
    np.testing.assert_array_equal(random_flip(x, seed=3), out)  # seeded


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
def test_random_shift_matches_per_sample_reference(rng, mode):
    x = _images(rng, n=12, h=5, w=7)
    m = 2
    out = random_shift(x, max_shift=m, seed=11, mode=mode)
    g = np.random.default_rng(11)
    dy, dx = g.integers(-m, m + 1, size=12), g.integers(-m, m + 1, size=12)
    for n in range(12):  # reference: pad image n, crop at its offset
        padded = np.pad(x[n], ((0, 0), (m, m), (m, m)), mode=mode)
        ref = padded[:, m - dy[n]:m - dy[n] + 5, m - dx[n]:m - dx[n] + 7]
        np.testing.assert_array_equal(out[n], ref)
    if mode == "constant":  # out[i, j] = x[i - dy, j - dx]
        both = np.flatnonzero((dy > 0) & (dx > 0))
        assert both.size  # seed 11 gives such a sample
        n, a, b = both[0], dy[both[0]], dx[both[0]]
        np.testing.assert_array_equal(out[n, :, a:, b:], x[n, :, :5 - a, :7 - b])
        assert np.all(out[n, :, :a] == 0) and np.all(out[n, :, :, :b] == 0)


def test_random_shift_options(rng, memmap_of):
    x = _images(rng, n=8)
    np.testing.assert_array_equal(random_shift(x, max_shift=0), x)
    out = random_shift(x, max_shift=(0, 3), seed=1, mode="wrap")
    # Only horizontal: each row is a cyclic roll of the original row.
    for n in range(8):
        assert any(np.array_equal(out[n], np.roll(x[n], s, axis=-1)) for s in range(-3, 4))
    np.testing.assert_array_equal(random_shift(memmap_of(x), 2, seed=4), random_shift(x, 2, seed=4))
    xi = (np.arange(2 * 1 * 3 * 3) % 256).astype(np.uint8).reshape(2, 1, 3, 3)
    assert random_shift(xi, 1, seed=0).dtype == np.uint8
    assert random_shift(x[:0], 2).shape == (0, 2, 5, 6)


def test_gaussian_noise(rng, memmap_of):
    x = np.zeros((64, 1, 16, 16), np.float32)
    out = gaussian_noise(x, std=0.5, seed=2)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert abs(out.std() - 0.5) < 0.02 and abs(out.mean()) < 0.02
    np.testing.assert_array_equal(gaussian_noise(memmap_of(x), 0.5, seed=2), out)
    np.testing.assert_array_equal(gaussian_noise(x, std=0.0), x)
    assert gaussian_noise(np.ones(3), 0.1, seed=0).dtype == np.float64


def test_augment_pipeline(rng):
    x = _images(rng, n=10)
    aug = Augment(flip=True, shift=1, noise=0.01, seed=0)
    a1, a2 = aug(x), aug(x)
    assert a1.shape == x.shape and a1.dtype == x.dtype and not np.array_equal(a1, a2)
    aug_again = Augment(flip=True, shift=1, noise=0.01, seed=0)
    np.testing.assert_array_equal(aug_again(x), a1)  # reproducible sequence
    np.testing.assert_array_equal(aug_again(x), a2)
    # Same result as composing the functions with one generator.
    g = np.random.default_rng(0)
    ref = gaussian_noise(random_shift(random_flip(x, 0.5, g), 1, g), 0.01, g)
    np.testing.assert_array_equal(a1, ref)
    np.testing.assert_array_equal(Augment(flip=False)(x), x)
    assert "Augment(" in repr(aug)


def test_augmentation_errors():
    x = np.zeros((2, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"4-D image batch \(N, C, H, W\).*x\[:, None\]"):
        random_flip(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="p <= 1"):
        random_flip(x, p=1.5)
    with pytest.raises(ValueError, match="max_shift >= 0"):
        random_shift(x, -1)
    with pytest.raises(ValueError, match="pair"):
        random_shift(x, (1, 2, 3))
    with pytest.raises(ValueError, match="mode to be one of"):
        random_shift(x, 1, mode="nearest")
    with pytest.raises(TypeError, match="float dtype"):
        gaussian_noise(np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="std >= 0"):
        gaussian_noise(x, std=-1)
    with pytest.raises(TypeError, match="seed"):
        random_flip(x, seed="a")
    with pytest.raises(TypeError, match="float dtype"):
        Augment(noise=0.1)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="flip <= 1"):
        Augment(flip=2.0)
    with pytest.raises(ValueError, match="shift_mode"):
        Augment(shift_mode="x")


def test_no_warnings_on_clean_paths(rng):
    x = _images(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Augment(flip=0.5, shift=2, noise=0.1, seed=1)(x)
        StandardScaler().fit_transform(x)
        MinMaxScaler().fit_transform(x)
        list(StratifiedKFold(2).split(x, np.arange(16) % 2))
