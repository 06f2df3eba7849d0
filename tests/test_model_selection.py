"""pydl.model_selection.cross_validate with small fake models (a nearest-centroid
classifier), splitters, named and callable metrics, memmaps and bad input."""
import numpy as np
import pytest

from pydl.data import KFold, StratifiedKFold
from pydl.model_selection import METRICS, cross_validate


class NearestCentroid:
    """Predicts the class whose training mean is closest; returns labels or scores."""

    def __init__(self, scores=False):
        self.scores = scores
        self.fit_calls = 0

    def fit(self, x, y, shrink=0.0):
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([x[y == c].mean(axis=0) for c in self.classes_])
        self.centroids_ *= 1.0 - shrink
        self.fit_calls += 1
        self.seen_ = (len(x), type(x))
        return self

    def predict(self, x):
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        d = ((x[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
        if self.scores:
            return -d  # (N, C): argmax is the class index
        return self.classes_[d.argmin(axis=1)]


def _blobs(rng, n_per=30, k=3, sep=4.0):
    centres = rng.standard_normal((k, 2)) * sep
    x = np.concatenate([centres[c] + rng.standard_normal((n_per, 2)) for c in range(k)])
    y = np.repeat(np.arange(k), n_per)
    p = rng.permutation(len(y))
    return x[p].astype(np.float32), y[p]


def test_cross_validate_result_layout(rng):
    x, y = _blobs(rng)
    res = cross_validate(NearestCentroid, x, y, cv=5, metrics=("accuracy", "f1_macro"))
    assert res["n_splits"] == 5 and len(res["folds"]) == 5
    for name in ("accuracy", "f1_macro"):
        assert res[name].shape == (5,) and res[name].dtype == np.float64
        assert res[f"{name}_mean"] == pytest.approx(res[name].mean())
        assert res[f"{name}_std"] == pytest.approx(res[name].std())
    assert res["accuracy_mean"] > 0.9
    assert res["fit_time"].shape == (5,) and np.all(res["predict_time"] >= 0)
    assert sum(f["test_size"] for f in res["folds"]) == 90
    assert all(f["train_size"] == 72 and f["test_size"] == 18 for f in res["folds"])
    assert [f["fold"] for f in res["folds"]] == [0, 1, 2, 3, 4]
    assert res["folds"][2]["accuracy"] == res["accuracy"][2]
    again = cross_validate(NearestCentroid, x, y, cv=5, metrics=("accuracy", "f1_macro"))
    np.testing.assert_array_equal(again["accuracy"], res["accuracy"])  # seed=0 by default


def test_cross_validate_matches_manual_loop(rng):
    x, y = _blobs(rng, sep=1.0)  # overlapping classes: scores below 1
    cv = KFold(4, shuffle=True, seed=3)
    res = cross_validate(NearestCentroid, x, y, cv=cv, metrics=["accuracy"])
    manual = []
    for tr, te in cv.split(x, y):
        m = NearestCentroid().fit(x[tr], y[tr])
        manual.append(np.mean(m.predict(x[te]) == y[te]))
    np.testing.assert_allclose(res["accuracy"], manual)


def test_fresh_model_per_fold_and_fit_kwargs(rng):
    x, y = _blobs(rng)
    built = []

    def build():
        built.append(NearestCentroid())
        return built[-1]

    cross_validate(build, x, y, cv=3, fit_kwargs={"shrink": 0.5})
    assert len(built) == 3 and all(m.fit_calls == 1 for m in built)
    assert all(m.seen_[0] == 60 for m in built)
    np.testing.assert_allclose(np.abs(built[0].centroids_).max() < np.abs(x).max(), True)


def test_score_predictions_and_callable_metrics(rng):
    x, y = _blobs(rng)

    def error_rate(y_true, y_pred):
        return float(np.mean(y_true != y_pred))

    res = cross_validate(lambda: NearestCentroid(scores=True), x, y, cv=3,
                         metrics=["accuracy", error_rate, "recall_weighted"])
    np.testing.assert_allclose(res["accuracy"] + res["error_rate"], 1.0)
    res = cross_validate(NearestCentroid, x, y, cv=3, metrics={"acc": "accuracy",
                                                                "err": error_rate})
    assert set(res) >= {"acc", "acc_mean", "err_std"}
    res = cross_validate(NearestCentroid, x, y, cv=3, metrics=lambda a, b: 1.0)
    assert res["metric_0"].tolist() == [1.0, 1.0, 1.0]


def test_stratified_folds_and_plain_kfold(rng):
    x, y = _blobs(rng, n_per=20)
    seen = []

    class Spy(NearestCentroid):
        def fit(self, x, y, **kw):
            seen.append(np.bincount(y, minlength=3))
            return super().fit(x, y, **kw)

    cross_validate(Spy, x, y, cv=4)
    assert all(c.tolist() == [15, 15, 15] for c in seen)  # stratified by default
    res = cross_validate(NearestCentroid, x, y, cv=4, stratified=False, seed=1)
    assert res["n_splits"] == 4
    res = cross_validate(NearestCentroid, x, y, cv=StratifiedKFold(3), seed=None)
    assert res["n_splits"] == 3


def test_memmap_input_and_string_labels(rng, tmp_path):
    x, y = _blobs(rng)
    m = np.memmap(tmp_path / "x.dat", dtype=x.dtype, mode="w+", shape=x.shape)
    m[...] = x
    m.flush()
    built = []

    def build():
        built.append(NearestCentroid())
        return built[-1]

    ys = np.array(["a", "b", "c"])[y]
    res = cross_validate(build, np.memmap(tmp_path / "x.dat", dtype=x.dtype, mode="r",
                                          shape=x.shape), ys, cv=3, metrics="f1_macro")
    ref = cross_validate(NearestCentroid, x, ys, cv=3, metrics="f1_macro")
    np.testing.assert_array_equal(res["f1_macro"], ref["f1_macro"])
    assert built[0].seen_[1] is np.ndarray


def test_verbose_prints_each_fold(rng, capsys):
    x, y = _blobs(rng)
    cross_validate(NearestCentroid, x, y, cv=3, verbose=1)
    out = capsys.readouterr().out
    assert out.count("fold ") == 3 and "accuracy=" in out and "+-" in out


def test_metric_names():
    for name in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_weighted",
                 "f1_micro", "precision", "recall", "f1"):
        assert name in METRICS


def test_errors(rng):
    x, y = _blobs(rng)
    with pytest.raises(TypeError, match="build_model to be a callable"):
        cross_validate(NearestCentroid(), x, y)
    with pytest.raises(TypeError, match=r"type object that has no fit\(\) method"):
        cross_validate(lambda: object(), x, y)

    class NoPredict:
        def fit(self, x, y):
            return self

    with pytest.raises(TypeError, match=r"NoPredict that has no predict\(\) method"):
        cross_validate(NoPredict, x, y)
    with pytest.raises(ValueError, match="same number of samples, got 90 and 89"):
        cross_validate(NearestCentroid, x, y[:-1])
    with pytest.raises(ValueError, match="1-D array of class labels.*argmax"):
        cross_validate(NearestCentroid, x, np.eye(3)[y])
    with pytest.raises(ValueError, match="cv >= 2"):
        cross_validate(NearestCentroid, x, y, cv=1)
    with pytest.raises(TypeError, match="cv to be an int >= 2 or a splitter"):
        cross_validate(NearestCentroid, x, y, cv="5")
    with pytest.raises(TypeError, match="cv to be an int"):
        cross_validate(NearestCentroid, x, y, cv=True)
    with pytest.raises(ValueError, match="unknown metric 'auc'; expected one of"):
        cross_validate(NearestCentroid, x, y, metrics=("auc",))
    with pytest.raises(TypeError, match="name or a callable"):
        cross_validate(NearestCentroid, x, y, metrics=(3,))
    with pytest.raises(ValueError, match="metrics is empty"):
        cross_validate(NearestCentroid, x, y, metrics=())
    with pytest.raises(ValueError, match="names repeat"):
        cross_validate(NearestCentroid, x, y, metrics=("accuracy", "accuracy"))
    with pytest.raises(ValueError, match="may not be named 'folds'"):
        cross_validate(NearestCentroid, x, y, metrics={"folds": "accuracy"})
    with pytest.raises(TypeError, match="fit_kwargs to be a dict"):
        cross_validate(NearestCentroid, x, y, fit_kwargs=[("shrink", 1)])
    with pytest.raises(ValueError, match="verbose >= 0"):
        cross_validate(NearestCentroid, x, y, verbose=-1)

    class Bad(NearestCentroid):
        def predict(self, x):
            return np.zeros((len(x), 2, 2))

    with pytest.raises(ValueError, match=r"must return labels of shape \(30,\)"):
        cross_validate(Bad, x, y, cv=3)
