"""Loss functions.

Every loss is an object with two methods:

- ``forward(y_pred, y_true) -> float``: the loss, **averaged over every element
  of the batch** (``reduction="mean"`` in PyTorch's terms: over the N samples,
  and over the feature/time positions too where there are several);
- ``backward() -> dy_pred``: dL/dy_pred for the last ``forward``, same shape as
  ``y_pred``.

Classification losses take **logits** where that is the stable choice
(:class:`SoftmaxCrossEntropy`, :class:`BinaryCrossEntropyWithLogits`).

Each loss also owns its targets: :meth:`Loss.check_targets` says what it accepts (and is
what ``fit``/``evaluate`` call once on the whole target array), ``from_logits`` says whether
the model's output is a logit, and :meth:`Loss.probabilities` turns outputs into
probabilities (softmax or sigmoid for logits) for ``predict_proba`` and the metrics.
"""
from __future__ import annotations

import numpy as np

from . import checks
from . import functional as F
from .errors import ConfigError, DataError, ShapeError
from .registry import register_loss
from .validation import label_hint, shape_text


class Loss:
    """Base class: ``forward(y_pred, y_true) -> float``, ``backward() -> dy_pred``.

    Class attributes a loss sets: ``from_logits`` (the model outputs logits, as Keras's
    ``from_logits=True``), ``output_activation`` (``"softmax"``, ``"sigmoid"`` or ``None``:
    what turns an output into a probability) and ``decision_threshold`` (where a single
    output column is cut into two classes by the metrics: 0 for a logit, 0.5 otherwise).
    """

    from_logits: bool = False
    output_activation: str | None = None
    decision_threshold: float = 0.5

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        return self.forward(y_pred, y_true)

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def prepare_targets(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Convert user targets once, before training (floats to the model dtype)."""
        y = np.asarray(y)
        if y.dtype.kind in "biu":
            return y.astype(dtype)
        if y.dtype.kind != "f":
            raise DataError(f"{type(self).__name__}: targets must be numbers. Received dtype {y.dtype}.")
        return y.astype(dtype, copy=False)

    def check_targets(self, y: np.ndarray, output_shape: tuple, yname: str = "y") -> np.ndarray:
        """Check targets ``y`` (the whole array) against the model's per-sample ``output_shape``
        before training; returns them, converted where needed. A user's own loss accepts
        anything by default."""
        return y

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        """Model outputs as probabilities: softmax or sigmoid of logits, else unchanged."""
        if self.output_activation == "softmax":
            return F.softmax(y_pred, axis=-1)
        if self.output_activation == "sigmoid":
            return F.sigmoid(y_pred)
        return y_pred

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _SameShapeTargets:
    """Regression losses: targets of the model's output shape."""

    def check_targets(self, y, output_shape, yname="y"):
        expected = (y.shape[0],) + tuple(int(d) for d in output_shape)
        if y.shape != expected:
            hint = ""
            if y.shape == expected[:-1] and expected[-1:] == (1,):
                hint = f" Add the feature axis: {yname}.reshape(-1, 1)."
            elif expected == y.shape[:-1] and y.shape[-1] == 1:
                hint = f" Drop the last axis: {yname}.reshape(-1)."
            raise ShapeError(f"{type(self).__name__}: {yname} must have the model's output shape "
                             f"{shape_text(expected)}; got {shape_text(y.shape)}.{hint}")
        return y


class _BinaryTargets(_SameShapeTargets):
    """Binary cross-entropies: targets of the output's shape, in [0, 1]."""

    def check_targets(self, y, output_shape, yname="y"):
        y = super().check_targets(y, output_shape, yname)
        if y.min() < 0 or y.max() > 1:
            raise DataError(f"{type(self).__name__}: targets must lie in [0, 1]; {yname} holds values "
                            f"from {y.min()} to {y.max()}.")
        return y


def _check_same_shape(name: str, y_pred, y_true) -> np.ndarray:
    """Check the shapes match; return ``y_true`` in ``y_pred``'s dtype (no silent float64 gradients)."""
    y_true = y_true if hasattr(y_true, "dtype") else np.asarray(y_true)
    if y_pred.shape != y_true.shape:
        hint = ""
        if y_true.shape + (1,) == y_pred.shape:
            hint = " Add the feature axis: y.reshape(-1, 1)."
        elif y_pred.shape + (1,) == y_true.shape:
            hint = " Drop the last axis of y: y.reshape(-1)."
        raise ShapeError(f"{name}: predictions and targets must have the same shape; "
                         f"got predictions {y_pred.shape} and targets {y_true.shape}.{hint}")
    return y_true.astype(y_pred.dtype, copy=False) if y_pred.dtype.kind == "f" else y_true


@register_loss
class MeanSquaredError(_SameShapeTargets, Loss):
    """L = mean((y_pred - y)^2) over all elements;  dL/dy_pred = 2 (y_pred - y) / size.

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> mse = sn.losses.MeanSquaredError()
        >>> mse(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))   # (1 + 4) / 2
        2.5
        >>> mse.backward().ravel().tolist()                            # 2 (y_pred - y) / 2
        [1.0, 2.0]
    """

    def forward(self, y_pred, y_true):
        y_true = _check_same_shape("MeanSquaredError", y_pred, y_true)
        diff = y_pred - y_true
        self.cache = diff
        return float(np.vdot(diff, diff)) / diff.size  # one C call: mean(diff^2)

    def backward(self):
        diff = self.cache
        return diff * diff.dtype.type(2.0 / diff.size)


@register_loss
class MeanAbsoluteError(_SameShapeTargets, Loss):
    """L = mean(|y_pred - y|);  dL/dy_pred = sign(y_pred - y) / size (0 where equal)."""

    def forward(self, y_pred, y_true):
        y_true = _check_same_shape("MeanAbsoluteError", y_pred, y_true)
        diff = y_pred - y_true
        self.cache = diff
        return float(np.mean(np.abs(diff)))

    def backward(self):
        diff = self.cache
        return np.sign(diff) * diff.dtype.type(1.0 / diff.size)


@register_loss
class Huber(_SameShapeTargets, Loss):
    """L = mean(h(y_pred - y)), h(d) = d^2/2 if |d| <= delta else delta (|d| - delta/2).

    dL/dy_pred = clip(d, -delta, delta) / size. Matches PyTorch's ``HuberLoss``.
    """

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = checks.number("Huber", "delta", delta, low=0.0, low_open=True, what="> 0")

    def forward(self, y_pred, y_true):
        y_true = _check_same_shape("Huber", y_pred, y_true)
        d = y_pred - y_true
        self.cache = d
        a = np.abs(d)
        return float(np.mean(np.where(a <= self.delta, 0.5 * d * d, self.delta * (a - 0.5 * self.delta))))

    def backward(self):
        d = self.cache
        return np.clip(d, -self.delta, self.delta) * d.dtype.type(1.0 / d.size)

    def get_config(self):
        return {"delta": self.delta}


@register_loss
class BinaryCrossEntropy(_BinaryTargets, Loss):
    """Binary cross-entropy from probabilities p in [0, 1].

    L = -mean(y log p + (1 - y) log(1 - p)), with p clipped to [eps, 1 - eps] so the
    loss stays finite; dL/dp = (p - y) / (p (1 - p)) / size.
    Prefer :class:`BinaryCrossEntropyWithLogits` (more stable) when you have logits.
    """

    def __init__(self, eps: float = 1e-7) -> None:
        self.eps = checks.number("BinaryCrossEntropy", "eps", eps, 0.0, 0.5, low_open=True, high_open=True,
                                 what="a number in (0, 0.5)")

    def forward(self, y_pred, y_true):
        y_true = _check_same_shape("BinaryCrossEntropy", y_pred, y_true)
        p = np.clip(y_pred, self.eps, 1.0 - self.eps)
        self.cache = (p, y_true)
        return float(-np.mean(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p)))

    def backward(self):
        p, y = self.cache
        return ((p - y) / (p * (1.0 - p)) / p.size).astype(p.dtype, copy=False)

    def get_config(self):
        return {"eps": self.eps}


@register_loss
class BinaryCrossEntropyWithLogits(_BinaryTargets, Loss):
    """Binary cross-entropy from logits z: L = mean(max(z, 0) - z y + log(1 + e^-|z|)).

    Equal to BCE(sigmoid(z), y) but finite for any z; dL/dz = (sigmoid(z) - y) / size.
    """

    from_logits = True
    output_activation = "sigmoid"
    decision_threshold = 0.0

    def forward(self, y_pred, y_true):
        y_true = _check_same_shape("BinaryCrossEntropyWithLogits", y_pred, y_true)
        z = y_pred
        self.cache = (z, y_true)
        return float(np.mean(np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))))

    def backward(self):
        z, y = self.cache
        return (F.sigmoid(z) - y) * z.dtype.type(1.0 / z.size)


@register_loss
class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused: takes **logits** z of shape (..., C).

    Targets are integer class labels of shape (...) or one-hot/probability rows of
    shape (..., C) (float or integer one-hot; the shape decides). With M = number of
    rows (N, or N*T for sequences):

        L = -(1/M) sum_rows sum_c y_c log softmax(z)_c
        dL/dz = (softmax(z) - y) / M

    Fusing the two avoids log(0) and the large intermediate Jacobian of softmax; it is
    PyTorch's ``CrossEntropyLoss`` (which wants (N, C, T) where this takes (N, T, C)).

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> loss = sn.losses.SoftmaxCrossEntropy()
        >>> z = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 1e4]])
        >>> round(loss(z, np.array([0, 2])), 4)        # finite even for a logit of 1e4
        0.1198
        >>> loss.backward().round(3)
        array([[-0.107,  0.053,  0.053],
               [ 0.   ,  0.   ,  0.   ]])
    """

    from_logits = True
    output_activation = "softmax"

    def check_targets(self, y, output_shape, yname="y"):
        """Integer labels of shape (N, *) in [0, C), whole-number floats of that shape, or
        one-hot / probability rows of shape (N, *, C) (values in [0, 1] summing to 1)."""
        n = y.shape[0]
        out = tuple(int(d) for d in output_shape)
        got = shape_text(y.shape)
        name = type(self).__name__
        C = out[-1]
        label_shape, onehot_shape = (n,) + out[:-1], (n,) + out
        if y.shape == onehot_shape:  # one-hot or probability rows, float or integer (np.eye(C, dtype=int)[labels])
            if y.min() < 0 or y.max() > 1 or not np.allclose(y.sum(axis=-1), 1.0, atol=1e-3):
                raise DataError(f"{name}: {yname} has shape {got}, so it is read as one-hot or probability rows "
                                f"over {C} classes, but its rows are not (values in [0, 1] summing to 1). "
                                f"For class labels pass an integer array of shape {shape_text(label_shape)}.")
            return y if y.dtype.kind == "f" else y.astype(np.float32)
        if y.shape != label_shape:
            hint = ""
            if y.shape == label_shape + (1,):
                hint = f" Flatten it: {yname}.reshape(-1)."
            elif y.ndim == len(onehot_shape) and y.shape[-1] != C:
                hint = f" The model outputs {C} classes; check the last layer's size."
            raise ShapeError(f"{name}: the model outputs logits (N, {', '.join(map(str, out))}), so {yname} must be "
                             f"integer labels of shape {shape_text(label_shape)} or one-hot rows of shape "
                             f"{shape_text(onehot_shape)}; got {got}.{hint}")
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            example = float(y[y != np.round(y)].flat[0])
            raise DataError(f"{name}: {yname} holds fractional values (e.g. {example!r}) "
                            f"but class labels must be whole numbers in [0, {C - 1}]. For soft targets pass "
                            f"probability rows of shape {shape_text(onehot_shape)}.")
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= C:
            raise DataError(f"{name}: labels must lie in [0, {C - 1}] for the model's {C} classes; {yname} holds "
                            f"values from {lo} to {hi}." + label_hint(lo, hi, C))
        return y.astype(np.int64, copy=False)

    def prepare_targets(self, y, dtype):
        y = np.asarray(y)
        if y.dtype.kind in "biu":
            return y.astype(np.int64, copy=False)
        if y.dtype.kind == "f":
            return y.astype(dtype, copy=False)
        raise DataError(f"SoftmaxCrossEntropy: targets must be integer labels or one-hot floats. "
                        f"Received dtype {y.dtype}.")

    def forward(self, y_pred, y_true):
        z = y_pred
        C = z.shape[-1]
        logp = F.log_softmax(z, axis=-1)
        if y_true.shape == z.shape:  # one-hot or probability rows (integer one-hot too)
            if y_true.dtype.kind != "f":
                y_true = y_true.astype(z.dtype)
            rows = int(np.prod(z.shape[:-1]))
            self.cache = (logp, y_true, None)
            return float(-np.sum(y_true * logp) / rows)
        if y_true.shape != z.shape[:-1]:
            raise ShapeError(f"SoftmaxCrossEntropy: logits {z.shape} need integer labels of shape "
                             f"{z.shape[:-1]} or one-hot targets of shape {z.shape}; got {y_true.shape}.")
        labels = y_true.astype(np.int64, copy=False).reshape(-1)
        if labels.size and (labels.min() < 0 or labels.max() >= C):
            raise DataError(f"SoftmaxCrossEntropy: labels must lie in [0, {C - 1}] for {C} classes; "
                            f"got values from {labels.min()} to {labels.max()}.")
        flat = logp.reshape(-1, C)
        self.cache = (logp, None, labels)
        picked = flat[np.arange(flat.shape[0], like=flat), labels]
        return -float(picked.sum() / picked.size)  # = -mean, without np.mean's wrapper (1 us, not 4)

    def backward(self):
        logp, onehot, labels = self.cache
        C = logp.shape[-1]
        grad = np.exp(logp)
        if labels is None:
            rows = grad.size // C
            grad -= onehot
        else:
            flat = grad.reshape(-1, C)
            rows = flat.shape[0]
            flat[np.arange(rows, like=flat), labels] -= 1.0
        grad *= grad.dtype.type(1.0 / rows)
        return grad


#: Short names accepted by ``Sequential.compile(loss=...)``.
LOSS_ALIASES = {
    "mse": MeanSquaredError, "mae": MeanAbsoluteError, "huber": Huber,
    "binary_crossentropy": BinaryCrossEntropy, "bce": BinaryCrossEntropy,
    "bce_with_logits": BinaryCrossEntropyWithLogits,
    "softmax_crossentropy": SoftmaxCrossEntropy, "crossentropy": SoftmaxCrossEntropy,
}


def get(loss) -> Loss:
    """A loss object from an instance or a short name (``"mse"``, ``"crossentropy"``, ...)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in LOSS_ALIASES:
        return LOSS_ALIASES[loss]()  # type: ignore[return-value]
    raise ConfigError(f"unknown loss. Expected a Loss or one of {sorted(LOSS_ALIASES)}. Received: {loss!r}")
