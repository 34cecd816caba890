"""Cases for the ONNX export tests and ``scripts/onnx_report.py``.

Per-layer cases are the project's examples in ``tests/layer_cases.py`` plus the
extra ones in :data:`EXTRA_LAYER_CASES` (settings those examples do not cover);
whole-model cases are in :data:`MODEL_CASES`. Everything is compared with
``model.predict`` on random inputs of :data:`BATCH_SIZES` samples.
"""
from __future__ import annotations

import numpy as np

import scratchnn as sn
from scratchnn.registry import LAYERS
from tests.layer_cases import LAYER_CASES
from tests.layer_cases import make_input as _case_input

L = sn.layers
BATCH_SIZES = (1, 3, 17)
#: float32 tolerance for onnxruntime vs model.predict.
RTOL, ATOL = 1e-4, 1e-5


def _layer(name, *args, **kwargs):
    """A factory for a layer that may not be registered yet (the CNN/RNN work lands later)."""
    return lambda: LAYERS[name](*args, **kwargs)


#: name -> [(factory, per-sample input shape, kwargs)], as in layer_cases.py. Entries for
#: layers that are not registered are ignored (``_layer`` looks the class up when called).
EXTRA_LAYER_CASES: dict[str, list[tuple]] = {
    "Dense": [(lambda: L.Dense(6, 4), (5, 2, 6), {})],  # (N, T, S, D) input
    "Softmax": [(lambda: L.Softmax(axis=1), (4, 3), {}), (lambda: L.Softmax(axis=-2), (2, 5, 3), {})],
    "GELU": [(lambda: L.GELU("tanh"), (3, 5), {"input": "wide"}),
             (lambda: L.GELU("none"), (3, 5), {"input": "wide"})],
    "Softplus": [(lambda: L.Softplus(), (6,), {"input": "wide"})],
    "ELU": [(lambda: L.ELU(0.0), (6,), {}), (lambda: L.ELU(2.5), (6,), {"input": "wide"})],
    "LeakyReLU": [(lambda: L.LeakyReLU(), (2, 3), {})],
    "Dropout": [(lambda: L.Dropout(0.9), (4, 4), {})],
    "SpatialDropout": [(_layer("SpatialDropout", 0.5), (3, 4, 4), {})],
    # convolution and pooling: padding (odd "same" totals), stride, dilation, no bias
    "Conv2D": [(_layer("Conv2D", 2, 3, 3), (2, 7, 6), {}),
               (_layer("Conv2D", 2, 3, 4, padding="same"), (2, 6, 5), {}),
               (_layer("Conv2D", 3, 2, (3, 2), stride=2, padding=(1, 2), dilation=(2, 1), use_bias=False),
                (3, 9, 8), {})],
    "Conv1D": [(_layer("Conv1D", 3, 4, 3, stride=2, padding=1), (3, 10), {}),
               (_layer("Conv1D", 2, 3, 2, padding="same", dilation=2), (2, 7), {})],
    "MaxPool2D": [(_layer("MaxPool2D", 2), (3, 6, 6), {}),
                  (_layer("MaxPool2D", 3, stride=2, padding=1), (2, 7, 7), {"input": "negative"})],
    "AvgPool2D": [(_layer("AvgPool2D", 2), (2, 5, 5), {}),
                  (_layer("AvgPool2D", 3, stride=2, padding=1), (2, 7, 7), {"input": "positive"})],
    "MaxPool1D": [(_layer("MaxPool1D", 2), (3, 8), {}),
                  (_layer("MaxPool1D", 3, stride=2, padding=1), (2, 9), {"input": "negative"})],
    "GlobalAvgPool2D": [(_layer("GlobalAvgPool2D"), (3, 4, 5), {})],
    "BatchNorm": [(_layer("BatchNorm", 4), (4,), {}), (_layer("BatchNorm", 3, eps=1e-3), (3, 5, 5), {}),
                  (_layer("BatchNorm", 2), (2, 7), {})],
    "Flatten": [(_layer("Flatten"), (2, 3, 4), {})],
    "Reshape": [(_layer("Reshape", (3, -1)), (2, 3, 4), {}), (_layer("Reshape", (4, 6)), (24,), {})],
    "Embedding": [(_layer("Embedding", 11, 4), (2, 3), {"input": "labels:11"})],
    # recurrent: one step, every Bidirectional combination of cell, merge mode and output
    "SimpleRNN": [(_layer("SimpleRNN", 3, 5, return_sequences=True), (1, 3), {})],
    "LSTM": [(_layer("LSTM", 2, 3), (1, 2), {})],
    "GRU": [(_layer("GRU", 3, 4, return_sequences=True), (6, 3), {})],
    "Bidirectional": [
        (lambda: LAYERS["Bidirectional"](LAYERS["SimpleRNN"](3, 4, return_sequences=True)), (5, 3), {}),
        (lambda: LAYERS["Bidirectional"](LAYERS["LSTM"](3, 4, return_sequences=True), "sum"), (5, 3), {}),
        (lambda: LAYERS["Bidirectional"](LAYERS["LSTM"](2, 3), "sum"), (4, 2), {}),
        (lambda: LAYERS["Bidirectional"](LAYERS["GRU"](3, 2)), (6, 3), {}),
    ],
}


def layer_cases() -> list[tuple[str, int, tuple]]:
    """``(name, index, case)`` for every case of every registered layer, project cases first."""
    out = []
    for name in sorted(LAYERS):
        cases = list(LAYER_CASES.get(name, [])) + list(EXTRA_LAYER_CASES.get(name, []))
        out += [(name, i, case) for i, case in enumerate(cases)]
    return out


def make_input(shape, kwargs: dict, rng: np.random.Generator, batch: int):
    """:func:`tests.layer_cases.make_input` as float64 arrays (the exported graphs take floats)."""
    x = _case_input(shape, kwargs, rng, batch)
    return [a.astype(np.float64) for a in x] if isinstance(x, list) else x.astype(np.float64)


def model_for_layer(case, seed: int = 0) -> sn.Model:
    """A built one-layer model for a layer case, with non-trivial buffers where the layer has any
    (a graph with one Input per input for a merge layer)."""
    factory, shape, _ = case
    if isinstance(shape, list):
        inputs = [sn.Input(s) for s in shape]
        model = sn.Model(inputs, factory()(inputs), seed=seed)
    else:
        model = sn.Sequential([factory()], seed=seed)
        model.build(shape)
    _randomise_buffers(model, np.random.default_rng(seed + 1))
    return model


def _randomise_buffers(model: sn.Sequential, rng: np.random.Generator) -> None:
    """Give running statistics (BatchNorm) values other than their 0/1 start, so export is tested."""
    for layer in model.layers:
        for key, buf in layer.all_buffers().items():
            if buf.dtype.kind != "f":
                continue
            if "var" in key:
                buf[...] = rng.uniform(0.5, 2.0, buf.shape)
            else:
                buf[...] = rng.normal(0.0, 0.5, buf.shape)
        for p in layer.params.values():  # biases (and gamma, beta) start constant: make them count
            if p.ndim == 1:
                p += rng.normal(0.0, 0.3, p.shape).astype(p.dtype)


# ----------------------------------------------------------- whole models
def mlp():
    return sn.Sequential([L.Dense(20, 32), L.ReLU(), L.Dropout(0.2), L.Dense(32, 16), L.GELU(),
                          L.Dense(16, 5), L.Softmax()], seed=1), (20,)


def cnn():
    return sn.Sequential([
        LAYERS["Conv2D"](1, 4, 3, padding=1), LAYERS["BatchNorm"](4), L.ReLU(), LAYERS["MaxPool2D"](2),
        LAYERS["Conv2D"](4, 6, 3), L.ReLU(), LAYERS["AvgPool2D"](2),
        LAYERS["Flatten"](), L.Dense(6 * 2 * 2, 10), L.Softmax()], seed=2), (1, 12, 12)


def lstm():
    return sn.Sequential([LAYERS["LSTM"](6, 8, return_sequences=True), LAYERS["LSTM"](8, 5),
                          L.Dense(5, 3)], seed=3), (7, 6)


def text_rnn():
    return sn.Sequential([LAYERS["Embedding"](20, 6),
                          LAYERS["Bidirectional"](LAYERS["GRU"](6, 5, return_sequences=True)),
                          LAYERS["LSTM"](10, 4), L.Dense(4, 3), L.Softmax()], seed=4), (9,)


def char_transformer():
    return sn.Sequential([LAYERS["Embedding"](20, 8), LAYERS["PositionalEmbedding"](9, 8),
                          LAYERS["TransformerBlock"](8, 2, ff_dim=16, causal=True),
                          LAYERS["TransformerBlock"](8, 4, causal=True, gelu="none"),
                          LAYERS["SinusoidalPositionalEncoding"](8),
                          LAYERS["LayerNorm"](8), L.Dense(8, 20)], seed=5), (9,)


#: name -> (factory returning (unbuilt model, input shape), layer classes it needs, input kwargs).
MODEL_CASES = {
    "MLP": (mlp, (), {}),
    "CNN": (cnn, ("Conv2D", "BatchNorm", "MaxPool2D", "AvgPool2D", "Flatten"), {}),
    "LSTM": (lstm, ("LSTM",), {}),
    "TextRNN": (text_rnn, ("Embedding", "Bidirectional", "GRU", "LSTM"), {"input": "labels:20"}),
    "CharTransformer": (char_transformer, ("Embedding", "PositionalEmbedding", "TransformerBlock", "LayerNorm"),
                        {"input": "labels:20"}),
}


def build_model_case(name: str) -> sn.Sequential:
    factory, _, _ = MODEL_CASES[name]
    model, shape = factory()
    model.build(shape)
    _randomise_buffers(model, np.random.default_rng(5))
    return model


def measure(model: sn.Sequential, onnx_model, shape: tuple, kwargs: dict, seed: int = 0) -> float:
    """The largest |onnxruntime - predict| over the batch sizes in BATCH_SIZES (and checks shapes)."""
    from scratchnn.onnx import run_onnx

    rng = np.random.default_rng(seed)
    worst = 0.0
    for batch in BATCH_SIZES:
        x = make_input(shape, kwargs, rng, batch)
        expected = model.predict(x)
        got = run_onnx(onnx_model, x)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL,
                                   err_msg=f"batch size {batch}")
        worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - expected))))
    return worst
