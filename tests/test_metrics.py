"""Metrics against hand-computed examples."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn import metrics as M

# 6 samples, 3 classes. Predicted classes (argmax): 0, 1, 1, 2, 2, 0
SCORES = np.array([[0.8, 0.1, 0.1],
                   [0.1, 0.7, 0.2],
                   [0.3, 0.4, 0.3],
                   [0.1, 0.2, 0.7],
                   [0.2, 0.3, 0.5],
                   [0.6, 0.3, 0.1]])
LABELS = np.array([0, 1, 2, 2, 1, 1])


def test_accuracy_with_int_and_one_hot_labels():
    # correct: samples 0, 1, 3 -> 3/6
    assert M.accuracy(LABELS, SCORES) == 0.5
    assert M.accuracy(np.eye(3)[LABELS], SCORES) == 0.5
    assert M.accuracy(np.eye(3, dtype=np.int64)[LABELS], SCORES) == 0.5  # integer one-hot too
    assert M.accuracy(LABELS[:, None], SCORES) == 0.5  # labels as a column


def test_binary_accuracy_and_threshold():
    p = np.array([[0.9], [0.4], [0.6], [0.1]])
    y = np.array([[1.0], [1.0], [0.0], [0.0]])
    assert M.accuracy(y, p) == 0.5
    assert M.accuracy(y.ravel(), p) == 0.5
    assert M.accuracy(y.astype(int), p) == 0.5
    logits = np.array([[2.0], [0.3], [-0.2], [-3.0]])
    assert M.accuracy(y, logits, threshold=0.0) == 1.0
    assert M.accuracy(y, logits) == 0.75  # the default threshold 0.5 is for probabilities


def test_accuracy_on_sequences():
    y_pred = np.zeros((2, 3, 4))
    labels = np.array([[0, 1, 2], [3, 3, 0]])
    y_pred[0, np.arange(3), [0, 1, 0]] = 1  # 2 of 3 right
    y_pred[1, np.arange(3), [3, 3, 0]] = 1  # 3 of 3 right
    assert M.accuracy(labels, y_pred) == pytest.approx(5 / 6)
    single_step = np.eye(3)[[2, 0, 0, 1]][:, None, :]  # (N, T=1, C)
    # 3 of 4 right; T = 1 must not be taken for a label column and broadcast (N, 1) against (N,)
    assert M.accuracy(np.array([[2], [2], [0], [1]]), single_step) == 0.75


def test_accuracy_counts_exactly_and_is_nan_without_samples(rng):
    """The fraction is count / size as a float64 (np.mean's value), and no samples give nan quietly."""
    y = rng.integers(0, 7, 1001)
    scores = rng.random((1001, 7)).astype(np.float32)
    assert M.accuracy(y, scores) == float(np.mean(scores.argmax(1) == y))
    assert np.isnan(M.accuracy(np.array([], dtype=np.int64), np.zeros((0, 7))))  # warnings are errors here


def test_top_k_accuracy():
    # true class rank per sample: 1, 1, 2 (tied with class 0 at 0.3: a tie at the boundary
    # counts as inside, as Keras' in_top_k), 1, 2, 2
    assert M.top_k_accuracy(LABELS, SCORES, k=1) == 0.5
    assert M.top_k_accuracy(LABELS, SCORES, k=2) == 1.0
    assert M.top_k_accuracy(LABELS, SCORES, k=3) == 1.0
    assert M.top_k_accuracy(LABELS, SCORES, k=10) == 1.0
    top1 = M.get("top1_accuracy")
    assert top1(np.eye(3)[LABELS], SCORES) == 0.5
    assert M.get("top5_accuracy")(LABELS, SCORES) == 1.0
    scores = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4]])
    assert M.top_k_accuracy(np.array([2, 0]), scores, k=2) == 0.0
    assert M.top_k_accuracy(np.array([2, 0]), scores, k=3) == 0.5
    ties = np.array([[0.2, 0.2, 0.2, 0.4]])
    assert all(M.top_k_accuracy(np.array([c]), ties, k=2) == 1.0 for c in range(4))
    with pytest.raises(sn.ConfigError, match="k must be a positive integer. Received: k=0"):
        M.top_k_accuracy(LABELS, SCORES, k=0)


def test_confusion_matrix():
    cm = M.confusion_matrix(LABELS, SCORES)
    expected = np.array([[1, 0, 0],
                         [1, 1, 1],
                         [0, 1, 1]])
    np.testing.assert_array_equal(cm, expected)
    with pytest.raises(sn.DataError, match=r"labels must lie in \[0, 2\]"):
        M.confusion_matrix(np.array([0, 1, 2, 3, 0, 0]), SCORES)


def test_precision_recall_f1_by_hand():
    # from the confusion matrix above:
    # class 0: tp 1, predicted 2, actual 1 -> P 1/2, R 1
    # class 1: tp 1, predicted 2, actual 3 -> P 1/2, R 1/3
    # class 2: tp 1, predicted 2, actual 2 -> P 1/2, R 1/2
    p, r, f = M.precision_recall_f1(LABELS, SCORES)
    assert p == pytest.approx(0.5)
    assert r == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)
    f1s = [2 * 0.5 * 1 / 1.5, 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3), 0.5]
    assert f == pytest.approx(np.mean(f1s))
    assert M.precision(LABELS, SCORES) == p and M.recall(LABELS, SCORES) == r and M.f1(LABELS, SCORES) == f


def test_precision_counts_classes_only_predicted():
    """As scikit-learn's macro average: a class predicted but never true counts with P = R = 0."""
    y_pred = np.eye(3)[[0, 0, 2]]
    y_true = np.array([0, 0, 0])
    p, r, f = M.precision_recall_f1(y_true, y_pred)
    # class 0: P 2/2, R 2/3; class 2: P 0/1, R 0 (never true)
    assert p == pytest.approx((1 + 0) / 2)
    assert r == pytest.approx((2 / 3 + 0) / 2)
    assert f == pytest.approx((0.8 + 0) / 2)


def test_perfect_and_binary_precision():
    assert M.precision_recall_f1(LABELS, np.eye(3)[LABELS]) == (1.0, 1.0, 1.0)
    probs = np.array([[0.9], [0.2], [0.8], [0.7]])
    y = np.array([1, 0, 0, 1])
    # pred 1, 0, 1, 1 -> class 1: P 2/3, R 1; class 0: P 1, R 1/2
    p, r, _ = M.precision_recall_f1(y, probs)
    assert p == pytest.approx((2 / 3 + 1) / 2) and r == pytest.approx((1 + 0.5) / 2)


def test_regression_metrics():
    y = np.array([[1.0], [2.0], [3.0]])
    pred = np.array([[1.5], [2.0], [1.0]], dtype=np.float32)
    assert M.mean_squared_error(y, pred) == pytest.approx((0.25 + 0 + 4) / 3)
    assert M.mean_absolute_error(y, pred) == pytest.approx((0.5 + 0 + 2) / 3)
    # (N,) targets against (N, 1) predictions are reshaped, not broadcast to (N, N)
    assert M.mean_squared_error(y.ravel(), pred) == pytest.approx((0.25 + 0 + 4) / 3)
    with pytest.raises(sn.ShapeError, match="different numbers of values"):
        M.mean_absolute_error(np.zeros(4), pred)


def test_get_metric_by_name():
    for name in ["accuracy", "top5_accuracy", "mse", "mae", "precision", "recall", "f1"]:
        assert callable(M.get(name))
    for bad in ["auc", "top0_accuracy", "topk_accuracy", None]:
        with pytest.raises(sn.ConfigError, match="unknown metric"):
            M.get(bad)


def test_threshold_for_logits():
    logits = np.array([[2.0], [0.3], [-0.2], [-3.0]])
    y = np.array([1, 1, 0, 0])
    assert M.get("accuracy")(y, logits) == 0.75
    assert M.get("accuracy", threshold=0.0)(y, logits) == 1.0
    assert M.get("f1", threshold=0.0)(y, logits) == 1.0 and M.f1(y, logits) < 1.0
    assert M.get("precision", threshold=0.0)(y, logits) == 1.0 and M.get("recall", threshold=0.0)(y, logits) == 1.0
    assert M.get("mse", threshold=0.0) is M.mean_squared_error
