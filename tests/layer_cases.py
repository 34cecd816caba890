"""One example instance and input shape for every registered layer: its test entry.

Each entry drives every check of the layer harness (``tests/layers/harness.py``, run by
``tests/layers/test_every_layer.py``): the float64 gradient check, the config round trip,
output shapes and dtypes, gradients that overwrite, save/load, the declared-shapes dry run,
the 'strict' device, the comparison with its PyTorch twin (``tests/torch_twins.py``, keyed by
the same class name) and the ONNX export.

``tests/layers/test_every_layer.py`` fails when a class in ``scratchnn.registry.LAYERS`` has
no entry here, so no new layer can skip a check. Add one line per
new layer: ``"ClassName": [(factory, per-sample input shape, kwargs for the
check), ...]`` (several cases allowed). ``kwargs`` may hold ``training=True``,
``input="positive"`` (floats in [0.5, 2)), ``input="int"`` (integers in [0, 10)) or
``input="labels:V"`` (integers in [0, V), e.g. token ids for an Embedding), and for the
ONNX extras ``input="wide"`` (8 x standard normal) or ``input="negative"``. A merge
layer's case gives a list of per-sample shapes, one per input. Integer
inputs get no input-gradient check (only the parameters are checked). ``atol``/``rtol``
override gradcheck's tolerances for a case (say why in a comment).

``LOSS_CASES`` (at the end) does the same for ``scratchnn.registry.LOSSES``:
``"ClassName": [(factory, make), ...]`` where ``make(rng) -> (y_pred, y_true)``.
"""
from __future__ import annotations

import numpy as np

import scratchnn as sn

L = sn.layers

LAYER_CASES: dict[str, list[tuple]] = {
    "Dense": [(lambda: L.Dense(5, 3), (5,), {}), (lambda: L.Dense(4, 2, use_bias=False), (3, 4), {})],
    "Identity": [(lambda: L.Identity(), (4,), {})],
    "Sigmoid": [(lambda: L.Sigmoid(), (4,), {})],
    "Tanh": [(lambda: L.Tanh(), (4,), {})],
    "ReLU": [(lambda: L.ReLU(), (4,), {})],
    "LeakyReLU": [(lambda: L.LeakyReLU(0.1), (4,), {})],
    "ELU": [(lambda: L.ELU(0.7), (4,), {}), (lambda: L.ELU(), (2, 3), {})],
    "GELU": [(lambda: L.GELU(), (4,), {}), (lambda: L.GELU("none"), (4,), {})],
    "Softplus": [(lambda: L.Softplus(), (4,), {})],
    "Softmax": [(lambda: L.Softmax(), (5,), {}), (lambda: L.Softmax(axis=1), (4, 3), {})],
    "Dropout": [(lambda: L.Dropout(0.3), (6,), {"training": True}), (lambda: L.Dropout(0.5), (2, 3), {})],
    # recurrent layers (issue 5): last state and whole sequence, several T and H
    "SimpleRNN": [(lambda: L.SimpleRNN(3, 4), (5, 3), {}),
                  (lambda: L.SimpleRNN(2, 3, return_sequences=True), (4, 2), {})],
    "LSTM": [(lambda: L.LSTM(3, 4), (5, 3), {}),
             (lambda: L.LSTM(2, 3, return_sequences=True, unit_forget_bias=False), (4, 2), {})],
    "GRU": [(lambda: L.GRU(3, 4), (5, 3), {}), (lambda: L.GRU(2, 3, return_sequences=True), (4, 2), {})],
    "Bidirectional": [(lambda: L.Bidirectional(L.LSTM(3, 2)), (4, 3), {}),
                      (lambda: L.Bidirectional(L.GRU(2, 3, return_sequences=True), "sum"), (3, 2), {})],
    "Embedding": [(lambda: L.Embedding(7, 3), (5,), {"input": "labels:7"})],
    # convolutional layers (issue 4): padding, stride, dilation, bias off, both pooling paths
    "Conv2D": [(lambda: L.Conv2D(2, 3, 3, padding="same"), (2, 5, 4), {}),
               (lambda: L.Conv2D(3, 2, (2, 3), stride=(2, 1), padding=1, dilation=(1, 2), use_bias=False),
                (3, 6, 7), {})],
    "Conv1D": [(lambda: L.Conv1D(2, 3, 3, stride=2, padding=1), (2, 7), {}),
               (lambda: L.Conv1D(3, 2, 2, dilation=2, padding="same"), (3, 5), {})],
    "MaxPool2D": [(lambda: L.MaxPool2D(2), (2, 4, 6), {}),
                  (lambda: L.MaxPool2D(3, stride=2, padding=1), (2, 5, 6), {})],
    "MaxPool1D": [(lambda: L.MaxPool1D(3, stride=2, padding=1), (2, 7), {})],
    "AvgPool2D": [(lambda: L.AvgPool2D(2), (2, 4, 4), {}),
                  (lambda: L.AvgPool2D((3, 2), stride=(2, 1), padding=(1, 0)), (2, 5, 4), {})],
    "GlobalAvgPool2D": [(lambda: L.GlobalAvgPool2D(), (3, 4, 5), {})],
    "BatchNorm": [(lambda: L.BatchNorm(4), (4,), {"training": True}),
                  (lambda: L.BatchNorm(3, momentum=0.3), (3, 4, 5), {"training": True}),
                  (lambda: L.BatchNorm(3), (3, 2, 2), {})],
    "Flatten": [(lambda: L.Flatten(), (2, 3, 4), {})],
    "Reshape": [(lambda: L.Reshape((4, -1)), (2, 3, 4), {})],
    "SpatialDropout": [(lambda: L.SpatialDropout(0.4), (5, 3, 3), {"training": True})],
    # composite layers: children declared with add_layer, arrays "conv1/W" ...
    "ResidualBlock": [(lambda: L.ResidualBlock(2), (2, 4, 5), {"training": True}),
                      (lambda: L.ResidualBlock(3, 1), (3, 3, 3), {})],
    # merge layers (graph models): a list of per-sample shapes, one per input
    "Add": [(lambda: L.Add(), [(4,), (4,)], {}), (lambda: L.Add(), [(2, 3), (2, 3), (2, 3)], {})],
    "Multiply": [(lambda: L.Multiply(), [(4,), (4,)], {}), (lambda: L.Multiply(), [(2, 3)] * 3, {})],
    "Concatenate": [(lambda: L.Concatenate(), [(3,), (2,)], {}),
                    (lambda: L.Concatenate(axis=1), [(2, 4, 4), (3, 4, 4)], {})],
    # attention (issue 16): masks, attention dropout, cross-attention as a 2-input layer
    "LayerNorm": [(lambda: L.LayerNorm(5), (5,), {}), (lambda: L.LayerNorm(4, eps=1e-3), (3, 4), {})],
    "MultiHeadAttention": [
        (lambda: L.MultiHeadAttention(6, 2), (4, 6), {}),
        (lambda: L.MultiHeadAttention(6, 3, dropout=0.3, causal=True), (5, 6), {"training": True}),
        (lambda: L.MultiHeadAttention(4, 2, cross_attention=True, context_dim=3, use_bias=False),
         [(3, 4), (5, 3)], {}),
    ],
    "PositionalEmbedding": [(lambda: L.PositionalEmbedding(7, 4), (5, 4), {})],
    "SinusoidalPositionalEncoding": [(lambda: L.SinusoidalPositionalEncoding(5), (4, 5), {})],
    "TransformerBlock": [
        (lambda: L.TransformerBlock(6, 2, ff_dim=8, causal=True), (4, 6), {}),
        (lambda: L.TransformerBlock(4, 1, dropout=0.2, gelu="none"), (3, 4), {"training": True}),
    ],
}


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def _labels(shape, n_classes):
    return lambda rng: rng.integers(0, n_classes, size=shape)


def _onehot(shape, n_classes):
    return lambda rng: np.eye(n_classes)[rng.integers(0, n_classes, size=shape)]


def _probs(*shape):
    def make(rng):
        z = rng.standard_normal(shape)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return make


def _pair(make_pred, make_true):
    return lambda rng: (make_pred(rng), make_true(rng))


Lo = sn.losses

LOSS_CASES: dict[str, list[tuple]] = {
    "MeanSquaredError": [(Lo.MeanSquaredError, _pair(_normal(4, 3), _normal(4, 3)))],
    "MeanAbsoluteError": [(Lo.MeanAbsoluteError, _pair(_normal(4, 3), _normal(4, 3)))],
    "Huber": [(Lo.Huber, _pair(lambda r: 2 * r.standard_normal((5, 3)), _normal(5, 3))),
              (lambda: Lo.Huber(delta=0.5), _pair(_normal(6, 2), _normal(6, 2)))],
    "BinaryCrossEntropy": [(Lo.BinaryCrossEntropy,
                            _pair(lambda r: r.uniform(0.05, 0.95, (5, 2)), lambda r: r.uniform(0, 1, (5, 2))))],
    "BinaryCrossEntropyWithLogits": [(Lo.BinaryCrossEntropyWithLogits,
                                      _pair(lambda r: 3 * r.standard_normal((5, 2)),
                                            lambda r: r.integers(0, 2, (5, 2)).astype(float)))],
    "SoftmaxCrossEntropy": [
        (Lo.SoftmaxCrossEntropy, _pair(_normal(6, 4), _labels((6,), 4))),
        (Lo.SoftmaxCrossEntropy, _pair(_normal(6, 4), _onehot((6,), 4))),
        (Lo.SoftmaxCrossEntropy, _pair(_normal(6, 4), _probs(6, 4))),
        (Lo.SoftmaxCrossEntropy, _pair(_normal(3, 5, 4), _labels((3, 5), 4))),
        (Lo.SoftmaxCrossEntropy, _pair(_normal(3, 5, 4), _onehot((3, 5), 4))),
    ],
}


def make_input(shape, kwargs: dict, rng: np.random.Generator, batch: int = 3):
    """A batch for one case, following its ``input=`` kind (see the module docstring; also
    ``"wide"``, 8 x standard normal, and ``"negative"``, every value < 0); a list of batches
    where ``shape`` is a list of shapes (a multi-input layer). Integer kinds give integers."""
    if isinstance(shape, list):
        return [make_input(s, kwargs, rng, batch) for s in shape]
    kind = kwargs.get("input", "normal")
    full = (batch,) + tuple(shape)
    if kind == "normal":
        return rng.standard_normal(full)
    if kind == "wide":
        return 8.0 * rng.standard_normal(full)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, full)
    if kind == "negative":  # every value < 0: a zero-padded max pool would show up
        return -rng.uniform(0.5, 2.0, full)
    if kind == "int":
        return rng.integers(0, 10, full)
    if isinstance(kind, str) and kind.startswith("labels:"):
        return rng.integers(0, int(kind.split(":", 1)[1]), full)
    raise ValueError(f"unknown input kind {kind!r} in layer_cases.py")
