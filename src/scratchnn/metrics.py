"""Metrics: functions ``metric(y_true, y_pred) -> float``.

``y_pred`` is what the model outputs (logits, probabilities or values);
``y_true`` is what ``fit`` was given (integer labels or one-hot rows for
classification). For binary outputs with one column, a prediction counts as
class 1 when it is > 0.5 (probabilities) -- pass ``threshold=0`` for logits.
Classification metrics work on the last axis, so (N, T, C) sequence outputs work too.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import ConfigError


def _labels(y_true: np.ndarray, n_classes: int) -> np.ndarray:
    if y_true.ndim >= 1 and y_true.dtype.kind == "f" and y_true.shape[-1] == n_classes and n_classes > 1:
        return np.argmax(y_true, axis=-1)
    return y_true.reshape(y_true.shape[: y_true.ndim - (y_true.ndim > 1 and y_true.shape[-1] == 1)]).astype(np.int64)


def _predicted(y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    if y_pred.shape[-1] == 1:
        return (y_pred[..., 0] > threshold).astype(np.int64)
    return np.argmax(y_pred, axis=-1)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of samples whose predicted class (argmax, or p > threshold) is the true one."""
    return float(np.mean(_predicted(y_pred, threshold) == _labels(y_true, y_pred.shape[-1])))


def top_k_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5) -> float:
    """Fraction of samples whose true class is among the k highest scores."""
    labels = _labels(y_true, y_pred.shape[-1]).reshape(-1)
    scores = y_pred.reshape(-1, y_pred.shape[-1])
    k = min(k, scores.shape[-1])
    top = np.argpartition(-scores, k - 1, axis=-1)[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=-1)))


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean((y_pred - y_true)^2)."""
    return float(np.mean((np.asarray(y_pred, np.float64) - y_true) ** 2))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y_pred - y_true|)."""
    return float(np.mean(np.abs(np.asarray(y_pred, np.float64) - y_true)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as class j."""
    pred = _predicted(y_pred).reshape(-1)
    true = _labels(y_true, y_pred.shape[-1]).reshape(-1)
    n = n_classes or max(int(y_pred.shape[-1]), 2)
    return np.bincount(true * n + pred, minlength=n * n).reshape(n, n)


def precision_recall_f1(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float, float]:
    """Macro-averaged precision, recall and F1 over the classes present (0/0 counts as 0)."""
    cm = confusion_matrix(y_true, y_pred).astype(np.float64)
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    present = actual > 0
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall,
                   out=np.zeros_like(tp), where=(precision + recall) > 0)
    return float(precision[present].mean()), float(recall[present].mean()), float(f1[present].mean())


def precision(y_true, y_pred) -> float:
    """Macro-averaged precision."""
    return precision_recall_f1(y_true, y_pred)[0]


def recall(y_true, y_pred) -> float:
    """Macro-averaged recall."""
    return precision_recall_f1(y_true, y_pred)[1]


def f1(y_true, y_pred) -> float:
    """Macro-averaged F1 = 2 P R / (P + R) per class, then averaged."""
    return precision_recall_f1(y_true, y_pred)[2]


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy, "top5_accuracy": top_k_accuracy, "mse": mean_squared_error,
    "mae": mean_absolute_error, "precision": precision, "recall": recall, "f1": f1,
}


def get(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """A metric function by name: ``accuracy``, ``top5_accuracy``, ``mse``, ``mae``,
    ``precision``, ``recall``, ``f1``."""
    if name in METRICS:
        return METRICS[name]
    raise ConfigError(f"unknown metric. Expected one of {sorted(METRICS)}. Received: {name!r}")
