"""pydl.metrics against hand-computed cases (and scikit-learn when it is
installed), including the undefined cases that must give 0.0 with a warning."""
import warnings

import numpy as np
import pytest

from pydl.metrics import (
    UndefinedMetricWarning,
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)

# A 3-class case worked by hand.
#   true: 0 0 0 1 1 2 2 2 2 2      pred: 0 1 0 1 2 2 2 0 2 1
#   class 0: tp 2, fp 1 (a 2), fn 1  -> P 2/3, R 2/3, F1 2/3, support 3
#   class 1: tp 1, fp 2 (a 0, a 2), fn 1 -> P 1/3, R 1/2, F1 2/5, support 2
#   class 2: tp 3, fp 1 (a 1), fn 2  -> P 3/4, R 3/5, F1 2/3, support 5
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
Y_PRED = np.array([0, 1, 0, 1, 2, 2, 2, 0, 2, 1])
P = np.array([2 / 3, 1 / 3, 3 / 4])
R = np.array([2 / 3, 1 / 2, 3 / 5])
F = np.array([2 / 3, 2 / 5, 2 / 3])
S = np.array([3, 2, 5])


def test_accuracy():
    assert accuracy_score(Y_TRUE, Y_PRED) == 0.6
    assert accuracy_score(["a", "b"], ["a", "a"]) == 0.5
    assert accuracy_score([1.0, 2.0], [1.0, 2.0]) == 1.0


def test_confusion_matrix():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 1, 1], [1, 1, 3]])
    assert cm.dtype == np.int64 and cm.sum(axis=1).tolist() == S.tolist()
    # labels: order and subset; samples of unlisted labels are left out
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, labels=[2, 0]),
                                  [[3, 1], [0, 2]])
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, labels=[0, 1, 2, 3])[3], 0)
    np.testing.assert_array_equal(confusion_matrix(["b", "a", "b"], ["b", "b", "a"]),
                                  [[0, 1], [1, 1]])
    assert confusion_matrix([5], [5]).tolist() == [[1]]


def test_per_class_and_averages_by_hand():
    p, r, f, s = precision_recall_fscore_support(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(p, P)
    np.testing.assert_allclose(r, R)
    np.testing.assert_allclose(f, F)
    np.testing.assert_array_equal(s, S)
    for fn, ref in ((precision_score, P), (recall_score, R), (f1_score, F)):
        np.testing.assert_allclose(fn(Y_TRUE, Y_PRED, average=None), ref)
        assert fn(Y_TRUE, Y_PRED, average="macro") == pytest.approx(ref.mean())
        assert fn(Y_TRUE, Y_PRED, average="weighted") == pytest.approx(ref @ S / S.sum())
        # single-label micro average = accuracy
        assert fn(Y_TRUE, Y_PRED, average="micro") == pytest.approx(0.6)


def test_binary_by_hand():
    yt = [0, 1, 1, 1, 0, 0, 1]
    yp = [0, 1, 0, 1, 1, 0, 1]  # tp 3, fp 1, fn 1
    assert precision_score(yt, yp) == pytest.approx(3 / 4)
    assert recall_score(yt, yp) == pytest.approx(3 / 4)
    assert f1_score(yt, yp) == pytest.approx(3 / 4)
    # pos_label=0: tp 2, fp 1, fn 1
    assert precision_score(yt, yp, pos_label=0) == pytest.approx(2 / 3)
    yt_s = ["spam" if v else "ham" for v in yt]
    yp_s = ["spam" if v else "ham" for v in yp]
    assert f1_score(yt_s, yp_s, pos_label="spam") == pytest.approx(3 / 4)
    assert recall_score([True, False], [True, True], pos_label=True) == 1.0


def test_labels_subset_counts_outside_false_positives():
    # Label 1 only: samples with true 0 or 2 predicted as 1 are its false positives.
    assert precision_score(Y_TRUE, Y_PRED, average="macro", labels=[1]) == pytest.approx(1 / 3)
    np.testing.assert_allclose(recall_score(Y_TRUE, Y_PRED, average=None, labels=[2, 0]),
                               [3 / 5, 2 / 3])
    # micro over a subset: tp 5, predicted 7, true 8
    assert precision_score(Y_TRUE, Y_PRED, average="micro", labels=[0, 2]) == pytest.approx(5 / 7)
    assert recall_score(Y_TRUE, Y_PRED, average="micro", labels=[0, 2]) == pytest.approx(5 / 8)


def test_undefined_cases_are_zero_with_warning():
    yt = [0, 0, 1, 1]
    yp = [0, 0, 0, 0]  # class 1 never predicted
    with pytest.warns(UndefinedMetricWarning, match="precision is ill-defined.*label.*1"):
        assert precision_score(yt, yp) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="precision"):
        np.testing.assert_allclose(precision_score(yt, yp, average=None), [0.5, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert recall_score(yt, yp) == 0.0  # defined: tp 0 of 2 true
        assert f1_score(yt, yp) == 0.0  # defined: 2tp + fp + fn = 2
    # class 1 never present
    with pytest.warns(UndefinedMetricWarning, match="recall is ill-defined"):
        assert recall_score([0, 0], [0, 1], average=None).tolist() == [0.5, 0.0]
    # positive class neither present nor predicted: everything undefined
    for fn in (precision_score, recall_score, f1_score):
        with pytest.warns(UndefinedMetricWarning):
            assert fn([0, 0], [0, 0]) == 0.0
    # a requested label absent from the data
    with pytest.warns(UndefinedMetricWarning, match="F1 is ill-defined.*label.*7"):
        out = f1_score([0, 1], [0, 1], average=None, labels=[0, 1, 7])
    assert out.tolist() == [1.0, 1.0, 0.0] and not np.isnan(out).any()
    with pytest.warns(UndefinedMetricWarning) as record:
        assert f1_score([0, 1], [0, 1], average="weighted", labels=[7]) == 0.0
    assert any("weighted average is ill-defined" in str(w.message) for w in record)
    with pytest.warns(UndefinedMetricWarning):
        assert precision_score([0, 1], [2, 2], average="micro", labels=[0, 1]) == 0.0


def test_classification_report():
    text = classification_report(["cat", "cat", "dog", "dog"], ["cat", "cat", "cat", "dog"])
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[2].split() == ["cat", "0.67", "1.00", "0.80", "2"]
    assert lines[3].split() == ["dog", "1.00", "0.50", "0.67", "2"]
    assert lines[5].split() == ["accuracy", "0.75", "4"]
    assert lines[6].split() == ["macro", "avg", "0.83", "0.75", "0.73", "4"]
    assert lines[7].split() == ["weighted", "avg", "0.83", "0.75", "0.73", "4"]
    # the numbers line up under their headers
    assert lines[0].index("support") + len("support") == len(lines[2])
    assert lines[5].rindex("0.75") == lines[2].rindex("0.80")

    text = classification_report(Y_TRUE, Y_PRED, target_names=["zero", "one", "two"], digits=3)
    assert "one" in text and "0.333" in text and "0.600" in text
    assert [ln.split()[0] for ln in text.splitlines()[2:5]] == ["zero", "one", "two"]
    # a subset of the present labels: micro avg instead of accuracy
    text = classification_report(Y_TRUE, Y_PRED, labels=[0, 2])
    assert "micro avg" in text and "accuracy" not in text


def test_classification_report_warns_not_nan():
    with pytest.warns(UndefinedMetricWarning):
        text = classification_report([0, 1, 1], [0, 0, 0])
    assert "nan" not in text and text.splitlines()[3].split() == ["1", "0.00", "0.00", "0.00", "2"]


def test_errors():
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        accuracy_score([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        accuracy_score([], [])
    with pytest.raises(ValueError, match=r"class scores of shape \(N, C\).*argmax\(axis=1\)"):
        accuracy_score([0, 1], np.eye(2))
    with pytest.raises(ValueError, match=r"ravel\(\)"):
        accuracy_score([0, 1], [[0], [1]])
    with pytest.raises(TypeError, match="mix label types"):
        accuracy_score([0, 1], ["0", "1"])
    with pytest.raises(ValueError, match="NaN"):
        confusion_matrix([0.0, np.nan], [0.0, 1.0])
    with pytest.raises(TypeError, match="expected y_true to be a numpy array"):
        f1_score(None, [1])
    with pytest.raises(ValueError, match="average='binary' needs at most two classes.*3.*"
                                         "average='macro'"):
        f1_score(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError, match="average to be one of"):
        f1_score(Y_TRUE, Y_PRED, average="samples")
    with pytest.raises(ValueError, match=r"pos_label=1 is not one of the labels \['a', 'b'\]"):
        precision_score(["a", "b"], ["a", "a"])
    with pytest.raises(ValueError, match="labels must not repeat"):
        confusion_matrix([0, 1], [0, 1], labels=[0, 0])
    with pytest.raises(ValueError, match="labels is empty"):
        confusion_matrix([0, 1], [0, 1], labels=[])
    with pytest.raises(TypeError, match="labels.*mix label types"):
        recall_score([0, 1], [0, 1], average=None, labels=["a"])
    with pytest.raises(ValueError, match="3 names but there are 2 labels"):
        classification_report([0, 1], [0, 1], target_names=["a", "b", "c"])
    with pytest.raises(TypeError, match="target_names to be a sequence"):
        classification_report([0, 1], [0, 1], target_names="ab")
    with pytest.raises(ValueError, match="digits >= 0"):
        classification_report([0, 1], [0, 1], digits=-1)


def test_against_scikit_learn(rng):
    sk = pytest.importorskip("sklearn.metrics")
    yt = rng.integers(0, 5, size=300)
    yp = np.where(rng.random(300) < 0.6, yt, rng.integers(0, 5, size=300))
    assert accuracy_score(yt, yp) == pytest.approx(sk.accuracy_score(yt, yp))
    np.testing.assert_array_equal(confusion_matrix(yt, yp), sk.confusion_matrix(yt, yp))
    for avg in ("micro", "macro", "weighted"):
        for ours, theirs in ((precision_score, sk.precision_score),
                             (recall_score, sk.recall_score), (f1_score, sk.f1_score)):
            assert ours(yt, yp, average=avg) == pytest.approx(theirs(yt, yp, average=avg))
    yb, pb = yt % 2, yp % 2
    assert f1_score(yb, pb) == pytest.approx(sk.f1_score(yb, pb))
